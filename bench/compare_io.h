// Measurements //bench:compare takes at the process level, the same way for every engine: sync
// calls counted by linker-level interposers (compare_io.cc), bytes written from /proc/self/io,
// peak memory from getrusage, and space on disk.
#ifndef MANIFOLD_BENCH_COMPARE_IO_H_
#define MANIFOLD_BENCH_COMPARE_IO_H_

#include <cstdint>
#include <string>

namespace manifold::bench {

// Calls that reached the file system since the process started. Counted by the -Wl,--wrap
// interposers, so they see every call made by code linked statically into the binary (all five
// engines) and nothing else.
struct IoCounts {
  // Bytes that write/pwrite/pwrite64/writev accepted: what the engines asked the kernel to write
  // (not writes through a shared memory map, which no engine here uses for writing).
  uint64_t bytes_written = 0;
  uint64_t fsync = 0;
  uint64_t fdatasync = 0;
  uint64_t msync = 0;            // msync(MS_SYNC) only; MS_ASYNC does not wait for the device.
  uint64_t dsync_writes = 0;     // write/pwrite/writev on a file opened O_SYNC or O_DSYNC.
  uint64_t sync_file_range = 0;  // Starts or waits for writeback; no durability barrier.
  uint64_t sync_ns = 0;          // Wall time spent inside fsync/fdatasync/msync(MS_SYNC).

  // The calls that make data durable when they return.
  uint64_t Durable() const { return fsync + fdatasync + msync + dsync_writes; }
};

IoCounts ReadIoCounts();
IoCounts operator-(const IoCounts& a, const IoCounts& b);

// write_bytes from /proc/self/io: bytes this process caused to be sent to storage (counted when
// a page is dirtied, so background threads' flushes and compactions are included). Kernels with
// large page-cache folios count a whole folio when a 4 KiB piece of it is dirtied, so small
// random writes can be counted several times over; IoCounts::bytes_written is exact. 0 if the
// kernel does not provide it.
uint64_t ProcessWriteBytes();

// The byte counters of /proc/self/io (all threads of the process; 0 when the file is missing).
struct ProcIo {
  uint64_t wchar = 0;        // Bytes passed to write-like calls (page cache, pipes, anything).
  uint64_t write_bytes = 0;  // Bytes this process caused to be sent to storage (see above).
  uint64_t cancelled_write_bytes = 0;  // Of those, dirty pages truncated before write-back.
};
ProcIo ReadProcIo();

// Where the "to device" column of the report comes from. kWriteBytes: write_bytes minus
// cancelled_write_bytes; kWchar: wchar, used when this kernel or file system does not account
// write_bytes (no block-device write-back, e.g. tmpfs, or a container without task I/O
// accounting), so it counts what reached the page cache rather than the device.
enum class DeviceBytesSource { kWriteBytes, kWchar };
const char* DeviceBytesSourceName(DeviceBytesSource source);
uint64_t DeviceBytes(const ProcIo& before, const ProcIo& after, DeviceBytesSource source);

// Writes and syncs a 1 MiB file in `dir` and checks whether write_bytes saw it: kWriteBytes when
// it grew by at least that much, else kWchar. `why` says what the probe measured.
DeviceBytesSource ProbeDeviceBytes(const std::string& dir, std::string* why);

// Peak resident set size of this process, KiB (getrusage ru_maxrss).
uint64_t PeakRssKib();

// Resets the kernel's peak-RSS mark (VmHWM) to the current RSS by writing "5" to
// /proc/self/clear_refs; false when the kernel refuses. After a reset, PeakRssSinceResetKib()
// is the peak since then, so phases of one process each get their own peak.
bool ResetPeakRss();
// VmHWM from /proc/self/status, KiB; 0 when unavailable.
uint64_t PeakRssSinceResetKib();

// Asks the kernel to drop the page-cache pages of every file under `dir`
// (fdatasync + posix_fadvise(POSIX_FADV_DONTNEED)), so that the next reads go to the device.
// Pages still mapped by a process are not dropped; call it with the database closed.
void EvictFromPageCache(const std::string& dir);
// Bytes of the files under `dir` that are in the page cache now (mincore over a mapping).
uint64_t PageCacheResidentBytes(const std::string& dir);

// Space used by the files under `dir`, recursively.
struct DiskUsage {
  uint64_t apparent = 0;   // Sum of file sizes.
  uint64_t allocated = 0;  // Blocks allocated (st_blocks * 512): includes preallocated space.
};
DiskUsage DiskUsageOf(const std::string& dir);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_IO_H_
