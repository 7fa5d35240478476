// A FileSystem wrapper that records every write, size change, directory operation and sync the
// engine issues, and keeps a shadow of what is durable and what is still pending (unsynced).
//
// The shadow follows MemFileSystem's durability rules (engine/env/mem_fs.cc; env.h): File::Sync
// makes every earlier write, truncate and preallocation of that file (its inode) durable, and
// SyncDir(d) makes the creations, renames and removals of entries directly inside `d` durable.
// Before every Sync and SyncDir (a barrier) the recorder hands a copy of the shadow to a callback,
// from which crash_image.h builds every post-crash disk image.
#ifndef MANIFOLD_TESTS_CRASH_STATES_RECORDING_FS_H_
#define MANIFOLD_TESTS_CRASH_STATES_RECORDING_FS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold::crash_states {

// One unsynced change of a file's content.
struct FileOp {
  enum Kind : uint8_t { kWrite, kTruncate, kGrow } kind = kWrite;
  uint64_t offset = 0;  // kWrite: where; kTruncate / kGrow: the new size (kGrow never shrinks).
  std::string data;     // kWrite.
  uint64_t order = 0;   // Position in the recorded operation order.
};

// One unsynced change of a directory.
struct DirOp {
  enum Kind : uint8_t { kCreateFile, kCreateDir, kRename, kRemove } kind = kCreateFile;
  std::string path;    // Normalized; for kRename the source.
  std::string to;      // kRename.
  std::string parent;  // The directory whose SyncDir makes it durable.
  int64_t inode = -1;  // kCreateFile.
  uint64_t order = 0;
};

// A directory entry: a file (inode >= 0) or a directory (inode == -1).
struct Node {
  int64_t inode = -1;
  bool is_dir() const { return inode < 0; }
  friend bool operator==(const Node& a, const Node& b) { return a.inode == b.inode; }
};

struct Inode {
  std::string durable;          // Content at its last Sync.
  std::vector<FileOp> pending;  // Changes since, in order.
};

// What would survive a power cut, and what might.
struct Shadow {
  std::map<std::string, Node> live;     // What the process sees.
  std::map<std::string, Node> durable;  // Entries made durable by SyncDir.
  std::vector<Inode> inodes;
  std::vector<DirOp> pending_dir_ops;  // In order.
  uint64_t next_order = 0;

  size_t pending_units() const;
};

std::string NormalizePath(std::string_view path);
std::string ParentOf(const std::string& path);

// Forwards to a MemFileSystem and records. Not thread-safe beyond what the engine needs with
// background checkpoints off (one thread issues all I/O).
class RecordingFileSystem final : public FileSystemWrapper {
 public:
  // `what` names the sync ("sync /db/wal-000001.log", "sync dir /db").
  using BarrierFn = std::function<void(const Shadow& before, const std::string& what)>;

  explicit RecordingFileSystem(MemFileSystem* base) : FileSystemWrapper(base), mem_(base) {}

  void set_barrier_callback(BarrierFn fn) { on_barrier_ = std::move(fn); }
  // While frozen every call fails with IOError and nothing is recorded: the power is off (the
  // workload destroys the database then, so its close writes nothing).
  void set_frozen(bool frozen) { frozen_ = frozen; }
  // The power loss itself: the base and the shadow drop everything unsynced.
  void DropUnsyncedData();

  const Shadow& shadow() const { return shadow_; }
  uint64_t writes() const { return writes_; }
  uint64_t syncs() const { return syncs_; }
  uint64_t dir_ops() const { return dir_ops_; }

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status CreateDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  StatusOr<bool> Exists(const std::string& path) override;

 private:
  class RecordingFile;
  Status Frozen(const std::string& what) const;
  void RecordFileOp(int64_t inode, FileOp op);
  void Barrier(const std::string& what);
  void SyncedFile(int64_t inode);

  MemFileSystem* const mem_;
  Shadow shadow_;
  BarrierFn on_barrier_;
  bool frozen_ = false;
  uint64_t writes_ = 0, syncs_ = 0, dir_ops_ = 0;
};

}  // namespace manifold::crash_states

#endif  // MANIFOLD_TESTS_CRASH_STATES_RECORDING_FS_H_
