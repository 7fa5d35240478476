// SimFileSystem: see sim_fs.h for the durability and fault model.
//
// Representation. A file's bytes live in an Inode: `durable` (as of the last successful Sync),
// `current` (what reads see) and `pending`, the writes and size changes since that Sync, in order,
// so that current == durable with pending applied. The namespace is `live` (path -> entry, what
// the running process sees) plus, per directory, the entries its last SyncDir made durable and
// the directory operations since, so that a directory's live entries == its durable entries with
// its pending operations replayed. Restart() replays a prefix of each directory's operations and
// a random subset of each file's pending sectors on top of the durable state.
//
// Layers, bottom to top: SimDisk (the core) implements every FileSystem call on that
// representation; then FileSystemWrappers that override only the calls their fault touches:
// DeviceWriteFaultFileSystem (Write/Append: partial writes before EIO, ENOSPC, misdirection),
// InjectedErrorFileSystem (refusals of reads, truncates, preallocations, directory syncs and
// metadata calls), PowerSwitchFileSystem (refusal while cut, stale handles, argument checks,
// power cuts at mutations), DelayedSyncFileSystem (Sync/SyncDir) and ReadBitFlipFileSystem
// (Read). SimFileSystem's own calls take the scheduling point and State::mu once and hand the
// call to the top layer, so the layers and the core run with the lock held.
//
// Determinism. Every random decision is a draw from one xoshiro256** generator seeded with the
// caller's seed, made in an order fixed by the calls and by std::map iteration (never by
// addresses or hash order). A probability of 0 or 1 consumes no draw, so the fault-free profile
// leaves the stream untouched.
#include "sim/sim_fs.h"

#include <algorithm>
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
#include "manifold/env.h"
#include "manifold/status.h"
#include "sim/sim_clock.h"

namespace manifold::sim {
namespace {

using faults::OpClass;

// Guards against a bogus offset turning into a multi-gigabyte allocation (which would abort).
constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;

// The strerror texts a POSIX file system would report, so messages read like PosixFileSystem's.
constexpr char kNoEntry[] = "No such file or directory";
constexpr char kIsDir[] = "Is a directory";
constexpr char kNotDir[] = "Not a directory";
constexpr char kExists[] = "File exists";

constexpr char kRoot[] = "/";

// The simulated disk's stream: xoshiro256** seeded through splitmix64 (engine/util/random.h).
using Prng = Xoshiro256;

// FNV-1a, 64 bits. Fields are length-prefixed so that ("ab", "c") and ("a", "bc") differ.
class Fnv1a {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      hash_ ^= p[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void U64(uint64_t value) {
    unsigned char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<unsigned char>(value >> (8 * i));
    Bytes(buf, sizeof(buf));
  }
  void Str(std::string_view s) {
    U64(s.size());
    Bytes(s.data(), s.size());
  }
  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

std::string Message(std::string_view op, std::string_view path, std::string_view what) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += what;
  return message;
}

std::string AtOffset(std::string_view op, std::string_view path, uint64_t offset) {
  return std::string(op) + " " + std::string(path) + " at offset " + std::to_string(offset);
}

// Collapses repeated '/' and drops a trailing '/'. Paths must be absolute: relative ones would
// need a working directory, which the engine never relies on.
StatusOr<std::string> Normalize(std::string_view op, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument(
        Message(op, "'" + path + "'", "SimFileSystem needs an absolute path"));
  }
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsRoot(const std::string& path) { return path == kRoot; }

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  assert(slash != std::string::npos && "paths are absolute");
  return slash == 0 ? std::string(kRoot) : path.substr(0, slash);
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string Join(const std::string& dir, const std::string& name) {
  return IsRoot(dir) ? dir + name : dir + "/" + name;
}

// One file's bytes; see the representation note at the top.
struct Inode {
  struct Pending {
    bool is_write = true;     // Else a size change (Truncate, Preallocate, growth before a write).
    uint64_t offset = 0;      // Write: where the bytes landed.
    std::string bytes;        // Write: the bytes.
    uint64_t size_bytes = 0;  // Size change: the new size.
  };

  explicit Inode(uint64_t inode_id) : id(inode_id) {}

  void Write(uint64_t offset, std::string_view data) {
    assert(!data.empty());
    if (current.size() < offset + data.size()) current.resize(offset + data.size(), '\0');
    std::memcpy(current.data() + offset, data.data(), data.size());
    pending.push_back(Pending{true, offset, std::string(data), 0});
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

// `entries` with the first `count` of `ops` replayed.
std::map<std::string, Entry> Replay(std::map<std::string, Entry> entries,
                                    const std::vector<DirOp>& ops, size_t count) {
  assert(count <= ops.size());
  for (size_t i = 0; i < count; ++i) {
    const DirOp& op = ops[i];
    switch (op.kind) {
      case DirOp::Kind::kCreate: {
        const bool inserted = entries.emplace(op.name, op.entry).second;
        assert(inserted && "a create is recorded only for an absent name");
        (void)inserted;
        break;
      }
      case DirOp::Kind::kRemove: {
        const size_t erased = entries.erase(op.name);
        assert(erased == 1 && "a remove is recorded only for a present name");
        (void)erased;
        break;
      }
      case DirOp::Kind::kRename: {
        auto it = entries.find(op.name);
        assert(it != entries.end() && "a rename is recorded only for a present source");
        Entry moved = std::move(it->second);
        entries.erase(it);
        entries[op.to] = std::move(moved);
        break;
      }
    }
  }
  return entries;
}

// What a power cut does to one unsynced sector of one write.
enum class SectorFate { kKept, kLost, kTorn };

}  // namespace

struct SimFileSystem::State {
  State(uint64_t seed, faults::FaultOptions fault_options, SimClock* sim_clock)
      : clock(sim_clock), prng(seed), options(std::move(fault_options)) {
    dirs[kRoot];  // The root always exists and is always durable.
  }

  void Trace(const std::string& line) MANIFOLD_REQUIRES(mu) {
    if (trace) trace(line);
  }

  // Refuses any call while the power is cut, and calls through a File opened before the last
  // restart (`handle_generation` null for file-system calls).
  Status CheckLive(const std::string& what, const uint64_t* handle_generation)
      MANIFOLD_REQUIRES(mu) {
    ++counters.ops;
    if (crashed)
      return Status::IOError("simulated power cut: " + what + " refused until Restart()");
    if (handle_generation != nullptr && *handle_generation != generation) {
      return Status::IOError("stale handle after restart: " + what + " uses a file opened " +
                             "before restart " + std::to_string(generation));
    }
    return Status::OK();
  }

