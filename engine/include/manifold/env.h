// The platform seam: every byte Manifold reads or writes and every time it asks for goes through
// these interfaces, so the simulator can replace the disk and the clock. The file system and the
// clock are separate interfaces (as in RocksDB) so one can be swapped without the other.
#ifndef MANIFOLD_ENV_H_
#define MANIFOLD_ENV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/status.h"

namespace manifold {

// An open file. Offsets and sizes are in bytes. Implementations must be safe for concurrent
// Read/Write calls at different offsets from several threads; other calls are serialized by the
// engine.
class File {
 public:
  virtual ~File() = default;

  // Reads up to `n` bytes at `offset` into `scratch`. Returns the number of bytes read, which is
  // smaller than `n` only at end of file.
  [[nodiscard]] virtual StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;

  // Writes all of `data` at `offset`, extending the file if needed. Not durable until Sync().
  [[nodiscard]] virtual Status Write(uint64_t offset, std::string_view data) = 0;

  // Writes `data` at the current end of the file.
  [[nodiscard]] virtual Status Append(std::string_view data) = 0;

  // Makes every completed Write/Append/Truncate/Preallocate of this file durable (fdatasync).
  // Does not make the file's directory entry durable: see FileSystem::SyncDir.
  [[nodiscard]] virtual Status Sync() = 0;

  // Sets the file size to `size_bytes`, dropping or zero-filling the tail.
  [[nodiscard]] virtual Status Truncate(uint64_t size_bytes) = 0;

  // Reserves space so that writes below `offset + len` do not fail for lack of space. May extend
  // the visible file size (zero-filled). A file system without the notion may do nothing.
  [[nodiscard]] virtual Status Preallocate(uint64_t offset, uint64_t len) = 0;

  // Current size of the file in bytes.
  [[nodiscard]] virtual StatusOr<uint64_t> Size() const = 0;

  // The path the file was opened with, for error messages.
  virtual const std::string& path() const = 0;
};

// Held while a database is open; releasing it (destruction) unlocks.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

struct OpenFileOptions {
  // Create the file if it does not exist.
  bool create = false;
  // With `create`: fail with AlreadyExists if the file exists.
  bool exclusive = false;
  // Open for reading only; writes fail.
  bool read_only = false;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  [[nodiscard]] virtual StatusOr<std::unique_ptr<File>> OpenFile(
      const std::string& path, const OpenFileOptions& options) = 0;
  // Atomically replaces `to` with `from`. Durable only after SyncDir of the parent directory.
  [[nodiscard]] virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Durable only after SyncDir of the parent directory.
  [[nodiscard]] virtual Status Remove(const std::string& path) = 0;
  // Creates a directory (not its parents). OK if it already exists.
  [[nodiscard]] virtual Status CreateDir(const std::string& path) = 0;
  // Makes creations, renames and removals of entries in directory `path` durable.
  [[nodiscard]] virtual Status SyncDir(const std::string& path) = 0;
  // Names (not paths) of the entries in directory `path`, sorted.
  [[nodiscard]] virtual StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  [[nodiscard]] virtual StatusOr<bool> Exists(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (creating it if needed). A second lock on the same path, from
  // this or another process, fails with Busy until the first is released.
  [[nodiscard]] virtual StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
  // Takes a shared lock on the existing file `path` without creating, writing or syncing
  // anything (read-only opens use it, so they work on read-only media). Any number of shared
  // locks coexist; a shared lock and an exclusive one exclude each other (Busy). A missing file
  // is NotFound, except that a file system on read-only media (nobody can write it) may grant a
  // lock that holds nothing. The default takes the exclusive lock, which is correct but stricter
  // (readers exclude each other and the file may be created); every file system in the project
  // overrides it.
  [[nodiscard]] virtual StatusOr<std::unique_ptr<FileLock>> LockFileShared(
      const std::string& path) {
    return LockFile(path);
  }
};

// Forwards every call to another File. A fault-injecting or instrumenting layer derives from it
// and overrides only the calls it changes (like RocksDB's FSWrapper and leveldb's EnvWrapper).
// The base is shared (a std::unique_ptr converts) so that a layer may keep using it after the
// engine closed the wrapper, as a crash model replaying unsynced writes does.
class FileWrapper : public File {
 public:
  explicit FileWrapper(std::shared_ptr<File> base) : base_(std::move(base)) {}
  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    return base_->Read(offset, n, scratch);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    return base_->Write(offset, data);
  }
  Status Append(std::string_view data) override { return base_->Append(data); }
  Status Sync() override { return base_->Sync(); }
  Status Truncate(uint64_t size_bytes) override { return base_->Truncate(size_bytes); }
  Status Preallocate(uint64_t offset, uint64_t len) override {
    return base_->Preallocate(offset, len);
  }
  StatusOr<uint64_t> Size() const override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 protected:
  File* base() const { return base_.get(); }

 private:
  const std::shared_ptr<File> base_;
};

// Forwards every call to another FileSystem (not owned; it must outlive the wrapper). Override
// OpenFile to wrap the files too (return a FileWrapper subclass around the base's file).
class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(FileSystem* base) : base_(base) {}
  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    return base_->OpenFile(path, options);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Remove(const std::string& path) override { return base_->Remove(path); }
  Status CreateDir(const std::string& path) override { return base_->CreateDir(path); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    return base_->LockFileShared(path);
  }

 protected:
  FileSystem* base() const { return base_; }

 private:
  FileSystem* const base_;
};

// Time as the engine sees it. The engine never reads the wall clock directly.
class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since an arbitrary, fixed epoch; never decreases.
  virtual uint64_t NowMicros() = 0;
  // Blocks the calling thread for about `duration_us` microseconds.
  virtual void SleepForMicros(uint64_t duration_us) = 0;
};

// The process-wide POSIX file system (pread/pwrite/fdatasync/fallocate/flock). Never null.
FileSystem* PosixFileSystem();

// The process-wide monotonic system clock. Never null.
Clock* SystemClock();

// An in-memory file system for tests. It remembers, per file, what the last Sync() made durable
// and, per directory, which entries the last SyncDir() made durable, so a test can simulate power
// loss with DropUnsyncedData(). Thread-safe.
class MemFileSystem : public FileSystem {
 public:
  // Simulates a power cut: every file goes back to its content at its last Sync(), and every
  // directory entry created, renamed or removed since the directory's last SyncDir() is undone.
  // Files stay usable (open handles see the rolled-back content).
  virtual void DropUnsyncedData() = 0;
  // Number of successful File::Sync and SyncDir calls so far.
  virtual uint64_t sync_count() const = 0;
};

std::unique_ptr<MemFileSystem> NewMemFileSystem();

}  // namespace manifold

#endif  // MANIFOLD_ENV_H_
