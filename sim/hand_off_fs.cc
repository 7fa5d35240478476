#include "sim/hand_off_fs.h"

#include <utility>

#include "engine/wal/log_format.h"

namespace manifold::sim {

// Every call waits out another thread's hold, then goes to the base file; a sync first gives the
// file system the chance to run its hook.
class HandOffFileSystem::HandOffFile final : public FileWrapper {
 public:
  HandOffFile(HandOffFileSystem* fs, std::unique_ptr<File> base)
      : FileWrapper(std::move(base)), fs_(fs) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    fs_->AwaitDisk();
    return FileWrapper::Read(offset, n, scratch);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    fs_->AwaitDisk();
    return FileWrapper::Write(offset, data);
  }
  Status Append(std::string_view data) override {
    fs_->AwaitDisk();
    return FileWrapper::Append(data);
  }
  Status Sync() override {
    fs_->AwaitDisk();
    fs_->MaybeRunHook(path());
    fs_->AwaitDisk();  // The hook may have handed the disk around and back.
    return FileWrapper::Sync();
  }
  Status Truncate(uint64_t size_bytes) override {
    fs_->AwaitDisk();
    return FileWrapper::Truncate(size_bytes);
  }
  Status Preallocate(uint64_t offset, uint64_t len) override {
    fs_->AwaitDisk();
    return FileWrapper::Preallocate(offset, len);
  }
  StatusOr<uint64_t> Size() const override {
    fs_->AwaitDisk();
    return FileWrapper::Size();
  }

 private:
  HandOffFileSystem* const fs_;
};

void HandOffFileSystem::SetLogSyncHook(std::function<void()> hook) { hook_ = std::move(hook); }

void HandOffFileSystem::HoldDisk() {
  port::MutexLock lock(&mu_);
  holder_ = std::this_thread::get_id();
  held_ = true;
}

void HandOffFileSystem::ReleaseDisk() {
  port::MutexLock lock(&mu_);
  holder_.reset();
  held_ = false;
  released_.SignalAll();
}

void HandOffFileSystem::AwaitDisk() {
  if (!held_) return;
  port::MutexLock lock(&mu_);
  while (holder_ && *holder_ != std::this_thread::get_id()) released_.Wait();
}

void HandOffFileSystem::MaybeRunHook(const std::string& path) {
  if (!hook_) return;
  uint64_t number = 0;
  if (!wal::ParseSegmentFileName(path.substr(path.rfind('/') + 1), &number)) return;
  // Taken before it runs, so that a sync inside it (the follower's) finds none.
  std::function<void()> hook = std::move(hook_);
  hook_ = nullptr;
  hook();
}

StatusOr<std::unique_ptr<File>> HandOffFileSystem::OpenFile(const std::string& path,
                                                            const OpenFileOptions& options) {
  AwaitDisk();
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base()->OpenFile(path, options));
  return std::unique_ptr<File>(new HandOffFile(this, std::move(file)));
}

Status HandOffFileSystem::Rename(const std::string& from, const std::string& to) {
  AwaitDisk();
  return FileSystemWrapper::Rename(from, to);
}

Status HandOffFileSystem::Remove(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::Remove(path);
}

Status HandOffFileSystem::CreateDir(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::CreateDir(path);
}

Status HandOffFileSystem::SyncDir(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::SyncDir(path);
}

StatusOr<std::vector<std::string>> HandOffFileSystem::ListDir(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::ListDir(path);
}

StatusOr<bool> HandOffFileSystem::Exists(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::Exists(path);
}

StatusOr<std::unique_ptr<FileLock>> HandOffFileSystem::LockFile(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::LockFile(path);
}

StatusOr<std::unique_ptr<FileLock>> HandOffFileSystem::LockFileShared(const std::string& path) {
  AwaitDisk();
  return FileSystemWrapper::LockFileShared(path);
}

}  // namespace manifold::sim