  // Counts a mutating operation and decides whether the power cut hits it.
  Status Mutate(const std::string& what) MANIFOLD_REQUIRES(mu) {
    assert(!crashed);
    ++counters.mutations;
    const bool scheduled = crash_at_mutation != 0 && counters.mutations == crash_at_mutation;
    // Drawn even when a cut is scheduled here, so the draws before it match an unscheduled run.
    const bool random = random_crashes && prng.Chance(options.crash_per_mutation);
    if (!scheduled && !random) return Status::OK();
    const std::string n = std::to_string(counters.mutations);
    Cut();
    Trace("crash: power cut at mutation " + n + " (" + what + "), " +
          (scheduled ? "scheduled" : "random"));
    return Status::IOError("power cut during " + what + " (mutation " + n +
                           "): the operation did not complete");
  }

  void Cut() MANIFOLD_REQUIRES(mu) {
    crashed = true;
    crash_at_mutation = 0;
    ++counters.crashes;
  }

  // Draws the injected error for one operation of `op_class`; OK if none.
  Status InjectError(OpClass op_class, const std::string& what) MANIFOLD_REQUIRES(mu) {
    const faults::ErrorRates& rates = options.error_rates(op_class);
    if (prng.Chance(rates.eio)) {
      ++counters.eio;
      Trace("injected EIO: " + what);
      return Status::IOError("injected EIO: " + what);
    }
    if (prng.Chance(rates.enospc)) {
      ++counters.enospc;
      Trace("injected ENOSPC: " + what);
      return Status::NoSpace("injected ENOSPC: " + what);
    }
    return Status::OK();
  }

  bool IsDir(const std::string& path) const MANIFOLD_REQUIRES(mu) { return dirs.count(path) != 0; }

  // OK if `path`'s parent is an existing directory, as creating an entry in it requires.
  Status CheckParent(std::string_view op, std::string_view shown, const std::string& path) const
      MANIFOLD_REQUIRES(mu) {
    const std::string parent = ParentOf(path);
    if (IsDir(parent)) return Status::OK();
    if (live.count(parent) != 0) return Status::IOError(Message(op, shown, kNotDir));
    return Status::NotFound(Message(op, shown, kNoEntry));
  }

  Status CheckIsDir(std::string_view op, std::string_view shown, const std::string& path) const
      MANIFOLD_REQUIRES(mu) {
    if (IsDir(path)) return Status::OK();
    if (live.count(path) != 0) return Status::IOError(Message(op, shown, kNotDir));
    return Status::NotFound(Message(op, shown, kNoEntry));
  }

  // Adds a new empty file at `path` (whose parent exists and which does not).
  std::shared_ptr<Inode> CreateFile(const std::string& path) MANIFOLD_REQUIRES(mu) {
    auto inode = std::make_shared<Inode>(next_inode_id++);
    AddEntry(path, Entry{inode});
    return inode;
  }

  void AddEntry(const std::string& path, Entry entry) MANIFOLD_REQUIRES(mu) {
    assert(live.count(path) == 0);
    live[path] = entry;
    dirs.at(ParentOf(path))
        .pending.push_back(DirOp{DirOp::Kind::kCreate, BaseName(path), {}, std::move(entry)});
  }

  // The live entries directly inside directory `dir`, by name.
  std::map<std::string, Entry> LiveChildren(const std::string& dir) const MANIFOLD_REQUIRES(mu) {
    std::map<std::string, Entry> children;
    const std::string prefix = IsRoot(dir) ? dir : dir + "/";
    for (auto it = live.lower_bound(prefix); it != live.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (ParentOf(it->first) == dir) children[BaseName(it->first)] = it->second;
    }
    return children;
  }

  // Checks the representation invariant: every directory's live entries are its durable entries
  // with all its pending operations replayed.
  bool NamespaceConsistent() const MANIFOLD_REQUIRES(mu) {
    for (const auto& [dir, state] : dirs) {
      std::map<std::string, Entry> replayed =
          Replay(state.durable, state.pending, state.pending.size());
      std::map<std::string, Entry> children = LiveChildren(dir);
      if (replayed.size() != children.size()) return false;
      for (auto a = replayed.begin(), b = children.begin(); a != replayed.end(); ++a, ++b) {
        if (a->first != b->first || a->second.inode != b->second.inode) return false;
      }
    }
    return true;
  }

  SectorFate DrawSectorFate() MANIFOLD_REQUIRES(mu) {
    const double lost = options.unsynced_sector_lost;
    const double torn = options.sector_atomic ? 0 : options.unsynced_sector_torn;
    if (lost + torn <= 0) return SectorFate::kKept;
    const double u = prng.Unit();
    if (u < lost) return SectorFate::kLost;
    if (u < lost + torn) return SectorFate::kTorn;
    return SectorFate::kKept;
  }

  // Traces the run of `*count` lost sectors from `first` of the write at `write_offset`, if any,
  // and empties the run.
  void TraceLostSectors(const std::string& path, uint64_t write_offset, uint64_t first,
                        uint64_t* count) MANIFOLD_REQUIRES(mu) {
    if (*count == 0) return;
    const uint64_t last = first + *count - 1;
    Trace("crash: " + path +
          (*count == 1 ? " sector " + std::to_string(last)
                       : " sectors " + std::to_string(first) + "-" + std::to_string(last)) +
          " lost (write at offset " + std::to_string(write_offset) + ")");
    *count = 0;
  }

