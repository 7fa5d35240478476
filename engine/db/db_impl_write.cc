// The write API up to Commit: the column-family registry (create, drop, list), writer slots
// (I7), Put/Delete/Write and transactions.

#include <algorithm>
#include <cassert>
#include <map>

#include "engine/db/db_impl.h"
#include "engine/db/transaction_impl.h"
#include "engine/util/fault_point.h"
#include "engine/wal/log_payload.h"

namespace manifold {

// --- Column family ownership ---------------------------------------------------------------

Status DBImpl::AcquireColumnFamilies(const std::vector<std::string>& names) {
  port::MutexLock lock(&state_mu_);
  // Taking all names at once, never one by one, rules out deadlock between batches (I7).
  // The first of `names` another writer holds, or null. (A loop, not std::find_if: clang's lock
  // analysis cannot see state_mu_ held inside a lambda passed to a library algorithm.)
  auto first_busy = [&]() MANIFOLD_REQUIRES(state_mu_) -> const std::string* {
    for (const std::string& name : names) {
      if (busy_column_families_.count(name) > 0) return &name;
    }
    return nullptr;
  };
  auto any_busy = [&]() MANIFOLD_REQUIRES(state_mu_) { return first_busy() != nullptr; };
  const uint64_t now_us = clock_->NowMicros();
  const uint64_t wait_us_max = options_.writer_wait_us_max;
  const uint64_t deadline_us =
      wait_us_max > UINT64_MAX - now_us ? UINT64_MAX : now_us + wait_us_max;
  assert(deadline_us >= now_us);  // I27: every wait for a writer slot has a deadline.
  while (any_busy()) {
    if (column_family_released_.WaitUntil(clock_, deadline_us) || !any_busy()) continue;
    // I27: thread ids cannot tell this thread's own Transaction from another's (nor may they
    // drive engine decisions), so a bounded wait is what turns a self-deadlock into an error.
    const std::string* busy = first_busy();
    return Status::Busy("column family '" + *busy + "' is still held by another writer after " +
                        std::to_string(wait_us_max) +
                        " us (writer_wait_us_max); an open Transaction holds its column family "
                        "until Commit or Abort, so write to it through the Transaction");
  }
  for (const std::string& name : names) busy_column_families_.insert(name);
  return Status::OK();
}

void DBImpl::ReleaseColumnFamilies(const std::vector<std::string>& names) {
  port::MutexLock lock(&state_mu_);
  for (const std::string& name : names) busy_column_families_.erase(name);
  column_family_released_.SignalAll();
}

namespace {

// Gives held column families back when the scope ends, however it ends: a return, or (scheduler
// only) a failing run unwinding the thread from a wait inside the commit (I7).
class ReleaseOnExit {
 public:
  ReleaseOnExit(DBImpl* db, const std::vector<std::string>& names) : db_(db), names_(names) {}
  ~ReleaseOnExit() { db_->ReleaseColumnFamilies(names_); }
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

 private:
  DBImpl* const db_;
  const std::vector<std::string>& names_;
};

}  // namespace

// --- Column families -----------------------------------------------------------------------

Status DBImpl::CreateColumnFamily(std::string_view name) {
  MANIFOLD_RETURN_IF_ERROR(CheckColumnFamilyName(name));
  CommitRequest request;
  request.edit = [&](Version* next, std::string* payload) -> Status {
    if (next->Find(name) != nullptr) {
      return Status::AlreadyExists("column family '" + std::string(name) + "' already exists");
    }
    if (next->column_families.size() >= Limits::kColumnFamiliesMax) {
      return Status::InvalidArgument("a database holds at most " +
                                     std::to_string(Limits::kColumnFamiliesMax) +
                                     " column families");
    }
    ColumnFamilyState state{next->next_cf_id++, {}, nullptr};  // No buffers until written.
    next->column_families.Set(name, state);
    wal::PayloadBuilder builder;
    builder.Add(wal::LogOpType::kCreateColumnFamily, name, "", "", state.id);
    *payload = builder.Finish();
    return Status::OK();
  };
  return Commit(std::move(request));
}

Status DBImpl::DropColumnFamily(std::string_view name) {
  MANIFOLD_RETURN_IF_ERROR(CheckColumnFamilyName(name));
  if (name == kDefaultColumnFamily) {
    return Status::InvalidArgument("the default column family cannot be dropped");
  }
  std::vector<std::string> held = {std::string(name)};
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(held));
  ReleaseOnExit release(this, held);
  CommitRequest request;
  request.edit = [&](Version* next, std::string* payload) -> Status {
    if (!next->column_families.Erase(name)) {
      return Status::NotFound("column family '" + std::string(name) + "' does not exist");
    }
    wal::PayloadBuilder builder;
    builder.Add(wal::LogOpType::kDropColumnFamily, name, "", "");
    *payload = builder.Finish();
    return Status::OK();
  };
  return Commit(std::move(request));
}

std::vector<std::string> DBImpl::ListColumnFamilies() {
  VersionPtr version = current();
  std::vector<std::string> names;
  for (const auto& [name, state] : version->column_families) names.push_back(name);
  return names;
}

// --- Writes --------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Transaction>> DBImpl::BeginTransaction(std::string_view column_family) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  std::vector<std::string> held = {std::string(column_family)};
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(held));
  // The newest version in commit order: with the writer slot held, this column family's tree in
  // it is final until this transaction commits (I7).
  VersionPtr base = latest();
  const ColumnFamilyState* state = base->Find(column_family);
  if (state == nullptr) {
    ReleaseColumnFamilies(held);
    return Status::NotFound("column family '" + std::string(column_family) + "' does not exist");
  }
  return std::unique_ptr<Transaction>(
      new TransactionImpl(this, std::string(column_family), std::move(base)));
}

