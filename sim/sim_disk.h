// Internal to //sim:sim_fs: SimDisk, the storage core at the bottom of SimFileSystem's stack.
//
// The namespace and file images with their durable and pending parts, what a power cut keeps of
// them (State::RestartLocked), and a failed sync's dropped dirty pages. It checks paths and the
// namespace's rules but draws nothing for the calls it serves except a file sync's injected error:
// the power switch, refusals and a write's device faults are the layers above
// (sim_fault_layers.h). Every call runs with State::mu held by the facade.
#ifndef MANIFOLD_SIM_SIM_DISK_H_
#define MANIFOLD_SIM_SIM_DISK_H_

#include <memory>

#include "manifold/env.h"
#include "sim/sim_fs.h"

namespace manifold::sim::sim_fs_internal {

std::unique_ptr<FileSystem> NewSimDisk(std::shared_ptr<SimFileSystem::State> state);

}  // namespace manifold::sim::sim_fs_internal

#endif  // MANIFOLD_SIM_SIM_DISK_H_
