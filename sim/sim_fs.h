// A deterministic, fault-injecting in-memory FileSystem for the simulator. Every decision (which
// operation fails, where a power cut hits, which unsynced sectors survive it) comes from one PRNG
// seeded by the caller, so a run is reproducible bit for bit from (seed, options, operations).
//
// Durability model (what a power cut may keep), mirroring ext4/xfs:
//  - Each file has a durable image (what File::Sync last made durable) and the ordered list of its
//    writes and size changes since then. Reads see the durable image with those applied.
//  - Each directory has its durable entries (as of its last SyncDir) and the ordered list of the
//    creates, renames and removes in it since then. The root "/" always exists.
//  - A file's data and its directory entry become durable independently: a file synced but whose
//    creation was never SyncDir'ed may vanish at a power cut.
//  - After a power cut every call fails until Restart(), which builds one legal post-crash state:
//    * each directory keeps a random prefix of its pending operations (an ordered metadata journal
//      replays a prefix; undoing one operation undoes every later one in that directory). A
//      directory whose own entry does not survive takes all its entries with it.
//    * each surviving file gets its durable image plus, in order, each sector of each pending
//      write independently kept (new bytes), lost (old bytes) or, if !sector_atomic, torn (a
//      random proper prefix, 0 to n-1 of the write's n bytes in that sector, is new; the rest
//      old).
//      The size is the durable size, extended to cover the kept and torn bytes; pending truncates
//      and preallocations are not replayed. Decisions are per (write, sector), so when two pending
//      writes cover different parts of one sector, the later may survive without the earlier:
//      harsher than a disk that writes back whole cached sectors, and only possible for writes
//      that are not sector-aligned.
//    * synced data of a surviving file is always intact; all locks are released; every File from
//      before the restart fails with "stale handle after restart".
//
// Injected faults (rates in faults::FaultOptions):
//  - EIO/ENOSPC per operation class, drawn after the power-cut check. Messages start with
//    "injected EIO: " / "injected ENOSPC: " and name the operation, path and offset.
//  - A Write that gets EIO applies a sector-aligned prefix of its data (possibly empty), as a
//    device that fails part way through; one that gets ENOSPC applies nothing (allocation fails
//    before any byte is written). Truncate/Preallocate/metadata operations that fail apply
//    nothing.
//  - A Sync that fails makes nothing durable and, with probability 1/2, also discards the file's
//    unsynced writes from what reads see (Linux drops dirty pages after a failed writeback, so a
//    retried fsync can "succeed" without the data: fsyncgate). A failed SyncDir changes nothing.
//  - Delayed syncs advance the SimClock. Read bit flips change only the returned buffer.
//    Misdirected writes report success but put the bytes at another sector-aligned offset inside
//    the file's current size (the file still grows to the requested end, zero-filled).
//
// Scope: paths must be absolute; repeated and trailing '/' are collapsed; the parent of a path is
// the part before its last '/'. Directories cannot be renamed or removed, and files can be renamed
// only within one directory (the engine needs neither; both are NotSupported).
//
// Structure: SimFileSystem is a facade (sim_fs.cc) over a stack of FileSystems. At the bottom, the
// core (sim_disk.cc): the namespace and file images with the durability model above, Restart(),
// and a failed sync's dropped pages. On it, FileSystemWrapper layers (sim_fault_layers.cc) that
// each override only the calls their fault touches: a write's device faults (partial write before
// EIO, ENOSPC, misdirection), the other injected errors, the power switch (refusals while cut,
// stale handles, power cuts at mutations), delayed syncs and read bit flips. All draw from the one
// PRNG; a layer deciding before a call draws before the layers below it, one deciding on its
// result after them, and the stack's order keeps the order of draws the simulator always had, so
// every seed replays as before the split.
//
// Thread-safe: one mutex guards all state. Decisions are reproducible when the calls arrive in a
// reproducible order (the simulator's scheduler provides that). The mutex is a port::Mutex, so
// under the scheduler it is a scheduled lock (never an OS lock held across a scheduling point);
// it is still needed off managed threads and because the trace callback may reach a scheduling
// point. Every File and directory call is a scheduling point named after it ("SimFile::Write",
// "SimFileSystem::Rename") on a managed thread, taken by the facade before that mutex (held once
// for the whole stack), so the scheduler can let
// another thread run before any file-system call. The harness-side controls (crashes, Restart,
// counters, options) are not.
#ifndef MANIFOLD_SIM_SIM_FS_H_
#define MANIFOLD_SIM_SIM_FS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "faults/fault_model.h"
#include "manifold/env.h"
#include "manifold/status.h"
#include "sim/sim_clock.h"

