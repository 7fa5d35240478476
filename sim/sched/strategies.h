// Scheduling strategies for the deterministic scheduler (engine/port/sched.h): uniform random,
// PCT, replay of a recorded decision sequence, and bounded exhaustive search. All randomness is
// std::mt19937_64 (whose output the standard fixes) seeded by the caller, so a seed means the
// same schedule on every machine.
#ifndef MANIFOLD_SIM_SCHED_STRATEGIES_H_
#define MANIFOLD_SIM_SCHED_STRATEGIES_H_

#include <cstdint>
#include <random>
#include <vector>

#include "engine/port/sched.h"

namespace manifold::sim::sched {

using port::sched::Decision;
using port::sched::Strategy;

// Picks uniformly among the runnable threads at every scheduling point.
class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : rng_(seed) {}
  int Pick(const std::vector<int>& runnable, int current) override;

 private:
  std::mt19937_64 rng_;
};

// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): every thread gets a random
// priority above `depth`; the highest-priority runnable thread always runs; at `depth - 1` steps
// drawn uniformly from [1, steps_estimate] the running thread drops to priority depth-1, ...,
// 1. For a bug of depth d <= depth, with n threads and k <= steps_estimate steps, one run finds
// it with probability at least 1 / (n * k^(d-1)).
class PctStrategy final : public Strategy {
 public:
  PctStrategy(uint64_t seed, int depth = 3, uint64_t steps_estimate = 1000);
  void OnThreadCreated(int id) override;
  int Pick(const std::vector<int>& runnable, int current) override;

 private:
  std::mt19937_64 rng_;
  const int depth_;
  std::vector<uint64_t> change_steps_;  // Ascending; change i lowers to priority depth-1-i.
  std::vector<uint64_t> priorities_;    // By thread id.
  uint64_t step_ = 0;
};

// Repeats a recorded decision sequence. A point where the runnable set has a different size than
// recorded, or a run longer than the record, returns a non-runnable id (so the run ends as
// kNondeterminism).
class ReplayStrategy final : public Strategy {
 public:
  explicit ReplayStrategy(std::vector<Decision> decisions) : decisions_(std::move(decisions)) {}
  int Pick(const std::vector<int>& runnable, int current) override;

 private:
  std::vector<Decision> decisions_;
  size_t next_ = 0;
};

// Depth-first search over every schedule with at most `preemptions_max` preemptions (switching
// away from a thread that could have continued). Run the harness, then Advance(); repeat while
// Advance() returns true. Switches at blocking points are free, so every interleaving of
// blocking behaviour within the bound is covered.
class ExhaustiveStrategy final : public Strategy {
 public:
  explicit ExhaustiveStrategy(int preemptions_max) : preemptions_max_(preemptions_max) {}
  int Pick(const std::vector<int>& runnable, int current) override;
  // Moves to the next unexplored schedule; false when none is left.
  bool Advance();

 private:
  struct Choice {
    std::vector<int> runnable;  // To detect a harness that is not deterministic.
    std::vector<int> options;   // The non-preempting option first.
    size_t next = 0;
  };
  const int preemptions_max_;
  std::vector<Choice> stack_;
  size_t depth_ = 0;
  int preemptions_ = 0;
};

}  // namespace manifold::sim::sched

#endif  // MANIFOLD_SIM_SCHED_STRATEGIES_H_