  // The content of the file at `path` after a power cut: its durable image plus the surviving
  // parts of its pending writes.
  std::shared_ptr<Inode> RebuildAfterCrash(const std::string& path, const Inode& old)
      MANIFOLD_REQUIRES(mu) {
    auto inode = std::make_shared<Inode>(old.id);
    std::string image = old.durable;
    const uint64_t sector_bytes = options.sector_bytes;
    uint64_t writes = 0, size_changes = 0, kept = 0, lost = 0, torn = 0;
    auto land = [&image](uint64_t offset, std::string_view bytes) {
      if (image.size() < offset + bytes.size()) image.resize(offset + bytes.size(), '\0');
      std::memcpy(image.data() + offset, bytes.data(), bytes.size());
    };
    for (const Inode::Pending& pending : old.pending) {
      if (!pending.is_write) {
        ++size_changes;  // Not replayed: the size is the durable one, grown by what lands.
        continue;
      }
      ++writes;
      const uint64_t begin = pending.offset;
      const uint64_t end = begin + pending.bytes.size();
      // Consecutive lost sectors of one write are traced as one range.
      uint64_t lost_run_first = 0, lost_run_count = 0;
      for (uint64_t sector = begin / sector_bytes; sector * sector_bytes < end; ++sector) {
        const uint64_t lo = std::max(begin, sector * sector_bytes);
        const uint64_t hi = std::min(end, (sector + 1) * sector_bytes);
        const std::string_view bytes = std::string_view(pending.bytes).substr(lo - begin, hi - lo);
        switch (DrawSectorFate()) {
          case SectorFate::kKept:
            TraceLostSectors(path, begin, lost_run_first, &lost_run_count);
            land(lo, bytes);
            ++kept;
            break;
          case SectorFate::kLost:
            if (lost_run_count == 0) lost_run_first = sector;
            ++lost_run_count;
            ++lost;
            break;
          case SectorFate::kTorn: {
            TraceLostSectors(path, begin, lost_run_first, &lost_run_count);
            const uint64_t new_bytes = prng.Uniform(bytes.size());  // A proper prefix.
            land(lo, bytes.substr(0, new_bytes));
            ++torn;
            Trace("crash: " + path + " sector " + std::to_string(sector) + " torn (keeps " +
                  std::to_string(new_bytes) + " of " + std::to_string(bytes.size()) + " bytes)");
            break;
          }
        }
      }
      TraceLostSectors(path, begin, lost_run_first, &lost_run_count);
    }
    if (!old.pending.empty()) {
      Trace("crash: " + path + ": " + std::to_string(writes) + " unsynced writes and " +
            std::to_string(size_changes) + " size changes; " + std::to_string(kept) +
            " sectors kept, " + std::to_string(lost) + " lost, " + std::to_string(torn) +
            " torn; size " + std::to_string(image.size()) + " (durable " +
            std::to_string(old.durable.size()) + ", before the crash " +
            std::to_string(old.current.size()) + ")");
    }
    counters.sectors_lost += lost;
    counters.sectors_torn += torn;
    inode->durable = image;
    inode->current = std::move(image);
    return inode;
  }

  // SimFileSystem::Restart.
  Status RestartLocked() MANIFOLD_REQUIRES(mu);

  port::Mutex mu;
  SimClock* const clock;
  Prng prng MANIFOLD_GUARDED_BY(mu);
  faults::FaultOptions options MANIFOLD_GUARDED_BY(mu);
  std::function<void(const std::string&)> trace MANIFOLD_GUARDED_BY(mu);
  // Every live entry but the root, by normalized path.
  std::map<std::string, Entry> live MANIFOLD_GUARDED_BY(mu);
  // Every live directory, the root included.
  std::map<std::string, DirState> dirs MANIFOLD_GUARDED_BY(mu);
  // Locked path -> token of the FileLock holding it, so a lock from before a restart cannot
  // release a newer one when it is destroyed.
  std::map<std::string, uint64_t> locks MANIFOLD_GUARDED_BY(mu);
  // Locked path -> tokens of the shared FileLocks holding it.
  std::map<std::string, std::set<uint64_t>> shared_locks MANIFOLD_GUARDED_BY(mu);
  uint64_t next_lock_token MANIFOLD_GUARDED_BY(mu) = 1;
  uint64_t next_inode_id MANIFOLD_GUARDED_BY(mu) = 1;
  uint64_t generation MANIFOLD_GUARDED_BY(mu) = 0;  // Number of restarts.
  bool crashed MANIFOLD_GUARDED_BY(mu) = false;
  bool random_crashes MANIFOLD_GUARDED_BY(mu) = true;
  // The value of counters.mutations at which the scheduled power cut hits; 0: none.
  uint64_t crash_at_mutation MANIFOLD_GUARDED_BY(mu) = 0;
  SimFsCounters counters MANIFOLD_GUARDED_BY(mu);
};

namespace {

using State = SimFileSystem::State;

// The core's file: reads and applies writes and syncs to the inode. The power switch and the
// argument checks (PowerSwitchFileSystem), refusals (InjectedErrorFileSystem) and a write's
// device faults (DeviceWriteFaultFileSystem) happened above it.
class SimFile final : public File {
 public:
  SimFile(std::shared_ptr<State> state, std::shared_ptr<Inode> inode, std::string path)
      : state_(std::move(state)), inode_(std::move(inode)), path_(std::move(path)) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    state_->mu.AssertHeld();
    const std::string& bytes = inode_->current;
    if (offset >= bytes.size()) return size_t{0};
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, bytes.size() - offset));
    std::memcpy(scratch, bytes.data() + offset, count);
    return count;
  }

  Status Write(uint64_t offset, std::string_view data) override {
    state_->mu.AssertHeld();
    if (data.empty()) return Status::OK();  // Like pwrite: no bytes, no size change.
    inode_->Write(offset, data);
    return Status::OK();
  }

  Status Append(std::string_view data) override {
    state_->mu.AssertHeld();
    return Write(inode_->current.size(), data);
  }

  // A failed sync is storage semantics too (what the page cache keeps), so it stays here.
  Status Sync() override {
    state_->mu.AssertHeld();
    const std::string what = "sync " + path_;
    Status injected = state_->InjectError(OpClass::kSync, what);
    if (!injected.ok()) {
      // After a failed fsync Linux may have dropped the dirty pages: model it half of the time.
      if (!inode_->pending.empty() && state_->prng.Chance(0.5)) {
        state_->Trace("failed sync: " + what + ": " + std::to_string(inode_->pending.size()) +
                      " unsynced writes discarded from the page cache (size " +
                      std::to_string(inode_->current.size()) + " -> " +
                      std::to_string(inode_->durable.size()) + ")");
        inode_->current = inode_->durable;
        inode_->pending.clear();
      }
      return injected;
    }
    inode_->durable = inode_->current;
    inode_->pending.clear();
    ++state_->counters.syncs;
    return Status::OK();
  }

