// An in-memory FileSystem that can simulate power loss, for crash-safety tests.
//
// Model. Each file is a FileData object holding its current bytes and its durable bytes (what the
// last File::Sync made durable). Directory entries live in two namespaces, both maps from
// normalized path to entry: `live` (what the running process sees) and `durable` (what would
// survive a power cut). SyncDir(d) copies the entries directly inside `d` from live to durable.
// DropUnsyncedData() replaces live by durable and every file's bytes by its durable bytes.
//
// Directories are entries too, so a directory created with CreateDir is durable only after
// SyncDir of its parent, as on a real file system; entries whose parent directory vanishes in a
// simulated crash vanish with it. The roots "/" and "." always exist. Renaming or removing a
// directory is not supported (the engine never does it).
//
// Paths are normalized by collapsing repeated '/', dropping a trailing '/' and a leading "./";
// "." and ".." components are otherwise not interpreted. A path's parent is the part before the
// last '/' ("/" for "/x", "." for "x").
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/port/sync.h"
#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold {
namespace {

// Guards against a bogus offset turning into a multi-gigabyte allocation (which would abort).
constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;

// The strerror texts of the errno a POSIX file system would report, so messages read the same.
constexpr char kNoEntry[] = "No such file or directory";
constexpr char kIsDir[] = "Is a directory";
constexpr char kNotDir[] = "Not a directory";
constexpr char kExists[] = "File exists";

std::string Message(std::string_view op, std::string_view path, std::string_view what) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += what;
  return message;
}

std::string Normalize(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() >= 2 && out[0] == '.' && out[1] == '/') out.erase(0, 2);
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.empty() && !path.empty()) out = ".";  // "./" names the current directory.
  return out;
}

bool IsRoot(const std::string& path) { return path == "/" || path == "."; }

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// One file's content. Fields are guarded by State::mu (not annotated: the analysis cannot name a
// mutex in another object).
struct FileData {
  std::string bytes;    // What reads see now.
  std::string durable;  // What the last Sync made durable.
  // [dirty_begin, dirty_end) covers every byte of `bytes` changed since the last Sync below the
  // durable size, so Sync copies only that range instead of the whole file.
  uint64_t dirty_begin = std::numeric_limits<uint64_t>::max();
  uint64_t dirty_end = 0;

  void MarkDirty(uint64_t begin, uint64_t end) {
    dirty_begin = std::min(dirty_begin, begin);
    dirty_end = std::max(dirty_end, end);
  }

  // Grows `bytes` to `size_bytes` with zeros; the new tail is dirty.
  void GrowTo(uint64_t size_bytes) {
    if (size_bytes <= bytes.size()) return;
    MarkDirty(bytes.size(), size_bytes);
    bytes.resize(size_bytes, '\0');
  }

  void MakeDurable() {
    durable.resize(bytes.size());
    const uint64_t end = std::min<uint64_t>(dirty_end, bytes.size());
    if (dirty_begin < end) {
      std::memcpy(durable.data() + dirty_begin, bytes.data() + dirty_begin, end - dirty_begin);
    }
    dirty_begin = std::numeric_limits<uint64_t>::max();
    dirty_end = 0;
  }

  void RollBack() {
    bytes = durable;
    dirty_begin = std::numeric_limits<uint64_t>::max();
    dirty_end = 0;
  }
};

// A directory entry: a file, or a directory when `file` is null.
struct Entry {
  std::shared_ptr<FileData> file;
  bool is_dir() const { return file == nullptr; }
};

// Shared by the file system, its open files and its locks, so handles stay valid whatever order
// they are destroyed in.
struct State {
  port::Mutex mu;
  std::map<std::string, Entry> live MANIFOLD_GUARDED_BY(mu);
  std::map<std::string, Entry> durable MANIFOLD_GUARDED_BY(mu);
  // Every file ever created, including removed ones still open, so a crash rolls back their
  // handles' view too.
  std::vector<std::weak_ptr<FileData>> files MANIFOLD_GUARDED_BY(mu);
  size_t files_prune_at MANIFOLD_GUARDED_BY(mu) = 64;
  // Locked path -> -1 for an exclusive lock, else the number of shared locks.
  std::map<std::string, int> locked MANIFOLD_GUARDED_BY(mu);
  uint64_t sync_count MANIFOLD_GUARDED_BY(mu) = 0;

