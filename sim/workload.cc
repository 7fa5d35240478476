#include "sim/workload.h"

#include <cstdio>

namespace manifold::sim {
namespace {

struct Weighted {
  OpKind kind;
  uint32_t weight;
};

// Relative frequencies: writes dominate, every kind shows up in a few hundred operations.
constexpr Weighted kMix[] = {
    {OpKind::kPut, 20},
    {OpKind::kDelete, 6},
    {OpKind::kBatch, 12},
    {OpKind::kTransaction, 8},
    {OpKind::kGet, 14},
    {OpKind::kScan, 8},
    {OpKind::kTakeSnapshot, 3},
    {OpKind::kReadSnapshot, 5},
    {OpKind::kReleaseSnapshot, 2},
    {OpKind::kCreateCf, 4},
    {OpKind::kDropCf, 1},
    {OpKind::kReopen, 2},
    {OpKind::kCrash, 3},
    {OpKind::kCrashDuringNext, 3},
    {OpKind::kOpenIterator, 2},
    {OpKind::kStepIterator, 5},
    {OpKind::kCheckpoint, 3},
    {OpKind::kConcurrentCommit, 4},
};

OpKind PickKind(Rng& rng) {
  uint32_t total = 0;
  for (const Weighted& w : kMix) total += w.weight;
  uint64_t pick = rng.Uniform(total);
  for (const Weighted& w : kMix) {
    if (pick < w.weight) return w.kind;
    pick -= w.weight;
  }
  return OpKind::kGet;
}

std::string PickCf(Rng& rng) {
  // "default" half the time; the others may not exist at that moment (NotFound is checked too).
  if (rng.OneIn(2)) return "default";
  return kWorkloadColumnFamilies[rng.Uniform(std::size(kWorkloadColumnFamilies))];
}

std::string PickKey(Rng& rng, const WorkloadOptions& options) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "k%05u", static_cast<unsigned>(rng.Uniform(options.keys_per_cf)));
  std::string key = buf;
  // Now and then a key at the size limit, sharing the short key's prefix order.
  if (rng.OneIn(25)) key.resize(options.page_bytes / 8, static_cast<char>('a' + rng.Uniform(3)));
  return key;
}

uint32_t PickValueBytes(Rng& rng, const WorkloadOptions& options) {
  switch (rng.Uniform(10)) {
    case 0:
      return 0;
    case 1:  // Larger than a page: overflow pages.
      return options.page_bytes + static_cast<uint32_t>(rng.Uniform(4 * options.page_bytes));
    case 2:  // Around the inline limit.
      return options.page_bytes / 8 + static_cast<uint32_t>(rng.Uniform(options.page_bytes / 4));
    default:
      return 1 + static_cast<uint32_t>(rng.Uniform(48));
  }
}

KeyOp PickWrite(Rng& rng, const WorkloadOptions& options, const std::string& cf) {
  KeyOp op;
  op.cf = cf;
  op.key = PickKey(rng, options);
  op.is_delete = rng.OneIn(4);
  if (!op.is_delete) op.value_bytes = PickValueBytes(rng, options);
  return op;
}

}  // namespace

