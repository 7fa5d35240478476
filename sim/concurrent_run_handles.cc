// Column-family handles in the concurrent run (I46): a share of the threads' operations reach
// their column families through handles the controller took for the epoch, and the controller
// checks, between epochs, that handles of dropped column families (also once one of the same
// name was created again) and of an earlier open are refused by every call that takes one. And
// the memory bound of the write buffers at each epoch's end.

#include <algorithm>
#include <set>

#include "sim/concurrent_run.h"
#include "sim/report_text.h"
#include "sim/run_bookkeeping.h"

namespace manifold::sim {

const ColumnFamilyHandle* ConcurrentRun::HandleFor(const WorkloadOp& op,
                                                   const std::string& cf) const {
  if (!UsesHandles(op)) return nullptr;
  auto kept = handles_.find(cf);
  return kept == handles_.end() ? nullptr : &kept->second;
}

void ConcurrentRun::TakeHandles() {
  handles_.clear();
  for (const std::string& cf : db_->ListColumnFamilies()) {
    // Reads no file: the visible catalog's answer (an uncertain create or drop may go either way).
    auto handle = db_->GetColumnFamily(cf);
    if (handle.ok()) handles_.emplace(cf, *handle);
  }
}

void ConcurrentRun::RecreateColumnFamily(const WorkloadOp& op) {
  auto old_handle = db_->GetColumnFamily(op.cf);
  WorkloadOp drop = op;
  drop.kind = OpKind::kDropCf;
  Trace("  drop and create " + Show(op.cf) + " again");
  if (!ColumnFamilyOp(drop) || failed() || CfExists(op.cf)) return;
  WorkloadOp create = op;
  create.kind = OpKind::kCreateCf;
  if (!ColumnFamilyOp(create) || failed() || !CfExists(op.cf)) return;
  auto new_handle = db_->GetColumnFamily(op.cf);
  if (!new_handle.ok()) {
    return Fail(FailureKind::kReadError, op.Describe() + ": GetColumnFamily(" + Show(op.cf) +
                                             ") after creating it: expected OK, got " +
                                             new_handle.status().ToString());
  }
  if (old_handle.ok() && *old_handle == *new_handle) {
    return Fail(FailureKind::kReadMismatch,
                op.Describe() + ": the handle of the column family created again as " +
                    Show(op.cf) + " equals the dropped one's (id " +
                    std::to_string(new_handle->id()) + "; ids are never reused, I46)");
  }
  CheckEmpty(*new_handle);
  if (!failed() && old_handle.ok()) CheckStaleHandle(*old_handle, false);
}

void ConcurrentRun::CheckEmpty(const ColumnFamilyHandle& handle) {
  const std::string cf(handle.name());
  auto it = db_->NewIterator({}, handle);
  if (!it.ok()) {
    (void)ReadError(static_cast<uint32_t>(current_op_),
                    "NewIterator by the new handle of " + Show(cf), it.status());
    return;
  }
  (*it)->SeekToFirst();
  if ((*it)->Valid()) {
    return Fail(FailureKind::kReadMismatch,
                "column family " + Show(cf) + " created again after its drop holds " +
                    Show(std::string((*it)->key())) + "=" + Show(std::string((*it)->value())) +
                    ": expected it empty (the dropped one's data is gone, I46)");
  }
  if (!(*it)->status().ok()) {
    (void)ReadError(static_cast<uint32_t>(current_op_), "scan of the new " + Show(cf),
                    (*it)->status());
  }
}

void ConcurrentRun::CheckStaleHandles() {
  for (const ColumnFamilyHandle& handle : dropped_handles_) {
    if (failed()) return;
    // A column family of that name may exist again: the handle must still not reach it.
    CheckStaleHandle(handle, false);
  }
  if (!failed() && earlier_open_handle_.valid()) CheckStaleHandle(earlier_open_handle_, true);
}

void ConcurrentRun::CheckStaleHandle(const ColumnFamilyHandle& handle, bool earlier_open) {
  const std::string cf(handle.name());
  const std::string whose = earlier_open ? "a handle of " + Show(cf) + " from an earlier open"
                                         : "the handle of dropped column family " + Show(cf) +
                                               " (id " + std::to_string(handle.id()) + ")";
  const std::string expected =
      earlier_open ? "InvalidArgument (a handle belongs to the open that gave it, I46)"
                   : "NotFound (the column family was dropped; a new one of the same name is "
                     "another, I46)";
  auto refused = [&](const Status& status) {
    if (earlier_open) return status.IsInvalidArgument();
    return status.IsNotFound() && status.ToString().find("does not exist") != std::string::npos;
  };
  // None of these reads a file or writes the log: no fault excuses another answer, except one
  // that already made the database refuse writes (it may say so first).
  auto check = [&](const std::string& call, const Status& status, const std::string& got) {
    if (failed() || refused(status)) return;
    if (!status.ok() && !status.IsNotFound() && !status.IsInvalidArgument() && FaultExplains()) {
      return;
    }
    Fail(status.ok() && call.find("Get") == std::string::npos &&
                 call.find("NewIterator") == std::string::npos
             ? FailureKind::kWriteAccepted
             : FailureKind::kReadMismatch,
         call + " by " + whose + ": expected " + expected + ", got " + got);
  };
  WriteOptions write;
  {
    auto got = db_->Get({}, handle, "k00000");
    check("Get", got.status(), got.ok() ? "OK " + Show(*got) : got.status().ToString());
  }
  {
    auto it = db_->NewIterator({}, handle);
    std::string got = it.status().ToString();
    if (it.ok()) {
      (*it)->SeekToFirst();
      got = "OK" + ((*it)->Valid() ? " reading " + Show(std::string((*it)->key())) : "");
    }
    check("NewIterator", it.status(), got);
  }
  {
    auto txn = db_->BeginTransaction(handle);
    check("BeginTransaction", txn.status(), txn.status().ToString());
  }
  // The writes last: one wrongly accepted ends the run here, before its commit confuses the
  // epoch's history.
  for (int call = 0; call < 3 && !failed(); ++call) {
    WriteBatch batch;
    batch.Put(handle, "k00000", "stale");
    const Status status = call == 0   ? db_->Put(write, handle, "k00000", "stale")
                          : call == 1 ? db_->Delete(write, handle, "k00000")
                                      : db_->Write(write, batch);
    check(call == 0   ? "Put"
          : call == 1 ? "Delete"
                      : "Write (a batch by handle)",
          status, status.ToString());
  }
}

uint64_t ConcurrentRun::EpochInFlight(const Epoch& epoch) const {
  uint64_t in_flight = 0;
  for (const ConcurrentThread& thread : epoch.threads) {
    uint64_t largest = 0;
    for (const WorkloadOp& op : thread.ops) {
      uint64_t bytes = 0;
      std::set<std::string> cfs;
      for (const KeyOp& write : op.writes) {
        bytes += write.key.size() + write.value_bytes;
        cfs.insert(write.cf);
      }
      largest = std::max(largest, WriteFootprint(options_, bytes, op.writes.size(), cfs.size()));
    }
    in_flight += largest;
  }
  return in_flight;
}

void ConcurrentRun::CheckMemoryBound(uint64_t in_flight, const std::string& where, bool trace) {
  if (db_ == nullptr || fs_.crashed() || failed()) return;
  const bool may_fail = FsFaultCount() > 0 || result_.stats.fault_points_fired > 0 ||
                        result_.stats.crashes > 0 || fs_.counters().misdirected > 0;
  const Stats stats = db_->GetStats();
  ++result_.stats.memory_checks;
  if (stats.dirty_bytes >= options_.write_buffer_bytes_max - options_.write_buffer_bytes_max / 4) {
    ++result_.stats.memory_checks_near_bound;
  }
  if (trace) {
    Trace("  write buffers: " + std::to_string(stats.dirty_bytes) + " bytes (limit " +
          std::to_string(options_.write_buffer_bytes_max) + ", writers' largest commits " +
          std::to_string(in_flight) + ")");
  }
  const std::string failure = CheckBufferBound(options_, stats, in_flight, may_fail, where);
  if (!failure.empty()) Fail(FailureKind::kMemoryBound, failure);
}

}  // namespace manifold::sim
