#include "engine/btree/tree.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "engine/btree/node_page.h"
#include "engine/util/check.h"
#include "engine/util/crc32c.h"
#include "engine/util/fault_point.h"

namespace manifold::btree {
namespace {

// Index of the child of an internal node that may hold `key`: separators <= key.
size_t ChildIndex(const Node& node, std::string_view key) {
  auto it = std::upper_bound(node.keys.begin(), node.keys.end(), key,
                             [](std::string_view k, const SmallBytes& s) { return k < s.view(); });
  return static_cast<size_t>(it - node.keys.begin());
}

size_t LowerBound(const Node& node, std::string_view key) {
  auto it = std::lower_bound(node.keys.begin(), node.keys.end(), key,
                             [](const SmallBytes& s, std::string_view k) { return s.view() < k; });
  return static_cast<size_t>(it - node.keys.begin());
}

// Chooses where to cut `sizes` (per-entry encoded bytes) so the larger side is smallest.
// `base_left`/`base_right` are fixed bytes each side pays; `dropped` is skipped at the cut
// (the promoted separator of an internal node). Returns the index of the first entry on the
// right.
size_t BalancedCut(const std::vector<size_t>& sizes, size_t base_left, size_t base_right,
                   bool drop_at_cut) {
  size_t total = 0;
  for (size_t s : sizes) total += s;
  size_t best = 1;
  size_t best_max = SIZE_MAX;
  size_t prefix = 0;
  for (size_t cut = 1; cut < sizes.size() + (drop_at_cut ? 1 : 0); ++cut) {
    prefix += sizes[cut - 1];
    size_t left = base_left + prefix - (drop_at_cut ? sizes[cut - 1] : 0);
    size_t right = base_right + total - prefix;
    size_t worst = std::max(left, right);
    if (worst < best_max) best_max = worst, best = cut;
  }
  return best;
}

// Chooses the cut that leaves the left side as full as the page allows, for nodes that grow only
// at their end (ascending keys): a balanced split would leave every left node half empty for
// good. Same conventions as BalancedCut; both sides keep at least one entry (internal nodes: two
// children). Falls back to the balanced cut when no such cut exists.
size_t FullLeftCut(const std::vector<size_t>& sizes, size_t base_left, size_t body_bytes,
                   bool drop_at_cut) {
  const size_t first_cut = drop_at_cut ? 2 : 1;
  size_t best = 0;
  size_t prefix = 0;
  for (size_t cut = 1; cut + 1 <= sizes.size(); ++cut) {
    prefix += sizes[cut - 1];
    size_t left = base_left + prefix - (drop_at_cut ? sizes[cut - 1] : 0);
    if (left > body_bytes) break;
    if (cut >= first_cut) best = cut;
  }
  if (best == 0) return BalancedCut(sizes, base_left, base_left, drop_at_cut);
  return best;
}

// Splits an over-full node in two; returns the right part and its separator. `append` (the
// overflow came from an entry added after the node's last one) keeps the left part full.
std::pair<MutableNodePtr, SmallBytes> SplitInTwo(Node* node, bool append, size_t body_bytes) {
  auto right = std::make_shared<Node>();
  right->leaf = node->leaf;
  std::vector<size_t> sizes;
  if (node->leaf) {
    assert(node->keys.size() >= 2);
    for (size_t i = 0; i < node->keys.size(); ++i) {
      sizes.push_back(LeafEntryBytes(node->keys[i], node->values[i]));
    }
    size_t cut =
        append ? FullLeftCut(sizes, 0, body_bytes, false) : BalancedCut(sizes, 0, 0, false);
    right->keys.assign(std::make_move_iterator(node->keys.begin() + cut),
                       std::make_move_iterator(node->keys.end()));
    right->values.assign(std::make_move_iterator(node->values.begin() + cut),
                         std::make_move_iterator(node->values.end()));
    node->keys.resize(cut);
    node->values.resize(cut);
    return {right, right->keys.front()};
  }
  assert(node->children.size() >= 3);
  // Entry j is separator keys[j] with child j + 1. Cutting at entry m promotes keys[m].
  for (const SmallBytes& key : node->keys) sizes.push_back(InternalEntryBytes(key));
  size_t cut = append
                   ? FullLeftCut(sizes, kInternalFirstEntryBytes, body_bytes, true)
                   : BalancedCut(sizes, kInternalFirstEntryBytes, kInternalFirstEntryBytes, true);
  size_t promoted = cut - 1;
  SmallBytes separator = std::move(node->keys[promoted]);
  right->keys.assign(std::make_move_iterator(node->keys.begin() + promoted + 1),
                     std::make_move_iterator(node->keys.end()));
  right->children.assign(std::make_move_iterator(node->children.begin() + promoted + 1),
                         std::make_move_iterator(node->children.end()));
  node->keys.resize(promoted);
  node->children.resize(promoted + 1);
  return {right, std::move(separator)};
}

// Appends `right` (and, for internal nodes, the separator between them) onto `left`.
void Concatenate(Node* left, Node* right, SmallBytes separator) {
  assert(left->leaf == right->leaf);
  if (!left->leaf) left->keys.push_back(std::move(separator));
  for (auto& key : right->keys) left->keys.push_back(std::move(key));
  for (auto& value : right->values) left->values.push_back(std::move(value));
  for (auto& child : right->children) left->children.push_back(std::move(child));
}

}  // namespace

StatusOr<std::string> MaterializeValue(NodeSource* source, const LeafValue& value) {
  if (!value.written()) return value.bytes.ToString();
  return source->LoadLargeValue(value);
}

StatusOr<MutableNodePtr> NodeSource::LoadNode(const PageRef& ref) {
  MANIFOLD_ASSIGN_OR_RETURN(SharedBytes image, LoadPage(ref));
  return DecodeNodePage(image);  // I40: the image was checked when it was read.
}

StatusOr<std::optional<LeafValue>> TreeFind(NodeSource* source, const TreeRoot& root,
                                            std::string_view key) {
  if (root.empty()) return std::optional<LeafValue>();
  PageRef page = root.page;
  for (;;) {
    MANIFOLD_ASSIGN_OR_RETURN(SharedBytes image, source->LoadPage(page));
    const NodePage view(image.data());
    if (view.leaf()) {
      const size_t i = view.LowerBound(key);
      if (i == view.count() || view.key(i) != key) return std::optional<LeafValue>();
      return std::optional<LeafValue>(PageLeafValue(image, i));
    }
    page = view.child(view.ChildIndex(key));
  }
}

StatusOr<std::optional<std::string>> TreeGet(NodeSource* source, const TreeRoot& root,
                                             std::string_view key) {
  MANIFOLD_ASSIGN_OR_RETURN(std::optional<LeafValue> value, TreeFind(source, root, key));
  if (!value.has_value()) return std::optional<std::string>();
  MANIFOLD_ASSIGN_OR_RETURN(std::string bytes, MaterializeValue(source, *value));
  return std::optional<std::string>(std::move(bytes));
}

namespace {
Status VisitRec(NodeSource* source, const PageRef& ref, const PageVisitor& visit, int depth) {
  MANIFOLD_ASSIGN_OR_RETURN(MutableNodePtr node, source->LoadNode(ref));
  MANIFOLD_RETURN_IF_ERROR(visit(PageRun{ref.page_id, 1}, node.get(), depth));
  if (node->leaf) {
    for (const LeafValue& value : node->values) {
      if (!value.written()) continue;
      PageRun run{value.overflow.page_id, source->layout().OverflowPages(value.value_bytes)};
      MANIFOLD_RETURN_IF_ERROR(visit(run, nullptr, depth + 1));
    }
    return Status::OK();
  }
  for (const ChildRef& child : node->children) {
    assert(!child.is_dirty());  // Only trees on disk are visited.
    MANIFOLD_RETURN_IF_ERROR(VisitRec(source, child.page, visit, depth + 1));
  }
  return Status::OK();
}
}  // namespace

Status VisitTreePages(NodeSource* source, const PageRef& root, const PageVisitor& visit) {
  if (root.empty()) return Status::OK();
  return VisitRec(source, root, visit, 0);
}

// --- WriteTree -----------------------------------------------------------------------------

WriteTree::WriteTree(NodeSource* source, PageRef root)
    : source_(source), layout_(source->layout()) {
  root_.page = root;
}

MutableNodePtr WriteTree::NewNode() {
  auto node = std::make_shared<Node>();
  CountDirtyNode();
  return node;
}

StatusOr<Node*> WriteTree::MakeDirty(ChildRef* ref) {
  if (ref->is_dirty()) return ref->dirty.get();
  assert(!ref->page.empty());
  // I1: a fresh node decoded from the page, never the page changed in place. Its inline values
  // stay slices of the (immutable) image.
  MANIFOLD_ASSIGN_OR_RETURN(ref->dirty, source_->LoadNode(ref->page));
  CountDirtyNode();
  freed_.push_back(PageRun{ref->page.page_id, 1});
  ref->page = PageRef{};
  return ref->dirty.get();
}

void WriteTree::FreeValue(const LeafValue& value) {
  if (!value.written()) return;
  freed_.push_back(PageRun{value.overflow.page_id, layout_.OverflowPages(value.value_bytes)});
}

WriteTree::Fill WriteTree::FillOf(const Node& node) const {
  size_t bytes = node.EncodedBodyBytes();
  if (bytes > layout_.body_bytes()) return Fill::kOver;
  if (bytes < layout_.underfull_bytes()) return Fill::kUnder;
  return Fill::kOk;
}

Status WriteTree::Put(std::string_view key, std::string_view value) {
  assert(key.size() <= layout_.key_bytes_max());
  LeafValue leaf_value = LeafValue::Inline(value);
  leaf_value.large = value.size() > layout_.inline_value_bytes_max(key.size());
  if (root_.page.empty() && !root_.is_dirty()) root_.dirty = NewNode();
  const size_t root_keys_before = root_.is_dirty() ? root_.dirty->keys.size() : SIZE_MAX;
  if (leaf_value.large) dirty_bytes_ += value.size();
  MANIFOLD_ASSIGN_OR_RETURN(bool appended, PutInto(&root_, key, std::move(leaf_value)));
  modified_ = true;
  // An internal root can only overflow when a split below added a separator to it (measuring
  // its size walks every separator, on every put).
  const Node& root = *root_.dirty;
  if (!root.leaf && root.keys.size() == root_keys_before) return Status::OK();
  return FixRoot(appended);
}

StatusOr<bool> WriteTree::PutInto(ChildRef* ref, std::string_view key, LeafValue value) {
  MANIFOLD_ASSIGN_OR_RETURN(Node * node, MakeDirty(ref));
  if (node->leaf) {
    size_t i = LowerBound(*node, key);
    if (i < node->keys.size() && node->keys[i] == key) {
      FreeValue(node->values[i]);
      node->values[i] = std::move(value);
      return false;
    }
    const bool appended = i == node->keys.size();
    node->keys.insert(node->keys.begin() + i, SmallBytes(key));
    node->values.insert(node->values.begin() + i, std::move(value));
    return appended;
  }
  size_t i = ChildIndex(*node, key);
  const Node* child_before = node->children[i].is_dirty() ? node->children[i].dirty.get() : nullptr;
  const size_t child_keys_before = child_before != nullptr ? child_before->keys.size() : SIZE_MAX;
  MANIFOLD_ASSIGN_OR_RETURN(bool appended, PutInto(&node->children[i], key, std::move(value)));
  // A split of the last child appends to this node: the append pattern continues upwards.
  const bool last_child = i + 1 == node->children.size();
  // An insert never makes a node underfull, so only overflow is fixed here: merging a node that
  // an append split left small would undo the full-left split on the next append. An internal
  // child can only overflow if a split below it added a separator (same node, more keys).
  const Node& child = *node->children[i].dirty;
  const bool child_unchanged_internal =
      !child.leaf && &child == child_before && child.keys.size() == child_keys_before;
  if (!child_unchanged_internal && FillOf(child) == Fill::kOver) SplitChild(node, i, appended);
  return appended && last_child;
}

StatusOr<bool> WriteTree::Delete(std::string_view key) {
  // Look first so that deleting an absent key copies no pages.
  MANIFOLD_ASSIGN_OR_RETURN(std::optional<std::string> existing, Get(key));
  if (!existing.has_value()) return false;
  MANIFOLD_ASSIGN_OR_RETURN(bool found, DeleteFrom(&root_, key));
  assert(found);
  modified_ = true;
  MANIFOLD_RETURN_IF_ERROR(FixRoot());
  return found;
}

StatusOr<bool> WriteTree::DeleteFrom(ChildRef* ref, std::string_view key) {
  MANIFOLD_ASSIGN_OR_RETURN(Node * node, MakeDirty(ref));
  if (node->leaf) {
    size_t i = LowerBound(*node, key);
    if (i == node->keys.size() || node->keys[i] != key) return false;
    FreeValue(node->values[i]);
    node->keys.erase(node->keys.begin() + i);
    node->values.erase(node->values.begin() + i);
    return true;
  }
  size_t i = ChildIndex(*node, key);
  MANIFOLD_ASSIGN_OR_RETURN(bool found, DeleteFrom(&node->children[i], key));
  MANIFOLD_RETURN_IF_ERROR(FixChild(node, i));
  return found;
}

StatusOr<std::optional<std::string>> WriteTree::Get(std::string_view key) {
  // The dirty nodes sit above the committed pages: walk them first, then search the pages.
  const ChildRef* ref = &root_;
  while (ref->is_dirty()) {
    const Node& node = *ref->dirty;
    if (node.leaf) {
      const size_t i = LowerBound(node, key);
      if (i == node.keys.size() || node.keys[i] != key) return std::optional<std::string>();
      MANIFOLD_ASSIGN_OR_RETURN(std::string bytes, MaterializeValue(source_, node.values[i]));
      return std::optional<std::string>(std::move(bytes));
    }
    ref = &node.children[ChildIndex(node, key)];
  }
  return TreeGet(source_, TreeRoot::OnDisk(ref->page), key);
}

Status WriteTree::FixChild(Node* parent, size_t index) {
  assert(parent->children[index].is_dirty());
  switch (FillOf(*parent->children[index].dirty)) {
    case Fill::kOver:
      SplitChild(parent, index, /*append=*/false);
      return Status::OK();
    case Fill::kUnder:
      if (parent->children.size() >= 2) return Rebalance(parent, index);
      return Status::OK();
    case Fill::kOk:
      return Status::OK();
  }
  return Status::OK();
}

void WriteTree::SplitChild(Node* parent, size_t index, bool append) {
  // A split half can itself be over-full only after a merge produced a node more than twice the
  // body; split until every piece fits (I6 makes one split the usual case).
  Node* child = parent->children[index].dirty.get();
  while (child->EncodedBodyBytes() > layout_.body_bytes()) {
    auto [right, separator] = SplitInTwo(child, append, layout_.body_bytes());
    CountDirtyNode();
    parent->children.insert(parent->children.begin() + index + 1, ChildRef{{}, right});
    parent->keys.insert(parent->keys.begin() + index, std::move(separator));
    child = parent->children[index].dirty.get();
    if (right->EncodedBodyBytes() > layout_.body_bytes()) SplitChild(parent, index + 1, append);
  }
}

Status WriteTree::Rebalance(Node* parent, size_t index) {
  size_t left = index > 0 ? index - 1 : index;
  size_t right = left + 1;
  MANIFOLD_ASSIGN_OR_RETURN(Node * left_node, MakeDirty(&parent->children[left]));
  MANIFOLD_ASSIGN_OR_RETURN(Node * right_node, MakeDirty(&parent->children[right]));
  Concatenate(left_node, right_node, std::move(parent->keys[left]));
  parent->children.erase(parent->children.begin() + right);
  parent->keys.erase(parent->keys.begin() + left);
  // Merged node too big: cut it again at its balance point (a redistribution).
  SplitChild(parent, left, /*append=*/false);
  return Status::OK();
}

Status WriteTree::FixRoot(bool append) {
  for (;;) {
    if (!root_.is_dirty()) return Status::OK();
    Node* root = root_.dirty.get();
    if (root->EncodedBodyBytes() > layout_.body_bytes()) {
      MutableNodePtr new_root = NewNode();
      new_root->leaf = false;
      new_root->children.push_back(std::move(root_));
      root_ = ChildRef{{}, new_root};
      SplitChild(new_root.get(), 0, append);
      return Status::OK();
    }
    if (!root->leaf && root->children.size() == 1) {
      ChildRef only = std::move(root->children[0]);
      root_ = std::move(only);  // The old root was dirty: its page was freed when copied.
      continue;
    }
    if (root->leaf && root->keys.empty()) root_ = ChildRef{};
    return Status::OK();
  }
}

StatusOr<PageRef> WriteTree::Flush(PageSink* sink) {
  PackRef(&root_);
  // Packing may leave an internal root with one child (its page was freed when it was copied).
  while (root_.is_dirty() && !root_.dirty->leaf && root_.dirty->children.size() == 1) {
    ChildRef only = std::move(root_.dirty->children[0]);
    root_ = std::move(only);
  }
  MANIFOLD_RETURN_IF_ERROR(FlushRef(&root_, sink));
  modified_ = false;
  freed_.clear();
  dirty_bytes_ = 0;  // Every dirty node was written and released.
  return root_.page;
}

// I56: a Flush writes every dirty leaf anyway, so a run of adjacent dirty leaves under one parent
// can be cut anew at no extra write: into the fewest leaves that hold it at most kPackFill full.
// Splits on insert cut a full leaf in half, which leaves a tree built from random keys ~69% full
// for good (and every later merge rewriting ~1.45 leaves per page of data); packed, the leaves
// stay ~90% full, the tree has fewer leaves to rewrite and the file is smaller. The slack left
// (1/16) lets a later merge add an entry or two to a leaf none of whose neighbours it touches
// without splitting it. Runs never cross a parent, so only the parent's separators change.
namespace {
constexpr size_t kPackFillNumerator = 15;
constexpr size_t kPackFillDenominator = 16;
}  // namespace

void WriteTree::PackRef(ChildRef* ref) {
  if (!ref->is_dirty() || ref->dirty->leaf) return;
  Node* node = ref->dirty.get();
  auto dirty_leaf = [node](size_t i) {
    return node->children[i].is_dirty() && node->children[i].dirty->leaf;
  };
  for (size_t i = 0; i < node->children.size();) {
    if (!dirty_leaf(i)) {
      PackRef(&node->children[i]);
      ++i;
      continue;
    }
    size_t end = i + 1;
    while (end < node->children.size() && dirty_leaf(end)) ++end;
    i += end - i >= 2 ? PackRun(node, i, end) : 1;
  }
}

size_t WriteTree::PackRun(Node* parent, size_t first, size_t end) {
  const size_t leaves = end - first;
  const size_t body = layout_.body_bytes();
  std::vector<size_t> sizes;
  size_t total = 0;
  for (size_t i = first; i < end; ++i) {
    const Node& leaf = *parent->children[i].dirty;
    for (size_t j = 0; j < leaf.keys.size(); ++j) {
      sizes.push_back(LeafEntryBytes(leaf.keys[j], leaf.values[j]));
      total += sizes.back();
    }
  }
  const size_t fill = body * kPackFillNumerator / kPackFillDenominator;
  const size_t target = (total + fill - 1) / fill;  // Leaves the run needs at kPackFill.
  if (total == 0 || target >= leaves) return leaves;
  // Cut where the running total passes each multiple of total / target (nearest entry boundary),
  // never past a full page: the leaves come out about equally full.
  std::vector<size_t> counts;  // Entries per new leaf.
  size_t in_leaf = 0, leaf_bytes = 0, before = 0;
  for (size_t e : sizes) {
    const size_t boundary = total * (counts.size() + 1) / target;
    if (in_leaf > 0 && (leaf_bytes + e > body || before + e / 2 > boundary)) {
      counts.push_back(in_leaf);
      in_leaf = 0;
      leaf_bytes = 0;
    }
    ++in_leaf;
    leaf_bytes += e;
    before += e;
  }
  counts.push_back(in_leaf);
  if (counts.size() >= leaves) return leaves;
  std::vector<SmallBytes> keys;
  std::vector<LeafValue> values;
  keys.reserve(sizes.size());
  values.reserve(sizes.size());
  for (size_t i = first; i < end; ++i) {
    Node& leaf = *parent->children[i].dirty;
    for (auto& key : leaf.keys) keys.push_back(std::move(key));
    for (auto& value : leaf.values) values.push_back(std::move(value));
  }
  // The planted bug: each new separator is the last key of the leaf left of it instead of the
  // first key of the leaf right of it, so a search for that key goes right and misses it (I41).
  const bool bad_separator = MANIFOLD_PLANTED_BUG(planted_bug::kPackSeparatorFromLeft);
  std::vector<SmallBytes> separators;
  size_t next = 0;
  for (size_t j = 0; j < counts.size(); ++j) {
    Node& leaf = *parent->children[first + j].dirty;
    leaf.keys.assign(std::make_move_iterator(keys.begin() + next),
                     std::make_move_iterator(keys.begin() + next + counts[j]));
    leaf.values.assign(std::make_move_iterator(values.begin() + next),
                       std::make_move_iterator(values.begin() + next + counts[j]));
    next += counts[j];
    MANIFOLD_CHECK(!leaf.keys.empty() && leaf.EncodedBodyBytes() <= body,
                   "I56: every packed leaf holds an entry and fits its page");
    if (j > 0) {
      const Node& left = *parent->children[first + j - 1].dirty;
      MANIFOLD_CHECK(left.keys.back() < leaf.keys.front(),
                     "I56: packing keeps the run's keys in order");
      separators.push_back(bad_separator ? left.keys.back() : leaf.keys.front());
    }
  }
  MANIFOLD_CHECK(next == keys.size(), "I56: packing keeps every entry of the run");
  // The run's inner separators are parent->keys[first, end - 1); the ones at its edges stay, and
  // so do the bounds they put on the run's keys.
  parent->children.erase(parent->children.begin() + first + counts.size(),
                         parent->children.begin() + end);
  parent->keys.erase(parent->keys.begin() + first, parent->keys.begin() + end - 1);
  parent->keys.insert(parent->keys.begin() + first, std::make_move_iterator(separators.begin()),
                      std::make_move_iterator(separators.end()));
  MANIFOLD_CHECK(parent->keys.size() + 1 == parent->children.size(),
                 "I56: a parent keeps one separator between each two children");
  return counts.size();
}

Status WriteTree::FlushRef(ChildRef* ref, PageSink* sink) {
  if (!ref->is_dirty()) return Status::OK();
  Node* node = ref->dirty.get();
  if (node->leaf) {
    for (LeafValue& value : node->values) {
      if (!value.large || value.written()) continue;
      MANIFOLD_ASSIGN_OR_RETURN(uint64_t first,
                                sink->AllocatePages(layout_.OverflowPages(value.value_bytes)));
      MANIFOLD_RETURN_IF_ERROR(sink->WriteLargeValue(first, value.bytes));
      value.overflow =
          PageRef{first, MaskCrc(crc32c::Value(value.bytes.data(), value.bytes.size()))};
      value.bytes.reset();
    }
  } else {
    for (ChildRef& child : node->children) MANIFOLD_RETURN_IF_ERROR(FlushRef(&child, sink));
  }
  MANIFOLD_ASSIGN_OR_RETURN(uint64_t page_id, sink->AllocatePages(1));
  MANIFOLD_ASSIGN_OR_RETURN(uint32_t crc, sink->WriteNode(page_id, ref->dirty));
  ref->page = PageRef{page_id, crc};
  ref->dirty.reset();
  return Status::OK();
}

// --- Cursor --------------------------------------------------------------------------------

bool Cursor::Frame::leaf() const { return NodePage(page.data()).leaf(); }

size_t Cursor::Frame::count() const { return NodePage(page.data()).count(); }

std::string_view Cursor::Frame::key(size_t i) const { return NodePage(page.data()).key(i); }

std::string_view Cursor::key() const {
  const Frame& leaf = path_.back();
  return leaf.key(leaf.index);
}

LeafValue Cursor::value() const {
  const Frame& leaf = path_.back();
  return PageLeafValue(leaf.page, leaf.index);
}

bool Cursor::InlineValue(std::string_view* bytes) const {
  const Frame& leaf = path_.back();
  const PageValue stored = NodePage(leaf.page.data()).value(leaf.index);
  if (stored.large) return false;
  *bytes = stored.inline_bytes;
  return true;
}

Status Cursor::DescendEdge(bool first) {
  for (;;) {
    const Frame& top = path_.back();
    if (top.leaf()) return Status::OK();
    MANIFOLD_ASSIGN_OR_RETURN(Frame child, Child(top, top.index));
    const size_t n = child.count();
    if (n == 0) return Status::Corruption("empty tree node below the root");
    child.index = first ? 0 : n - 1;
    path_.push_back(std::move(child));
  }
}

StatusOr<Cursor::Frame> Cursor::Child(const Frame& frame, size_t index) {
  MANIFOLD_ASSIGN_OR_RETURN(SharedBytes image,
                            source_->LoadPage(NodePage(frame.page.data()).child(index)));
  return Frame{std::move(image), 0};
}

StatusOr<Cursor::Frame> Cursor::Root() {
  MANIFOLD_ASSIGN_OR_RETURN(SharedBytes image, source_->LoadPage(root_.page));
  return Frame{std::move(image), 0};
}

Status Cursor::SeekToFirst() {
  path_.clear();
  if (root_.empty()) return Status::OK();
  MANIFOLD_ASSIGN_OR_RETURN(Frame root, Root());
  if (root.count() == 0) return Status::OK();
  path_.push_back(std::move(root));
  return DescendEdge(true);
}

Status Cursor::SeekToLast() {
  path_.clear();
  if (root_.empty()) return Status::OK();
  MANIFOLD_ASSIGN_OR_RETURN(Frame root, Root());
  const size_t n = root.count();
  if (n == 0) return Status::OK();
  root.index = n - 1;
  path_.push_back(std::move(root));
  return DescendEdge(false);
}

Status Cursor::Descend(std::string_view target) {
  path_.clear();
  if (root_.empty()) return Status::OK();
  MANIFOLD_ASSIGN_OR_RETURN(Frame frame, Root());
  for (;;) {
    const NodePage view(frame.page.data());
    if (view.leaf()) {
      frame.index = view.LowerBound(target);
      path_.push_back(std::move(frame));
      return Status::OK();
    }
    frame.index = view.ChildIndex(target);
    MANIFOLD_ASSIGN_OR_RETURN(Frame child, Child(frame, frame.index));
    path_.push_back(std::move(frame));
    frame = std::move(child);
  }
}

Status Cursor::Seek(std::string_view target) {
  MANIFOLD_RETURN_IF_ERROR(Descend(target));
  if (path_.empty()) return Status::OK();
  Frame& leaf = path_.back();
  if (leaf.index < leaf.count()) return Status::OK();
  if (leaf.count() == 0) {
    path_.clear();
    return Status::OK();
  }
  leaf.index = leaf.count() - 1;  // Every key here is < target: the answer is next.
  return Step(true);
}

Status Cursor::SeekForPrev(std::string_view target) {
  MANIFOLD_RETURN_IF_ERROR(Descend(target));
  if (path_.empty()) return Status::OK();
  Frame& leaf = path_.back();
  if (leaf.index < leaf.count() && leaf.key(leaf.index) == target) {
    return Status::OK();
  }
  if (leaf.index > 0) {
    --leaf.index;
    return Status::OK();
  }
  if (leaf.count() == 0) {
    path_.clear();
    return Status::OK();
  }
  return Step(false);  // Every key here is > target: the answer is in the previous leaf.
}

Status Cursor::Step(bool forward) {
  Frame& leaf = path_.back();
  if (forward && leaf.index + 1 < leaf.count()) {
    ++leaf.index;
    return Status::OK();
  }
  if (!forward && leaf.index > 0) {
    --leaf.index;
    return Status::OK();
  }
  path_.pop_back();
  while (!path_.empty()) {
    Frame& frame = path_.back();
    if (forward && frame.index + 1 < frame.count()) {
      ++frame.index;
      return DescendEdge(true);
    }
    if (!forward && frame.index > 0) {
      --frame.index;
      return DescendEdge(false);
    }
    path_.pop_back();
  }
  return Status::OK();
}

Status Cursor::Next() { return Step(true); }
Status Cursor::Prev() { return Step(false); }

}  // namespace manifold::btree
