// A FileSystem wrapper that lets the simulator run two engine threads deterministically: only
// the thread holding the turn may start a file-system operation (others wait for their turn),
// and a one-shot hook runs at the start of the first sync of a log segment, before the sync
// itself. The simulator uses both to stage the group-commit hand-off: while the leader is inside
// its log sync, a second committer appends its record; the leader's sync must not cover it.
//
// With no turn set (the default) every thread passes, and with no hook nothing runs: the wrapper
// then only forwards calls.
#ifndef MANIFOLD_SIM_TURNSTILE_FS_H_
#define MANIFOLD_SIM_TURNSTILE_FS_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "manifold/env.h"

namespace manifold::sim {

class TurnstileFileSystem : public FileSystem {
 public:
  explicit TurnstileFileSystem(FileSystem* base) : base_(base) {}

  // Only `thread` may start operations from now on; nullopt lets every thread through.
  void SetTurn(std::optional<std::thread::id> thread);
  // Runs `hook` (once) at the start of the next sync of a file whose name starts with "wal-".
  void SetLogSyncHook(std::function<void()> hook);

  // Waits for the calling thread's turn. Called by the wrapper before each operation.
  void AwaitTurn();
  // While alive, the calling thread passes without a turn. For reads of engine statistics (a
  // file size) while another thread holds the turn; such reads inject no faults.
  class Bypass {
   public:
    Bypass();
    ~Bypass();
  };
  // Takes and runs the pending hook if `path` is a log segment.
  void MaybeRunHook(const std::string& path);

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
  FileSystem* base_;
  std::mutex mu_;
  std::condition_variable turn_changed_;
  std::optional<std::thread::id> turn_;
  std::function<void()> hook_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_TURNSTILE_FS_H_
