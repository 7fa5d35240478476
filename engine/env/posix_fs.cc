// The POSIX file system and the system clock: the only code in the engine that talks to the
// kernel's file API or reads real time.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "engine/port/sync.h"
#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold {
namespace {

// Thread-safe strerror: plain strerror may share a static buffer between threads.
std::string ErrnoText(int err) {
  char buf[256];
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
  // GNU strerror_r returns a pointer that may or may not be `buf`.
  return std::string(strerror_r(err, buf, sizeof(buf)));
#else
  if (strerror_r(err, buf, sizeof(buf)) != 0) return "errno " + std::to_string(err);
  return std::string(buf);
#endif
}

// Builds "<op> <path>[ at offset <n>]: <strerror>" with a code chosen from `err`, so callers can
// react to a full disk or a missing file differently from a generic I/O failure.
Status ErrnoStatus(std::string_view op, const std::string& path, int err,
                   std::optional<uint64_t> offset = std::nullopt) {
  std::string message(op);
  message += ' ';
  message += path;
  if (offset.has_value()) {
    message += " at offset ";
    message += std::to_string(*offset);
  }
  message += ": ";
  message += ErrnoText(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(message);
    case ENOENT:
      return Status::NotFound(message);
    case EEXIST:
      return Status::AlreadyExists(message);
    default:
      return Status::IOError(message);
  }
}

// off_t is signed: reject offsets the kernel would misread as negative.
Status CheckRange(std::string_view op, const std::string& path, uint64_t offset, uint64_t len) {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  if (offset > kMax || len > kMax - offset) {
    return Status::InvalidArgument(std::string(op) + " " + path + " at offset " +
                                   std::to_string(offset) + ": range of " + std::to_string(len) +
                                   " bytes exceeds the maximum file size");
  }
  return Status::OK();
}

// Opens with O_CLOEXEC always, so descriptors never leak into child processes, and retries on
// EINTR. Returns -1 with errno set on failure.
int OpenCloexec(const std::string& path, int flags, mode_t mode = 0644) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// close() must not be retried on EINTR on Linux (the descriptor is already gone).
void CloseFd(int fd) { ::close(fd); }

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, bool read_only)
      : path_(std::move(path)), fd_(fd), read_only_(read_only) {}
  ~PosixFile() override { CloseFd(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    MANIFOLD_RETURN_IF_ERROR(CheckRange("read", path_, offset, n));
    size_t done = 0;
    while (done < n) {
      const ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path_, errno, offset + done);
      }
      if (r == 0) break;  // End of file.
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Status Write(uint64_t offset, std::string_view data) override {
    MANIFOLD_RETURN_IF_ERROR(CheckWritable("write", offset));
    MANIFOLD_RETURN_IF_ERROR(CheckRange("write", path_, offset, data.size()));
    size_t done = 0;
    // pwrite may write less than asked (signals, quotas, near-full disks): loop until all of it is
    // written.
    while (done < data.size()) {
      const ssize_t w =
          ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno, offset + done);
      }
      if (w == 0) {
        // Should not happen for a regular file; bail out rather than spin.
        return Status::IOError("write " + path_ + " at offset " + std::to_string(offset + done) +
                               ": pwrite wrote 0 bytes");
      }
      done += static_cast<size_t>(w);
    }
    return Status::OK();
  }

  Status Append(std::string_view data) override {
    // Not O_APPEND: on Linux that makes pwrite ignore its offset, which would break Write().
    // Append and Size are serialized by the engine, so reading the end first is race-free.
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size_bytes, Size());
    return Write(size_bytes, data);
  }

  Status Sync() override {
    // fdatasync: file data plus the metadata needed to read it back (size), not timestamps.
    int r;
    do {
      r = ::fdatasync(fd_);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return ErrnoStatus("sync", path_, errno);
    return Status::OK();
  }

  Status Truncate(uint64_t size_bytes) override {
    MANIFOLD_RETURN_IF_ERROR(CheckWritable("truncate", size_bytes));
    MANIFOLD_RETURN_IF_ERROR(CheckRange("truncate", path_, size_bytes, 0));
    int r;
    do {
      r = ::ftruncate(fd_, static_cast<off_t>(size_bytes));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return ErrnoStatus("truncate", path_, errno, size_bytes);
    return Status::OK();
  }

  Status Preallocate(uint64_t offset, uint64_t len) override {
    MANIFOLD_RETURN_IF_ERROR(CheckWritable("preallocate", offset));
    MANIFOLD_RETURN_IF_ERROR(CheckRange("preallocate", path_, offset, len));
    if (len == 0) return Status::OK();  // fallocate rejects len 0 with EINVAL.
    // Mode 0 extends the visible size, which keeps this consistent with the posix_fallocate
    // fallback (and with MemFileSystem).
    int r;
    do {
      r = ::fallocate(fd_, 0, static_cast<off_t>(offset), static_cast<off_t>(len));
    } while (r < 0 && errno == EINTR);
    if (r == 0) return Status::OK();
    int err = errno;
    if (err == EOPNOTSUPP || err == ENOSYS) {
      // The file system cannot reserve extents (e.g. some network or FUSE file systems).
      // posix_fallocate emulates by writing zeros; it returns the error instead of setting errno.
      err = ::posix_fallocate(fd_, static_cast<off_t>(offset), static_cast<off_t>(len));
      if (err == 0) return Status::OK();
      if (err == EOPNOTSUPP || err == EINVAL || err == ENOSYS) {
        // No way to reserve space here; preallocation is only an optimization, so just make the
        // visible size what a successful reservation would have given.
        return ExtendTo(offset + len);
      }
    }
    return ErrnoStatus("preallocate", path_, err, offset);
  }

  StatusOr<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) < 0) return ErrnoStatus("stat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& path() const override { return path_; }

 private:
  Status CheckWritable(std::string_view op, uint64_t offset) const {
    if (!read_only_) return Status::OK();
    return Status::ReadOnly(std::string(op) + " " + path_ + " at offset " + std::to_string(offset) +
                            ": file is opened read-only");
  }

  Status ExtendTo(uint64_t size_bytes) {
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t current_bytes, Size());
    if (current_bytes >= size_bytes) return Status::OK();
    return Truncate(size_bytes);
  }

  const std::string path_;
  const int fd_;
  const bool read_only_;
};

