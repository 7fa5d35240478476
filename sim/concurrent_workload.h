// The concurrent workload: a run is a list of epochs, each from an open to a crash or a clean
// close, in which 2-4 writer threads and 1-2 reader threads each run their own list of
// operations beside the engine's background checkpointer (docs/simulator.md, "The concurrent
// workload"). Generated up front from the seed, like the sequential workload, so --minimize can
// drop operations and whole threads and replay the rest.
#ifndef MANIFOLD_SIM_CONCURRENT_WORKLOAD_H_
#define MANIFOLD_SIM_CONCURRENT_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sim/workload.h"

namespace manifold::sim {

// How an epoch ends, after its threads have been joined (kPowerCutAt: whenever the cut lands).
enum class EpochEnd : uint8_t {
  kCleanClose,  // Close, then reopen: every acknowledged commit must be there.
  kCrashAtEnd,  // Power cut after the threads finished, then recovery.
  kPowerCutAt,  // Power cut at the k-th file-system mutation from the epoch's start.
};

const char* EpochEndName(EpochEnd end);

struct ConcurrentThread {
  bool writer = true;
  // Operation kinds: writers kPut, kDelete, kBatch, kTransaction, kCheckpoint; readers kGet,
  // kScan, kTakeSnapshot, kReadSnapshot, kReleaseSnapshot, kOpenIterator, kStepIterator,
  // kCheckpoint. Snapshot and iterator slots are the thread's own.
  std::vector<WorkloadOp> ops;
};

struct Epoch {
  // Column-family creates and drops the controlling thread runs after the open, before the
  // threads start (kCreateCf / kDropCf ops), so each one's sequence number is known exactly.
  std::vector<WorkloadOp> cf_ops;
  std::vector<ConcurrentThread> threads;
  EpochEnd end = EpochEnd::kCleanClose;
  uint32_t cut_at_mutation = 0;  // kPowerCutAt: k >= 1.
  // kPowerCutAt, when not 0: the cut lands cut_delay mutations after the epoch's n-th namespace
  // operation instead (SimFileSystem::ScheduleCrashAfterNamespaceOp).
  uint32_t cut_after_namespace_op = 0;
  uint32_t cut_delay = 0;
};

struct ConcurrentWorkload {
  std::vector<Epoch> epochs;
  uint32_t ops = 0;  // Operations in all (op indexes are 0..ops-1, unique across the run).
};

// About `options.ops` operations in all, split into epochs of 30-90.
ConcurrentWorkload GenerateConcurrentWorkload(uint64_t seed, const WorkloadOptions& options);

// A thread's number within the run, for --skip-threads: epoch * kThreadsPerEpochMax + thread.
inline constexpr uint32_t kThreadsPerEpochMax = 8;
inline uint32_t ThreadNumber(uint32_t epoch, uint32_t thread) {
  return epoch * kThreadsPerEpochMax + thread;
}

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_CONCURRENT_WORKLOAD_H_
