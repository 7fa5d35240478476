// Column-family handles in the sequential run (I46): half the operations name their column
// families by handle, and handles of dropped column families and of earlier opens are checked
// to be refused by every call that takes one; a column family dropped and created again must be
// empty. And the memory bound of the write buffers after each operation.

#include <algorithm>
#include <set>

#include "sim/report_text.h"
#include "sim/run_bookkeeping.h"
#include "sim/sequential_run.h"

namespace manifold::sim {

const ColumnFamilyHandle* SequentialRun::HandleFor(const WorkloadOp& op, const std::string& cf) {
  if (!UsesHandles(op) || db_ == nullptr) return nullptr;
  auto kept = handles_.find(cf);
  if (kept != handles_.end()) return &kept->second;
  // Reads no file: no fault point fires, and the answer is the visible catalog's.
  auto handle = db_->GetColumnFamily(cf);
  if (!handle.ok()) return nullptr;
  return &handles_.emplace(cf, *handle).first->second;
}

void SequentialRun::ForgetHandles() {
  handles_.clear();
  dropped_handle_ = ColumnFamilyHandle();
  if (db_ == nullptr) return;
  auto handle = db_->GetColumnFamily(kDefaultColumnFamily);
  if (handle.ok()) earlier_open_handle_ = *handle;
}

void SequentialRun::CheckStaleHandles() {
  if (dropped_handle_.valid()) {
    CheckRefusedHandle(dropped_handle_,
                       "the handle of dropped column family " +
                           Show(std::string(dropped_handle_.name())) + " (id " +
                           std::to_string(dropped_handle_.id()) + ")",
                       false);
  }
  if (result_.passed && earlier_open_handle_.valid()) {
    CheckRefusedHandle(earlier_open_handle_, "a handle from an earlier open", true);
  }
}

void SequentialRun::CheckRefusedHandle(const ColumnFamilyHandle& handle, const std::string& whose,
                                       bool earlier_open) {
  const std::string expected =
      earlier_open ? "InvalidArgument (a handle belongs to one open, I46)"
                   : "NotFound (the column family was dropped; one created again under its name "
                     "is another, I46)";
  // None of these calls reads a file: no fault point fires and no fault excuses another answer.
  auto check = [&](const std::string& call, const Status& status, const std::string& got,
                   FailureKind kind) {
    if (!result_.passed) return;
    const bool refused =
        earlier_open
            ? status.IsInvalidArgument()
            : status.IsNotFound() && status.ToString().find("does not exist") != std::string::npos;
    // A database that refuses writes after an earlier failure may say so first.
    const bool refuses_writes = !status.ok() && !status.IsNotFound() &&
                                !status.IsInvalidArgument() &&
                                (fs_.crashed() || FaultExplainsReadOnly());
    if (!refused && !refuses_writes) {
      Fail(kind, call + " by " + whose + ": expected " + expected + ", got " + got);
    }
  };
  {
    // NotFound for the key would mean the handle reached a column family: it must not.
    auto got = db_->Get({}, handle, "");
    check("Get", got.status(), got.ok() ? "OK " + Show(*got) : got.status().ToString(),
          FailureKind::kReadMismatch);
  }
  {
    auto it = db_->NewIterator({}, handle);
    std::string got = it.status().ToString();
    if (it.ok()) {
      (*it)->SeekToFirst();
      got = "OK" + ((*it)->Valid() ? " reading " + Show(std::string((*it)->key())) : "");
    }
    check("NewIterator", it.status(), got, FailureKind::kReadMismatch);
  }
  {
    auto txn = db_->BeginTransaction(handle);
    check("BeginTransaction", txn.status(), txn.status().ToString(), FailureKind::kWriteAccepted);
  }
  // The writes last: the first one wrongly accepted ends the run, before the model sees it.
  for (int call = 0; call < 3 && result_.passed; ++call) {
    WriteBatch batch;
    batch.Put(handle, "k00000", "stale");
    const Status status = call == 0   ? db_->Put({}, handle, "k00000", "stale")
                          : call == 1 ? db_->Delete({}, handle, "k00000")
                                      : db_->Write({}, batch);
    check(call == 0   ? "Put"
          : call == 1 ? "Delete"
                      : "Write (a batch by handle)",
          status, status.ToString(), FailureKind::kWriteAccepted);
  }
}

void SequentialRun::RecreateColumnFamily(const WorkloadOp& op) {
  Trace("  drop and create " + Show(op.cf) + " again");
  WorkloadOp drop = op;
  drop.kind = OpKind::kDropCf;
  DoColumnFamily(drop);
  if (!result_.passed || db_ == nullptr || fs_.crashed() ||
      model_.Visible().Find(op.cf) != nullptr) {
    return;
  }
  DoColumnFamily(op);  // The create; then CheckStaleHandles with the dropped one's handle.
  if (!result_.passed || db_ == nullptr || fs_.crashed() ||
      model_.Visible().Find(op.cf) == nullptr) {
    return;
  }
  auto handle = db_->GetColumnFamily(op.cf);
  if (!handle.ok()) {
    return Fail(FailureKind::kReadError, "GetColumnFamily(" + Show(op.cf) +
                                             ") after creating it: expected OK, got " +
                                             handle.status().ToString());
  }
  if (dropped_handle_.valid() && dropped_handle_ == *handle) {
    return Fail(FailureKind::kReadMismatch,
                "the column family created again as " + Show(op.cf) + " has the dropped one's id " +
                    std::to_string(handle->id()) + " (ids are never reused, I46)");
  }
  auto it = Engine([&] { return db_->NewIterator({}, *handle); });
  if (!it.ok()) {
    if (FaultExplains()) return;
    return Fail(FailureKind::kReadError, "NewIterator by the handle of " + Show(op.cf) +
                                             " created again: expected OK, got " +
                                             it.status().ToString());
  }
  Engine([&] {
    (*it)->SeekToFirst();
    return 0;
  });
  if ((*it)->Valid()) {
    return Fail(FailureKind::kReadMismatch,
                "column family " + Show(op.cf) + " created again after its drop holds " +
                    Show(std::string((*it)->key())) + "=" + Show(std::string((*it)->value())) +
                    ": expected it empty (the dropped one's data is gone, I46)");
  }
  if (!(*it)->status().ok() && !FaultExplains()) {
    Fail(FailureKind::kReadError, "scan of " + Show(op.cf) + " created again: expected OK, got " +
                                      (*it)->status().ToString());
  }
}

void SequentialRun::CheckMemory(const WorkloadOp& op) {
  if (db_ == nullptr || fs_.crashed()) return;
  const Stats stats = db_->GetStats();
  // A checkpoint that returned OK with no writer running covered every commit: nothing is left
  // in the write buffers (I31: they are counted exactly, and released once merged).
  if (checkpointed_ && stats.dirty_bytes != 0 && stats.checkpoint_sequence == stats.sequence) {
    return Fail(FailureKind::kMemoryBound,
                "after a checkpoint that returned OK and covers sequence " +
                    std::to_string(stats.sequence) + ", the write buffers still hold " +
                    std::to_string(stats.dirty_bytes) +
                    " bytes (Stats::dirty_bytes): merged buffers were not released (I31)");
  }
  uint64_t bytes = 0;
  std::set<std::string> cfs;
  for (const KeyOp& write : op.writes) {
    bytes += write.key.size() + write.value_bytes;
    cfs.insert(write.cf);
  }
  const bool may_fail = FsFaultCount() > 0 || result_.stats.fault_points_fired > 0 ||
                        result_.stats.crashes > 0 || fs_.counters().misdirected > 0;
  ++result_.stats.memory_checks;
  if (stats.dirty_bytes >= options_.write_buffer_bytes_max - options_.write_buffer_bytes_max / 4) {
    ++result_.stats.memory_checks_near_bound;
  }
  // What a commit admitted below the bound adds stays until a checkpoint releases it, and while
  // checkpoints fail none does: the allowance is the largest commit of the run so far, not this
  // operation's (a read after a commit that went past twice the bound found it still there).
  footprint_max_ =
      std::max(footprint_max_, WriteFootprint(options_, bytes, op.writes.size(), cfs.size()));
  const std::string failure =
      CheckBufferBound(options_, stats, footprint_max_, may_fail, "after " + op.Describe());
  if (!failure.empty()) Fail(FailureKind::kMemoryBound, failure);
}

}  // namespace manifold::sim