  Status Truncate(uint64_t size_bytes) override {
    state_->mu.AssertHeld();
    if (size_bytes != inode_->current.size()) inode_->Resize(size_bytes);
    return Status::OK();
  }

  Status Preallocate(uint64_t offset, uint64_t len) override {
    state_->mu.AssertHeld();
    // Like fallocate mode 0 (and MemFileSystem): the visible size grows to cover the range.
    if (len > 0 && offset + len > inode_->current.size()) inode_->Resize(offset + len);
    return Status::OK();
  }

  StatusOr<uint64_t> Size() const override {
    state_->mu.AssertHeld();
    return static_cast<uint64_t>(inode_->current.size());
  }

  const std::string& path() const override { return path_; }

 private:
  const std::shared_ptr<State> state_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;  // As the caller spelled it, for messages.
};

class SimFileLock final : public FileLock {
 public:
  SimFileLock(std::shared_ptr<State> state, std::string path, uint64_t token)
      : state_(std::move(state)), path_(std::move(path)), token_(token) {}
  ~SimFileLock() override {
    port::MutexLock lock(&state_->mu);
    auto it = state_->locks.find(path_);
    if (it != state_->locks.end() && it->second == token_) state_->locks.erase(it);
    auto shared = state_->shared_locks.find(path_);
    if (shared != state_->shared_locks.end() && shared->second.erase(token_) != 0 &&
        shared->second.empty()) {
      state_->shared_locks.erase(shared);
    }
  }

 private:
  const std::shared_ptr<State> state_;
  const std::string path_;  // Normalized.
  const uint64_t token_;
};

// ---- The core: storage with crash semantics ------------------------------------------------
//
// The namespace and file images with their durable and pending parts, what a power cut keeps of
// them (State::RestartLocked), and a failed sync's dropped dirty pages. It checks paths and the
// namespace's rules but draws nothing for the calls it serves except a file sync's injected error:
// the power switch, refusals and a write's device faults are the layers above. Every call runs
// with State::mu held by the facade.
class SimDisk final : public FileSystem {
 public:
  explicit SimDisk(std::shared_ptr<State> state) : state_(std::move(state)) {}

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
  const std::shared_ptr<State> state_;
};

// ---- Fault layers: each a wrapper that overrides only the calls its fault touches ------------
//
// All draw from the one State::prng. A layer that decides before the call draws before the
// layers below it, one that decides on the result draws after them; the stack's order makes the
// draws within a call come in the order the simulator has always used (power cut, injected
// error, the write's device faults, sync delay or bit flip), which keeps old seeds replaying bit
// for bit.

// The device write faults of Write and Append: an injected EIO after which a sector-aligned
// prefix (maybe none) landed, an injected ENOSPC (nothing landed), and misdirected writes that
// report success with the bytes at another sector-aligned offset inside the current size (the
// file still grows to the requested end). Directly on the core, whose writes draw nothing, so a
// partial write's prefix is not misdirected again.
class DeviceWriteFaultFileSystem final : public FileSystemWrapper {
 public:
  DeviceWriteFaultFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<WriteFaultFile>(std::move(file), state_));
  }

 private:
  class WriteFaultFile final : public FileWrapper {
   public:
    WriteFaultFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}

    Status Write(uint64_t offset, std::string_view data) override {
      return WriteAt("write", offset, data);
    }
    Status Append(std::string_view data) override {
      MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
      return WriteAt("append", size, data);
    }

   private:
    Status WriteAt(std::string_view op, uint64_t offset, std::string_view data) {
      State& state = *state_;
      state.mu.AssertHeld();
      const std::string what =
          AtOffset(op, path(), offset) + " (" + std::to_string(data.size()) + " bytes)";
      const uint64_t sector_bytes = state.options.sector_bytes;
      Status injected = state.InjectError(OpClass::kWrite, what);
      if (!injected.ok()) {
        // A device failing part way through a write: a sector-aligned prefix (maybe none) landed.
        if (injected.IsIOError() && !data.empty()) {
          const uint64_t end = offset + data.size();
          const uint64_t first_boundary = (offset / sector_bytes + 1) * sector_bytes;
          const uint64_t boundaries =
              first_boundary < end ? (end - 1 - first_boundary) / sector_bytes + 1 : 0;
          const uint64_t choice = state.prng.Uniform(boundaries + 1);
          const uint64_t prefix_end =
              choice == 0 ? offset : first_boundary + (choice - 1) * sector_bytes;
          assert(prefix_end >= offset && prefix_end < end);
          if (prefix_end > offset) {
            FileWrapper::Write(offset, data.substr(0, prefix_end - offset)).IgnoreError();
            state.Trace("partial write: " + what + ": the first " +
                        std::to_string(prefix_end - offset) + " bytes landed before the EIO");
          }
        }
        return injected;
      }
      if (data.empty()) return Status::OK();  // Like pwrite: no bytes, no size change.
      uint64_t landing = offset;
      if (state.prng.Chance(state.options.misdirected_write)) {
        MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
        landing = MisdirectedOffset(offset, data.size(), size);
        if (landing != offset) {
          ++state.counters.misdirected;
          state.Trace("misdirected write: " + what + " landed at offset " +
                      std::to_string(landing));
          // The file system still records the requested size; only the device put the bytes
          // elsewhere.
          if (offset + data.size() > size) {
            MANIFOLD_RETURN_IF_ERROR(FileWrapper::Truncate(offset + data.size()));
          }
        }
      }
      return FileWrapper::Write(landing, data);
    }

    // A sector-aligned offset other than `offset` where `len` bytes fit inside `size`, drawn
    // uniformly; `offset` itself if there is none.
    uint64_t MisdirectedOffset(uint64_t offset, uint64_t len, uint64_t size) {
      State& state = *state_;
      state.mu.AssertHeld();
      const uint64_t sector_bytes = state.options.sector_bytes;
      if (size < len) return offset;
      const uint64_t positions = (size - len) / sector_bytes + 1;  // 0, sector, 2 sectors...
      const bool offset_is_one = offset % sector_bytes == 0 && offset <= size - len;
      const uint64_t choices = positions - (offset_is_one ? 1 : 0);
      if (choices == 0) return offset;
      uint64_t landing = state.prng.Uniform(choices) * sector_bytes;
      if (offset_is_one && landing >= offset) landing += sector_bytes;
      assert(landing != offset && landing % sector_bytes == 0 && landing + len <= size);
      return landing;
    }

