// A condition-variable wait whose deadline is read from an injected Clock, shared by the
// production and the scheduled CondVar (sync.h, sched_sync.h).
#ifndef MANIFOLD_PORT_CLOCK_WAIT_H_
#define MANIFOLD_PORT_CLOCK_WAIT_H_

#include <cstdint>

#include "engine/port/source_location.h"
#include "manifold/env.h"

namespace manifold::port::internal {

// How long one real (or, under the scheduler, simulated) wait lasts at most before `clock` is read
// again, so a clock another thread advances is noticed.
inline constexpr uint64_t kClockPollUs = 10'000;

// Waits on `cv` until signalled (or spuriously woken) or until `clock` reads at least
// `deadline_us`; false once the deadline has passed on `clock`. The decision uses only `clock`
// (determinism): the underlying timed wait merely bounds how long to sleep before looking again.
template <typename CondVarType>
bool WaitUntilOnClock(CondVarType* cv, Clock* clock, uint64_t deadline_us,
                      port::SourceLocation where) {
  const uint64_t now_us = clock->NowMicros();
  if (now_us >= deadline_us) return false;
  const uint64_t remaining_us = deadline_us - now_us;
  (void)cv->WaitForMicros(remaining_us < kClockPollUs ? remaining_us : kClockPollUs, where);
  return clock->NowMicros() < deadline_us;
}

}  // namespace manifold::port::internal

#endif  // MANIFOLD_PORT_CLOCK_WAIT_H_
