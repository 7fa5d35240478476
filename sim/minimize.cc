#include "sim/minimize.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "sim/concurrent_workload.h"

namespace manifold::sim {
namespace {

constexpr const char* kFaultClasses[] = {"points", "segment", "pool",  "misdirect", "flip",
                                         "eio",    "enospc",  "delay", "dir",       "garble",
                                         "torn",   "lost",    "crash"};

class Minimizer {
 public:
  Minimizer(const RunConfig& failing, const RunResult& failure, uint64_t runs_max,
            const std::function<void(const std::string&)>& progress, const RunFunction& run)
      : signature_(failure.Signature()), runs_max_(runs_max), progress_(progress), run_(run) {
    best_.config = failing;
    best_.result = failure;
    Regenerate();
    best_.preemptions_before = failure.schedule.size();
  }

  MinimizeResult Run() {
    ShrinkOpCount();
    if (concurrent()) {
      ShrinkEpochs();
      ShrinkThreads();
    }
    ShrinkOps();
    ShrinkFaults();
    ShrinkOps();  // Fewer faults can make more operations removable.
    if (concurrent()) ShrinkSchedule();
    best_.ops_kept = Kept().size();
    best_.preemptions_after = best_.result.schedule.size();
    return best_;
  }

 private:
  static constexpr uint32_t kNoThread = UINT32_MAX;  // An epoch's column-family operations.

  bool concurrent() const { return best_.config.workload_kind == WorkloadKind::kConcurrent; }

  // Lists the operations (and, concurrent, epochs and threads) of the workload the best
  // configuration generates; called again whenever its operation count changes.
  void Regenerate() {
    indexes_.clear();
    threads_.clear();
    epochs_.clear();
    thread_of_.clear();
    if (concurrent()) {
      const ConcurrentWorkload workload =
          GenerateConcurrentWorkload(best_.config.seed, best_.config.workload);
      for (uint32_t e = 0; e < workload.epochs.size(); ++e) {
        std::vector<uint32_t>& epoch = epochs_.emplace_back();
        for (const WorkloadOp& op : workload.epochs[e].cf_ops) {
          epoch.push_back(op.index);
          thread_of_[op.index] = kNoThread;
        }
        for (uint32_t t = 0; t < workload.epochs[e].threads.size(); ++t) {
          threads_.push_back(ThreadNumber(e, t));
          for (const WorkloadOp& op : workload.epochs[e].threads[t].ops) {
            epoch.push_back(op.index);
            thread_of_[op.index] = ThreadNumber(e, t);
          }
        }
      }
    } else {
      ops_ = GenerateWorkload(best_.config.seed, best_.config.workload);
      for (const WorkloadOp& op : ops_) indexes_.push_back(op.index);
    }
    for (const std::vector<uint32_t>& epoch : epochs_) {
      indexes_.insert(indexes_.end(), epoch.begin(), epoch.end());
    }
    std::sort(indexes_.begin(), indexes_.end());
  }

  // The operations the best configuration still runs: neither skipped nor in a dropped thread.
  std::vector<uint32_t> Kept() const {
    std::vector<uint32_t> kept;
    for (uint32_t index : indexes_) {
      if (best_.config.skip_ops.count(index) > 0) continue;
      auto thread = thread_of_.find(index);
      if (thread != thread_of_.end() && best_.config.skip_threads.count(thread->second) > 0) {
        continue;
      }
      kept.push_back(index);
    }
    return kept;
  }

