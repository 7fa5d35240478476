// SimDisk, the storage core (see sim_disk.h), and the State members for the namespace and for
// what a power cut keeps (see sim_fs_state.h for the representation).
#include "sim/sim_disk.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/port/sync.h"
#include "faults/fault_model.h"
#include "manifold/env.h"
#include "manifold/status.h"
#include "sim/sim_fs.h"
#include "sim/sim_fs_state.h"

namespace manifold::sim {

using faults::OpClass;
using sim_fs_internal::BaseName;
using sim_fs_internal::DirOp;
using sim_fs_internal::DirState;
using sim_fs_internal::Entry;
using sim_fs_internal::Inode;
using sim_fs_internal::IsRoot;
using sim_fs_internal::Join;
using sim_fs_internal::kRoot;
using sim_fs_internal::Message;
using sim_fs_internal::Normalize;
using sim_fs_internal::ParentOf;
using sim_fs_internal::SectorFate;

namespace {

// The strerror texts a POSIX file system would report, so messages read like PosixFileSystem's.
constexpr char kNoEntry[] = "No such file or directory";
constexpr char kIsDir[] = "Is a directory";
constexpr char kNotDir[] = "Not a directory";
constexpr char kExists[] = "File exists";

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
    inode_->Write(offset, data, std::exchange(state_->next_write_misdirected, false));
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

// The core; see sim_disk.h.
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

}  // namespace

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

// ---- State: the namespace ------------------------------------------------------------------

Status SimFileSystem::State::CheckParent(std::string_view op, std::string_view shown,
                                         const std::string& path) const {
  const std::string parent = ParentOf(path);
  if (IsDir(parent)) return Status::OK();
  if (live.count(parent) != 0) return Status::IOError(Message(op, shown, kNotDir));
  return Status::NotFound(Message(op, shown, kNoEntry));
}

Status SimFileSystem::State::CheckIsDir(std::string_view op, std::string_view shown,
                                        const std::string& path) const {
  if (IsDir(path)) return Status::OK();
  if (live.count(path) != 0) return Status::IOError(Message(op, shown, kNotDir));
  return Status::NotFound(Message(op, shown, kNoEntry));
}

std::shared_ptr<Inode> SimFileSystem::State::CreateFile(const std::string& path) {
  auto inode = std::make_shared<Inode>(next_inode_id++);
  AddEntry(path, Entry{inode});
  return inode;
}

void SimFileSystem::State::AddEntry(const std::string& path, Entry entry) {
  assert(live.count(path) == 0);
  live[path] = entry;
  dirs.at(ParentOf(path))
      .pending.push_back(DirOp{DirOp::Kind::kCreate, BaseName(path), {}, std::move(entry)});
}

std::map<std::string, Entry> SimFileSystem::State::LiveChildren(const std::string& dir) const {
  std::map<std::string, Entry> children;
  const std::string prefix = IsRoot(dir) ? dir : dir + "/";
  for (auto it = live.lower_bound(prefix); it != live.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    if (ParentOf(it->first) == dir) children[BaseName(it->first)] = it->second;
  }
  return children;
}

bool SimFileSystem::State::NamespaceConsistent() const {
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

// ---- State: what a power cut keeps ---------------------------------------------------------

SectorFate SimFileSystem::State::DrawSectorFate() {
  const double lost = options.unsynced_sector_lost;
  const double torn = options.sector_atomic ? 0 : options.unsynced_sector_torn;
  const double garbled = options.sector_atomic ? 0 : options.unsynced_sector_garbled;
  // Garbling shares the one draw per sector, so a profile without it draws (and replays its old
  // seeds) exactly as before it existed.
  if (lost + torn + garbled <= 0) return SectorFate::kKept;
  const double u = prng.Unit();
  if (u < lost) return SectorFate::kLost;
  if (u < lost + torn) return SectorFate::kTorn;
  if (u < lost + torn + garbled) return SectorFate::kGarbled;
  return SectorFate::kKept;
}

void SimFileSystem::State::TraceLostSectors(const std::string& path, uint64_t write_offset,
                                            uint64_t first, uint64_t* count) {
  if (*count == 0) return;
  const uint64_t last = first + *count - 1;
  Trace("crash: " + path +
        (*count == 1 ? " sector " + std::to_string(last)
                     : " sectors " + std::to_string(first) + "-" + std::to_string(last)) +
        " lost (write at offset " + std::to_string(write_offset) + ")");
  *count = 0;
}

std::shared_ptr<Inode> SimFileSystem::State::RebuildAfterCrash(const std::string& path,
                                                               const Inode& old) {
  auto inode = std::make_shared<Inode>(old.id);
  std::string image = old.durable;
  const uint64_t sector_bytes = options.sector_bytes;
  uint64_t writes = 0, size_changes = 0, kept = 0, lost = 0, torn = 0, garbled = 0;
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
    if (pending.misdirected) {
      // A misdirected landing is the injected damage itself: it overwrote bytes that may have
      // been synced, and only its own intact records can show the engine that they were (their
      // synced_lsn vouches for the records under them). Torn, garbled or partly lost, it would
      // destroy synced records and the evidence together, which the log cannot tell from an
      // unsynced group's torn sectors (design.md, "Not detectable by design": a power cut
      // before the newest group's marker was written back, with damage to that group; chaos
      // seed 106). So it lands whole, or the power cut loses it whole and the old bytes stay:
      // one draw, lost whenever a sector would not have been kept.
      const uint64_t sectors = (end - 1) / sector_bytes - begin / sector_bytes + 1;
      if (DrawSectorFate() == SectorFate::kKept) {
        land(begin, pending.bytes);
        kept += sectors;
      } else {
        lost += sectors;
        Trace("crash: " + path + " misdirected write at offset " + std::to_string(begin) + " (" +
              std::to_string(pending.bytes.size()) + " bytes) lost whole");
      }
      continue;
    }
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
        case SectorFate::kGarbled: {
          // The new bytes with one bit flipped: only bytes never synced are damaged.
          TraceLostSectors(path, begin, lost_run_first, &lost_run_count);
          std::string damaged(bytes);
          const uint64_t bit = prng.Uniform(uint64_t{damaged.size()} * 8);
          // Any file: a power cut may garble an unsynced sector of the data file too (header
          // slots included: I12's HoldsForeignPage tells the slot's own write with a garbled type
          // byte from another page's misdirected write by its checksum; storage seed 480).
          damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
          land(lo, damaged);
          ++garbled;
          Trace("crash: " + path + " sector " + std::to_string(sector) + " garbled (byte " +
                std::to_string(lo + bit / 8) + " bit " + std::to_string(bit % 8) + " flipped)");
          break;
        }
      }
    }
    TraceLostSectors(path, begin, lost_run_first, &lost_run_count);
  }
  if (!old.pending.empty()) {
    Trace("crash: " + path + ": " + std::to_string(writes) + " unsynced writes and " +
          std::to_string(size_changes) + " size changes; " + std::to_string(kept) +
          " sectors kept, " + std::to_string(lost) + " lost, " + std::to_string(torn) + " torn" +
          (garbled == 0 ? std::string() : ", " + std::to_string(garbled) + " garbled") + "; size " +
          std::to_string(image.size()) + " (durable " + std::to_string(old.durable.size()) +
          ", before the crash " + std::to_string(old.current.size()) + ")");
  }
  counters.sectors_lost += lost;
  counters.sectors_torn += torn;
  counters.sectors_garbled += garbled;
  inode->durable = image;
  inode->current = std::move(image);
  return inode;
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

namespace sim_fs_internal {

std::unique_ptr<FileSystem> NewSimDisk(std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<SimDisk>(std::move(state));
}

}  // namespace sim_fs_internal
}  // namespace manifold::sim
