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

// Peak resident set size of this process, KiB (getrusage ru_maxrss).
uint64_t PeakRssKib();

// Space used by the files under `dir`, recursively.
struct DiskUsage {
  uint64_t apparent = 0;   // Sum of file sizes.
  uint64_t allocated = 0;  // Blocks allocated (st_blocks * 512): includes preallocated space.
};
DiskUsage DiskUsageOf(const std::string& dir);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_IO_H_
