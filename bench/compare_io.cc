// The interposers behind IoCounts. The binary is linked with -Wl,--wrap=<name> for each function
// below (see bench/BUILD): every reference to <name> from the statically linked engines then
// resolves to __wrap_<name>, which counts and calls the real function, __real_<name>. Calls made
// inside shared libraries (libc itself, libstdc++) are not seen; no engine is linked that way.
#include "bench/compare_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace manifold::bench {
namespace {

struct AtomicCounts {
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> fsync{0};
  std::atomic<uint64_t> fdatasync{0};
  std::atomic<uint64_t> msync{0};
  std::atomic<uint64_t> dsync_writes{0};
  std::atomic<uint64_t> sync_file_range{0};
  std::atomic<uint64_t> sync_ns{0};
};

AtomicCounts g_counts;

// Which descriptors were opened with O_SYNC/O_DSYNC (LMDB writes its meta page through one
// instead of calling fdatasync). Descriptors above the table size are not tracked.
constexpr int kMaxTrackedFd = 1 << 16;
std::array<std::atomic<bool>, kMaxTrackedFd> g_dsync_fd{};

void MarkFd(int fd, int flags) {
  if (fd >= 0 && fd < kMaxTrackedFd) g_dsync_fd[fd] = (flags & O_DSYNC) != 0;
}

// Counts a finished write call of `result` bytes (negative: failed) on `fd`.
ssize_t CountWrite(int fd, ssize_t result) {
  if (result > 0) g_counts.bytes_written.fetch_add(result, std::memory_order_relaxed);
  if (fd >= 0 && fd < kMaxTrackedFd && g_dsync_fd[fd].load(std::memory_order_relaxed)) {
    g_counts.dsync_writes.fetch_add(1, std::memory_order_relaxed);
  }
  return result;
}

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Runs a sync call, counting it in `counter` and its duration in sync_ns.
template <typename Fn>
int TimedSync(std::atomic<uint64_t>& counter, Fn fn) {
  const uint64_t start = NowNs();
  const int r = fn();
  g_counts.sync_ns.fetch_add(NowNs() - start, std::memory_order_relaxed);
  counter.fetch_add(1, std::memory_order_relaxed);
  return r;
}

mode_t ModeArg(int flags, va_list args) {
  // The same test as glibc's __OPEN_NEEDS_MODE: only then was a mode passed.
  const bool has_mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  return has_mode ? static_cast<mode_t>(va_arg(args, int)) : 0;
}

}  // namespace

IoCounts ReadIoCounts() {
  IoCounts c;
  c.bytes_written = g_counts.bytes_written.load();
  c.fsync = g_counts.fsync.load();
  c.fdatasync = g_counts.fdatasync.load();
  c.msync = g_counts.msync.load();
  c.dsync_writes = g_counts.dsync_writes.load();
  c.sync_file_range = g_counts.sync_file_range.load();
  c.sync_ns = g_counts.sync_ns.load();
  return c;
}

IoCounts operator-(const IoCounts& a, const IoCounts& b) {
  IoCounts d;
  d.bytes_written = a.bytes_written - b.bytes_written;
  d.fsync = a.fsync - b.fsync;
  d.fdatasync = a.fdatasync - b.fdatasync;
  d.msync = a.msync - b.msync;
  d.dsync_writes = a.dsync_writes - b.dsync_writes;
  d.sync_file_range = a.sync_file_range - b.sync_file_range;
  d.sync_ns = a.sync_ns - b.sync_ns;
  return d;
}

uint64_t ProcessWriteBytes() {
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

ProcIo ReadProcIo() {
  ProcIo io;
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "wchar:") io.wchar = value;
    if (key == "write_bytes:") io.write_bytes = value;
    if (key == "cancelled_write_bytes:") io.cancelled_write_bytes = value;
  }
  return io;
}

const char* DeviceBytesSourceName(DeviceBytesSource source) {
  return source == DeviceBytesSource::kWriteBytes ? "write_bytes" : "wchar";
}

uint64_t DeviceBytes(const ProcIo& before, const ProcIo& after, DeviceBytesSource source) {
  if (source == DeviceBytesSource::kWchar) return after.wchar - before.wchar;
  const uint64_t dirtied = after.write_bytes - before.write_bytes;
  const uint64_t cancelled = after.cancelled_write_bytes - before.cancelled_write_bytes;
  // Pages dirtied in an earlier phase can be cancelled (a deleted log) in this one.
  return dirtied > cancelled ? dirtied - cancelled : 0;
}

