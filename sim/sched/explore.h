// Drivers that run a harness under the deterministic scheduler many times: over seeds (random,
// PCT), over every schedule up to a preemption bound (exhaustive), or once along a recorded
// decision sequence (replay). A harness is a function run as managed thread 0: it builds its
// state, starts port::Threads, joins them and checks its property with port::sched::Fail.
#ifndef MANIFOLD_SIM_SCHED_EXPLORE_H_
#define MANIFOLD_SIM_SCHED_EXPLORE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/port/sched.h"

namespace manifold::sim::sched {

using Harness = std::function<void()>;
using port::sched::RunOptions;
using port::sched::RunResult;

struct ExploreResult {
  uint64_t runs = 0;       // Runs made (including the failing one).
  bool found = false;      // Some run failed; the search stops at the first failure.
  uint64_t failing = 0;    // Its seed (random, PCT) or schedule index from 0 (exhaustive).
  RunResult failure;       // That run's result, decisions included (replay with Replay()).
  bool complete = false;   // Exhaustive only: every schedule within the bound was run.
  uint64_t steps_max = 0;  // Most scheduling points any run took.
};

// Seeds first_seed .. first_seed + seeds - 1 under RandomStrategy.
ExploreResult ExploreRandom(const Harness& harness, uint64_t first_seed, uint64_t seeds,
                            const RunOptions& options = {});

// Same seeds under PctStrategy(seed, depth, steps_estimate).
ExploreResult ExplorePct(const Harness& harness, uint64_t first_seed, uint64_t seeds, int depth,
                         uint64_t steps_estimate, const RunOptions& options = {});

// Every schedule with at most `preemptions_max` preemptions, stopping after `runs_max` runs.
ExploreResult ExploreExhaustive(const Harness& harness, int preemptions_max, uint64_t runs_max,
                                const RunOptions& options = {});

// One run along `decisions` (from a RunResult).
RunResult Replay(const Harness& harness, const std::vector<port::sched::Decision>& decisions,
                 const RunOptions& options = {});

// A stable 64-bit digest of a decision sequence, for traces and determinism checks: two runs
// made the same choices iff (barring a collision) their hashes are equal. FNV-1a over each
// decision's chosen id and candidate count as 32-bit little-endian words, after the count, so the
// value depends on nothing but the decisions (not the platform, build or run).
uint64_t DecisionsHash(const std::vector<port::sched::Decision>& decisions);

// One line for a test or log: "found deadlock at seed 7 after 8 runs" / "no failure in 200 runs".
std::string Describe(const ExploreResult& result);

}  // namespace manifold::sim::sched

#endif  // MANIFOLD_SIM_SCHED_EXPLORE_H_
