// Column-family handles in the sequential run (I46): half the operations name their column
// families by handle, and handles of dropped column families and of earlier opens are checked
// to be refused.

#include "sim/report_text.h"
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
    auto got = db_->Get({}, dropped_handle_, "");
    // NotFound for the key would mean the handle reached a column family: it must not.
    if (!got.status().IsNotFound() ||
        got.status().ToString().find("does not exist") == std::string::npos) {
      return Fail(FailureKind::kReadMismatch,
                  "Get by the handle of dropped column family " +
                      Show(std::string(dropped_handle_.name())) +
                      ": expected NotFound (the column family was dropped, I46), got " +
                      (got.ok() ? "OK " + Show(*got) : got.status().ToString()));
    }
  }
  if (earlier_open_handle_.valid()) {
    Status put = db_->Put({}, earlier_open_handle_, "", "");
    if (!put.IsInvalidArgument()) {
      return Fail(FailureKind::kWriteAccepted,
                  "Put by a handle from an earlier open: expected InvalidArgument (a handle "
                  "belongs to one open, I46), got " +
                      put.ToString());
    }
  }
}

}  // namespace manifold::sim
