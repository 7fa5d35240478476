// The engine's clock in a concurrent run: one notion of time made of the scheduler's simulated
// time (which advances when every managed thread waits on a deadline or sleeps) plus the
// latency the simulated disk charged for delayed syncs (SimFileSystem advances its SimClock).
// Both only grow, so their sum does; sleeping blocks on the scheduler. Managed threads only.
#ifndef MANIFOLD_SIM_SIM_TIME_CLOCK_H_
#define MANIFOLD_SIM_SIM_TIME_CLOCK_H_

#include <cstdint>

#include "engine/port/sched.h"
#include "manifold/env.h"
#include "sim/sim_clock.h"

namespace manifold::sim {

class SimTimeClock final : public Clock {
 public:
  explicit SimTimeClock(SimClock* disk_latency) : disk_latency_(disk_latency) {}
  uint64_t NowMicros() override { return port::sched::NowMicros() + disk_latency_->NowMicros(); }
  void SleepForMicros(uint64_t duration_us) override { port::sched::SleepForMicros(duration_us); }

 private:
  SimClock* const disk_latency_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SIM_TIME_CLOCK_H_
