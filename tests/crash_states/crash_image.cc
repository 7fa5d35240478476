#include "tests/crash_states/crash_image.h"

#include <algorithm>
#include <memory>
#include <set>
#include <utility>

namespace manifold::crash_states {

std::vector<Unit> PendingUnits(const Shadow& shadow) {
  std::vector<Unit> units;
  for (size_t i = 0; i < shadow.inodes.size(); ++i) {
    const std::vector<FileOp>& pending = shadow.inodes[i].pending;
    for (size_t j = 0; j < pending.size(); ++j) {
      const FileOp& op = pending[j];
      Unit unit{Unit::kFileOp, static_cast<int64_t>(i), j, op.order, {}};
      if (op.kind == FileOp::kWrite) {
        for (Tear tear : {kTearLastSector, kTearFirstEighth, kTearFirstHalf}) {
          const uint64_t prefix = TearPrefixBytes(op.offset, op.data.size(), tear);
          if (prefix > 0 && prefix < op.data.size()) unit.tears.push_back(tear);
        }
      }
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

const char* TearName(Tear tear) {
  switch (tear) {
    case kTearLastSector:
      return "last sector lost";
    case kTearFirstEighth:
      return "first sector torn at 1/8";
    case kTearFirstHalf:
      return "first sector torn at 1/2";
  }
  return "?";
}

uint64_t TearPrefixBytes(uint64_t offset, uint64_t len, Tear tear) {
  if (len == 0) return 0;
  const uint64_t in_first_sector = std::min<uint64_t>(len, kSectorBytes - offset % kSectorBytes);
  switch (tear) {
    case kTearLastSector: {
      const uint64_t last_sector = (offset + len - 1) / kSectorBytes * kSectorBytes;
      return last_sector > offset ? last_sector - offset : 0;
    }
    case kTearFirstEighth:
      return in_first_sector / 8;
    case kTearFirstHalf:
      return in_first_sector / 2;
  }
  return 0;
}

namespace {

void ApplyFileOp(const FileOp& op, std::optional<Tear> tear, std::string* bytes) {
  switch (op.kind) {
    case FileOp::kWrite: {
      const uint64_t end = op.offset + op.data.size();
      if (bytes->size() < end) bytes->resize(end, '\0');
      uint64_t len = op.data.size();
      if (tear) len = TearPrefixBytes(op.offset, len, *tear);
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
  std::vector<std::vector<std::pair<size_t, std::optional<Tear>>>> file_ops(shadow.inodes.size());
  for (size_t u = 0; u < units.size(); ++u) {
    if (!selection.kept[u]) continue;
    const Unit& unit = units[u];
    std::optional<Tear> tear;
    if (selection.torn == u) tear = selection.tear;
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
    const bool parent_ok = parent == "/" || parent == "." ||
                           (image.count(parent) && !image.at(parent).has_value());
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
