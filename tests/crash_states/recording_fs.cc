#include "tests/crash_states/recording_fs.h"

#include <algorithm>
#include <utility>

namespace manifold::crash_states {

size_t Shadow::pending_units() const {
  size_t n = pending_dir_ops.size();
  for (const Inode& inode : inodes) n += inode.pending.size();
  return n;
}

std::string NormalizePath(std::string_view path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.rfind("./", 0) == 0) out.erase(0, 2);
  return out;
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class RecordingFileSystem::RecordingFile final : public FileWrapper {
 public:
  RecordingFile(RecordingFileSystem* fs, std::unique_ptr<File> base, int64_t inode)
      : FileWrapper(std::move(base)), fs_(fs), inode_(inode) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("read " + path()));
    return FileWrapper::Read(offset, n, scratch);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("write " + path()));
    MANIFOLD_RETURN_IF_ERROR(FileWrapper::Write(offset, data));
    fs_->RecordFileOp(inode_, FileOp{FileOp::kWrite, offset, std::string(data)});
    return Status::OK();
  }
  Status Append(std::string_view data) override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("append " + path()));
    auto size = FileWrapper::Size();
    if (!size.ok()) return size.status();
    MANIFOLD_RETURN_IF_ERROR(FileWrapper::Append(data));
    fs_->RecordFileOp(inode_, FileOp{FileOp::kWrite, *size, std::string(data)});
    return Status::OK();
  }
  Status Sync() override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("sync " + path()));
    fs_->Barrier("sync " + path());
    MANIFOLD_RETURN_IF_ERROR(FileWrapper::Sync());
    fs_->SyncedFile(inode_);
    return Status::OK();
  }
  Status Truncate(uint64_t size_bytes) override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("truncate " + path()));
    MANIFOLD_RETURN_IF_ERROR(FileWrapper::Truncate(size_bytes));
    fs_->RecordFileOp(inode_, FileOp{FileOp::kTruncate, size_bytes, {}});
    return Status::OK();
  }
  Status Preallocate(uint64_t offset, uint64_t len) override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("preallocate " + path()));
    MANIFOLD_RETURN_IF_ERROR(FileWrapper::Preallocate(offset, len));
    // MemFileSystem grows the visible size to cover the range (fallocate mode 0).
    if (len > 0) fs_->RecordFileOp(inode_, FileOp{FileOp::kGrow, offset + len, {}});
    return Status::OK();
  }
  StatusOr<uint64_t> Size() const override {
    MANIFOLD_RETURN_IF_ERROR(fs_->Frozen("size " + path()));
    return FileWrapper::Size();
  }

 private:
  RecordingFileSystem* const fs_;
  const int64_t inode_;
};

Status RecordingFileSystem::Frozen(const std::string& what) const {
  if (!frozen_) return Status::OK();
  return Status::IOError(what + ": power is off (RecordingFileSystem)");
}

void RecordingFileSystem::RecordFileOp(int64_t inode, FileOp op) {
  op.order = shadow_.next_order++;
  if (op.kind == FileOp::kWrite) ++writes_;
  shadow_.inodes[static_cast<size_t>(inode)].pending.push_back(std::move(op));
}

void RecordingFileSystem::Barrier(const std::string& what) {
  ++syncs_;
  if (on_barrier_) on_barrier_(shadow_, what);
}

void RecordingFileSystem::SyncedFile(int64_t inode) {
  Inode& node = shadow_.inodes[static_cast<size_t>(inode)];
  for (const FileOp& op : node.pending) {
    switch (op.kind) {
      case FileOp::kWrite:
        if (node.durable.size() < op.offset + op.data.size()) {
          node.durable.resize(op.offset + op.data.size(), '\0');
        }
        node.durable.replace(op.offset, op.data.size(), op.data);
        break;
      case FileOp::kTruncate:
        node.durable.resize(op.offset, '\0');
        break;
      case FileOp::kGrow:
        if (node.durable.size() < op.offset) node.durable.resize(op.offset, '\0');
        break;
    }
  }
  node.pending.clear();
}

void RecordingFileSystem::DropUnsyncedData() {
  mem_->DropUnsyncedData();
  std::map<std::string, Node> restored;
  // As MemFileSystem: an entry whose parent directory is not durable is lost with it (parents
  // sort before their children).
  for (const auto& [path, node] : shadow_.durable) {
    const std::string parent = ParentOf(path);
    const bool parent_ok =
        parent == "/" || parent == "." || (restored.count(parent) && restored[parent].is_dir());
    if (parent_ok) restored[path] = node;
  }
  shadow_.live = restored;
  shadow_.durable = std::move(restored);
  for (Inode& inode : shadow_.inodes) inode.pending.clear();
  shadow_.pending_dir_ops.clear();
}

