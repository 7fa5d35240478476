#include "engine/db/version.h"

#include <cassert>

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
    const int order = name.compare(node->entry.name);
    if (order == 0) return &node->entry.state;
    node = order < 0 ? node->left.get() : node->right.get();
  }
  return nullptr;
}

void ColumnFamilyMap::Set(std::string_view name, const ColumnFamilyState& state) {
  bool added = false;
  root_ = Insert(root_, name, state, PriorityOf(name), &added);
  if (added) ++size_;
}

bool ColumnFamilyMap::Erase(std::string_view name) {
  bool removed = false;
  NodeRef root = Remove(root_, name, &removed);
  if (!removed) return false;
  root_ = std::move(root);
  --size_;
  return true;
}

void ColumnFamilyMap::Clear() {
  root_ = nullptr;
  size_ = 0;
}

// Returns a copy of the subtree at `node` holding `name` -> `state`; only nodes on the path are
// new. A rotation that restores heap order builds two new nodes instead of changing any.
ColumnFamilyMap::NodeRef ColumnFamilyMap::Insert(const NodeRef& node, std::string_view name,
                                                 const ColumnFamilyState& state, uint64_t priority,
                                                 bool* added) {
  if (node == nullptr) {
    *added = true;
    return std::make_shared<const Node>(Entry{std::string(name), state}, priority, nullptr,
                                        nullptr);
  }
  const int order = name.compare(node->entry.name);
  if (order == 0) {
    return std::make_shared<const Node>(Entry{node->entry.name, state}, node->priority, node->left,
                                        node->right);
  }
  if (order < 0) {
    NodeRef left = Insert(node->left, name, state, priority, added);
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
  NodeRef right = Insert(node->right, name, state, priority, added);
  if (right->priority <= node->priority) {
    return std::make_shared<const Node>(node->entry, node->priority, node->left, std::move(right));
  }
  // Rotate left: `right` becomes the subtree's root.
  auto lowered = std::make_shared<const Node>(node->entry, node->priority, node->left, right->left);
  return std::make_shared<const Node>(right->entry, right->priority, std::move(lowered),
                                      right->right);
}

ColumnFamilyMap::NodeRef ColumnFamilyMap::Remove(const NodeRef& node, std::string_view name,
                                                 bool* removed) {
  if (node == nullptr) return nullptr;
  const int order = name.compare(node->entry.name);
  if (order == 0) {
    *removed = true;
    return Merge(node->left, node->right);
  }
  if (order < 0) {
    NodeRef left = Remove(node->left, name, removed);
    if (!*removed) return node;
    return std::make_shared<const Node>(node->entry, node->priority, std::move(left), node->right);
  }
  NodeRef right = Remove(node->right, name, removed);
  if (!*removed) return node;
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
