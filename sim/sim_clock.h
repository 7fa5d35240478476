// Simulated time for deterministic runs: the engine's Clock, driven by the simulator instead of the
// wall clock, so timeouts and delayed syncs happen at reproducible instants and never slow a run.
#ifndef MANIFOLD_SIM_SIM_CLOCK_H_
#define MANIFOLD_SIM_SIM_CLOCK_H_

#include <atomic>
#include <cassert>
#include <cstdint>

#include "manifold/env.h"

namespace manifold::sim {

// Thread-safe. Time moves only through SleepForMicros and Advance.
class SimClock final : public Clock {
 public:
  explicit SimClock(uint64_t start_us = 0) : now_us_(start_us) {}
  SimClock(const SimClock&) = delete;
  SimClock& operator=(const SimClock&) = delete;

  // The simulated time in microseconds.
  uint64_t NowMicros() override { return now_us_.load(std::memory_order_relaxed); }

  // Returns at once after advancing the simulated time by `duration_us`: a sleeping engine thread
  // costs no real time, and what it waited for is "done" when it wakes.
  void SleepForMicros(uint64_t duration_us) override { Advance(duration_us); }

  // Moves the simulated time forward by `duration_us`.
  void Advance(uint64_t duration_us) {
    const uint64_t before = now_us_.fetch_add(duration_us, std::memory_order_relaxed);
    // Clock promises never to go backwards; wrapping 2^64 us (half a million years) would.
    assert(before + duration_us >= before && "SimClock overflow");
    (void)before;
  }

 private:
  std::atomic<uint64_t> now_us_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SIM_CLOCK_H_