    const std::shared_ptr<State> state_;
  };

  const std::shared_ptr<State> state_;
};

// Injected EIO/ENOSPC that refuse a call and change nothing: reads, truncates, preallocations,
// directory syncs and metadata calls (opens, renames, removes, mkdirs, locks). Messages start
// with "injected EIO: " / "injected ENOSPC: " and name the call.
class InjectedErrorFileSystem final : public FileSystemWrapper {
 public:
  InjectedErrorFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "open " + path));
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<ErrorFile>(std::move(file), state_));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "rename " + from + " to " + to));
    return FileSystemWrapper::Rename(from, to);
  }
  Status Remove(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "remove " + path));
    return FileSystemWrapper::Remove(path);
  }
  Status CreateDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "create dir " + path));
    return FileSystemWrapper::CreateDir(path);
  }
  Status SyncDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kDirSync, "sync dir " + path));
    return FileSystemWrapper::SyncDir(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "lock " + path));
    return FileSystemWrapper::LockFile(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "lock shared " + path));
    return FileSystemWrapper::LockFileShared(path);
  }

 private:
  class ErrorFile final : public FileWrapper {
   public:
    ErrorFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}

    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(
          state_->InjectError(OpClass::kRead, AtOffset("read", path(), offset)));
      return FileWrapper::Read(offset, n, scratch);
    }
    Status Truncate(uint64_t size_bytes) override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->InjectError(
          OpClass::kWrite, "truncate " + path() + " to " + std::to_string(size_bytes) + " bytes"));
      return FileWrapper::Truncate(size_bytes);
    }
    Status Preallocate(uint64_t offset, uint64_t len) override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->InjectError(
          OpClass::kWrite,
          AtOffset("preallocate", path(), offset) + " (" + std::to_string(len) + " bytes)"));
      return FileWrapper::Preallocate(offset, len);
    }

   private:
    const std::shared_ptr<State> state_;
  };

  Status Inject(OpClass op_class, const std::string& what) {
    state_->mu.AssertHeld();
    return state_->InjectError(op_class, what);
  }

  const std::shared_ptr<State> state_;
};

// The power switch: while the power is cut every call is refused, and so is every call through
// a file opened before the last Restart(); each mutating call is counted and may be the one a
// power cut interrupts (random, or scheduled by ScheduleCrashAtMutation). Also the argument
// checks that come before a mutation is counted (paths, read-only files, the size limit).
class PowerSwitchFileSystem final : public FileSystemWrapper {
 public:
  PowerSwitchFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    state_->mu.AssertHeld();
    const std::string what = "open " + path;
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, nullptr));
    MANIFOLD_RETURN_IF_ERROR(Normalize("open", path).status());
    // Opening with O_CREAT is a mutation whether or not the file exists: the caller cannot know.
    if (options.create) MANIFOLD_RETURN_IF_ERROR(state_->Mutate(what));
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<PowerFile>(
        std::move(file), state_, options.read_only, state_->generation));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    state_->mu.AssertHeld();
    const std::string what = "rename " + from + " to " + to;
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, nullptr));
    MANIFOLD_RETURN_IF_ERROR(Normalize("rename", from).status());
    MANIFOLD_RETURN_IF_ERROR(Normalize("rename", to).status());
    MANIFOLD_RETURN_IF_ERROR(state_->Mutate(what));
    return FileSystemWrapper::Rename(from, to);
  }
  Status Remove(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("remove", path));
    return FileSystemWrapper::Remove(path);
  }
  Status CreateDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("create dir", path));
    return FileSystemWrapper::CreateDir(path);
  }
  Status SyncDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("sync dir", path));
    return FileSystemWrapper::SyncDir(path);
  }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeRead("list dir", "list dir", path));
    return FileSystemWrapper::ListDir(path);
  }
  StatusOr<bool> Exists(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeRead("exists", "exists", path));
    return FileSystemWrapper::Exists(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("lock", path));
    return FileSystemWrapper::LockFile(path);
  }
  // Not a mutation (nothing is created or written), so it never draws a power cut.
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeRead("lock shared", "lock", path));
    return FileSystemWrapper::LockFileShared(path);
  }

 private:
  class PowerFile final : public FileWrapper {
   public:
    PowerFile(std::unique_ptr<File> base, std::shared_ptr<State> state, bool read_only,
              uint64_t generation)
        : FileWrapper(std::move(base)),
          state_(std::move(state)),
          read_only_(read_only),
          generation_(generation) {}

    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(AtOffset("read", path(), offset), &generation_));
      return FileWrapper::Read(offset, n, scratch);
    }
    Status Write(uint64_t offset, std::string_view data) override {
      MANIFOLD_RETURN_IF_ERROR(BeforeWrite("write", offset, data.size()));
      return FileWrapper::Write(offset, data);
    }
    Status Append(std::string_view data) override {
      MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
      MANIFOLD_RETURN_IF_ERROR(BeforeWrite("append", size, data.size()));
      return FileWrapper::Append(data);
    }
    Status Sync() override {
      state_->mu.AssertHeld();
      const std::string what = "sync " + path();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, &generation_));
      MANIFOLD_RETURN_IF_ERROR(state_->Mutate(what));
      return FileWrapper::Sync();
    }
    Status Truncate(uint64_t size_bytes) override {
      MANIFOLD_RETURN_IF_ERROR(Before(
          "truncate " + path() + " to " + std::to_string(size_bytes) + " bytes", size_bytes, 0));
      return FileWrapper::Truncate(size_bytes);
    }
    Status Preallocate(uint64_t offset, uint64_t len) override {
      MANIFOLD_RETURN_IF_ERROR(
          Before(AtOffset("preallocate", path(), offset) + " (" + std::to_string(len) + " bytes)",
                 offset, len));
      return FileWrapper::Preallocate(offset, len);
    }
    StatusOr<uint64_t> Size() const override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive("size " + path(), &generation_));
      return FileWrapper::Size();
    }

   private:
    Status BeforeWrite(std::string_view op, uint64_t offset, uint64_t len) {
      return Before(AtOffset(op, path(), offset) + " (" + std::to_string(len) + " bytes)", offset,
                    len);
    }
    // The checks of a call that changes [offset, offset + len), then its mutation count.
    Status Before(const std::string& what, uint64_t offset, uint64_t len) {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, &generation_));
      if (read_only_) return Status::ReadOnly(what + ": file is opened read-only");
      if (offset > kMaxFileBytes || len > kMaxFileBytes - offset) {
        return Status::NoSpace(what + ": would exceed the SimFileSystem file size limit of " +
                               std::to_string(kMaxFileBytes) + " bytes");
      }
      return state_->Mutate(what);
    }

    const std::shared_ptr<State> state_;
    const bool read_only_;
    const uint64_t generation_;  // State::generation when opened.
  };

  Status BeforeMutation(std::string_view op, const std::string& path) {
    state_->mu.AssertHeld();
    const std::string what = std::string(op) + " " + path;
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, nullptr));
    MANIFOLD_RETURN_IF_ERROR(Normalize(op, path).status());
    return state_->Mutate(what);
  }
  // `shown_op` names the call in messages, `op` the path error's operation.
  Status BeforeRead(std::string_view shown_op, std::string_view op, const std::string& path) {
    state_->mu.AssertHeld();
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(std::string(shown_op) + " " + path, nullptr));
    return Normalize(op, path).status();
  }

  const std::shared_ptr<State> state_;
};

