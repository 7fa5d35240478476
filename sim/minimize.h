// Shrinks a failing run to a smaller one that still fails the same way: first the workload's
// length (bisection over the number of operations generated), then (concurrent workload) whole
// epochs and threads, then delta debugging over the operations left (keep one chunk alone, or
// drop one chunk, halving the chunk size down to single operations), the fault classes of its
// profile, the operations again, and last the schedule's preemptions. Deterministic: the same
// failing run always shrinks the same way.
#ifndef MANIFOLD_SIM_MINIMIZE_H_
#define MANIFOLD_SIM_MINIMIZE_H_

#include <functional>
#include <string>
#include <vector>

#include "sim/runner.h"

namespace manifold::sim {

struct MinimizeResult {
  RunConfig config;     // The smallest failing configuration found (ops, skip_ops, faults).
  RunResult result;     // Its failing run.
  uint64_t runs = 0;    // Runs spent.
  size_t ops_kept = 0;  // Operations left.
  std::vector<std::string> faults_removed;  // Fault classes switched off without losing it.
  size_t threads_dropped = 0;               // Concurrent: threads whose op lists went.
  size_t preemptions_before = 0, preemptions_after = 0;
  // Candidates whose run died (an engine assertion, abort or other signal) in their child
  // process; each counted as a different failure.
  uint64_t candidates_died = 0;
};

// Runs one candidate configuration (tests stand in for the runner with one).
using RunFunction = std::function<RunResult(const RunConfig&)>;

// `failing` must fail. `progress` is called after every run with a one-line status. A candidate
// counts as still failing only with the same RunResult::Signature() (its FailureKind and detail).
// Each candidate runs first in a forked child process, so one that aborts (an engine assertion)
// is a different failure rather than the end of the minimizer; a candidate the child found
// failing the same way is run again in-process for its result.
// `run` replaces the real runner (RunSeed, or the sequential workload) when set.
MinimizeResult Minimize(const RunConfig& failing, const RunResult& failure, uint64_t runs_max,
                        const std::function<void(const std::string&)>& progress,
                        const RunFunction& run = nullptr);

// Switches off one named fault class of `options` ("crash", "lost", "torn", "garble", "dir",
// "delay", "eio", "enospc", "flip", "misdirect", "segment", "pool", "points"). False for an unknown
// name.
bool ZeroFaultClass(const std::string& name, RunConfig* config);

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_MINIMIZE_H_
