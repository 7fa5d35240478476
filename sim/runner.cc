#include "sim/runner.h"

#include <string>
#include <vector>

#include "engine/port/sched.h"
#include "engine/util/check.h"
#include "engine/util/fault_point.h"
#include "sim/concurrent_runner.h"
#include "sim/sequential_run.h"

namespace manifold::sim {

bool ConfigureProfile(const std::string& profile, RunConfig* config, std::string* error) {
  StatusOr<faults::FaultOptions> options = faults::FaultProfile(profile);
  if (!options.ok()) {
    *error = options.status().message();
    return false;
  }
  config->profile = profile;
  config->faults = *options;
  // Engine fault points fire in the profiles that inject errors.
  config->fault_point_probability = profile == "storage" ? 0.002 : profile == "chaos" ? 0.01 : 0;
  return true;
}

void RunStats::Add(const RunStats& o) {
  ops += o.ops;
  commits_acknowledged += o.commits_acknowledged;
  commits_refused += o.commits_refused;
  commits_uncertain += o.commits_uncertain;
  reads_checked += o.reads_checked;
  crashes += o.crashes;
  reopens += o.reopens;
  recoveries_checked += o.recoveries_checked;
  fault_points_fired += o.fault_points_fired;
  damage_detected += o.damage_detected;
  segments_lost += o.segments_lost;
  segments_truncated += o.segments_truncated;
  segment_damage_detected += o.segment_damage_detected;
  segment_damage_harmless += o.segment_damage_harmless;
  fs_eio += o.fs_eio;
  fs_enospc += o.fs_enospc;
  fs_bit_flips += o.fs_bit_flips;
  fs_misdirected += o.fs_misdirected;
  fs_delayed_syncs += o.fs_delayed_syncs;
  fs_sectors_lost += o.fs_sectors_lost;
  fs_sectors_torn += o.fs_sectors_torn;
  fs_dir_ops_undone += o.fs_dir_ops_undone;
  liveness_checked += o.liveness_checked;
  liveness_writes += o.liveness_writes;
  memory_checks += o.memory_checks;
  memory_checks_near_bound += o.memory_checks_near_bound;
}

const char* FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone:
      return "none";
    case FailureKind::kReadMismatch:
      return "read-mismatch";
    case FailureKind::kReadError:
      return "read-error";
    case FailureKind::kWriteAccepted:
      return "write-accepted";
    case FailureKind::kWriteError:
      return "write-error";
    case FailureKind::kRecoveredState:
      return "recovered-state";
    case FailureKind::kRecoveredSequence:
      return "recovered-sequence";
    case FailureKind::kRecoveryRead:
      return "recovery-read";
    case FailureKind::kOpen:
      return "open";
    case FailureKind::kIntegrity:
      return "integrity";
    case FailureKind::kHistory:
      return "history";
    case FailureKind::kScheduler:
      return "scheduler";
    case FailureKind::kLiveness:
      return "liveness";
    case FailureKind::kMemoryBound:
      return "memory-bound";
    case FailureKind::kHarness:
      return "harness";
  }
  return "unknown";
}

std::string RunResult::Signature() const {
  if (passed) return "";
  std::string signature = FailureKindName(kind);
  if (!kind_detail.empty()) signature += ": " + kind_detail;
  return signature;
}

RunResult RunWorkload(const RunConfig& config, const std::vector<WorkloadOp>& ops) {
  SequentialRun run(config);
  return run.Execute(ops);
}

namespace {

// A failed MANIFOLD_CHECK on a thread of a scheduled run ends that run as a reported failure (the
// seed fails with the check's text and a replay command) instead of aborting the whole sweep.
// Both workloads run the engine inside scheduled runs; elsewhere (a database closed after its run
// ended, or a caller off any run) the default applies: print and abort.
void CheckFailedInRun(const char* condition, const char* message, const char* file, int line) {
  if (!port::sched::InRun()) return;  // check::Failed then prints and aborts.
  port::sched::Fail(std::string("MANIFOLD_CHECK(") + condition + ") failed: " + message + " (" +
                    file + ":" + std::to_string(line) + ")");
}

}  // namespace

