#include "sim/turnstile_fs.h"

#include <utility>

namespace manifold::sim {
namespace {

class TurnstileFile : public File {
 public:
  TurnstileFile(TurnstileFileSystem* fs, std::unique_ptr<File> base)
      : fs_(fs), base_(std::move(base)) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    fs_->AwaitTurn();
    return base_->Read(offset, n, scratch);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    fs_->AwaitTurn();
    return base_->Write(offset, data);
  }
  Status Append(std::string_view data) override {
    fs_->AwaitTurn();
    return base_->Append(data);
  }
  Status Sync() override {
    fs_->AwaitTurn();
    fs_->MaybeRunHook(base_->path());
    fs_->AwaitTurn();  // The hook may have handed the turn around and back.
    return base_->Sync();
  }
  Status Truncate(uint64_t size_bytes) override {
    fs_->AwaitTurn();
    return base_->Truncate(size_bytes);
  }
  Status Preallocate(uint64_t offset, uint64_t len) override {
    fs_->AwaitTurn();
    return base_->Preallocate(offset, len);
  }
  StatusOr<uint64_t> Size() const override {
    fs_->AwaitTurn();
    return base_->Size();
  }
  const std::string& path() const override { return base_->path(); }

 private:
  TurnstileFileSystem* fs_;
  std::unique_ptr<File> base_;
};

thread_local bool bypass_turn = false;

bool IsLogSegment(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return name.rfind("wal-", 0) == 0;
}

}  // namespace

void TurnstileFileSystem::SetTurn(std::optional<std::thread::id> thread) {
  std::lock_guard<std::mutex> lock(mu_);
  turn_ = thread;
  turn_changed_.notify_all();
}

void TurnstileFileSystem::SetLogSyncHook(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hook_ = std::move(hook);
}

TurnstileFileSystem::Bypass::Bypass() { bypass_turn = true; }
TurnstileFileSystem::Bypass::~Bypass() { bypass_turn = false; }

void TurnstileFileSystem::AwaitTurn() {
  if (bypass_turn) return;
  std::unique_lock<std::mutex> lock(mu_);
  turn_changed_.wait(lock, [&] { return !turn_ || *turn_ == std::this_thread::get_id(); });
}

void TurnstileFileSystem::MaybeRunHook(const std::string& path) {
  std::function<void()> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!hook_ || !IsLogSegment(path)) return;
    hook = std::move(hook_);
    hook_ = nullptr;
  }
  hook();
}

StatusOr<std::unique_ptr<File>> TurnstileFileSystem::OpenFile(const std::string& path,
                                                              const OpenFileOptions& options) {
  AwaitTurn();
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->OpenFile(path, options));
  return std::unique_ptr<File>(new TurnstileFile(this, std::move(file)));
}

Status TurnstileFileSystem::Rename(const std::string& from, const std::string& to) {
  AwaitTurn();
  return base_->Rename(from, to);
}

Status TurnstileFileSystem::Remove(const std::string& path) {
  AwaitTurn();
  return base_->Remove(path);
}

Status TurnstileFileSystem::CreateDir(const std::string& path) {
  AwaitTurn();
  return base_->CreateDir(path);
}

Status TurnstileFileSystem::SyncDir(const std::string& path) {
  AwaitTurn();
  return base_->SyncDir(path);
}

StatusOr<std::vector<std::string>> TurnstileFileSystem::ListDir(const std::string& path) {
  AwaitTurn();
  return base_->ListDir(path);
}

StatusOr<bool> TurnstileFileSystem::Exists(const std::string& path) {
  AwaitTurn();
  return base_->Exists(path);
}

StatusOr<std::unique_ptr<FileLock>> TurnstileFileSystem::LockFile(const std::string& path) {
  AwaitTurn();
  return base_->LockFile(path);
}

StatusOr<std::unique_ptr<FileLock>> TurnstileFileSystem::LockFileShared(const std::string& path) {
  AwaitTurn();
  return base_->LockFileShared(path);
}

}  // namespace manifold::sim
