// Runs one seeded workload against the real engine over the simulated file system and clock,
// injecting crashes and faults, and checks every read and every recovery against the reference
// model. A run is a pure function of its RunConfig: the same config gives the same trace, the
// same final state hash, and the same verdict.
#ifndef MANIFOLD_SIM_RUNNER_H_
#define MANIFOLD_SIM_RUNNER_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "faults/fault_model.h"
#include "sim/schedule_strategy.h"
#include "sim/workload.h"

namespace manifold::sim {

// sequential: one operation at a time on one thread (plus the scripted two-thread commit).
// concurrent: epochs of writer and reader threads beside the background checkpointer, under
// the deterministic scheduler (sim/concurrent_runner.h).
enum class WorkloadKind : uint8_t { kSequential, kConcurrent };

struct RunConfig {
  uint64_t seed = 1;
  WorkloadKind workload_kind = WorkloadKind::kConcurrent;
  std::string profile = "storage";  // Fault profile name (faults::FaultProfile).
  faults::FaultOptions faults;      // The profile's options, possibly reduced by --minimize.
  // Probability that an enabled engine fault point (engine/util/fault_point.h) fires when
  // reached. 0 disables them.
  double fault_point_probability = 0;
  WorkloadOptions workload;
  std::set<uint32_t> skip_ops;          // Operation indexes to leave out (minimization).
  std::set<std::string> zeroed_faults;  // Fault classes switched off (sim/minimize.h names).
  bool trace = false;                   // Keep a readable trace of operations and faults.
  // A planted engine bug to switch on for the whole run (engine/util/fault_point.h, the name
  // after "manifold/bug/", e.g. "skip_page_sync"), to show the simulator catches it. Empty: none.
  std::string planted_bug;
  // Concurrent workload only. The scheduler strategy: "random" or "pct" (PCT of depth
  // pct_depth), seeded from `seed`; replaced by `replay_schedule` when has_replay_schedule.
  std::string schedule = "random";
  uint32_t pct_depth = 3;
  bool has_replay_schedule = false;
  Schedule replay_schedule;         // Followed exactly (--replay-schedule).
  bool lenient_schedule = false;    // --minimize's candidates: skip entries that no longer fit.
  std::set<uint32_t> skip_threads;  // ThreadNumber()s whose op lists are left out.
  // The liveness phase at the end of the seed (sim/liveness.h); off with --no-liveness.
  bool liveness = true;
};

// Short names of the planted bugs (for --plant-bug), and whether this build has them.
std::vector<std::string> PlantedBugNames();
bool PlantedBugsCompiledIn();

// Fills `faults` and `fault_point_probability` from `profile`.
[[nodiscard]] bool ConfigureProfile(const std::string& profile, RunConfig* config,
                                    std::string* error);

struct RunStats {
  uint64_t ops = 0;  // Workload operations executed.
  uint64_t commits_acknowledged = 0;
  uint64_t commits_refused = 0;    // Failed cleanly (bad input, missing column family...).
  uint64_t commits_uncertain = 0;  // Interrupted by a crash or an injected error.
  uint64_t reads_checked = 0;      // Gets and scan entries compared with the model.
  uint64_t crashes = 0;            // Power cuts (scheduled and random).
  uint64_t reopens = 0;            // Opens after a crash or clean close.
  uint64_t recoveries_checked = 0;
  uint64_t fault_points_fired = 0;
  uint64_t damage_detected = 0;     // Runs ended by Corruption after a misdirected write.
  uint64_t segments_lost = 0;       // Log segments deleted at rest before a recovery.
  uint64_t segments_truncated = 0;  // Log segments cut at rest before a recovery.
  // Recoveries after such damage that reported Corruption (the run ends there), and that opened
  // with a state the model accepts (the damage hit only checkpointed or unwritten bytes).
  uint64_t segment_damage_detected = 0;
  uint64_t segment_damage_harmless = 0;
  uint64_t fs_eio = 0, fs_enospc = 0, fs_bit_flips = 0, fs_misdirected = 0, fs_delayed_syncs = 0;
  uint64_t fs_sectors_lost = 0, fs_sectors_torn = 0, fs_dir_ops_undone = 0;
  uint64_t liveness_checked = 0;  // Liveness phases passed (sim/liveness.h).
  uint64_t liveness_writes = 0;   // Durable writes they made.
  // Checks of the write buffers' bound (CheckBufferBound), and those that found the buffers past
  // three quarters of write_buffer_bytes_max (where writers are slowed down, I38).
  uint64_t memory_checks = 0;
  uint64_t memory_checks_near_bound = 0;