// Delayed syncs: a successful File::Sync or SyncDir advances the SimClock by up to
// sync_delay_us_max, with probability sync_delay_probability.
class DelayedSyncFileSystem final : public FileSystemWrapper {
 public:
  DelayedSyncFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<DelayedSyncFile>(std::move(file), state_));
  }
  Status SyncDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(FileSystemWrapper::SyncDir(path));
    MaybeDelay(*state_, "sync dir " + path);
    return Status::OK();
  }

 private:
  class DelayedSyncFile final : public FileWrapper {
   public:
    DelayedSyncFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}
    Status Sync() override {
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Sync());
      MaybeDelay(*state_, "sync " + path());
      return Status::OK();
    }

   private:
    const std::shared_ptr<State> state_;
  };

  static void MaybeDelay(State& state, const std::string& what) {
    state.mu.AssertHeld();
    if (state.options.sync_delay_us_max == 0 ||
        !state.prng.Chance(state.options.sync_delay_probability)) {
      return;
    }
    const uint64_t delay_us = 1 + state.prng.Uniform(state.options.sync_delay_us_max);
    state.clock->Advance(delay_us);
    ++state.counters.delayed_syncs;
    state.Trace("delayed sync: " + what + " took " + std::to_string(delay_us) + " us");
  }

  const std::shared_ptr<State> state_;
};

// Bit flips on read: a successful, non-empty File::Read has one bit of the returned buffer
// flipped with probability read_bit_flip (the stored bytes stay intact).
class ReadBitFlipFileSystem final : public FileSystemWrapper {
 public:
  ReadBitFlipFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<BitFlipFile>(std::move(file), state_));
  }

 private:
  class BitFlipFile final : public FileWrapper {
   public:
    BitFlipFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}
    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      MANIFOLD_ASSIGN_OR_RETURN(const size_t count, FileWrapper::Read(offset, n, scratch));
      State& state = *state_;
      state.mu.AssertHeld();
      if (count > 0 && state.prng.Chance(state.options.read_bit_flip)) {
        const uint64_t bit = state.prng.Uniform(uint64_t{count} * 8);
        scratch[bit / 8] = static_cast<char>(scratch[bit / 8] ^ (1 << (bit % 8)));
        ++state.counters.bit_flips;
        state.Trace("bit flip: " + AtOffset("read", path(), offset) + ": byte " +
                    std::to_string(offset + bit / 8) + " bit " + std::to_string(bit % 8) +
                    " flipped in the returned buffer only");
      }
      return count;
    }

   private:
    const std::shared_ptr<State> state_;
  };

  const std::shared_ptr<State> state_;
};

