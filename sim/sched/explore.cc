#include "sim/sched/explore.h"

#include <algorithm>
#include <cstdint>
#include <memory>

#include "sim/sched/strategies.h"

namespace manifold::sim::sched {
namespace {

// Records one run; returns true if the search should stop (the run failed).
bool Record(RunResult run, uint64_t index, ExploreResult* result) {
  ++result->runs;
  result->steps_max = std::max(result->steps_max, run.steps);
  if (run.ok()) return false;
  result->found = true;
  result->failing = index;
  result->failure = std::move(run);
  return true;
}

template <typename MakeStrategy>
ExploreResult ExploreSeeds(const Harness& harness, uint64_t first_seed, uint64_t seeds,
                           const RunOptions& options, const MakeStrategy& make) {
  ExploreResult result;
  for (uint64_t seed = first_seed; seed < first_seed + seeds; ++seed) {
    std::unique_ptr<Strategy> strategy = make(seed);
    if (Record(port::sched::Run(harness, strategy.get(), options), seed, &result)) break;
  }
  return result;
}

}  // namespace

ExploreResult ExploreRandom(const Harness& harness, uint64_t first_seed, uint64_t seeds,
                            const RunOptions& options) {
  return ExploreSeeds(harness, first_seed, seeds, options,
                      [](uint64_t seed) { return std::make_unique<RandomStrategy>(seed); });
}

ExploreResult ExplorePct(const Harness& harness, uint64_t first_seed, uint64_t seeds, int depth,
                         uint64_t steps_estimate, const RunOptions& options) {
  return ExploreSeeds(harness, first_seed, seeds, options, [&](uint64_t seed) {
    return std::make_unique<PctStrategy>(seed, depth, steps_estimate);
  });
}

ExploreResult ExploreExhaustive(const Harness& harness, int preemptions_max, uint64_t runs_max,
                                const RunOptions& options) {
  ExploreResult result;
  ExhaustiveStrategy strategy(preemptions_max);
  for (uint64_t index = 0; index < runs_max; ++index) {
    if (Record(port::sched::Run(harness, &strategy, options), index, &result)) return result;
    if (!strategy.Advance()) {
      result.complete = true;
      break;
    }
  }
  return result;
}

RunResult Replay(const Harness& harness, const std::vector<port::sched::Decision>& decisions,
                 const RunOptions& options) {
  ReplayStrategy strategy(decisions);
  return port::sched::Run(harness, &strategy, options);
}

uint64_t DecisionsHash(const std::vector<port::sched::Decision>& decisions) {
  constexpr uint64_t kOffsetBasis = 14695981039346656037ull;
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t hash = kOffsetBasis;
  const auto mix_word = [&](uint32_t word) {
    for (int byte = 0; byte < 4; ++byte) {
      hash ^= (word >> (8 * byte)) & 0xffu;
      hash *= kPrime;
    }
  };
  const uint64_t count = decisions.size();
  mix_word(static_cast<uint32_t>(count));
  mix_word(static_cast<uint32_t>(count >> 32));
  for (const port::sched::Decision& d : decisions) {
    mix_word(static_cast<uint32_t>(d.chosen));
    mix_word(static_cast<uint32_t>(d.candidates));
  }
  return hash;
}

std::string Describe(const ExploreResult& result) {
  if (!result.found) {
    return "no failure in " + std::to_string(result.runs) + " runs" +
           (result.complete ? " (every schedule within the bound)" : "");
  }
  return std::string("found ") + port::sched::OutcomeName(result.failure.outcome) + " at " +
         std::to_string(result.failing) + " after " + std::to_string(result.runs) + " runs:\n" +
         result.failure.report;
}

}  // namespace manifold::sim::sched
