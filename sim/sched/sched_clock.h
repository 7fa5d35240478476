// The engine's Clock on the scheduler's simulated time: reading it is a scheduling point, and
// sleeping blocks the managed thread until simulated time reaches the end of the sleep (time
// advances only when every managed thread is blocked). Use only on managed threads of a run.
#ifndef MANIFOLD_SIM_SCHED_SCHED_CLOCK_H_
#define MANIFOLD_SIM_SCHED_SCHED_CLOCK_H_

#include <cstdint>

#include "engine/port/sched.h"
#include "manifold/env.h"

namespace manifold::sim::sched {

class SchedClock final : public Clock {
 public:
  uint64_t NowMicros() override { return port::sched::NowMicros(); }
  void SleepForMicros(uint64_t duration_us) override { port::sched::SleepForMicros(duration_us); }
};

}  // namespace manifold::sim::sched

#endif  // MANIFOLD_SIM_SCHED_SCHED_CLOCK_H_