// ---- The facade's files: one scheduling point and State::mu around every call ----------------
//
// The lock is taken once, here, for the whole stack below, so a call is atomic across the layers
// and adds no lock (and so no scheduling decision) per layer.
class SerializedFile final : public FileWrapper {
 public:
  SerializedFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
      : FileWrapper(std::move(base)), state_(std::move(state)) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    port::SchedulingPoint("SimFile::Read", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Read(offset, n, scratch);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    port::SchedulingPoint("SimFile::Write", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Write(offset, data);
  }
  Status Append(std::string_view data) override {
    port::SchedulingPoint("SimFile::Append", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Append(data);
  }
  Status Sync() override {
    port::SchedulingPoint("SimFile::Sync", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Sync();
  }
  Status Truncate(uint64_t size_bytes) override {
    port::SchedulingPoint("SimFile::Truncate", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Truncate(size_bytes);
  }
  Status Preallocate(uint64_t offset, uint64_t len) override {
    port::SchedulingPoint("SimFile::Preallocate", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Preallocate(offset, len);
  }
  StatusOr<uint64_t> Size() const override {
    port::SchedulingPoint("SimFile::Size", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Size();
  }

 private:
  const std::shared_ptr<State> state_;
};

}  // namespace

SimFileSystem::SimFileSystem(uint64_t seed, faults::FaultOptions options, SimClock* clock)
    : state_(std::make_shared<State>(seed, std::move(options), clock)) {
  assert(clock != nullptr);
  {
    port::MutexLock lock(&state_->mu);
    assert(faults::ValidateFaultOptions(state_->options).ok());
  }
  // Bottom to top: the core, then the layers whose draws follow the core's within a call.
  layers_.push_back(std::make_unique<SimDisk>(state_));
  layers_.push_back(std::make_unique<DeviceWriteFaultFileSystem>(layers_.back().get(), state_));
  layers_.push_back(std::make_unique<InjectedErrorFileSystem>(layers_.back().get(), state_));
  layers_.push_back(std::make_unique<PowerSwitchFileSystem>(layers_.back().get(), state_));
  layers_.push_back(std::make_unique<DelayedSyncFileSystem>(layers_.back().get(), state_));
  layers_.push_back(std::make_unique<ReadBitFlipFileSystem>(layers_.back().get(), state_));
  top_ = layers_.back().get();
}

// The FileSystem calls: a scheduling point and the lock, then the layers.

StatusOr<std::unique_ptr<File>> SimFileSystem::OpenFile(const std::string& path,
                                                        const OpenFileOptions& options) {
  port::SchedulingPoint("SimFileSystem::OpenFile", state_.get());
  port::MutexLock lock(&state_->mu);
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, top_->OpenFile(path, options));
  return std::unique_ptr<File>(std::make_unique<SerializedFile>(std::move(file), state_));
}

Status SimFileSystem::Rename(const std::string& from, const std::string& to) {
  port::SchedulingPoint("SimFileSystem::Rename", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->Rename(from, to);
}

Status SimFileSystem::Remove(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::Remove", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->Remove(path);
}

Status SimFileSystem::CreateDir(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::CreateDir", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->CreateDir(path);
}

Status SimFileSystem::SyncDir(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::SyncDir", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->SyncDir(path);
}

StatusOr<std::vector<std::string>> SimFileSystem::ListDir(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::ListDir", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->ListDir(path);
}

StatusOr<bool> SimFileSystem::Exists(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::Exists", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->Exists(path);
}

StatusOr<std::unique_ptr<FileLock>> SimFileSystem::LockFile(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::LockFile", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->LockFile(path);
}

StatusOr<std::unique_ptr<FileLock>> SimFileSystem::LockFileShared(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::LockFileShared", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->LockFileShared(path);
}

SimFileSystem::~SimFileSystem() = default;

StatusOr<std::unique_ptr<File>> SimDisk::OpenFile(const std::string& path,
                                                  const OpenFileOptions& options) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("open", path));
  if (state_->IsDir(p)) return Status::IOError(Message("open", path, kIsDir));
  std::shared_ptr<Inode> inode;
  auto it = state_->live.find(p);
  if (it != state_->live.end()) {
    if (options.create && options.exclusive) {
      return Status::AlreadyExists(Message("open", path, kExists));
    }
    inode = it->second.inode;
  } else {
    if (!options.create) return Status::NotFound(Message("open", path, kNoEntry));
    MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("open", path, p));
    inode = state_->CreateFile(p);
  }
  assert(inode != nullptr);
  return std::unique_ptr<File>(std::make_unique<SimFile>(state_, std::move(inode), path));
}

Status SimDisk::Rename(const std::string& from, const std::string& to) {
  state_->mu.AssertHeld();
  const std::string shown = from + " to " + to;
  MANIFOLD_ASSIGN_OR_RETURN(const std::string f, Normalize("rename", from));
  MANIFOLD_ASSIGN_OR_RETURN(const std::string t, Normalize("rename", to));
  if (IsRoot(f) || IsRoot(t)) return Status::IOError(Message("rename", shown, kIsDir));
  auto from_it = state_->live.find(f);
  if (from_it == state_->live.end()) return Status::NotFound(Message("rename", shown, kNoEntry));
  if (from_it->second.is_dir()) {
    return Status::NotSupported("rename " + shown + ": SimFileSystem cannot rename directories");
  }
  MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("rename", shown, t));
  const std::string dir = ParentOf(f);
  if (ParentOf(t) != dir) {
    // Which SyncDir makes a cross-directory rename durable differs between file systems; the
    // engine only renames within its own directory.
    return Status::NotSupported("rename " + shown +
                                ": SimFileSystem renames only within one directory");
  }
  if (f == t) return Status::OK();
  auto to_it = state_->live.find(t);
  if (to_it != state_->live.end() && to_it->second.is_dir()) {
    return Status::IOError(Message("rename", shown, kIsDir));
  }
  Entry moved = std::move(from_it->second);
  state_->live.erase(from_it);
  state_->live[t] = std::move(moved);
  state_->dirs.at(dir).pending.push_back(
      DirOp{DirOp::Kind::kRename, BaseName(f), BaseName(t), Entry{}});
  return Status::OK();
}

Status SimDisk::Remove(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("remove", path));
  if (IsRoot(p)) return Status::IOError(Message("remove", path, kIsDir));
  auto it = state_->live.find(p);
  if (it == state_->live.end()) return Status::NotFound(Message("remove", path, kNoEntry));
  // Like unlink(2) on Linux: directories are refused.
  if (it->second.is_dir()) return Status::IOError(Message("remove", path, kIsDir));
  state_->live.erase(it);
  state_->dirs.at(ParentOf(p))
      .pending.push_back(DirOp{DirOp::Kind::kRemove, BaseName(p), {}, Entry{}});
  return Status::OK();
}

Status SimDisk::CreateDir(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("create dir", path));
  if (state_->IsDir(p)) return Status::OK();
  if (state_->live.count(p) != 0) {
    return Status::AlreadyExists("create dir " + path + ": exists and is not a directory");
  }
  MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("create dir", path, p));
  state_->AddEntry(p, Entry{});
  state_->dirs[p];
  return Status::OK();
}

Status SimDisk::SyncDir(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("sync dir", path));
  MANIFOLD_RETURN_IF_ERROR(state_->CheckIsDir("sync dir", path, p));
  DirState& dir = state_->dirs.at(p);
  dir.durable = state_->LiveChildren(p);
  dir.pending.clear();
  ++state_->counters.syncs;
  return Status::OK();
}

StatusOr<std::vector<std::string>> SimDisk::ListDir(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("list dir", path));
  MANIFOLD_RETURN_IF_ERROR(state_->CheckIsDir("list dir", path, p));
  std::vector<std::string> names;
  for (const auto& [name, entry] : state_->LiveChildren(p)) names.push_back(name);
  return names;  // Sorted: LiveChildren is a std::map by name.
}

StatusOr<bool> SimDisk::Exists(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("exists", path));
  return IsRoot(p) || state_->live.count(p) != 0;
}

StatusOr<std::unique_ptr<FileLock>> SimDisk::LockFile(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("lock", path));
  if (state_->locks.count(p) != 0 || state_->shared_locks.count(p) != 0) {
    return Status::Busy("database " + path + " is already locked by this process");
  }
  if (state_->IsDir(p)) return Status::IOError(Message("lock", path, kIsDir));
  if (state_->live.count(p) == 0) {
    MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("lock", path, p));
    state_->CreateFile(p);
  }
  const uint64_t token = state_->next_lock_token++;
  state_->locks[p] = token;
  return std::unique_ptr<FileLock>(std::make_unique<SimFileLock>(state_, p, token));
}

