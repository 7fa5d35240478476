#include "tests/crash_states/crash_image.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

namespace manifold::crash_states {

std::vector<Unit> PendingUnits(const Shadow& shadow, bool fine_tears) {
  std::vector<Unit> units;
  for (size_t i = 0; i < shadow.inodes.size(); ++i) {
    const std::vector<FileOp>& pending = shadow.inodes[i].pending;
    for (size_t j = 0; j < pending.size(); ++j) {
      const FileOp& op = pending[j];
      Unit unit{Unit::kFileOp, static_cast<int64_t>(i), j, op.order, {}};
      if (op.kind == FileOp::kWrite)
        unit.tears = TearPrefixes(op.offset, op.data.size(), fine_tears);
      units.push_back(unit);
    }
  }
  for (size_t i = 0; i < shadow.pending_dir_ops.size(); ++i) {
    units.push_back(Unit{Unit::kDirOp, -1, i, shadow.pending_dir_ops[i].order, {}});
  }
  std::sort(units.begin(), units.end(),
            [](const Unit& a, const Unit& b) { return a.order < b.order; });
  return units;
}

std::vector<uint64_t> TearPrefixes(uint64_t offset, uint64_t len, bool fine) {
  std::set<uint64_t> prefixes;
  if (len == 0) return {};
  const uint64_t last_sector = (offset + len - 1) / kSectorBytes * kSectorBytes;
  if (last_sector > offset) prefixes.insert(last_sector - offset);
  const uint64_t in_first_sector = std::min<uint64_t>(len, kSectorBytes - offset % kSectorBytes);
  prefixes.insert(in_first_sector / 8);
  prefixes.insert(in_first_sector / 2);
  if (fine) {
    for (uint64_t p = 8; p < in_first_sector; p += 8) prefixes.insert(p);
  }
  std::vector<uint64_t> out;
  for (uint64_t p : prefixes) {
    if (p > 0 && p < len) out.push_back(p);
  }
  return out;
}

namespace {

void ApplyFileOp(const FileOp& op, std::optional<uint64_t> torn_bytes, std::string* bytes) {
  switch (op.kind) {
    case FileOp::kWrite: {
      const uint64_t end = op.offset + op.data.size();
      if (bytes->size() < end) bytes->resize(end, '\0');
      uint64_t len = op.data.size();
      if (torn_bytes) len = *torn_bytes;
      bytes->replace(op.offset, len, op.data.substr(0, len));
      break;
    }
    case FileOp::kTruncate:
      bytes->resize(op.offset, '\0');
      break;
    case FileOp::kGrow:
      if (bytes->size() < op.offset) bytes->resize(op.offset, '\0');
      break;
  }
}

}  // namespace

Image BuildImage(const Shadow& shadow, const std::vector<Unit>& units, const Selection& selection) {
  // Directory entries: the durable ones, then the kept directory operations in order (one whose
  // source a lost operation never created does nothing, as it could not have happened first).
  std::map<std::string, Node> entries = shadow.durable;
  std::vector<std::vector<std::pair<size_t, std::optional<uint64_t>>>> file_ops(
      shadow.inodes.size());
  for (size_t u = 0; u < units.size(); ++u) {
    if (!selection.kept[u]) continue;
    const Unit& unit = units[u];
    std::optional<uint64_t> tear;
    if (auto it = selection.torn.find(u); it != selection.torn.end()) tear = it->second;
    if (unit.kind == Unit::kFileOp) {
      file_ops[static_cast<size_t>(unit.inode)].emplace_back(unit.index, tear);
      continue;
    }
    const DirOp& op = shadow.pending_dir_ops[unit.index];
    switch (op.kind) {
      case DirOp::kCreateFile:
        entries[op.path] = Node{op.inode};
        break;
      case DirOp::kCreateDir:
        entries[op.path] = Node{-1};
        break;
      case DirOp::kRename: {
        auto it = entries.find(op.path);
        if (it == entries.end()) break;
        const Node node = it->second;
        entries.erase(it);
        entries[op.to] = node;
        break;
      }
      case DirOp::kRemove:
        entries.erase(op.path);
        break;
    }
  }
  Image image;
  for (const auto& [path, node] : entries) {
    const std::string parent = ParentOf(path);
    const bool parent_ok =
        parent == "/" || parent == "." || (image.count(parent) && !image.at(parent).has_value());
    if (!parent_ok) continue;  // Its directory did not survive.
    if (node.is_dir()) {
      image[path] = std::nullopt;
      continue;
    }
    const Inode& inode = shadow.inodes[static_cast<size_t>(node.inode)];
    std::string bytes = inode.durable;
    for (const auto& [index, tear] : file_ops[static_cast<size_t>(node.inode)]) {
      ApplyFileOp(inode.pending[index], tear, &bytes);
    }
    image[path] = std::move(bytes);
  }
  return image;
}

uint64_t ImageHash(const Image& image) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](std::string_view bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 0x100000001b3ull;
    }
    h ^= bytes.size();
    h *= 0x100000001b3ull;
  };
  for (const auto& [path, content] : image) {
    mix(path);
    mix(content.has_value() ? "F" : "D");
    if (content.has_value()) mix(*content);
  }
  return h;
}

Status Materialize(const Image& image, FileSystem* fs) {
  // Parents sort before their children, so one ordered pass creates each directory first.
  for (const auto& [path, content] : image) {
    if (!content.has_value()) {
      MANIFOLD_RETURN_IF_ERROR(fs->CreateDir(path));
      continue;
    }
    OpenFileOptions options;
    options.create = true;
    auto file = fs->OpenFile(path, options);
    if (!file.ok()) return file.status();
    if (!content->empty()) MANIFOLD_RETURN_IF_ERROR((*file)->Write(0, *content));
    MANIFOLD_RETURN_IF_ERROR((*file)->Sync());
  }
  return Status::OK();
}

}  // namespace manifold::crash_states