  void Add(const RunStats& other);
};

// What kind of check a failed run broke. The minimizer keeps a failure only as the same kind
// (RunResult::Signature), so a shrink cannot trade, say, a half-applied batch after a recovery
// (kRecoveredState) for a weaker report such as a wrong sequence number (kRecoveredSequence).
enum class FailureKind : uint8_t {
  kNone,
  kReadMismatch,    // A read returned other data than the model's (get, scan, snapshot, kept
                    // iterator, transaction read), or an iterator on a missing column family.
  kReadError,       // A read failed and no injected fault explains it.
  kWriteAccepted,   // The engine acknowledged a write the model says must fail, or one after an
                    // uncertain commit it had not yet resolved by a reopen.
  kWriteError,      // A write, transaction or checkpoint failed and no injected fault explains it.
  kRecoveredState,  // The recovered entries are the state after no legal prefix (a lost
                    // acknowledged commit, a hole, a half-applied batch, data never written).
  kRecoveredSequence,  // The recovered entries are legal, the engine's sequence number is not.
  kRecoveryRead,       // Reading the recovered state back failed.
  kOpen,               // DB::Open failed with no injected fault, or kept failing.
  kIntegrity,          // VerifyIntegrity failed.
  kHistory,            // Concurrent: the epoch's history (model/history.h); see kind_detail.
  kScheduler,    // Concurrent: deadlock, livelock or a failed MANIFOLD_CHECK; see kind_detail.
  kLiveness,     // The liveness phase at the end of the seed (sim/liveness.h); see kind_detail.
  kMemoryBound,  // Stats::dirty_bytes past write_buffer_bytes_max's bound (CheckBufferBound).
  kHarness,      // The simulator could not do its own part (restart, damage at rest, ...).
};
// Stable names: "read-mismatch", "recovered-state", ... (in Signature() and docs/simulator.md).
const char* FailureKindName(FailureKind kind);

struct RunResult {
  bool passed = true;
  FailureKind kind = FailureKind::kNone;
  // Splits kHistory by the rule broken (the history's first line, "history: gap in the sequence
  // order"), kScheduler by the outcome ("deadlock") and kLiveness by what did not progress
  // (LivenessDetail: "the log was not retired", "hang: deadlock"); empty for the other kinds.
  std::string kind_detail;
  std::string failure;        // What went wrong: expected and got, with the key and operation.
  int64_t failed_at_op = -1;  // Index of the workload operation being run at the failure.
  RunStats stats;
  uint64_t state_hash = 0;         // Final engine state and file-system images.
  uint64_t trace_hash = 0;         // Every operation, outcome and fault decision, in order.
  std::vector<std::string> trace;  // Filled when config.trace is set.
  // Concurrent workload: the scheduler's decisions (count, FNV-1a hash over chosen thread and
  // candidates; sim/sched/explore.h DecisionsHash), steps, and the run written as its preemptions
  // (sim/schedule_strategy.h).
  uint64_t decisions = 0;
  uint64_t decisions_hash = 0;
  uint64_t steps = 0;
  Schedule schedule;

  // "recovered-state", "history: history: gap in the sequence order", ...: the kind and its
  // detail, which --minimize keeps. Empty when passed.
  std::string Signature() const;
};

// Runs the config's workload (sequential or concurrent).
RunResult RunSeed(const RunConfig& config);
// The sequential workload with the given operations.
RunResult RunWorkload(const RunConfig& config, const std::vector<WorkloadOp>& ops);

// The command line that replays `config` exactly.
std::string ReplayCommand(const RunConfig& config);

// "sequential" / "concurrent"; false for anything else.
[[nodiscard]] bool ParseWorkloadKind(const std::string& name, WorkloadKind* kind);
const char* WorkloadKindName(WorkloadKind kind);
// True when this build runs the engine on the scheduled port layer, which the concurrent
// workload needs (--define=manifold_sim_scheduler=1, or the //sim targets that build on it).
bool ConcurrentWorkloadAvailable();

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_RUNNER_H_
