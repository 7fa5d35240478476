// The FileSystem wrapper with which the sequential runner stages the group-commit hand-off
// (docs/simulator.md, "The group-commit hand-off"): a one-shot hook at the start of the next sync
// of a log segment, before the sync itself, and a hold during which every disk call of the other
// threads waits, as on a device that is slow for them. While the leader is inside its log sync, a
// second committer appends its record (the hook); the leader then holds the disk until its commit
// returns, so its sync runs with the follower stopped wherever its next disk call is (a follower
// that does I/O between its check and its wait there misses the leader's signal). Every thread is
// a thread of the runner's port::sched::Run: waiting is on a port::CondVar, so a thread that then
// waits for good is the scheduler's reported deadlock, not a hung process. With no hook and no
// hold it forwards every call.
#ifndef MANIFOLD_SIM_HAND_OFF_FS_H_
#define MANIFOLD_SIM_HAND_OFF_FS_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/port/sync.h"
#include "manifold/env.h"

namespace manifold::sim {

class HandOffFileSystem final : public FileSystemWrapper {
 public:
  explicit HandOffFileSystem(FileSystem* base) : FileSystemWrapper(base) {}

  // Runs `hook` once, on the syncing thread, at the start of the next sync of a log segment
  // (wal::ParseSegmentFileName); nullptr cancels a hook that has not run.
  void SetLogSyncHook(std::function<void()> hook);

  // From HoldDisk until ReleaseDisk, a disk call of any thread but the caller waits.
  void HoldDisk();
  void ReleaseDisk();

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

 private:
  class HandOffFile;

  // Waits while another thread holds the disk. Called before every call.
  void AwaitDisk();
  // Takes and runs the pending hook if `path` names a log segment.
  void MaybeRunHook(const std::string& path);

  // Whether a hold is on: read without the lock first, so that a disk call outside a hand-off adds
  // no scheduling point (and no decision) of its own.
  std::atomic<bool> held_{false};
  port::Mutex mu_{"disk hold"};
  port::CondVar released_{&mu_, "disk released"};
  // The holder, compared for equality only (it decides nothing else). Guarded by mu_.
  std::optional<std::thread::id> holder_;
  // Set and taken by the thread holding the scheduler's baton: one runs at a time.
  std::function<void()> hook_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_HAND_OFF_FS_H_