StatusOr<std::unique_ptr<File>> RecordingFileSystem::OpenFile(const std::string& path,
                                                              const OpenFileOptions& options) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("open " + path));
  auto file = FileSystemWrapper::OpenFile(path, options);
  if (!file.ok()) return file.status();
  const std::string p = NormalizePath(path);
  auto it = shadow_.live.find(p);
  int64_t inode;
  if (it != shadow_.live.end()) {
    inode = it->second.inode;
  } else {
    inode = static_cast<int64_t>(shadow_.inodes.size());
    shadow_.inodes.emplace_back();
    shadow_.live[p] = Node{inode};
    shadow_.pending_dir_ops.push_back(
        DirOp{DirOp::kCreateFile, p, {}, ParentOf(p), inode, shadow_.next_order++});
    ++dir_ops_;
  }
  return std::unique_ptr<File>(new RecordingFile(this, std::move(file).value(), inode));
}

Status RecordingFileSystem::Rename(const std::string& from, const std::string& to) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("rename " + from));
  MANIFOLD_RETURN_IF_ERROR(FileSystemWrapper::Rename(from, to));
  const std::string f = NormalizePath(from), t = NormalizePath(to);
  if (f == t) return Status::OK();
  if (ParentOf(f) != ParentOf(t)) {
    // The engine renames only within its directory; a cross-directory rename would need both
    // directories' syncs, which this recorder does not model.
    return Status::NotSupported("RecordingFileSystem: rename across directories: " + from);
  }
  shadow_.live[t] = shadow_.live[f];
  shadow_.live.erase(f);
  shadow_.pending_dir_ops.push_back(
      DirOp{DirOp::kRename, f, t, ParentOf(f), -1, shadow_.next_order++});
  ++dir_ops_;
  return Status::OK();
}

Status RecordingFileSystem::Remove(const std::string& path) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("remove " + path));
  MANIFOLD_RETURN_IF_ERROR(FileSystemWrapper::Remove(path));
  const std::string p = NormalizePath(path);
  shadow_.live.erase(p);
  shadow_.pending_dir_ops.push_back(
      DirOp{DirOp::kRemove, p, {}, ParentOf(p), -1, shadow_.next_order++});
  ++dir_ops_;
  return Status::OK();
}

Status RecordingFileSystem::CreateDir(const std::string& path) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("create dir " + path));
  MANIFOLD_RETURN_IF_ERROR(FileSystemWrapper::CreateDir(path));
  const std::string p = NormalizePath(path);
  if (p == "/" || p == "." || shadow_.live.count(p)) return Status::OK();
  shadow_.live[p] = Node{-1};
  shadow_.pending_dir_ops.push_back(
      DirOp{DirOp::kCreateDir, p, {}, ParentOf(p), -1, shadow_.next_order++});
  ++dir_ops_;
  return Status::OK();
}

Status RecordingFileSystem::SyncDir(const std::string& path) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("sync dir " + path));
  Barrier("sync dir " + path);
  MANIFOLD_RETURN_IF_ERROR(FileSystemWrapper::SyncDir(path));
  const std::string d = NormalizePath(path);
  // As MemFileSystem: the entries directly inside `d` become durable as they are live.
  for (auto it = shadow_.durable.begin(); it != shadow_.durable.end();) {
    it = ParentOf(it->first) == d ? shadow_.durable.erase(it) : std::next(it);
  }
  for (const auto& [p, node] : shadow_.live) {
    if (ParentOf(p) == d) shadow_.durable[p] = node;
  }
  auto& ops = shadow_.pending_dir_ops;
  ops.erase(std::remove_if(ops.begin(), ops.end(), [&](const DirOp& op) { return op.parent == d; }),
            ops.end());
  return Status::OK();
}

StatusOr<std::vector<std::string>> RecordingFileSystem::ListDir(const std::string& path) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("list dir " + path));
  return FileSystemWrapper::ListDir(path);
}

StatusOr<bool> RecordingFileSystem::Exists(const std::string& path) {
  MANIFOLD_RETURN_IF_ERROR(Frozen("exists " + path));
  return FileSystemWrapper::Exists(path);
}

}  // namespace manifold::crash_states
