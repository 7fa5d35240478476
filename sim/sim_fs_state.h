// Internal to //sim:sim_fs: the representation and guarded state that SimFileSystem's facade
// (sim_fs.cc), its storage core (sim_disk.cc) and its fault layers (sim_fault_layers.cc) share.
//
// Representation. A file's bytes live in an Inode: `durable` (as of the last successful Sync),
// `current` (what reads see) and `pending`, the writes and size changes since that Sync, in order,
// so that current == durable with pending applied. The namespace is `live` (path -> entry, what
// the running process sees) plus, per directory, the entries its last SyncDir made durable and
// the directory operations since, so that a directory's live entries == its durable entries with
// its pending operations replayed. Restart() replays a prefix of each directory's operations and
// a random subset of each file's pending sectors on top of the durable state.
//
// Determinism. Every random decision is a draw from one xoshiro256** generator (State::prng)
// seeded with the caller's seed, made in an order fixed by the calls and by std::map iteration
// (never by addresses or hash order). A probability of 0 or 1 consumes no draw, so the fault-free
// profile leaves the stream untouched.
#ifndef MANIFOLD_SIM_SIM_FS_STATE_H_
#define MANIFOLD_SIM_SIM_FS_STATE_H_

#include <cassert>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/port/sync.h"
#include "engine/util/random.h"
#include "faults/fault_model.h"
#include "manifold/status.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"

namespace manifold::sim {
namespace sim_fs_internal {

inline constexpr char kRoot[] = "/";

// The simulated disk's stream: xoshiro256** seeded through splitmix64 (engine/util/random.h).
using Prng = Xoshiro256;

// "op path: what", the shape of PosixFileSystem's messages.
std::string Message(std::string_view op, std::string_view path, std::string_view what);

// "op path at offset N".
std::string AtOffset(std::string_view op, std::string_view path, uint64_t offset);

// Collapses repeated '/' and drops a trailing '/'. Paths must be absolute: relative ones would
// need a working directory, which the engine never relies on.
StatusOr<std::string> Normalize(std::string_view op, const std::string& path);

// Of normalized paths.
bool IsRoot(const std::string& path);
std::string ParentOf(const std::string& path);
std::string BaseName(const std::string& path);
std::string Join(const std::string& dir, const std::string& name);

// One file's bytes; see the representation note at the top.
struct Inode {
  struct Pending {
    bool is_write = true;     // Else a size change (Truncate, Preallocate, growth before a write).
    uint64_t offset = 0;      // Write: where the bytes landed.
    std::string bytes;        // Write: the bytes.
    uint64_t size_bytes = 0;  // Size change: the new size.
    // Write: a misdirected write's landing (bytes meant for another offset, written over what
    // is there, synced records included). A power cut keeps or loses it whole, never tears or
    // garbles it (RebuildAfterCrash says why).
    bool misdirected = false;
  };

  explicit Inode(uint64_t inode_id) : id(inode_id) {}

  void Write(uint64_t offset, std::string_view data, bool misdirected = false) {
    assert(!data.empty());
    if (current.size() < offset + data.size()) current.resize(offset + data.size(), '\0');
    std::memcpy(current.data() + offset, data.data(), data.size());
    pending.push_back(Pending{true, offset, std::string(data), 0, misdirected});
  }

  void Resize(uint64_t size_bytes) {
    current.resize(size_bytes, '\0');
    pending.push_back(Pending{false, 0, {}, size_bytes});
  }

  const uint64_t id;  // Unique within a SimFileSystem, assigned in creation order.
  std::string durable;
  std::string current;
  std::vector<Pending> pending;
};

// A directory entry: a file, or a directory when `inode` is null.
struct Entry {
  std::shared_ptr<Inode> inode;
  bool is_dir() const { return inode == nullptr; }
  uint64_t id() const { return inode == nullptr ? 0 : inode->id; }
};

// A create, remove or rename inside one directory, by entry name.
struct DirOp {
  enum class Kind { kCreate, kRemove, kRename };
  Kind kind;
  std::string name;
  std::string to;  // kRename: the new name.
  Entry entry;     // kCreate: the new entry.

  std::string ToString() const {
    switch (kind) {
      case Kind::kCreate:
        return (entry.is_dir() ? "mkdir " : "create ") + name;
      case Kind::kRemove:
        return "remove " + name;
      case Kind::kRename:
        return "rename " + name + " -> " + to;
    }
    return "?";
  }
};

struct DirState {
  std::map<std::string, Entry> durable;  // Name -> entry, as of the last SyncDir.
  std::vector<DirOp> pending;            // Since the last SyncDir, in order.
};

// What a power cut does to one unsynced sector of one write.
enum class SectorFate { kKept, kLost, kTorn, kGarbled };

// Whether `path` names one of the engine's log segments: wal-<16 digits>.log
// (engine/wal/log_format.h).
bool IsLogSegmentName(std::string_view path);

}  // namespace sim_fs_internal

// Everything behind one SimFileSystem, guarded by `mu`: shared by the facade, the core, the fault
// layers and every File and FileLock they open. The decisions several layers share are here
// (sim_fs_state.cc); the namespace and crash members belong to the core and are defined in
// sim_disk.cc.
struct SimFileSystem::State {
  State(uint64_t seed, faults::FaultOptions fault_options, SimClock* sim_clock)
      : clock(sim_clock), prng(seed), options(std::move(fault_options)) {
    dirs[sim_fs_internal::kRoot];  // The root always exists and is always durable.
  }