StatusOr<std::unique_ptr<FileLock>> SimDisk::LockFileShared(const std::string& path) {
  state_->mu.AssertHeld();
  MANIFOLD_ASSIGN_OR_RETURN(const std::string p, Normalize("lock", path));
  if (state_->locks.count(p) != 0) {
    return Status::Busy("database " + path + " is locked for writing by this process");
  }
  if (state_->IsDir(p)) return Status::IOError(Message("lock", path, kIsDir));
  if (state_->live.count(p) == 0) return Status::NotFound(Message("lock", path, kNoEntry));
  const uint64_t token = state_->next_lock_token++;
  state_->shared_locks[p].insert(token);
  return std::unique_ptr<FileLock>(std::make_unique<SimFileLock>(state_, p, token));
}

void SimFileSystem::ScheduleCrashAtMutation(uint64_t n) {
  port::MutexLock lock(&state_->mu);
  state_->crash_at_mutation = n == 0 ? 0 : state_->counters.mutations + n;
}

void SimFileSystem::set_random_crashes(bool enabled) {
  port::MutexLock lock(&state_->mu);
  state_->random_crashes = enabled;
}

void SimFileSystem::CrashNow() {
  port::MutexLock lock(&state_->mu);
  if (state_->crashed) return;
  state_->Cut();
  state_->Trace("crash: power cut between operations after mutation " +
                std::to_string(state_->counters.mutations));
}

bool SimFileSystem::crashed() const {
  port::MutexLock lock(&state_->mu);
  return state_->crashed;
}

Status SimFileSystem::State::RestartLocked() {
  if (!crashed) {
    Cut();
    Trace("crash: power cut by Restart() after mutation " + std::to_string(counters.mutations));
  }
  assert(NamespaceConsistent());

  // 1. Each directory keeps a prefix of its pending operations.
  std::map<std::string, Entry> survived;
  for (const auto& [dir, dir_state] : dirs) {
    size_t keep = 0;
    while (keep < dir_state.pending.size() && !prng.Chance(options.unsynced_dir_op_lost)) ++keep;
    if (keep < dir_state.pending.size()) {
      std::string undone;
      for (size_t i = keep; i < dir_state.pending.size(); ++i) {
        undone += (i == keep ? "" : ", ") + dir_state.pending[i].ToString();
      }
      counters.dir_ops_undone += dir_state.pending.size() - keep;
      Trace("crash: dir " + dir + " keeps " + std::to_string(keep) + " of " +
            std::to_string(dir_state.pending.size()) + " unsynced operations; undone: " + undone);
    }
    for (auto& [name, entry] : Replay(dir_state.durable, dir_state.pending, keep)) {
      survived[Join(dir, name)] = entry;
    }
  }

  // 2. An entry whose directory did not survive goes with it. A parent sorts before its children
  //    (a proper prefix is smaller), so one ordered pass sees each parent's fate first.
  for (auto it = survived.begin(); it != survived.end();) {
    const std::string parent = ParentOf(it->first);
    auto parent_it = survived.find(parent);
    if (IsRoot(parent) || (parent_it != survived.end() && parent_it->second.is_dir())) {
      ++it;
      continue;
    }
    Trace("crash: " + it->first + " lost with its directory " + parent);
    it = survived.erase(it);
  }

  // 3. File contents. An inode is rebuilt once even if (in a future model) two names reach it.
  std::map<uint64_t, std::shared_ptr<Inode>> rebuilt;
  std::map<std::string, Entry> new_live;
  for (const auto& [path, entry] : survived) {
    if (entry.is_dir()) {
      new_live[path] = entry;
      continue;
    }
    auto [it, inserted] = rebuilt.try_emplace(entry.inode->id);
    if (inserted) it->second = RebuildAfterCrash(path, *entry.inode);
    new_live[path] = Entry{it->second};
  }

  // 4. Everything that survived is durable now.
  std::map<std::string, DirState> new_dirs;
  new_dirs[kRoot];
  for (const auto& [path, entry] : new_live) {
    if (entry.is_dir()) new_dirs[path];
  }
  for (const auto& [path, entry] : new_live) {
    new_dirs.at(ParentOf(path)).durable[BaseName(path)] = entry;
  }

  live = std::move(new_live);
  dirs = std::move(new_dirs);
  locks.clear();
  shared_locks.clear();
  ++generation;
  crashed = false;
  Trace("restart: generation " + std::to_string(generation) + ", " +
        std::to_string(rebuilt.size()) + " files and " + std::to_string(dirs.size() - 1) +
        " directories survive");
  assert(NamespaceConsistent());
  return Status::OK();
}

Status SimFileSystem::Restart() {
  port::MutexLock lock(&state_->mu);
  return state_->RestartLocked();
}

void SimFileSystem::set_options(const faults::FaultOptions& options) {
  assert(faults::ValidateFaultOptions(options).ok());
  port::MutexLock lock(&state_->mu);
  state_->options = options;
}

faults::FaultOptions SimFileSystem::options() const {
  port::MutexLock lock(&state_->mu);
  return state_->options;
}

const SimFsCounters& SimFileSystem::counters() const MANIFOLD_NO_THREAD_SAFETY_ANALYSIS {
  // Unlocked by contract (see the header): a reference cannot carry the lock with it.
  return state_->counters;
}

void SimFileSystem::set_trace(std::function<void(const std::string&)> trace) {
  port::MutexLock lock(&state_->mu);
  state_->trace = std::move(trace);
}

uint64_t SimFileSystem::StateHash() const {
  port::MutexLock lock(&state_->mu);
  Fnv1a h;
  auto hash_file = [&h](const Inode& inode) {
    h.U64(inode.id);
    h.Str(inode.current);
    h.Str(inode.durable);
    h.U64(inode.pending.size());
  };
  for (const auto& [path, entry] : state_->live) {
    h.Str(path);
    if (entry.is_dir()) {
      h.U64(0);
    } else {
      hash_file(*entry.inode);
    }
  }
  for (const auto& [dir, state] : state_->dirs) {
    h.Str(dir);
    for (const auto& [name, entry] : state.durable) {
      h.Str(name);
      // Files whose durable entry is no longer live (pending remove or rename) matter too.
      if (entry.is_dir()) {
        h.U64(0);
      } else {
        hash_file(*entry.inode);
      }
    }
    h.U64(state.pending.size());
    for (const DirOp& op : state.pending) {
      h.U64(static_cast<uint64_t>(op.kind));
      h.Str(op.name);
      h.Str(op.to);
      h.U64(op.entry.id());
    }
  }
  return h.hash();
}

}  // namespace manifold::sim
