// Runs the concurrent workload (sim/concurrent_workload.h): the whole run, every epoch's open,
// threads, crash and recovery, inside one port::sched::Run whose body is the controlling thread
// (thread 0); writers and readers are port::Threads beside the engine's background
// checkpointer. Every operation is recorded as a model::HistoryEvent (invoke and return steps
// from port::sched::CurrentStep) and each epoch's history is judged by model::CheckHistory
// against the state the next open recovers. Needs the scheduled port layer
// (ConcurrentWorkloadAvailable()).
#ifndef MANIFOLD_SIM_CONCURRENT_RUNNER_H_
#define MANIFOLD_SIM_CONCURRENT_RUNNER_H_

#include "sim/runner.h"

namespace manifold::sim {

RunResult RunConcurrentSeed(const RunConfig& config);

// Scheduling points a concurrent operation takes on average (measured: 45-65 on the default
// profile), for PCT's steps estimate: change points past the end of the run never fire.
inline constexpr uint64_t kStepsPerConcurrentOp = 60;

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_CONCURRENT_RUNNER_H_
