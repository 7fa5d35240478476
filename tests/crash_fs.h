// A test-only FileSystem that cuts the power at a chosen sync.
//
// CrashFileSystem wraps a MemFileSystem (a FileSystemWrapper over it). It counts every File::Sync
// and FileSystem::SyncDir call (attempted, whether or not it succeeds). Armed with CutAtSync(n,
// mode), the n-th such call (0-based) "cuts the power": from then on every operation of the file
// system and of every file it opened returns IOError. What happens to sync n itself depends on the
// mode:
//
//   kFailSync      sync n fails without syncing anything (a crash just before the sync).
//   kSyncThenFail  sync n makes its data durable, then fails (the device did the work but the
//                  crash came before the acknowledgement).
//   kSyncThenCut   sync n succeeds and returns OK; the power goes right after it.
//
// The test then destroys the database, calls DropUnsyncedData() on the inner MemFileSystem (the
// power loss) and reopens over the inner file system.
//
// Optionally, PersistSomeUnsyncedWrites(seed) models a disk that wrote back part of the dirty
// data before the power went: after DropUnsyncedData(), it re-applies a random subset of the
// writes made since each file's last successful Sync (at 512-byte sector granularity, in their
// original order) and syncs them, so torn and reordered unsynced writes become durable.
#ifndef MANIFOLD_TESTS_CRASH_FS_H_
#define MANIFOLD_TESTS_CRASH_FS_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold {
namespace test_support {

enum class CutMode { kFailSync, kSyncThenFail, kSyncThenCut };

inline const char* CutModeName(CutMode mode) {
  switch (mode) {
    case CutMode::kFailSync:
      return "FailSync";
    case CutMode::kSyncThenFail:
      return "SyncThenFail";
    case CutMode::kSyncThenCut:
      return "SyncThenCut";
  }
  return "?";
}

// Built on FileSystemWrapper/FileWrapper: the power switch is the one fault, and it refuses every
// call once off, so each override is "check the power, then the base's call"; only Sync/SyncDir
// (counted, and where the cut lands) and the writes (recorded until synced) add more.
class CrashFileSystem final : public FileSystemWrapper {
 public:
  static constexpr uint64_t kNever = UINT64_MAX;

  explicit CrashFileSystem(MemFileSystem* inner)
      : FileSystemWrapper(inner), state_(std::make_shared<State>()) {}

  // Cuts the power at the `n`-th sync call counted from the creation of this object.
  void CutAtSync(uint64_t n, CutMode mode) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->cut_at = n;
    state_->mode = mode;
  }

