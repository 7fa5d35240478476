#include "engine/db/version.h"

#include <cassert>

#include "engine/util/check.h"
#include "engine/util/coding.h"
#include "engine/util/random.h"

namespace manifold {

constexpr size_t kColumnFamilyRecordBytes = 16;

void VersionRegistry::Add(uint64_t sequence) {
  port::MutexLock lock(&mu_);
  ++live_[sequence];
}

void VersionRegistry::Remove(uint64_t sequence) {
  port::MutexLock lock(&mu_);
  auto it = live_.find(sequence);
  assert(it != live_.end());
  if (--it->second == 0) live_.erase(it);
}

uint64_t VersionRegistry::OldestLive() {
  port::MutexLock lock(&mu_);
  return live_.empty() ? UINT64_MAX : live_.begin()->first;
}

Version::Version(std::shared_ptr<VersionRegistry> registry_in, uint64_t sequence_in)
    : registry(std::move(registry_in)), sequence(sequence_in) {
  registry->Add(sequence);
}

Version::~Version() { registry->Remove(sequence); }

const ColumnFamilyState* Version::Find(std::string_view name) const {
  return column_families.Find(name);
}

namespace {

// FNV-1a then the splitmix64 output function (Mix64): a deterministic, well-mixed treap priority
// per name.
uint64_t PriorityOf(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
  return Mix64(h);
}

}  // namespace

ColumnFamilyMap::const_iterator& ColumnFamilyMap::const_iterator::operator++() {
  const Node* node = stack_.back();
  stack_.pop_back();
  PushLeft(node->right.get());
  return *this;
}

void ColumnFamilyMap::const_iterator::PushLeft(const Node* node) {
  for (; node != nullptr; node = node->left.get()) stack_.push_back(node);
}

ColumnFamilyMap::const_iterator ColumnFamilyMap::begin() const {
  const_iterator it;
  it.PushLeft(root_.get());
  return it;
}

const ColumnFamilyState* ColumnFamilyMap::Find(std::string_view name) const {
  const Node* node = root_.get();
  while (node != nullptr) {
    const int order = name.compare(node->entry->name);
    if (order == 0) return &node->entry->state;
    node = order < 0 ? node->left.get() : node->right.get();
  }
  return nullptr;
}

namespace {

// Ids the id index holds with `levels` levels: those below the returned bound.
uint64_t IdCapacity(uint32_t levels, uint32_t bits) {
  return levels == 0 ? 0 : uint64_t{1} << (bits * levels);
}

}  // namespace

const ColumnFamilyMap::Entry* ColumnFamilyMap::FindById(uint32_t id) const {
  if (id >= IdCapacity(id_levels_, kIdBits)) return nullptr;
  const IdNode* node = id_root_.get();
  for (uint32_t level = id_levels_ - 1; node != nullptr && level > 0; --level) {
    node = node->children[(id >> (kIdBits * level)) & (kIdFanout - 1)].get();
  }
  return node == nullptr ? nullptr : node->entries[id & (kIdFanout - 1)].get();
}

void ColumnFamilyMap::Set(std::string_view name, const ColumnFamilyState& state) {
  // I46: an id names one column family of a catalog; ids are never reused (next_cf_id only
  // grows), so a second name with the same id is a bug upstream.
  const Entry* same_id = FindById(state.id);
  MANIFOLD_CHECK(same_id == nullptr || same_id->name == name,
                 "I46 a column-family id is given to one name only (ids are never reused)");
  auto entry = std::make_shared<const Entry>(Entry{std::string(name), state});
  EntryRef replaced;
  root_ = Insert(root_, entry, PriorityOf(name), &replaced);
  if (replaced == nullptr) {
    ++size_;
  } else if (replaced->state.id != state.id) {
    SetById(replaced->state.id, nullptr);
  }
  SetById(state.id, std::move(entry));
}

bool ColumnFamilyMap::Erase(std::string_view name) {
  EntryRef removed;
  NodeRef root = Remove(root_, name, &removed);
  if (removed == nullptr) return false;
  root_ = std::move(root);
  --size_;
  SetById(removed->state.id, nullptr);
  return true;
}

void ColumnFamilyMap::Clear() {
  root_ = nullptr;
  size_ = 0;
  id_root_ = nullptr;
  id_levels_ = 0;
}

void ColumnFamilyMap::SetById(uint32_t id, EntryRef entry) {
  if (entry == nullptr && id >= IdCapacity(id_levels_, kIdBits)) return;
  // Grows upward: the old root becomes child 0 of a new root, so every id keeps its path.
  while (id >= IdCapacity(id_levels_, kIdBits)) {
    if (id_levels_ > 0) {
      auto grown = std::make_shared<IdNode>();
      grown->children[0] = std::move(id_root_);
      id_root_ = std::move(grown);
    }
    ++id_levels_;
  }
  id_root_ = SetInTrie(id_root_.get(), id_levels_ - 1, id, std::move(entry));
}

// Returns a copy of `node` (or a new node) with the slot for `id` set; only the path is copied.
ColumnFamilyMap::IdNodeRef ColumnFamilyMap::SetInTrie(const IdNode* node, uint32_t level,
                                                      uint32_t id, EntryRef entry) {
  auto copy = node == nullptr ? std::make_shared<IdNode>() : std::make_shared<IdNode>(*node);
  const uint32_t slot = (id >> (kIdBits * level)) & (kIdFanout - 1);
  if (level == 0) {
    copy->entries[slot] = std::move(entry);
  } else {
    copy->children[slot] = SetInTrie(copy->children[slot].get(), level - 1, id, std::move(entry));
  }
  return copy;
}

// Returns a copy of the subtree at `node` holding `entry`; only nodes on the path are new. A
// rotation that restores heap order builds two new nodes instead of changing any. Entries are
// shared, never copied.
ColumnFamilyMap::NodeRef ColumnFamilyMap::Insert(const NodeRef& node, const EntryRef& entry,
                                                 uint64_t priority, EntryRef* replaced) {
  if (node == nullptr) return std::make_shared<const Node>(entry, priority, nullptr, nullptr);
  const int order = entry->name.compare(node->entry->name);
  if (order == 0) {
    *replaced = node->entry;
    return std::make_shared<const Node>(entry, node->priority, node->left, node->right);
  }
  if (order < 0) {
    NodeRef left = Insert(node->left, entry, priority, replaced);
    if (left->priority <= node->priority) {
      return std::make_shared<const Node>(node->entry, node->priority, std::move(left),
                                          node->right);
    }
    // Rotate right: `left` becomes the subtree's root.
    auto lowered =
        std::make_shared<const Node>(node->entry, node->priority, left->right, node->right);
    return std::make_shared<const Node>(left->entry, left->priority, left->left,
                                        std::move(lowered));
  }
  NodeRef right = Insert(node->right, entry, priority, replaced);
  if (right->priority <= node->priority) {
    return std::make_shared<const Node>(node->entry, node->priority, node->left, std::move(right));
  }
  // Rotate left: `right` becomes the subtree's root.
  auto lowered = std::make_shared<const Node>(node->entry, node->priority, node->left, right->left);
  return std::make_shared<const Node>(right->entry, right->priority, std::move(lowered),
                                      right->right);
}

ColumnFamilyMap::NodeRef ColumnFamilyMap::Remove(const NodeRef& node, std::string_view name,
                                                 EntryRef* removed) {
  if (node == nullptr) return nullptr;
  const int order = name.compare(node->entry->name);
  if (order == 0) {
    *removed = node->entry;
    return Merge(node->left, node->right);
  }
  if (order < 0) {
    NodeRef left = Remove(node->left, name, removed);
    if (*removed == nullptr) return node;
    return std::make_shared<const Node>(node->entry, node->priority, std::move(left), node->right);
  }
  NodeRef right = Remove(node->right, name, removed);
  if (*removed == nullptr) return node;
  return std::make_shared<const Node>(node->entry, node->priority, node->left, std::move(right));
}

// Joins two subtrees, every name in `left` before every name in `right`, keeping heap order.
ColumnFamilyMap::NodeRef ColumnFamilyMap::Merge(const NodeRef& left, const NodeRef& right) {
  if (left == nullptr) return right;
  if (right == nullptr) return left;
  if (left->priority >= right->priority) {
    return std::make_shared<const Node>(left->entry, left->priority, left->left,
                                        Merge(left->right, right));
  }
  return std::make_shared<const Node>(right->entry, right->priority, Merge(left, right->left),
                                      right->right);
}

std::string EncodeColumnFamilyRecord(const ColumnFamilyState& state) {
  std::string record;
  PutFixed32(&record, state.id);
  PutFixed64(&record, state.root.page_id);
  PutFixed32(&record, state.root.crc);
  return record;
}

StatusOr<ColumnFamilyState> DecodeColumnFamilyRecord(std::string_view record) {
  if (record.size() != kColumnFamilyRecordBytes) {
    return Status::Corruption("catalog record of " + std::to_string(record.size()) +
                              " bytes, expected " + std::to_string(kColumnFamilyRecordBytes));
  }
  ColumnFamilyState state;
  state.id = DecodeFixed32(record.data());
  state.root.page_id = DecodeFixed64(record.data() + 4);
  state.root.crc = DecodeFixed32(record.data() + 12);
  if (state.root.page_id != btree::kNoPage && state.root.page_id < btree::kFirstDataPage) {
    return Status::Corruption("catalog record points at header page " +
                              std::to_string(state.root.page_id));
  }
  return state;
}

}  // namespace manifold
