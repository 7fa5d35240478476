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

// Called with create_mu_ held, without mu_ (a checkpoint retiring segments must not wait for
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
  if (!MANIFOLD_PLANTED_BUG(planted_bug::kSkipDirSync))
    MANIFOLD_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_->OpenFile(path, OpenFileOptions{}));
  return std::shared_ptr<File>(std::move(file));
}

bool LogFiles::IsPrepared(uint64_t number) {
  port::MutexLock lock(&mu_);
  return open_.count(number) != 0;
}

Status LogFiles::Create(uint64_t number) {
  if (IsPrepared(number)) return Status::OK();  // Without create_mu_: the common case.
  port::MutexLock create_lock(&create_mu_);
  uint64_t recycled = 0;
  {
    port::MutexLock lock(&mu_);
    if (open_.count(number) != 0) return Status::OK();
    if (!pool_.empty()) {
      recycled = pool_.front();
      pool_.pop_front();
    }
  }
  MANIFOLD_ASSIGN_OR_RETURN(std::shared_ptr<File> opened, OpenSegment(number, recycled));
  MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, opened->Size());
  if (const uint64_t legal = wal::RoundUpToGranule(size); legal != size) {
    // I22 for a recycled file whose length is not whole granules (one cut short while it held
    // only checkpointed records, found by the simulator's at-rest truncation: chaos seed 1654):
    // extend it before any record goes in, or recovery would take it for a truncated segment.
    MANIFOLD_RETURN_IF_ERROR(Preallocate(opened.get(), number, size, legal - size));
    size = legal;
  }
  port::MutexLock lock(&mu_);
  open_[number] = std::move(opened);
  allocated_bytes_[number] = size;
  return Status::OK();
}

Status LogFiles::Prepare(uint64_t number, uint64_t end_offset) {
  MANIFOLD_RETURN_IF_ERROR(Create(number));
  std::shared_ptr<File> file;
  uint64_t allocated;
  {
    port::MutexLock lock(&mu_);
    file = open_.at(number);
    allocated = allocated_bytes_.at(number);
  }
  if (end_offset <= allocated) return Status::OK();
  // Whole granules (I22), a step at a time up to the segment size, or all a longer record (with
  // the control records after it) needs. Preallocated ahead of the writes, so a record's sync is a
  // data sync, not a size change.
  const uint64_t step_end = std::min(segment_bytes_, allocated + kPreallocateStepBytes);
  const uint64_t target = wal::RoundUpToGranule(std::max(end_offset, step_end));
  // Counted only once it succeeded: after a NoSpace the next attempt preallocates again (I26).
  MANIFOLD_RETURN_IF_ERROR(Preallocate(file.get(), number, allocated, target - allocated));
  port::MutexLock lock(&mu_);
  allocated_bytes_[number] = target;
  return Status::OK();
}

StatusOr<bool> LogFiles::IsEmpty(uint64_t number) { return SegmentIsEmpty(fs_, dir_, number); }

// I22: the new length is durable before any record is written into it, so a legal crash never
// leaves a segment shorter than its records, and recovery may call a record cut by the end of its
// file truncation rather than a torn tail.
Status LogFiles::Preallocate(File* file, uint64_t number, uint64_t from, uint64_t bytes) {
  MANIFOLD_RETURN_IF_ERROR(file->Preallocate(from, bytes));
  if (MANIFOLD_PLANTED_BUG(planted_bug::kPreallocateWithoutSync)) return Status::OK();
  MANIFOLD_RETURN_IF_ERROR(file->Sync());
  ++syncs_;
  port::MutexLock lock(&mu_);
  unsynced_.erase(number);  // The sync covered what was written so far too.
  return Status::OK();
}

Status LogFiles::Write(uint64_t number, uint64_t offset, std::string_view data) {
  MANIFOLD_RETURN_IF_ERROR(Prepare(number, offset + data.size()));
  std::shared_ptr<File> file;
  {
    port::MutexLock lock(&mu_);
    // Marked before writing: a write that fails half-way still leaves bytes a sync must cover.
    unsynced_.insert(number);
    file = open_.at(number);
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

Status LogFiles::VerifyWritten(uint64_t number, uint64_t offset, std::string_view data,
                               std::string* scratch) {
  std::shared_ptr<File> file;
  {
    port::MutexLock lock(&mu_);
    auto it = open_.find(number);
    if (it == open_.end()) return Status::OK();  // Retired meanwhile: a checkpoint covers it.
    file = it->second;
  }
  if (scratch->size() < data.size()) scratch->resize(data.size());
  MANIFOLD_ASSIGN_OR_RETURN(size_t got, file->Read(offset, data.size(), scratch->data()));
  if (got != data.size() || std::string_view(scratch->data(), data.size()) != data) {
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

StatusOr<bool> SegmentIsEmpty(FileSystem* fs, const std::string& dir, uint64_t number) {
  OpenFileOptions read_only;
  read_only.read_only = true;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                            fs->OpenFile(dir + "/" + wal::SegmentFileName(number), read_only));
  MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  return size == 0;
}

Status CreateFirstSegment(FileSystem* fs, const std::string& dir, uint64_t number) {
  OpenFileOptions create;
  create.create = true;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                            fs->OpenFile(dir + "/" + wal::SegmentFileName(number), create));
  if (MANIFOLD_PLANTED_BUG(planted_bug::kSkipDirSync)) return Status::OK();
  return fs->SyncDir(dir);
}

}  // namespace manifold