  // Cuts the power now.
  void CutNow() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->cut = true;
  }

  // Power back on (no crash: nothing is dropped) and no further cut planned.
  void Restore() {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->cut = false;
    state_->cut_at = kNever;
  }

  bool cut() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->cut;
  }

  // Sync and SyncDir calls seen so far (including failed ones).
  uint64_t sync_calls() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->sync_calls;
  }

  // Operations refused because the power was off.
  uint64_t refused_ops() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->refused;
  }

  // See the file comment. Call after inner->DropUnsyncedData(). Returns how many pieces of
  // unsynced data were made durable. Writes through each file's own base handle (shared with its
  // FileWrapper), so files the database already closed, renamed or lost are reached as before.
  uint64_t PersistSomeUnsyncedWrites(uint64_t seed) {
    std::lock_guard<std::mutex> lock(state_->mu);
    std::mt19937_64 rng(seed);
    uint64_t persisted = 0;
    for (const std::shared_ptr<FileState>& file : state_->files) {
      if (file->pending.empty()) continue;
      for (const PendingOp& op : file->pending) {
        if (rng() % 2 == 0) continue;
        switch (op.kind) {
          case PendingOp::kWrite: {
            constexpr size_t kSector = 512;
            // Sector-aligned pieces of the write, each persisted or not.
            uint64_t at = op.offset;
            size_t i = 0;
            while (i < op.data.size()) {
              const size_t piece = std::min<size_t>(kSector - at % kSector, op.data.size() - i);
              if (rng() % 2 == 0) {
                file->base->Write(at, std::string_view(op.data).substr(i, piece)).IgnoreError();
                ++persisted;
              }
              at += piece;
              i += piece;
            }
            break;
          }
          case PendingOp::kTruncate:
            file->base->Truncate(op.offset).IgnoreError();
            ++persisted;
            break;
          case PendingOp::kPreallocate:
            file->base->Preallocate(op.offset, op.length).IgnoreError();
            ++persisted;
            break;
        }
      }
      file->pending.clear();
      file->base->Sync().IgnoreError();
    }
    return persisted;
  }

  // --- FileSystem: the power check in front of every call ---

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("open " + path));
    auto base = FileSystemWrapper::OpenFile(path, options);
    if (!base.ok()) return base.status();
    auto file = std::make_shared<FileState>();
    file->base = std::move(base).value();
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->files.push_back(file);
    }
    return std::unique_ptr<File>(new CrashFile(state_, std::move(file)));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("rename " + from));
    return FileSystemWrapper::Rename(from, to);
  }
  Status Remove(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("remove " + path));
    return FileSystemWrapper::Remove(path);
  }
  Status CreateDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("create dir " + path));
    return FileSystemWrapper::CreateDir(path);
  }
  Status SyncDir(const std::string& path) override {
    return state_->Sync("sync dir " + path, [&] { return FileSystemWrapper::SyncDir(path); });
  }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("list dir " + path));
    return FileSystemWrapper::ListDir(path);
  }
  StatusOr<bool> Exists(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("exists " + path));
    return FileSystemWrapper::Exists(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("lock " + path));
    return FileSystemWrapper::LockFile(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->Check("lock shared " + path));
    return FileSystemWrapper::LockFileShared(path);
  }

 private:
  struct PendingOp {
    enum Kind { kWrite, kTruncate, kPreallocate } kind;
    uint64_t offset;
    uint64_t length;
    std::string data;
  };

  // One opened file: its base handle (shared with its CrashFile) and its writes since its last
  // successful Sync. Kept by the file system, so PersistSomeUnsyncedWrites works after the
  // database closed its files.
  struct FileState {
    std::shared_ptr<File> base;
    std::vector<PendingOp> pending;  // Guarded by State::mu.
  };

  struct State {
    mutable std::mutex mu;
    uint64_t sync_calls = 0;
    uint64_t cut_at = kNever;
    CutMode mode = CutMode::kFailSync;
    bool cut = false;
    uint64_t refused = 0;
    std::vector<std::shared_ptr<FileState>> files;

    Status Check(const std::string& what) {
      std::lock_guard<std::mutex> lock(mu);
      return CheckLocked(what);
    }
    Status CheckLocked(const std::string& what) {
      if (!cut) return Status::OK();
      ++refused;
      return Status::IOError(what + ": power cut (CrashFileSystem)");
    }

    // Runs `do_sync` (a File::Sync or SyncDir) unless the power is or goes off.
    template <typename Fn>
    Status Sync(const std::string& what, Fn&& do_sync) {
      std::unique_lock<std::mutex> lock(mu);
      MANIFOLD_RETURN_IF_ERROR(CheckLocked(what));
      const uint64_t index = sync_calls++;
      if (index != cut_at) {
        lock.unlock();
        return do_sync();
      }
      cut = true;
      switch (mode) {
        case CutMode::kFailSync:
          return Status::IOError(what + ": power cut at this sync (CrashFileSystem)");
        case CutMode::kSyncThenFail: {
          lock.unlock();
          do_sync().IgnoreError();
          return Status::IOError(what + ": power cut right after this sync (CrashFileSystem)");
        }
        case CutMode::kSyncThenCut:
          lock.unlock();
          return do_sync();
      }
      return Status::OK();
    }
  };

  // The file's power check, its sync (counted; clears the record once durable) and the record of
  // every mutation since; path() is the base's.
  class CrashFile final : public FileWrapper {
   public:
    CrashFile(std::shared_ptr<State> state, std::shared_ptr<FileState> file)
        : FileWrapper(file->base), state_(std::move(state)), file_(std::move(file)) {}

    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      MANIFOLD_RETURN_IF_ERROR(state_->Check("read " + path()));
      return FileWrapper::Read(offset, n, scratch);
    }
    Status Write(uint64_t offset, std::string_view data) override {
      std::lock_guard<std::mutex> lock(state_->mu);
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLocked("write " + path()));
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Write(offset, data));
      Record(PendingOp::kWrite, offset, data.size(), data);
      return Status::OK();
    }
    Status Append(std::string_view data) override {
      std::lock_guard<std::mutex> lock(state_->mu);
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLocked("append " + path()));
      auto size = FileWrapper::Size();
      if (!size.ok()) return size.status();
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Append(data));
      Record(PendingOp::kWrite, *size, data.size(), data);
      return Status::OK();
    }
    Status Sync() override {
      return state_->Sync("sync " + path(), [this] {
        Status s = FileWrapper::Sync();
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(state_->mu);
          file_->pending.clear();
        }
        return s;
      });
    }
    Status Truncate(uint64_t size_bytes) override {
      std::lock_guard<std::mutex> lock(state_->mu);
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLocked("truncate " + path()));
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Truncate(size_bytes));
      Record(PendingOp::kTruncate, size_bytes, 0, {});
      return Status::OK();
    }
    Status Preallocate(uint64_t offset, uint64_t len) override {
      std::lock_guard<std::mutex> lock(state_->mu);
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLocked("preallocate " + path()));
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Preallocate(offset, len));
      Record(PendingOp::kPreallocate, offset, len, {});
      return Status::OK();
    }
    StatusOr<uint64_t> Size() const override {
      MANIFOLD_RETURN_IF_ERROR(state_->Check("size " + path()));
      return FileWrapper::Size();
    }

   private:
    // Caller holds state_->mu.
    void Record(PendingOp::Kind kind, uint64_t offset, uint64_t length, std::string_view data) {
      file_->pending.push_back(PendingOp{kind, offset, length, std::string(data)});
    }

    const std::shared_ptr<State> state_;
    const std::shared_ptr<FileState> file_;
  };

  const std::shared_ptr<State> state_;
};

}  // namespace test_support
}  // namespace manifold

#endif  // MANIFOLD_TESTS_CRASH_FS_H_