  bool IsDir(const std::string& path) const MANIFOLD_REQUIRES(mu) {
    if (IsRoot(path)) return true;
    auto it = live.find(path);
    return it != live.end() && it->second.is_dir();
  }

  // OK if `path`'s parent directory exists, as creating an entry in it requires.
  Status CheckParent(std::string_view op, std::string_view shown_path,
                     const std::string& path) const MANIFOLD_REQUIRES(mu) {
    const std::string parent = ParentOf(path);
    if (IsRoot(parent)) return Status::OK();
    auto it = live.find(parent);
    if (it == live.end()) return Status::NotFound(Message(op, shown_path, kNoEntry));
    if (!it->second.is_dir()) return Status::IOError(Message(op, shown_path, kNotDir));
    return Status::OK();
  }

  std::shared_ptr<FileData> NewFile(const std::string& path) MANIFOLD_REQUIRES(mu) {
    auto data = std::make_shared<FileData>();
    live[path] = Entry{data};
    if (files.size() >= files_prune_at) {
      files.erase(std::remove_if(files.begin(), files.end(),
                                 [](const std::weak_ptr<FileData>& f) { return f.expired(); }),
                  files.end());
      files_prune_at = std::max<size_t>(64, 2 * files.size());
    }
    files.push_back(data);
    return data;
  }
};

class MemFile final : public File {
 public:
  MemFile(std::shared_ptr<State> state, std::shared_ptr<FileData> data, std::string path,
          bool read_only)
      : state_(std::move(state)),
        data_(std::move(data)),
        path_(std::move(path)),
        read_only_(read_only) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    port::SchedulingPoint("MemFile::Read", this);
    port::MutexLock lock(&state_->mu);
    const std::string& bytes = data_->bytes;
    if (offset >= bytes.size()) return size_t{0};
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, bytes.size() - offset));
    if (count > 0) std::memcpy(scratch, bytes.data() + offset, count);
    return count;
  }

  Status Write(uint64_t offset, std::string_view data) override {
    port::SchedulingPoint("MemFile::Write", this);
    port::MutexLock lock(&state_->mu);
    return WriteLocked(offset, data);
  }

  Status Append(std::string_view data) override {
    port::SchedulingPoint("MemFile::Append", this);
    port::MutexLock lock(&state_->mu);
    return WriteLocked(data_->bytes.size(), data);
  }

  Status Sync() override {
    port::SchedulingPoint("MemFile::Sync", this);
    port::MutexLock lock(&state_->mu);
    data_->MakeDurable();
    ++state_->sync_count;
    return Status::OK();
  }

  Status Truncate(uint64_t size_bytes) override {
    port::SchedulingPoint("MemFile::Truncate", this);
    port::MutexLock lock(&state_->mu);
    MANIFOLD_RETURN_IF_ERROR(CheckWritable("truncate", size_bytes, 0));
    if (size_bytes < data_->bytes.size()) {
      // Bytes past the new end need no dirty marking: Sync resizes `durable` to match.
      data_->bytes.resize(size_bytes);
    } else {
      data_->GrowTo(size_bytes);
    }
    return Status::OK();
  }

  Status Preallocate(uint64_t offset, uint64_t len) override {
    port::SchedulingPoint("MemFile::Preallocate", this);
    port::MutexLock lock(&state_->mu);
    MANIFOLD_RETURN_IF_ERROR(CheckWritable("preallocate", offset, len));
    if (len == 0) return Status::OK();  // As in PosixFileSystem.
    // Like fallocate mode 0 in PosixFileSystem: the visible size grows to cover the range.
    data_->GrowTo(offset + len);
    return Status::OK();
  }

  StatusOr<uint64_t> Size() const override {
    port::SchedulingPoint("MemFile::Size", this);
    port::MutexLock lock(&state_->mu);
    return static_cast<uint64_t>(data_->bytes.size());
  }

  const std::string& path() const override { return path_; }

 private:
  Status WriteLocked(uint64_t offset, std::string_view data) MANIFOLD_REQUIRES(state_->mu) {
    MANIFOLD_RETURN_IF_ERROR(CheckWritable("write", offset, data.size()));
    if (data.empty()) return Status::OK();  // Like pwrite: no bytes, no size change.
    data_->GrowTo(offset + data.size());
    std::memcpy(data_->bytes.data() + offset, data.data(), data.size());
    data_->MarkDirty(offset, offset + data.size());
    return Status::OK();
  }

  Status CheckWritable(std::string_view op, uint64_t offset, uint64_t len) const {
    const std::string where =
        std::string(op) + " " + path_ + " at offset " + std::to_string(offset);
    if (read_only_) return Status::ReadOnly(where + ": file is opened read-only");
    if (offset > kMaxFileBytes || len > kMaxFileBytes - offset) {
      return Status::NoSpace(where + ": " + std::to_string(len) +
                             " bytes would exceed the MemFileSystem file size limit of " +
                             std::to_string(kMaxFileBytes) + " bytes");
    }
    return Status::OK();
  }

  const std::shared_ptr<State> state_;
  const std::shared_ptr<FileData> data_;
  const std::string path_;
  const bool read_only_;
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<State> state, std::string path)
      : state_(std::move(state)), path_(std::move(path)) {}
  ~MemFileLock() override {
    port::MutexLock lock(&state_->mu);
    auto it = state_->locked.find(path_);
    if (it != state_->locked.end() && (it->second < 0 || --it->second == 0)) {
      state_->locked.erase(it);
    }
  }

 private:
  const std::shared_ptr<State> state_;
  const std::string path_;  // Normalized.
};