namespace manifold::sim {

struct SimFsCounters {
  uint64_t ops = 0;              // Calls to the file system and its files, including refused ones.
  uint64_t mutations = 0;        // Mutating operations attempted (see FaultOptions).
  uint64_t syncs = 0;            // Successful File::Sync and SyncDir calls.
  uint64_t crashes = 0;          // Power cuts.
  uint64_t eio = 0;              // Injected EIO errors.
  uint64_t enospc = 0;           // Injected ENOSPC errors.
  uint64_t bit_flips = 0;        // Reads that returned a flipped bit.
  uint64_t misdirected = 0;      // Writes that landed at another offset.
  uint64_t delayed_syncs = 0;    // Syncs that advanced the clock.
  uint64_t sectors_lost = 0;     // Unsynced sectors dropped by restarts.
  uint64_t sectors_torn = 0;     // Unsynced sectors torn by restarts.
  uint64_t sectors_garbled = 0;  // Unsynced sectors garbled (one bit flipped) by restarts.
  uint64_t segments_cut_in_pool = 0;  // Recycled log segments found cut short at rest.
  uint64_t dir_ops_undone = 0;        // Unsynced directory operations undone by restarts.
};

class SimFileSystem final : public FileSystem {
 public:
  // `options` must pass faults::ValidateFaultOptions. `clock` receives delayed-sync latencies and
  // must outlive the file system and every File opened from it.
  SimFileSystem(uint64_t seed, faults::FaultOptions options, SimClock* clock);
  ~SimFileSystem() override;
  SimFileSystem(const SimFileSystem&) = delete;
  SimFileSystem& operator=(const SimFileSystem&) = delete;

  // FileSystem.
  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  StatusOr<bool> Exists(const std::string& path) override;
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override;

  // The n-th mutating operation from now (n >= 1) is interrupted by a power cut: it does not
  // complete and returns IOError("power cut during ..."). n == 0 cancels a scheduled cut. Any
  // power cut cancels the schedule.
  void ScheduleCrashAtMutation(uint64_t n);
  // The power cut lands `delay` mutations after the n-th namespace operation from now (n >= 1; a
  // file created, renamed or removed), or on that operation itself when delay == 0. The engine's
  // protocol steps are namespace operations (a segment created at a rollover, renamed out of the
  // recycle pool, retired by a checkpoint), so a cut a few mutations after one lands in the window
  // between that step and the writes and syncs that must follow it, which a cut drawn uniformly
  // over all mutations rarely hits. ScheduleCrashAtMutation(0) or any power cut cancels it.
  void ScheduleCrashAfterNamespaceOp(uint32_t n, uint32_t delay);

  // Enables (the default) or disables power cuts drawn from crash_per_mutation.
  void set_random_crashes(bool enabled);
  bool random_crashes() const;

  // Cuts the power now, between operations. No-op if already cut.
  void CrashNow();

  // True between a power cut and Restart().
  bool crashed() const;

  // Builds one post-crash state (see the model above) and makes the file system usable again. If
  // the power is on, cuts it first. Always OK: the Status is for future failure modes.
  Status Restart();

  // Replaces the fault rates, e.g. to verify recovered state with faults off. Must be valid.
  void set_options(const faults::FaultOptions& options);
  faults::FaultOptions options() const;

  // Counts so far. Read them while no other thread uses the file system.
  const SimFsCounters& counters() const;

  // `trace` gets one line per injected fault, power cut and restart decision, e.g.
  // "crash: /db/MANIFOLD sector 16 torn (keeps 133 of 512 bytes)". It is called with the file
  // system's mutex held, so it must not call back into the file system. Null disables tracing.
  void set_trace(std::function<void(const std::string&)> trace);

  // FNV-1a hash of the namespace (live and durable, with pending directory operations) and of
  // every file's current and durable image. Equal runs give equal hashes.
  uint64_t StateHash() const;

  struct State;  // Shared with open files and locks; defined in sim_fs_state.h.

 private:
  const std::shared_ptr<State> state_;
  // The core (storage with crash semantics) and the fault layers on it, bottom first; every
  // FileSystem call above takes the scheduling point and the lock, then goes to top_.
  std::vector<std::unique_ptr<FileSystem>> layers_;
  FileSystem* top_ = nullptr;
};

// Turns every fault off (rates and random power cuts) for its lifetime and restores them after:
// the runners' last open attempts (kOpenAttemptsFaultyMax) run with nothing injected, so an open
// that only fails while chaos keeps landing faults on a long recovery ends, and one that still
// fails is the engine's failure (issue 13, liveness).
class FaultPause {
 public:
  explicit FaultPause(SimFileSystem* fs)
      : fs_(fs), saved_(fs->options()), saved_random_crashes_(fs->random_crashes()) {
    fs_->set_options(faults::FaultOptions());
    fs_->set_random_crashes(false);
  }
  ~FaultPause() {
    fs_->set_options(saved_);
    fs_->set_random_crashes(saved_random_crashes_);
  }
  FaultPause(const FaultPause&) = delete;
  FaultPause& operator=(const FaultPause&) = delete;

 private:
  SimFileSystem* const fs_;
  const faults::FaultOptions saved_;
  const bool saved_random_crashes_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SIM_FS_H_