RunResult RunSeed(const RunConfig& config) {
  static const bool handler_installed = [] {
    check::SetFailureHandler(&CheckFailedInRun);
    return true;
  }();
  (void)handler_installed;
  if (config.workload_kind == WorkloadKind::kConcurrent) {
    if (!ConcurrentWorkloadAvailable()) {
      RunResult result;
      result.passed = false;
      result.kind = FailureKind::kHarness;
      result.failure =
          "concurrent workload unavailable: this build's engine is not on the scheduled port "
          "layer (build with --define=manifold_sim_scheduler=1, or use --workload sequential)";
      return result;
    }
    return RunConcurrentSeed(config);
  }
  return RunWorkload(config, GenerateWorkload(config.seed, config.workload));
}

bool ParseWorkloadKind(const std::string& name, WorkloadKind* kind) {
  if (name == "sequential") {
    *kind = WorkloadKind::kSequential;
  } else if (name == "concurrent") {
    *kind = WorkloadKind::kConcurrent;
  } else {
    return false;
  }
  return true;
}

const char* WorkloadKindName(WorkloadKind kind) {
  return kind == WorkloadKind::kSequential ? "sequential" : "concurrent";
}

bool ConcurrentWorkloadAvailable() {
#if MANIFOLD_SIM_SCHEDULER
  return true;
#else
  return false;
#endif
}

std::string ReplayCommand(const RunConfig& config) {
  std::string cmd = "./bazelw run //sim -- --seed " + std::to_string(config.seed) + " --ops " +
                    std::to_string(config.workload.ops) + " --faults " + config.profile +
                    " --page-bytes " + std::to_string(config.workload.page_bytes);
  if (config.workload.heavy_op_bytes_max != WorkloadOptions::kHeavyOpBytesMaxDefault) {
    cmd += " --heavy-op-bytes-max " + std::to_string(config.workload.heavy_op_bytes_max);
  }
  if (!config.skip_ops.empty()) {
    // Name whichever list is shorter: the operations left out, or those kept.
    std::string skip, keep;
    for (uint32_t index = 0; index < config.workload.ops; ++index) {
      std::string& list = config.skip_ops.count(index) > 0 ? skip : keep;
      list += (list.empty() ? "" : ",") + std::to_string(index);
    }
    cmd += config.skip_ops.size() * 2 <= config.workload.ops ? " --skip-ops " + skip
                                                             : " --keep-ops " + keep;
  }
  if (!config.zeroed_faults.empty()) {
    std::string zeroed;
    for (const std::string& name : config.zeroed_faults)
      zeroed += (zeroed.empty() ? "" : ",") + name;
    cmd += " --zero-faults " + zeroed;
  }
  if (!config.planted_bug.empty()) cmd += " --plant-bug " + config.planted_bug;
  if (!config.liveness) cmd += " --no-liveness";
  cmd += std::string(" --workload ") + WorkloadKindName(config.workload_kind);
  if (config.workload_kind == WorkloadKind::kConcurrent) {
    if (config.has_replay_schedule) {
      cmd += " --replay-schedule '" + FormatSchedule(config.replay_schedule) + "'";
    } else {
      cmd += " --schedule " + config.schedule;
      if (config.schedule == "pct") cmd += " --pct-depth " + std::to_string(config.pct_depth);
    }
    if (!config.skip_threads.empty()) {
      std::string threads;
      for (uint32_t t : config.skip_threads) {
        threads += (threads.empty() ? "" : ",") + std::to_string(t);
      }
      cmd += " --skip-threads " + threads;
    }
  }
  return cmd + " --trace";
}

std::vector<std::string> PlantedBugNames() {
  std::vector<std::string> names;
  for (std::string_view name : kPlantedBugs) {
    names.emplace_back(name.substr(name.rfind('/') + 1));
  }
  return names;
}

bool PlantedBugsCompiledIn() { return kPlantedBugsCompiledIn; }

}  // namespace manifold::sim
