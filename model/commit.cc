#include "model/commit.h"

#include <set>

#include "model/printable.h"

namespace manifold::model {

Op Op::Put(std::string_view cf, std::string_view key, std::string_view value) {
  return Op{kPut, std::string(cf), std::string(key), std::string(value)};
}

Op Op::Delete(std::string_view cf, std::string_view key) {
  return Op{kDelete, std::string(cf), std::string(key), {}};
}

Commit Commit::Batch(std::vector<Op> ops) {
  Commit c;
  c.kind = kBatch;
  c.ops = std::move(ops);
  return c;
}

Commit Commit::FromWriteBatch(const WriteBatch& batch) {
  std::vector<Op> ops;
  ops.reserve(batch.Count());
  for (const WriteBatch::Op& op : batch.ops()) {
    ops.push_back(op.type == WriteBatch::OpType::kPut ? Op::Put(op.column_family, op.key, op.value)
                                                      : Op::Delete(op.column_family, op.key));
  }
  return Batch(std::move(ops));
}

Commit Commit::CreateCf(std::string_view name) {
  Commit c;
  c.kind = kCreateCf;
  c.cf = std::string(name);
  return c;
}

Commit Commit::DropCf(std::string_view name) {
  Commit c;
  c.kind = kDropCf;
  c.cf = std::string(name);
  return c;
}

std::string Commit::Describe() const {
  switch (kind) {
    case kCreateCf:
      return "create cf " + CfName(cf);
    case kDropCf:
      return "drop cf " + CfName(cf);
    case kBatch:
      break;
  }
  if (ops.size() == 1) {
    const Op& op = ops[0];
    return std::string(op.kind == Op::kPut ? "put " : "delete ") + CfName(op.cf) + " " +
           Printable(op.key) + (op.kind == Op::kPut ? " = " + Printable(op.value) : "");
  }
  std::set<std::string> cfs;
  for (const Op& op : ops) cfs.insert(op.cf);
  std::string out = "batch of " + std::to_string(ops.size()) + " ops";
  if (ops.empty()) return out;
  out += " on ";
  size_t n = 0;
  for (const std::string& cf : cfs) {
    if (n++ > 0) out += ",";
    if (n > 3) {
      out += "...";
      break;
    }
    out += CfName(cf);
  }
  out += " (keys ";
  for (size_t i = 0; i < ops.size() && i < 3; ++i) {
    if (i > 0) out += ", ";
    out += Printable(ops[i].key);
  }
  if (ops.size() > 3) out += ", ...";
  out += ")";
  return out;
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAcknowledgedDurable:
      return "acknowledged durable";
    case Outcome::kAcknowledgedNonDurable:
      return "acknowledged non-durable";
    case Outcome::kFailedClean:
      return "failed clean";
    case Outcome::kUncertain:
      return "uncertain";
  }
  return "?";
}

}  // namespace manifold::model