void FillWorkloadOp(Rng& rng, const WorkloadOptions& options, WorkloadOp* op) {
  switch (op->kind) {
    case OpKind::kPut:
    case OpKind::kDelete: {
      KeyOp write = PickWrite(rng, options, PickCf(rng));
      write.is_delete = op->kind == OpKind::kDelete;
      op->writes.push_back(write);  // A tenth of the puts have an empty value (issue 11 item 7).
      break;
    }
    case OpKind::kBatch: {
      // One or two column families per batch, so that most batches find theirs existing.
      const std::string cfs[2] = {PickCf(rng), PickCf(rng)};
      const uint32_t n = 1 + static_cast<uint32_t>(rng.Uniform(rng.OneIn(5) ? 120 : 12));
      for (uint32_t i = 0; i < n; ++i) {
        op->writes.push_back(PickWrite(rng, options, cfs[rng.Uniform(2)]));
      }
      break;
    }
    case OpKind::kTransaction: {
      op->cf = PickCf(rng);
      const uint32_t n = 1 + static_cast<uint32_t>(rng.Uniform(20));
      for (uint32_t i = 0; i < n; ++i) op->writes.push_back(PickWrite(rng, options, op->cf));
      op->commit = !rng.OneIn(5);
      op->key = PickKey(rng, options);  // Read inside the transaction.
      break;
    }
    case OpKind::kGet:
      op->cf = PickCf(rng);
      op->key = PickKey(rng, options);
      break;
    case OpKind::kScan:
    case OpKind::kReadSnapshot:
      op->cf = PickCf(rng);
      op->key = PickKey(rng, options);
      if (rng.OneIn(2)) op->lower = PickKey(rng, options);
      if (rng.OneIn(2)) op->upper = PickKey(rng, options);
      op->reverse = rng.OneIn(2);
      op->limit = rng.OneIn(3) ? 1 + static_cast<uint32_t>(rng.Uniform(20)) : 0;
      op->snapshot_slot = static_cast<uint32_t>(rng.Uniform(kSnapshotSlots));
      break;
    case OpKind::kTakeSnapshot:
    case OpKind::kReleaseSnapshot:
      op->snapshot_slot = static_cast<uint32_t>(rng.Uniform(kSnapshotSlots));
      break;
    case OpKind::kOpenIterator:
      op->cf = PickCf(rng);
      op->key = PickKey(rng, options);
      if (rng.OneIn(2)) op->lower = PickKey(rng, options);
      if (rng.OneIn(2)) op->upper = PickKey(rng, options);
      op->reverse = rng.OneIn(2);
      op->snapshot_slot = static_cast<uint32_t>(rng.Uniform(kSnapshotSlots));
      break;
    case OpKind::kStepIterator:
      op->limit = 1 + static_cast<uint32_t>(rng.Uniform(8));
      op->snapshot_slot = static_cast<uint32_t>(rng.Uniform(kSnapshotSlots));
      break;
    case OpKind::kCreateCf:
    case OpKind::kDropCf:
      op->cf = kWorkloadColumnFamilies[rng.Uniform(std::size(kWorkloadColumnFamilies))];
      if (op->kind == OpKind::kDropCf && rng.OneIn(10)) op->cf = "default";  // Refused.
      break;
    case OpKind::kCrashDuringNext:
      op->crash_after_mutations = 1 + static_cast<uint32_t>(rng.Uniform(12));
      break;
    case OpKind::kReopen:
    case OpKind::kCrash:
    case OpKind::kCheckpoint:
      break;
    case OpKind::kConcurrentCommit: {
      // Two distinct column families, so the two committers do not wait for each other's slot.
      const std::string first = PickCf(rng);
      std::string second = PickCf(rng);
      if (second == first) second = first == "default" ? "alpha" : "default";
      op->writes.push_back(PickWrite(rng, options, first));
      op->writes.push_back(PickWrite(rng, options, second));
      for (KeyOp& write : op->writes) {
        write.is_delete = false;
        if (write.value_bytes == 0) write.value_bytes = 1;
      }
      op->crash_after = rng.OneIn(2);
      break;
    }
  }
  // A quarter of the writes do not ask for durability (WriteOptions::sync = false).
  if (op->kind == OpKind::kPut || op->kind == OpKind::kDelete || op->kind == OpKind::kBatch ||
      op->kind == OpKind::kTransaction) {
    op->sync = !rng.OneIn(4);
  }
}

const char* OpKindName(OpKind kind) {
  switch (kind) {
    case OpKind::kPut:
      return "put";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kBatch:
      return "batch";
    case OpKind::kTransaction:
      return "transaction";
    case OpKind::kGet:
      return "get";
    case OpKind::kScan:
      return "scan";
    case OpKind::kTakeSnapshot:
      return "take-snapshot";
    case OpKind::kReadSnapshot:
      return "read-snapshot";
    case OpKind::kReleaseSnapshot:
      return "release-snapshot";
    case OpKind::kCreateCf:
      return "create-cf";
    case OpKind::kDropCf:
      return "drop-cf";
    case OpKind::kReopen:
      return "reopen";
    case OpKind::kCrash:
      return "crash";
    case OpKind::kCrashDuringNext:
      return "crash-during-next";
    case OpKind::kOpenIterator:
      return "open-iterator";
    case OpKind::kStepIterator:
      return "step-iterator";
    case OpKind::kCheckpoint:
      return "checkpoint";
    case OpKind::kConcurrentCommit:
      return "concurrent-commit";
  }
  return "?";
}

std::string ShortKey(const std::string& key) {
  return key.size() <= 12 ? key : key.substr(0, 8) + "...(" + std::to_string(key.size()) + ")";
}

std::string WorkloadOp::Describe() const { return "op #" + std::to_string(index) + " " + What(); }