// Paths locked by this process: -1 for an exclusive lock, else the number of shared locks.
// flock alone already refuses a conflicting lock from another open file description of the same
// file, but the map makes a same-process conflict fail deterministically and with a clearer
// message.
struct LockRegistry {
  port::Mutex mu;
  std::map<std::string, int> holders MANIFOLD_GUARDED_BY(mu);
};

LockRegistry& Locks() {
  static LockRegistry* const registry = new LockRegistry();  // Never destroyed: no exit races.
  return *registry;
}

constexpr int kExclusiveHolder = -1;

// `fd` -1: a shared lock granted on read-only media where the lock file does not exist; it
// holds nothing (nobody can write that medium).
class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFileLock() override {
    if (fd_ < 0) return;
    // Close (which drops the flock) and forget the holder under one lock, so a concurrent
    // LockFile sees either both held or both released.
    LockRegistry& locks = Locks();
    port::MutexLock lock(&locks.mu);
    CloseFd(fd_);
    auto it = locks.holders.find(path_);
    if (it != locks.holders.end() && (it->second == kExclusiveHolder || --it->second == 0)) {
      locks.holders.erase(it);
    }
  }
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

 private:
  const std::string path_;
  const int fd_;
};

// Whether the file system holding `path` is mounted read-only (statvfs reads, never writes).
bool OnReadOnlyMedia(const std::string& path) {
  struct statvfs st;
  return ::statvfs(path.c_str(), &st) == 0 && (st.f_flag & ST_RDONLY) != 0;
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Takes flock `operation` (LOCK_EX or LOCK_SH) on `fd` without blocking; closes `fd` on failure.
Status FlockOrClose(const std::string& path, int fd, int operation) {
  int r;
  do {
    r = ::flock(fd, operation | LOCK_NB);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return Status::OK();
  const int err = errno;
  CloseFd(fd);
  if (err == EWOULDBLOCK) {
    return Status::Busy("database " + path + " is locked by another process" +
                        (operation == LOCK_SH ? " (open for writing)" : ""));
  }
  return ErrnoStatus("lock", path, err);
}

class PosixFs final : public FileSystem {
 public:
  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    int flags = options.read_only ? O_RDONLY : O_RDWR;
    if (options.create) {
      flags |= O_CREAT;
      if (options.exclusive) flags |= O_EXCL;
    }
    const int fd = OpenCloexec(path, flags);
    if (fd < 0) return ErrnoStatus("open", path, errno);
    // A read-only open of a directory succeeds; refuse it here so every file system reports the
    // same error.
    struct stat st;
    if (::fstat(fd, &st) < 0) {
      const int err = errno;
      CloseFd(fd);
      return ErrnoStatus("stat", path, err);
    }
    if (S_ISDIR(st.st_mode)) {
      CloseFd(fd);
      return ErrnoStatus("open", path, EISDIR);
    }
    return std::unique_ptr<File>(std::make_unique<PosixFile>(path, fd, options.read_only));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) < 0) {
      return ErrnoStatus("rename", from + " to " + to, errno);
    }
    return Status::OK();
  }

  Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) < 0) return ErrnoStatus("remove", path, errno);
    return Status::OK();
  }

  Status CreateDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) == 0) return Status::OK();
    const int err = errno;
    if (err != EEXIST) return ErrnoStatus("create dir", path, err);
    // EEXIST is fine only if what exists is a directory.
    struct stat st;
    if (::stat(path.c_str(), &st) < 0) return ErrnoStatus("create dir", path, errno);
    if (!S_ISDIR(st.st_mode)) {
      return Status::AlreadyExists("create dir " + path + ": exists and is not a directory");
    }
    return Status::OK();
  }

  Status SyncDir(const std::string& path) override {
    const int fd = OpenCloexec(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return ErrnoStatus("sync dir", path, errno);
    int r;
    do {
      r = ::fsync(fd);
    } while (r < 0 && errno == EINTR);
    const int err = errno;
    CloseFd(fd);
    if (r < 0) return ErrnoStatus("sync dir", path, err);
    return Status::OK();
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    // open + fdopendir rather than opendir so the descriptor is O_CLOEXEC by construction.
    const int fd = OpenCloexec(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return ErrnoStatus("list dir", path, errno);
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      const int err = errno;
      CloseFd(fd);
      return ErrnoStatus("list dir", path, err);
    }
    std::vector<std::string> names;
    while (true) {
      errno = 0;  // readdir returns null both at the end and on error; errno tells which.
      const struct dirent* entry = ::readdir(dir);
      if (entry == nullptr) break;
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      names.emplace_back(name);
    }
    const int err = errno;
    ::closedir(dir);  // Also closes `fd`.
    if (err != 0) return ErrnoStatus("list dir", path, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  StatusOr<bool> Exists(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return true;
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return false;
    return ErrnoStatus("stat", path, err);
  }

  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    // Held across the whole operation so two threads locking the same path cannot both pass the
    // registry check.
    LockRegistry& locks = Locks();
    port::MutexLock lock(&locks.mu);
    if (locks.holders.count(path) != 0) {
      return Status::Busy("database " + path + " is already locked by this process");
    }
    const int fd = OpenCloexec(path, O_RDWR | O_CREAT);
    if (fd < 0) return ErrnoStatus("lock", path, errno);
    MANIFOLD_RETURN_IF_ERROR(FlockOrClose(path, fd, LOCK_EX));
    locks.holders[path] = kExclusiveHolder;
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(path, fd));
  }

  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    LockRegistry& locks = Locks();
    port::MutexLock lock(&locks.mu);
    auto held = locks.holders.find(path);
    if (held != locks.holders.end() && held->second == kExclusiveHolder) {
      return Status::Busy("database " + path + " is locked for writing by this process");
    }
    // flock works on a descriptor opened for reading, so nothing is created or opened for
    // writing: this works on read-only media and for users who may only read the directory.
    const int fd = OpenCloexec(path, O_RDONLY);
    if (fd < 0) {
      const int err = errno;
      if (err == ENOENT && OnReadOnlyMedia(DirOf(path))) {
        return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(path, -1));
      }
      return ErrnoStatus("lock", path, err);
    }
    MANIFOLD_RETURN_IF_ERROR(FlockOrClose(path, fd, LOCK_SH));
    ++locks.holders[path];
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(path, fd));
  }
};

class SteadyClock final : public Clock {
 public:
  uint64_t NowMicros() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }

  void SleepForMicros(uint64_t duration_us) override {
    // Clamp so the conversion to the clock's nanoseconds cannot overflow.
    constexpr uint64_t kMaxSleepUs = uint64_t{100} * 365 * 24 * 3600 * 1000 * 1000;
    std::this_thread::sleep_for(
        std::chrono::microseconds(static_cast<int64_t>(std::min(duration_us, kMaxSleepUs))));
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  // Leaked on purpose: objects still closing files during static destruction must find it alive.
  static FileSystem* const fs = new PosixFs();
  return fs;
}

Clock* SystemClock() {
  static Clock* const clock = new SteadyClock();
  return clock;
}

}  // namespace manifold