DeviceBytesSource ProbeDeviceBytes(const std::string& dir, std::string* why) {
  constexpr size_t kProbeBytes = 1 << 20;
  const std::string path = dir + "/write-bytes-probe";
  const ProcIo before = ReadProcIo();
  bool wrote = false;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    const std::string block(kProbeBytes, 'p');
    wrote = write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()) &&
            fdatasync(fd) == 0;
    close(fd);
  }
  const ProcIo after = ReadProcIo();
  unlink(path.c_str());
  const uint64_t seen = after.write_bytes - before.write_bytes;
  char buf[256];
  snprintf(buf, sizeof(buf),
           "probe wrote and synced %zu bytes in the data directory: write_bytes grew by %llu, "
           "wchar by %llu",
           kProbeBytes, static_cast<unsigned long long>(seen),
           static_cast<unsigned long long>(after.wchar - before.wchar));
  *why = buf;
  if (!wrote) *why += " (the probe write failed)";
  return wrote && seen >= kProbeBytes ? DeviceBytesSource::kWriteBytes : DeviceBytesSource::kWchar;
}

bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

uint64_t PeakRssSinceResetKib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

namespace {

// Calls `fn(path, fd, size)` for every non-empty regular file under `dir`, opened read-only.
template <typename Fn>
void ForEachFile(const std::string& dir, Fn fn) {
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) continue;
    const int fd = open(it->path().c_str(), O_RDONLY);
    if (fd < 0) continue;
    fn(fd, static_cast<uint64_t>(st.st_size));
    close(fd);
  }
}

}  // namespace

void EvictFromPageCache(const std::string& dir) {
  ForEachFile(dir, [](int fd, uint64_t) {
    fdatasync(fd);  // Dirty pages cannot be dropped; write them back first.
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  });
}

uint64_t PageCacheResidentBytes(const std::string& dir) {
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  uint64_t resident = 0;
  ForEachFile(dir, [&](int fd, uint64_t size) {
    void* map = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) return;
    std::vector<unsigned char> in_core((size + page - 1) / page);
    if (mincore(map, size, in_core.data()) == 0) {
      for (size_t i = 0; i < in_core.size(); ++i) {
        if (in_core[i] & 1) resident += std::min<uint64_t>(page, size - i * page);  // Last page.
      }
    }
    munmap(map, size);
  });
  return resident;
}

uint64_t PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss);
}

DiskUsage DiskUsageOf(const std::string& dir) {
  DiskUsage total;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    total.apparent += static_cast<uint64_t>(st.st_size);
    total.allocated += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

}  // namespace manifold::bench

// --- The interposers (C linkage, names fixed by the linker's --wrap) ---------------------------
using manifold::bench::g_counts;

extern "C" {

int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_msync(void* addr, size_t len, int flags);
int __real_sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags);
int __real_open(const char* path, int flags, ...);
int __real_open64(const char* path, int flags, ...);
int __real_close(int fd);
ssize_t __real_write(int fd, const void* buf, size_t n);
ssize_t __real_pwrite(int fd, const void* buf, size_t n, off_t offset);
ssize_t __real_pwrite64(int fd, const void* buf, size_t n, off64_t offset);
ssize_t __real_writev(int fd, const struct iovec* iov, int iovcnt);

int __wrap_fsync(int fd) {
  return manifold::bench::TimedSync(g_counts.fsync, [&] { return __real_fsync(fd); });
}

int __wrap_fdatasync(int fd) {
  return manifold::bench::TimedSync(g_counts.fdatasync, [&] { return __real_fdatasync(fd); });
}

int __wrap_msync(void* addr, size_t len, int flags) {
  if (!(flags & MS_SYNC)) return __real_msync(addr, len, flags);
  return manifold::bench::TimedSync(g_counts.msync, [&] { return __real_msync(addr, len, flags); });
}

int __wrap_sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  g_counts.sync_file_range.fetch_add(1, std::memory_order_relaxed);
  return __real_sync_file_range(fd, offset, nbytes, flags);
}

int __wrap_open(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = manifold::bench::ModeArg(flags, args);
  va_end(args);
  const int fd = __real_open(path, flags, mode);
  manifold::bench::MarkFd(fd, flags);
  return fd;
}

int __wrap_open64(const char* path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  const mode_t mode = manifold::bench::ModeArg(flags, args);
  va_end(args);
  const int fd = __real_open64(path, flags, mode);
  manifold::bench::MarkFd(fd, flags);
  return fd;
}

int __wrap_close(int fd) {
  manifold::bench::MarkFd(fd, 0);  // The number may be reused by a descriptor we do not see.
  return __real_close(fd);
}

ssize_t __wrap_write(int fd, const void* buf, size_t n) {
  return manifold::bench::CountWrite(fd, __real_write(fd, buf, n));
}

ssize_t __wrap_pwrite(int fd, const void* buf, size_t n, off_t offset) {
  return manifold::bench::CountWrite(fd, __real_pwrite(fd, buf, n, offset));
}

ssize_t __wrap_pwrite64(int fd, const void* buf, size_t n, off64_t offset) {
  return manifold::bench::CountWrite(fd, __real_pwrite64(fd, buf, n, offset));
}

ssize_t __wrap_writev(int fd, const struct iovec* iov, int iovcnt) {
  return manifold::bench::CountWrite(fd, __real_writev(fd, iov, iovcnt));
}

}  // extern "C"
