#include "engine/db/log_files.h"

#include <algorithm>
#include <cassert>

#include "engine/util/fault_point.h"
#include "engine/wal/log_format.h"

namespace manifold {

LogFiles::LogFiles(FileSystem* fs, std::string dir, uint64_t segment_bytes)
    : fs_(fs), dir_(std::move(dir)), segment_bytes_(segment_bytes) {}

std::string LogFiles::PathOf(uint64_t number) const {
  return dir_ + "/" + wal::SegmentFileName(number);
}

// Called by the leader only, without the lock (a checkpoint retiring segments must not wait for
// this I/O). `recycled` is a retired segment to rename, or 0 to create a new file.
StatusOr<std::shared_ptr<File>> LogFiles::OpenSegment(uint64_t number, uint64_t recycled) {
  const std::string path = PathOf(number);
  if (recycled != 0) {
    Status renamed = fs_->Rename(PathOf(recycled), path);
    if (!renamed.ok()) {
      // The retired file keeps its old name (a rename is atomic): keep it for the next attempt.
      port::MutexLock lock(&mu_);
      pool_.push_front(recycled);
      return renamed;
    }
    ++recycled_;
  } else {
    OpenFileOptions create;
    create.create = true;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_->OpenFile(path, create));
    ++created_;
  }
  // I15: the segment's name must be durable before any record in it is acknowledged.
  if (!MANIFOLD_FAULT(planted_bug::kSkipDirSync)) MANIFOLD_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_->OpenFile(path, OpenFileOptions{}));
  return std::shared_ptr<File>(std::move(file));
}

Status LogFiles::Prepare(uint64_t number, uint64_t end_offset) {
  bool is_open;
  uint64_t recycled = 0;
  {
    port::MutexLock lock(&mu_);
    is_open = open_.count(number) != 0;
    if (!is_open && !pool_.empty()) {
      recycled = pool_.front();
      pool_.pop_front();
    }
  }
  if (!is_open) {
    MANIFOLD_ASSIGN_OR_RETURN(std::shared_ptr<File> opened, OpenSegment(number, recycled));
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, opened->Size());
    port::MutexLock lock(&mu_);
    open_[number] = std::move(opened);
    allocated_bytes_[number] = size;
  }
  std::shared_ptr<File> file;
  uint64_t allocated;
  {
    port::MutexLock lock(&mu_);
    file = open_[number];
    allocated = allocated_bytes_[number];
  }
  if (end_offset <= allocated) return Status::OK();
  // Preallocated ahead of the writes, so a record's sync is a data sync, not a size change.
  const uint64_t target =
      std::max(end_offset, std::min(segment_bytes_, allocated + kPreallocateStepBytes));
  // Counted only once it succeeded: after a NoSpace the next attempt preallocates again.
  MANIFOLD_RETURN_IF_ERROR(file->Preallocate(allocated, target - allocated));
  port::MutexLock lock(&mu_);
  allocated_bytes_[number] = target;
  return Status::OK();
}

Status LogFiles::Write(uint64_t number, uint64_t offset, std::string_view data) {
  // A record longer than a segment has a segment of its own (offset 0), longer than the others.
  assert(offset + data.size() <= segment_bytes_ || offset == 0);
  MANIFOLD_RETURN_IF_ERROR(Prepare(number, offset + data.size()));
  std::shared_ptr<File> file;
  {
    port::MutexLock lock(&mu_);
    // Marked before writing: a write that fails half-way still leaves bytes a sync must cover.
    unsynced_.insert(number);
    file = open_[number];
  }
  MANIFOLD_RETURN_IF_ERROR(file->Write(offset, data));
  bytes_written_ += data.size();
  return Status::OK();
}

Status LogFiles::SyncWritten() {
  std::vector<std::pair<uint64_t, std::shared_ptr<File>>> files;
  {
    port::MutexLock lock(&mu_);
    for (uint64_t number : unsynced_) files.emplace_back(number, open_.at(number));
  }
  for (const auto& [number, file] : files) {
    MANIFOLD_RETURN_IF_ERROR(file->Sync());
    ++syncs_;
    port::MutexLock lock(&mu_);
    unsynced_.erase(number);
  }
  return Status::OK();
}

Status LogFiles::VerifyWritten(uint64_t number, uint64_t offset, std::string_view data) {
  std::shared_ptr<File> file;
  {
    port::MutexLock lock(&mu_);
    auto it = open_.find(number);
    if (it == open_.end()) return Status::OK();  // Retired meanwhile: a checkpoint covers it.
    file = it->second;
  }
  std::string read_back(data.size(), '\0');
  MANIFOLD_ASSIGN_OR_RETURN(size_t got, file->Read(offset, data.size(), read_back.data()));
  if (got != data.size() || std::string_view(read_back) != data) {
    return Status::IOError(PathOf(number) + ": " + std::to_string(data.size()) +
                           " log bytes at offset " + std::to_string(offset) +
                           " do not read back as written (lost or misdirected write)");
  }
  return Status::OK();
}

Status LogFiles::Retire(const std::vector<uint64_t>& numbers) {
  if (numbers.empty()) return Status::OK();
  port::MutexLock lock(&mu_);
  for (uint64_t number : numbers) {
    // A checkpoint covers these records, so a sync they were still waiting for is moot.
    unsynced_.erase(number);
    open_.erase(number);
    allocated_bytes_.erase(number);
    if (pool_.size() < kRecyclePoolMax) {
      pool_.push_back(number);
    } else {
      MANIFOLD_RETURN_IF_ERROR(fs_->Remove(PathOf(number)));
    }
  }
  return fs_->SyncDir(dir_);
}

Status LogFiles::Remove(const std::vector<uint64_t>& numbers) {
  if (numbers.empty()) return Status::OK();
  port::MutexLock lock(&mu_);
  for (uint64_t number : numbers) {
    open_.erase(number);
    allocated_bytes_.erase(number);
    MANIFOLD_RETURN_IF_ERROR(fs_->Remove(PathOf(number)));
  }
  return fs_->SyncDir(dir_);
}

}  // namespace manifold