Status DBImpl::Put(const WriteOptions& options, std::string_view column_family,
                   std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(column_family, key, value);
  return Write(options, batch);
}

Status DBImpl::Delete(const WriteOptions& options, std::string_view column_family,
                      std::string_view key) {
  WriteBatch batch;
  batch.Delete(column_family, key);
  return Write(options, batch);
}

Status DBImpl::Write(const WriteOptions& options, const WriteBatch& batch) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  if (batch.Count() > options_.batch_ops_max || batch.bytes() > options_.batch_bytes_max) {
    return Status::InvalidArgument("batch of " + std::to_string(batch.Count()) + " ops and " +
                                   std::to_string(batch.bytes()) + " bytes exceeds batch_ops_max " +
                                   std::to_string(options_.batch_ops_max) + " or batch_bytes_max " +
                                   std::to_string(options_.batch_bytes_max));
  }
  std::vector<std::string> names;
  for (const WriteBatch::Op& op : batch.ops()) {
    MANIFOLD_RETURN_IF_ERROR(op.type == WriteBatch::OpType::kPut ? CheckPut(op.key, op.value)
                                                                 : CheckKey(op.key));
    if (op.handle.valid()) MANIFOLD_RETURN_IF_ERROR(CheckHandle(op.handle));
    // Batches usually run many ops of one column family: a name is kept once per run, not per
    // op (a copy and a sort of each op's name cost more than the rest of the check).
    if (names.empty() || names.back() != op.column_family) names.push_back(op.column_family);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty()) return Status::OK();
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(names));
  ReleaseOnExit release(this, names);
  MANIFOLD_RETURN_IF_ERROR(CheckBatchHandles(batch));
  return WriteBatchHeld(options, batch, names);
}

namespace {
wal::LogOpType LogTypeOf(WriteBatch::OpType type) {
  return type == WriteBatch::OpType::kPut ? wal::LogOpType::kPut : wal::LogOpType::kDelete;
}
}  // namespace

namespace {
EntryType EntryTypeOf(WriteBatch::OpType type) {
  return type == WriteBatch::OpType::kPut ? EntryType::kPut : EntryType::kTombstone;
}

// Key order, ops of one key kept in batch order (stable), so the later of them is still added
// later and shadows the earlier one (the buffer orders one key's entries of one commit newest
// insert first). Batches already in order (the common bulk case) cost one pass.
void SortForInsert(std::vector<DBImpl::BufferOp>* ops) {
  auto by_key = [](const DBImpl::BufferOp& a, const DBImpl::BufferOp& b) { return a.key < b.key; };
  if (std::is_sorted(ops->begin(), ops->end(), by_key)) return;
  std::stable_sort(ops->begin(), ops->end(), by_key);
}
}  // namespace

Status DBImpl::WriteBatchHeld(const WriteOptions& options, const WriteBatch& batch,
                              const std::vector<std::string>& names) {
  CommitRequest request;
  request.sync = options.sync;
  request.assigned_sequence = options.assigned_sequence;
  {
    // Existence only; the commit checks again in commit order (a create may be rolled back).
    VersionPtr base = latest();
    for (const std::string& name : names) {
      if (base->Find(name) == nullptr) {
        return Status::NotFound("column family '" + name + "' does not exist");
      }
      request.updates.push_back(BufferUpdate{name, {}});
    }
  }
  // `names` is sorted: a binary search finds each op's column family.
  auto update_of = [&](std::string_view name) -> BufferUpdate& {
    auto it = std::lower_bound(names.begin(), names.end(), name);
    return request.updates[static_cast<size_t>(it - names.begin())];
  };
  wal::PayloadBuilder payload(TakePayloadBuffer());
  size_t payload_bytes = 0;
  for (const WriteBatch::Op& op : batch.ops()) {
    payload_bytes += wal::PayloadOpBytes(op.column_family, op.key, op.value);
  }
  payload.Reserve(payload_bytes);
  if (request.updates.size() == 1) request.updates.front().ops.reserve(batch.Count());
  BufferUpdate* last = nullptr;  // The previous op's: runs of one column family skip the search.
  for (const WriteBatch::Op& op : batch.ops()) {
    const std::string_view value =
        op.type == WriteBatch::OpType::kPut ? std::string_view(op.value) : std::string_view();
    if (last == nullptr || last->column_family != op.column_family) {
      last = &update_of(op.column_family);
    }
    last->ops.push_back(BufferOp{EntryTypeOf(op.type), op.key, value});
    payload.Add(LogTypeOf(op.type), op.column_family, op.key, op.value);
  }
  // Sorted here, outside the commit lock: the buffer inserts each key next to the last (I29's
  // splice), which for a batch in key order costs a step instead of a search from the head.
  for (BufferUpdate& update : request.updates) SortForInsert(&update.ops);
  if (MANIFOLD_PLANTED_BUG(planted_bug::kSplitBatch) && request.updates.size() > 1) {
    for (BufferUpdate& update : request.updates) {
      CommitRequest part;
      part.sync = options.sync;
      part.assigned_sequence = options.assigned_sequence;
      wal::PayloadBuilder part_payload;
      for (const WriteBatch::Op& op : batch.ops()) {
        if (op.column_family != update.column_family) continue;
        part_payload.Add(LogTypeOf(op.type), op.column_family, op.key, op.value);
      }
      part.updates = {std::move(update)};
      part.payload = part_payload.Finish();
      MANIFOLD_RETURN_IF_ERROR(Commit(std::move(part)));
    }
    return Status::OK();
  }
  request.payload = payload.Finish();
  return Commit(std::move(request));
}

}  // namespace manifold