  void Trace(const std::string& line) MANIFOLD_REQUIRES(mu) {
    if (trace) trace(line);
  }

  // ---- Shared decisions (sim_fs_state.cc) ----

  // Refuses any call while the power is cut, and calls through a File opened before the last
  // restart (`handle_generation` null for file-system calls).
  Status CheckLive(const std::string& what, const uint64_t* handle_generation)
      MANIFOLD_REQUIRES(mu);

  // Counts a mutating operation and decides whether the power cut hits it.
  Status Mutate(const std::string& what) MANIFOLD_REQUIRES(mu);

  void Cut() MANIFOLD_REQUIRES(mu);

  // Draws the injected error for one operation of `op_class`; OK if none.
  Status InjectError(faults::OpClass op_class, const std::string& what) MANIFOLD_REQUIRES(mu);

  // ---- The namespace and crash semantics (sim_disk.cc) ----

  bool IsDir(const std::string& path) const MANIFOLD_REQUIRES(mu) { return dirs.count(path) != 0; }

  // OK if `path`'s parent is an existing directory, as creating an entry in it requires.
  Status CheckParent(std::string_view op, std::string_view shown, const std::string& path) const
      MANIFOLD_REQUIRES(mu);

  Status CheckIsDir(std::string_view op, std::string_view shown, const std::string& path) const
      MANIFOLD_REQUIRES(mu);

  // Adds a new empty file at `path` (whose parent exists and which does not).
  std::shared_ptr<sim_fs_internal::Inode> CreateFile(const std::string& path) MANIFOLD_REQUIRES(mu);

  void AddEntry(const std::string& path, sim_fs_internal::Entry entry) MANIFOLD_REQUIRES(mu);

  // The live entries directly inside directory `dir`, by name.
  std::map<std::string, sim_fs_internal::Entry> LiveChildren(const std::string& dir) const
      MANIFOLD_REQUIRES(mu);

  // Checks the representation invariant: every directory's live entries are its durable entries
  // with all its pending operations replayed.
  bool NamespaceConsistent() const MANIFOLD_REQUIRES(mu);

  sim_fs_internal::SectorFate DrawSectorFate() MANIFOLD_REQUIRES(mu);

  // Traces the run of `*count` lost sectors from `first` of the write at `write_offset`, if any,
  // and empties the run.
  void TraceLostSectors(const std::string& path, uint64_t write_offset, uint64_t first,
                        uint64_t* count) MANIFOLD_REQUIRES(mu);

  // The content of the file at `path` after a power cut: its durable image plus the surviving
  // parts of its pending writes.
  std::shared_ptr<sim_fs_internal::Inode> RebuildAfterCrash(const std::string& path,
                                                            const sim_fs_internal::Inode& old)
      MANIFOLD_REQUIRES(mu);

  // SimFileSystem::Restart.
  Status RestartLocked() MANIFOLD_REQUIRES(mu);

  port::Mutex mu;
  SimClock* const clock;
  sim_fs_internal::Prng prng MANIFOLD_GUARDED_BY(mu);
  faults::FaultOptions options MANIFOLD_GUARDED_BY(mu);
  std::function<void(const std::string&)> trace MANIFOLD_GUARDED_BY(mu);
  // Every live entry but the root, by normalized path.
  std::map<std::string, sim_fs_internal::Entry> live MANIFOLD_GUARDED_BY(mu);
  // Every live directory, the root included.
  std::map<std::string, sim_fs_internal::DirState> dirs MANIFOLD_GUARDED_BY(mu);
  // Locked path -> token of the FileLock holding it, so a lock from before a restart cannot
  // release a newer one when it is destroyed.
  std::map<std::string, uint64_t> locks MANIFOLD_GUARDED_BY(mu);
  // Locked path -> tokens of the shared FileLocks holding it.
  std::map<std::string, std::set<uint64_t>> shared_locks MANIFOLD_GUARDED_BY(mu);
  uint64_t next_lock_token MANIFOLD_GUARDED_BY(mu) = 1;
  uint64_t next_inode_id MANIFOLD_GUARDED_BY(mu) = 1;
  uint64_t generation MANIFOLD_GUARDED_BY(mu) = 0;  // Number of restarts.
  bool crashed MANIFOLD_GUARDED_BY(mu) = false;
  // Set by the device write fault layer just before it hands the core a misdirected write's
  // landing; the core's next write consumes it and marks its pending write (Pending::misdirected).
  bool next_write_misdirected MANIFOLD_GUARDED_BY(mu) = false;
  bool random_crashes MANIFOLD_GUARDED_BY(mu) = true;
  // The value of counters.mutations at which the scheduled power cut hits; 0: none.
  uint64_t crash_at_mutation MANIFOLD_GUARDED_BY(mu) = 0;
  // ScheduleCrashAfterNamespaceOp: namespace operations (create, rename, remove) left until the
  // one that arms the cut (0: none), and how many mutations after it the cut lands.
  uint32_t namespace_ops_until_cut MANIFOLD_GUARDED_BY(mu) = 0;
  uint32_t cut_delay_after_namespace_op MANIFOLD_GUARDED_BY(mu) = 0;
  SimFsCounters counters MANIFOLD_GUARDED_BY(mu);
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SIM_FS_STATE_H_
