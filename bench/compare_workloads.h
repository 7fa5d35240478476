// The workloads of //bench:compare. A Job is one workload (one variant) on one engine, run once in
// its own process; it returns one PhaseResult per measured phase (a row of the report).
#ifndef MANIFOLD_BENCH_COMPARE_WORKLOADS_H_
#define MANIFOLD_BENCH_COMPARE_WORKLOADS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/compare_engine.h"
#include "bench/compare_io.h"
#include "bench/compare_result.h"

namespace manifold::bench {

// Key counts after --scale.
struct Sizes {
  uint64_t cf_keys_per_thread;    // cfwrite and read: keys per column family.
  uint64_t commits_one_thread;    // commit, 1 thread.
  uint64_t commits_per_thread;    // commit, each of 8 threads.
  uint64_t bulk_keys;             // bulk: keys loaded.
  uint64_t bulk_reads;            // bulk: random point reads.
  uint64_t bulk_removes;          // bulk: keys removed.
  uint64_t recovery_keys;         // recovery: keys in the log at the crash.
  uint64_t point_reads;           // read: all keys of all column families.
  uint64_t short_scans;           // read: 10-key scans.
  uint64_t long_scans;            // read: 1000-key scans.
  uint64_t overwrite_keys;        // overwrite and readwhilewriting: keys loaded first.
  uint64_t overwrite_ops;         // overwrite: keys overwritten (random existing keys).
  uint64_t rww_reads;             // readwhilewriting: point reads, over all 8 readers.
  uint64_t uncached_cache_bytes;  // uncached: every engine's cache.
  uint64_t uncached_keys;         // uncached: keys loaded (ratio x cache bytes of user data).
  uint64_t uncached_reads;        // uncached: point reads, over all 8 readers.
};

// The sizes the flags set, before --scale.
struct BaseSizes {
  uint64_t bulk_keys = 5'000'000;
  uint64_t overwrite_keys = 1'000'000;
  uint64_t recovery_keys = 500'000;
  uint64_t uncached_cache_mib = 64;
  double uncached_ratio = 4;  // User data / cache bytes.
};

Sizes ScaledSizes(double scale, const BaseSizes& base);

struct Job {
  // cfwrite, read, commit, bulk, recovery, overwrite, readwhilewriting or uncached.
  std::string workload;
  // cfwrite only: "durable|nosync / seq|shuf / be|le".
  bool durable = true;
  bool shuffled = false;
  bool little_endian = false;
  EngineKind engine;
  std::string dir;  // Empty directory for the databases.
  Sizes sizes;
  // What the "to device" column and write amplification count (the parent probes it once).
  DeviceBytesSource device_source = DeviceBytesSource::kWriteBytes;

  // "cfwrite/durable/seq/be", "read", ...
  std::string Name() const;
};

// Workload names in run order.
const std::vector<std::string>& WorkloadNames();

// The jobs of `workload`: one for most, eight (durability x order x key encoding) for cfwrite.
std::vector<Job> JobsFor(const std::string& workload);

// The rows a job reports, in order (so a crashed job can be reported as an error in each).
std::vector<std::string> JobRows(const Job& job);

// Runs the job in this process. Never aborts on an engine error: it is recorded in the results.
std::vector<PhaseResult> RunJob(const Job& job);

// Markdown lines describing each workload with the sizes used.
std::vector<std::string> DescribeWorkloads(const Sizes& sizes);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_WORKLOADS_H_