  // Generates fewer operations: the shortest workload (by bisection over its length) that still
  // fails. A failure at operation k seldom needs what the seed would generate after it, and every
  // later candidate runs the shorter workload, so this is the cheapest large cut. Tried first at
  // just past the operation the failure happened at.
  void ShrinkOpCount() {
    uint32_t hi = best_.config.workload.ops;  // This many operations fail.
    uint32_t lo = 1;
    const int64_t at = best_.result.failed_at_op;
    if (at >= 0 && static_cast<uint64_t>(at) + 1 < hi) {
      const uint32_t guess = static_cast<uint32_t>(at) + 1;
      if (TryOpCount(guess)) {
        hi = guess;
      } else {
        lo = guess + 1;
      }
    }
    while (lo < hi && best_.runs < runs_max_) {
      const uint32_t mid = lo + (hi - lo) / 2;
      if (TryOpCount(mid)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
  }

  bool TryOpCount(uint32_t ops) {
    RunConfig candidate = best_.config;
    candidate.workload.ops = ops;
    candidate.skip_ops.erase(candidate.skip_ops.lower_bound(ops), candidate.skip_ops.end());
    if (!Try(candidate)) return false;
    Regenerate();
    return true;
  }

  // Concurrent: leaves out every operation of one epoch at a time (its open and its end stay).
  void ShrinkEpochs() {
    for (const std::vector<uint32_t>& epoch : epochs_) {
      RunConfig candidate = best_.config;
      size_t added = 0;
      for (uint32_t index : epoch) added += candidate.skip_ops.insert(index).second ? 1 : 0;
      if (added > 0) (void)Try(candidate);
    }
  }

  // Leaves out whole threads' operation lists, one thread at a time.
  void ShrinkThreads() {
    for (uint32_t thread : threads_) {
      if (best_.config.skip_threads.count(thread) > 0) continue;
      RunConfig candidate = best_.config;
      candidate.skip_threads.insert(thread);
      if (Try(candidate)) ++best_.threads_dropped;
    }
  }

  // Removes preemptions (sim/schedule_strategy.h): the run becomes its list of preemptions,
  // replayed leniently; first the shortest prefix of that list that still fails (every later
  // switch replaced by "the current thread goes on"), then single preemptions of what is left.
  // The result is recorded back as an exact schedule, so its replay command reproduces it.
  void ShrinkSchedule() {
    RunConfig base = best_.config;
    base.has_replay_schedule = true;
    base.lenient_schedule = true;
    base.replay_schedule = best_.result.schedule;
    if (!Try(base)) return;
    const Schedule full = best_.config.replay_schedule;
    size_t lo = 0, hi = full.size();  // The prefix of length hi fails.
    while (lo < hi && best_.runs < runs_max_) {
      const size_t mid = lo + (hi - lo) / 2;
      RunConfig candidate = best_.config;
      candidate.replay_schedule.assign(full.begin(), full.begin() + mid);
      if (Try(candidate)) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    for (size_t i = best_.config.replay_schedule.size(); i-- > 0 && best_.runs < runs_max_;) {
      RunConfig candidate = best_.config;
      candidate.replay_schedule.erase(candidate.replay_schedule.begin() + i);
      (void)Try(candidate);
    }
    // The preemptions the last failing run really took: an exact replay of it.
    best_.config.replay_schedule = best_.result.schedule;
    best_.config.lenient_schedule = false;
  }

  // Runs `candidate`; adopts it when it fails with the same kind (RunResult::Signature: the
  // FailureKind and its detail), never for a different failure in the same phase.
  bool Try(const RunConfig& candidate) {
    if (best_.runs >= runs_max_) return false;
    ++best_.runs;
    bool same = false;
    switch (RunInChild(candidate)) {
      case ChildOutcome::kSameFailure: {
        // The child's run finished and failed the same way; the run is deterministic, so this
        // in-process rerun finishes too and gives the result (trace, schedule) to keep.
        RunResult result = RunOnce(candidate);
        same = !result.passed && result.Signature() == signature_;
        if (same) {
          best_.config = candidate;
          best_.result = std::move(result);
        }
        break;
      }
      case ChildOutcome::kDied:
        ++best_.candidates_died;
        break;
      case ChildOutcome::kOther:
        break;
    }
    progress_("minimize: run " + std::to_string(best_.runs) + ", " + std::to_string(Kept().size()) +
              " ops kept" + (same ? " (smaller)" : ""));
    return same;
  }

  RunResult RunOnce(const RunConfig& candidate) {
    if (run_) return run_(candidate);
    if (concurrent()) return RunSeed(candidate);
    // A candidate of another length (ShrinkOpCount) runs the workload generated at its length.
    return candidate.workload.ops == best_.config.workload.ops ? RunWorkload(candidate, ops_)
                                                               : RunSeed(candidate);
  }

  enum class ChildOutcome { kSameFailure, kOther, kDied };

  // Runs `candidate` in a forked child, so that an engine assertion or abort a shrunk workload
  // trips (a state the full run never reached, e.g. a stale page grafted into a tree) ends only
  // the child: the candidate then counts as a different failure and the search goes on. The child
  // reports through its exit status alone; its stdio buffers are dropped (_exit), and its stderr
  // goes to /dev/null so a dying candidate's assertion text does not interleave with progress.
  ChildOutcome RunInChild(const RunConfig& candidate) {
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
      // No child to be had (out of processes): run in-process, as before isolation.
      const RunResult result = RunOnce(candidate);
      return !result.passed && result.Signature() == signature_ ? ChildOutcome::kSameFailure
                                                                : ChildOutcome::kOther;
    }
    if (pid == 0) {
      if (std::FILE* null = std::freopen("/dev/null", "w", stderr); null == nullptr) _exit(3);
      const RunResult result = RunOnce(candidate);
      _exit(!result.passed && result.Signature() == signature_ ? kChildSame : kChildOther);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) return ChildOutcome::kDied;
    }
    if (!WIFEXITED(status)) return ChildOutcome::kDied;
    switch (WEXITSTATUS(status)) {
      case kChildSame:
        return ChildOutcome::kSameFailure;
      case kChildOther:
        return ChildOutcome::kOther;
      default:
        return ChildOutcome::kDied;
    }
  }
  static constexpr int kChildSame = 0;
  static constexpr int kChildOther = 1;

  // Delta debugging over the kept operations: at each chunk size, first (while there are at
  // most kSubsetChunks chunks) try keeping one chunk alone, which cuts most of a run at once when
  // the failure needs only a few nearby operations; then try removing each chunk in turn. The
  // chunk size halves when nothing goes, down to single operations.
  void ShrinkOps() {
    size_t chunk = std::max<size_t>(1, Kept().size() / 2);
    while (best_.runs < runs_max_) {
      std::vector<uint32_t> kept = Kept();
      if (kept.empty()) return;
      chunk = std::min(chunk, std::max<size_t>(1, kept.size() / 2));
      bool removed_any = false;
      const size_t chunks = (kept.size() + chunk - 1) / chunk;
      if (chunks > 2 && chunks <= kSubsetChunks) {
        for (size_t start = 0; start < kept.size() && !removed_any; start += chunk) {
          RunConfig candidate = best_.config;
          for (size_t i = 0; i < kept.size(); ++i) {
            if (i < start || i >= start + chunk) candidate.skip_ops.insert(kept[i]);
          }
          removed_any = Try(candidate);
        }
      }
      if (!removed_any) {
        for (size_t start = 0; start < kept.size(); start += chunk) {
          RunConfig candidate = best_.config;
          for (size_t i = start; i < std::min(kept.size(), start + chunk); ++i) {
            candidate.skip_ops.insert(kept[i]);
          }
          if (Try(candidate)) removed_any = true;
        }
      }
      if (removed_any) continue;
      if (chunk == 1) break;
      chunk /= 2;
    }
  }
  static constexpr size_t kSubsetChunks = 8;

  void ShrinkFaults() {
    for (const char* name : kFaultClasses) {
      RunConfig candidate = best_.config;
      if (!ZeroFaultClass(name, &candidate)) continue;
      if (Try(candidate)) best_.faults_removed.push_back(name);
    }
  }

  std::vector<WorkloadOp> ops_;                // Sequential workload, at best_.config.workload.ops.
  std::vector<uint32_t> indexes_;              // Every operation index, ascending.
  std::vector<uint32_t> threads_;              // Concurrent workload: every ThreadNumber().
  std::vector<std::vector<uint32_t>> epochs_;  // Concurrent: each epoch's operation indexes.
  std::map<uint32_t, uint32_t> thread_of_;     // Concurrent: op index -> ThreadNumber/kNoThread.
  std::string signature_;
  uint64_t runs_max_;
  std::function<void(const std::string&)> progress_;
  RunFunction run_;  // Null: the real runner.
  MinimizeResult best_;
};

}  // namespace

bool ZeroFaultClass(const std::string& name, RunConfig* config) {
  faults::FaultOptions& f = config->faults;
  if (name == "crash") {
    f.crash_per_mutation = 0;
  } else if (name == "lost") {
    f.unsynced_sector_lost = 0;
  } else if (name == "torn") {
    f.unsynced_sector_torn = 0;
  } else if (name == "garble") {
    f.unsynced_sector_garbled = 0;
  } else if (name == "pool") {
    f.recycled_segment_truncated = 0;
  } else if (name == "dir") {
    f.unsynced_dir_op_lost = 0;
  } else if (name == "delay") {
    f.sync_delay_probability = 0;
  } else if (name == "eio" || name == "enospc") {
    for (faults::ErrorRates& rates : f.errors) (name == "eio" ? rates.eio : rates.enospc) = 0;
  } else if (name == "flip") {
    f.read_bit_flip = 0;
  } else if (name == "misdirect") {
    f.misdirected_write = 0;
    f.misdirected_onto_synced_write = 0;
  } else if (name == "segment") {
    f.segment_lost = 0;
    f.segment_truncated = 0;
  } else if (name == "points") {
    config->fault_point_probability = 0;
  } else {
    return false;
  }
  config->zeroed_faults.insert(name);
  return true;
}

MinimizeResult Minimize(const RunConfig& failing, const RunResult& failure, uint64_t runs_max,
                        const std::function<void(const std::string&)>& progress,
                        const RunFunction& run) {
  Minimizer minimizer(failing, failure, runs_max, progress, run);
  return minimizer.Run();
}

}  // namespace manifold::sim
