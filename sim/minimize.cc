#include "sim/minimize.h"

#include <algorithm>

namespace manifold::sim {
namespace {

constexpr const char* kFaultClasses[] = {"points", "segment", "misdirect", "flip", "eio",  "enospc",
                                         "delay",  "dir",     "torn",      "lost", "crash"};

class Minimizer {
 public:
  Minimizer(const RunConfig& failing, const RunResult& failure, uint64_t runs_max,
            const std::function<void(const std::string&)>& progress)
      : ops_(GenerateWorkload(failing.seed, failing.workload)),
        signature_(failure.Signature()),
        runs_max_(runs_max),
        progress_(progress) {
    best_.config = failing;
    best_.result = failure;
  }

  MinimizeResult Run() {
    ShrinkOps();
    ShrinkFaults();
    ShrinkOps();  // Fewer faults can make more operations removable.
    best_.ops_kept = Kept().size();
    return best_;
  }

 private:
  std::vector<uint32_t> Kept() const {
    std::vector<uint32_t> kept;
    for (const WorkloadOp& op : ops_) {
      if (best_.config.skip_ops.count(op.index) == 0) kept.push_back(op.index);
    }
    return kept;
  }

  // Runs `candidate`; adopts it when it fails with the same signature.
  bool Try(const RunConfig& candidate) {
    if (best_.runs >= runs_max_) return false;
    ++best_.runs;
    RunResult result = RunWorkload(candidate, ops_);
    const bool same = !result.passed && result.Signature() == signature_;
    if (same) {
      best_.config = candidate;
      best_.result = std::move(result);
    }
    progress_("minimize: run " + std::to_string(best_.runs) + ", " + std::to_string(Kept().size()) +
              " ops kept" + (same ? " (smaller)" : ""));
    return same;
  }

  // ddmin: remove chunks of the kept operations, halving the chunk size when nothing goes.
  void ShrinkOps() {
    size_t chunk = std::max<size_t>(1, Kept().size() / 2);
    while (best_.runs < runs_max_) {
      bool removed_any = false;
      std::vector<uint32_t> kept = Kept();
      for (size_t start = 0; start < kept.size(); start += chunk) {
        RunConfig candidate = best_.config;
        for (size_t i = start; i < std::min(kept.size(), start + chunk); ++i) {
          candidate.skip_ops.insert(kept[i]);
        }
        if (Try(candidate)) removed_any = true;
      }
      if (removed_any) continue;
      if (chunk == 1) break;
      chunk /= 2;
    }
  }

  void ShrinkFaults() {
    for (const char* name : kFaultClasses) {
      RunConfig candidate = best_.config;
      if (!ZeroFaultClass(name, &candidate)) continue;
      if (Try(candidate)) best_.faults_removed.push_back(name);
    }
  }

  std::vector<WorkloadOp> ops_;
  std::string signature_;
  uint64_t runs_max_;
  std::function<void(const std::string&)> progress_;
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
                        const std::function<void(const std::string&)>& progress) {
  Minimizer minimizer(failing, failure, runs_max, progress);
  return minimizer.Run();
}

}  // namespace manifold::sim