std::string WorkloadOp::What() const {
  std::string out = OpKindName(kind);
  if (!cf.empty()) out += " cf=" + cf;
  if (!key.empty()) out += " key=" + ShortKey(key);
  if (kind == OpKind::kScan || kind == OpKind::kReadSnapshot || kind == OpKind::kOpenIterator) {
    out += " [" + ShortKey(lower) + ", " + ShortKey(upper) + ")" + (reverse ? " reverse" : "");
    if (limit > 0) out += " limit=" + std::to_string(limit);
  }
  if (kind == OpKind::kStepIterator) out += " entries=" + std::to_string(limit);
  if (kind == OpKind::kTakeSnapshot || kind == OpKind::kReadSnapshot ||
      kind == OpKind::kReleaseSnapshot || kind == OpKind::kOpenIterator ||
      kind == OpKind::kStepIterator) {
    out += " slot=" + std::to_string(snapshot_slot);
  }
  if (kind == OpKind::kTransaction) out += commit ? " commit" : " abort";
  if (!sync) out += " no-sync";
  if (kind == OpKind::kConcurrentCommit && crash_after) out += " then-crash";
  if (kind == OpKind::kCrashDuringNext) {
    out += " after " + std::to_string(crash_after_mutations) + " mutations";
  }
  for (const KeyOp& w : writes) {
    out += w.is_delete ? " del(" : " put(";
    out += w.cf + "," + ShortKey(w.key);
    if (!w.is_delete) out += "," + std::to_string(w.value_bytes) + "B";
    out += ")";
  }
  return out;
}

std::string ValueFor(uint32_t op_index, uint32_t sub, uint32_t bytes) {
  std::string value(bytes, '\0');
  Rng rng((uint64_t{op_index} << 32) ^ sub ^ 0x5eedull);
  for (uint32_t i = 0; i < bytes; i += 8) {
    uint64_t word = rng.Next();
    for (uint32_t j = 0; j < 8 && i + j < bytes; ++j)
      value[i + j] = static_cast<char>(word >> (8 * j));
  }
  return value;
}

namespace {

constexpr size_t kSnapshotChurnOps = 7;

// Appends the operations of a snapshot-churn script: checkpoint (so the snapshot's pages are on
// disk rather than in-memory nodes), take a snapshot, overwrite many keys of one column family
// (replacing pages the snapshot still reads), checkpoint (which records those pages as freed),
// overwrite more, checkpoint again (which allocates pages, and must not reuse the freed ones
// while the snapshot lives), then scan the whole column family at the snapshot. A checkpoint
// that reuses pages a live snapshot can read (invariant I4) shows up as a stale page or a wrong
// value; random operations meet that order too rarely to catch it reliably.
void AppendSnapshotChurn(Rng& rng, const WorkloadOptions& options, std::vector<WorkloadOp>* ops) {
  const uint32_t slot = static_cast<uint32_t>(rng.Uniform(kSnapshotSlots));
  const std::string cf = PickCf(rng);
  WorkloadOp checkpoint;
  checkpoint.kind = OpKind::kCheckpoint;
  WorkloadOp take;
  take.kind = OpKind::kTakeSnapshot;
  take.snapshot_slot = slot;
  WorkloadOp churn[2];
  for (WorkloadOp& batch : churn) {
    batch.kind = OpKind::kBatch;
    batch.sync = true;
    const uint32_t writes = 20 + static_cast<uint32_t>(rng.Uniform(60));
    for (uint32_t i = 0; i < writes; ++i) {
      KeyOp write = PickWrite(rng, options, cf);
      write.is_delete = rng.OneIn(8);
      // Empty values stay (a tenth): the script's checkpoints write them into pages.
      batch.writes.push_back(std::move(write));
    }
  }
  WorkloadOp read;
  read.kind = OpKind::kReadSnapshot;
  read.cf = cf;
  read.key = PickKey(rng, options);
  read.snapshot_slot = slot;  // No bounds, no limit: the scan visits every page of the tree.
  for (WorkloadOp* op :
       {&checkpoint, &take, &churn[0], &checkpoint, &churn[1], &checkpoint, &read}) {
    WorkloadOp copy = *op;
    copy.index = static_cast<uint32_t>(ops->size());
    ops->push_back(std::move(copy));
  }
}

}  // namespace

std::vector<WorkloadOp> GenerateWorkload(uint64_t seed, const WorkloadOptions& options) {
  Rng rng(seed ^ 0x77a3c0b1d2e4f5a6ull);
  std::vector<WorkloadOp> ops;
  ops.reserve(options.ops);
  while (ops.size() < options.ops) {
    WorkloadOp op;
    op.kind = PickKind(rng);
    op.index = static_cast<uint32_t>(ops.size());
    FillWorkloadOp(rng, options, &op);
    // Half the snapshots are taken inside a churn script instead (when it fits the budget).
    if (op.kind == OpKind::kTakeSnapshot && rng.OneIn(2) &&
        ops.size() + kSnapshotChurnOps <= options.ops) {
      AppendSnapshotChurn(rng, options, &ops);
      continue;
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

}  // namespace manifold::sim
