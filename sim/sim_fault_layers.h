// Internal to //sim:sim_fs: the fault layers SimFileSystem stacks on its storage core
// (sim_disk.h), each a FileSystemWrapper that overrides only the calls its fault touches.
//
// All draw from the one State::prng. A layer that decides before the call draws before the
// layers below it, one that decides on the result draws after them; the stack's order makes the
// draws within a call come in the order the simulator has always used (power cut, injected
// error, the write's device faults, sync delay or bit flip), which keeps old seeds replaying bit
// for bit. Bottom to top: device write faults, injected errors, the power switch, delayed syncs,
// read bit flips, recycle-pool damage at rest. Every call runs with State::mu held by the facade.
#ifndef MANIFOLD_SIM_SIM_FAULT_LAYERS_H_
#define MANIFOLD_SIM_SIM_FAULT_LAYERS_H_

#include <memory>

#include "manifold/env.h"
#include "sim/sim_fs.h"

namespace manifold::sim::sim_fs_internal {

// Write/Append: partial writes before EIO, ENOSPC, misdirection. Directly on the core.
std::unique_ptr<FileSystem> NewDeviceWriteFaultFileSystem(
    FileSystem* base, std::shared_ptr<SimFileSystem::State> state);

// Refusals of reads, truncates, preallocations, directory syncs and metadata calls.
std::unique_ptr<FileSystem> NewInjectedErrorFileSystem(FileSystem* base,
                                                       std::shared_ptr<SimFileSystem::State> state);

// Refusal while the power is cut, stale handles, argument checks, power cuts at mutations.
std::unique_ptr<FileSystem> NewPowerSwitchFileSystem(FileSystem* base,
                                                     std::shared_ptr<SimFileSystem::State> state);

// Sync/SyncDir that advance the SimClock.
std::unique_ptr<FileSystem> NewDelayedSyncFileSystem(FileSystem* base,
                                                     std::shared_ptr<SimFileSystem::State> state);

// Read: one flipped bit in the returned buffer.
std::unique_ptr<FileSystem> NewReadBitFlipFileSystem(FileSystem* base,
                                                     std::shared_ptr<SimFileSystem::State> state);

// Rename of a log segment onto another segment name (recycling): the file was cut short at rest.
// `core` is the bottom of the stack, on which the damage is done without faults.
std::unique_ptr<FileSystem> NewRecyclePoolDamageFileSystem(
    FileSystem* base, FileSystem* core, std::shared_ptr<SimFileSystem::State> state);

}  // namespace manifold::sim::sim_fs_internal

#endif  // MANIFOLD_SIM_SIM_FAULT_LAYERS_H_