class MemFs final : public MemFileSystem {
 public:
  MemFs() : state_(std::make_shared<State>()) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::OpenFile", state_.get());
    port::MutexLock lock(&state_->mu);
    if (p.empty()) return Status::NotFound(Message("open", path, kNoEntry));
    if (state_->IsDir(p)) return Status::IOError(Message("open", path, kIsDir));
    std::shared_ptr<FileData> data;
    auto it = state_->live.find(p);
    if (it != state_->live.end()) {
      if (options.create && options.exclusive) {
        return Status::AlreadyExists(Message("open", path, kExists));
      }
      data = it->second.file;
    } else {
      if (!options.create) return Status::NotFound(Message("open", path, kNoEntry));
      MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("open", path, p));
      data = state_->NewFile(p);
    }
    return std::unique_ptr<File>(
        std::make_unique<MemFile>(state_, std::move(data), path, options.read_only));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    const std::string f = Normalize(from);
    const std::string t = Normalize(to);
    const std::string shown = from + " to " + to;
    port::SchedulingPoint("MemFileSystem::Rename", state_.get());
    port::MutexLock lock(&state_->mu);
    if (IsRoot(f) || IsRoot(t)) return Status::IOError(Message("rename", shown, kIsDir));
    auto from_it = state_->live.find(f);
    if (from_it == state_->live.end()) return Status::NotFound(Message("rename", shown, kNoEntry));
    if (from_it->second.is_dir()) {
      return Status::NotSupported("rename " + shown + ": MemFileSystem cannot rename directories");
    }
    MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("rename", shown, t));
    if (f == t) return Status::OK();
    auto to_it = state_->live.find(t);
    if (to_it != state_->live.end() && to_it->second.is_dir()) {
      return Status::IOError(Message("rename", shown, kIsDir));
    }
    Entry moved = std::move(from_it->second);
    state_->live.erase(from_it);
    state_->live[t] = std::move(moved);
    return Status::OK();
  }

  Status Remove(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::Remove", state_.get());
    port::MutexLock lock(&state_->mu);
    if (IsRoot(p)) return Status::IOError(Message("remove", path, kIsDir));
    auto it = state_->live.find(p);
    if (it == state_->live.end()) return Status::NotFound(Message("remove", path, kNoEntry));
    // Like unlink(2) on Linux: directories are refused.
    if (it->second.is_dir()) return Status::IOError(Message("remove", path, kIsDir));
    state_->live.erase(it);
    return Status::OK();
  }

  Status CreateDir(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::CreateDir", state_.get());
    port::MutexLock lock(&state_->mu);
    if (p.empty()) return Status::NotFound(Message("create dir", path, kNoEntry));
    if (IsRoot(p)) return Status::OK();
    auto it = state_->live.find(p);
    if (it != state_->live.end()) {
      if (it->second.is_dir()) return Status::OK();
      return Status::AlreadyExists("create dir " + path + ": exists and is not a directory");
    }
    MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("create dir", path, p));
    state_->live[p] = Entry{nullptr};
    return Status::OK();
  }

  Status SyncDir(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::SyncDir", state_.get());
    port::MutexLock lock(&state_->mu);
    MANIFOLD_RETURN_IF_ERROR(CheckIsDir("sync dir", path, p));
    // Entries directly inside `p`: newly live ones become durable, durable ones no longer live
    // are durably gone.
    for (const auto& [name, entry] : state_->live) {
      if (ParentOf(name) == p) state_->durable[name] = entry;
    }
    for (auto it = state_->durable.begin(); it != state_->durable.end();) {
      if (ParentOf(it->first) == p && state_->live.count(it->first) == 0) {
        it = state_->durable.erase(it);
      } else {
        ++it;
      }
    }
    ++state_->sync_count;
    return Status::OK();
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::ListDir", state_.get());
    port::MutexLock lock(&state_->mu);
    MANIFOLD_RETURN_IF_ERROR(CheckIsDir("list dir", path, p));
    std::vector<std::string> names;
    for (const auto& [name, entry] : state_->live) {
      if (ParentOf(name) == p) names.push_back(BaseName(name));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  StatusOr<bool> Exists(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::Exists", state_.get());
    port::MutexLock lock(&state_->mu);
    return IsRoot(p) || state_->live.count(p) != 0;
  }

  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::LockFile", state_.get());
    port::MutexLock lock(&state_->mu);
    if (state_->locked.count(p) != 0) {
      return Status::Busy("database " + path + " is already locked by this process");
    }
    if (p.empty()) return Status::NotFound(Message("lock", path, kNoEntry));
    if (state_->IsDir(p)) return Status::IOError(Message("lock", path, kIsDir));
    if (state_->live.count(p) == 0) {
      MANIFOLD_RETURN_IF_ERROR(state_->CheckParent("lock", path, p));
      state_->NewFile(p);
    }
    state_->locked[p] = -1;
    return std::unique_ptr<FileLock>(std::make_unique<MemFileLock>(state_, p));
  }

  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    const std::string p = Normalize(path);
    port::SchedulingPoint("MemFileSystem::LockFileShared", state_.get());
    port::MutexLock lock(&state_->mu);
    auto held = state_->locked.find(p);
    if (held != state_->locked.end() && held->second < 0) {
      return Status::Busy("database " + path + " is locked for writing by this process");
    }
    if (p.empty() || state_->live.count(p) == 0) {
      return Status::NotFound(Message("lock", path, kNoEntry));
    }
    if (state_->IsDir(p)) return Status::IOError(Message("lock", path, kIsDir));
    ++state_->locked[p];
    return std::unique_ptr<FileLock>(std::make_unique<MemFileLock>(state_, p));
  }

  void DropUnsyncedData() override {
    port::MutexLock lock(&state_->mu);
    std::map<std::string, Entry> restored = state_->durable;
    // A durable entry whose directory's own entry was not durable is lost with it. Parents sort
    // before their children (a proper prefix is smaller), so one ordered pass sees each parent's
    // fate before its children.
    for (auto it = restored.begin(); it != restored.end();) {
      const std::string parent = ParentOf(it->first);
      auto parent_it = IsRoot(parent) ? restored.end() : restored.find(parent);
      const bool parent_ok =
          IsRoot(parent) || (parent_it != restored.end() && parent_it->second.is_dir());
      if (parent_ok) {
        ++it;
      } else {
        it = restored.erase(it);
      }
    }
    state_->live = restored;
    state_->durable = std::move(restored);
    std::vector<std::weak_ptr<FileData>> alive;
    for (const std::weak_ptr<FileData>& weak : state_->files) {
      if (std::shared_ptr<FileData> data = weak.lock()) {
        data->RollBack();
        alive.push_back(weak);
      }
    }
    state_->files = std::move(alive);
    state_->files_prune_at = std::max<size_t>(64, 2 * state_->files.size());
  }

  uint64_t sync_count() const override {
    port::MutexLock lock(&state_->mu);
    return state_->sync_count;
  }

 private:
  Status CheckIsDir(std::string_view op, const std::string& shown_path, const std::string& p)
      MANIFOLD_REQUIRES(state_->mu) {
    if (state_->IsDir(p)) return Status::OK();
    if (state_->live.count(p) != 0) return Status::IOError(Message(op, shown_path, kNotDir));
    return Status::NotFound(Message(op, shown_path, kNoEntry));
  }

  const std::shared_ptr<State> state_;
};

}  // namespace

std::unique_ptr<MemFileSystem> NewMemFileSystem() { return std::make_unique<MemFs>(); }

}  // namespace manifold
