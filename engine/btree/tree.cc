#include "engine/btree/tree.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "engine/btree/node_page.h"
#include "engine/port/atomic.h"
#include "engine/util/crc32c.h"

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
  // The in-memory part of a published tree (nodes no checkpoint has written) sits above its
  // pages: walk the nodes first, then search page images in place.
  PageRef page = root.page;
  for (const Node* node = root.node.get(); node != nullptr;) {
    if (node->leaf) {
      const size_t i = LowerBound(*node, key);
      if (i == node->keys.size() || node->keys[i] != key) return std::optional<LeafValue>();
      return std::optional<LeafValue>(node->values[i]);
    }
    const ChildRef& child = node->children[ChildIndex(*node, key)];
    node = child.dirty.get();
    page = child.page;
  }
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

uint64_t NextWriterEpoch() {
  static port::Atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

// --- Checkpoint write-back -----------------------------------------------------------------

namespace {
StatusOr<PageRef> WriteBackNode(const NodePtr& node, const Layout& layout, PageSink* sink,
                                std::vector<PendingFlush>* flushed);

StatusOr<PageRef> WriteBackChild(const ChildRef& child, const Layout& layout, PageSink* sink,
                                 std::vector<PendingFlush>* flushed) {
  if (!child.is_dirty()) return child.page;
  return WriteBackNode(child.dirty, layout, sink, flushed);
}

bool HasUnwrittenLargeValue(const Node& node) {
  for (const LeafValue& value : node.values) {
    if (value.large && !value.written()) return true;
  }
  return false;
}

// The page image of an in-memory node: its children and large values as written on disk. A leaf
// without unwritten large values already is that image, and is written (and cached) as it is:
// it is immutable once published (I1), and its owner and flush fields are not encoded.
StatusOr<NodePtr> CleanImage(const NodePtr& node, const Layout& layout, PageSink* sink,
                             std::vector<PendingFlush>* flushed, FlushInfo* info) {
  if (node->leaf && !HasUnwrittenLargeValue(*node)) return node;
  auto clean = std::make_shared<Node>();
  clean->leaf = node->leaf;
  clean->keys = node->keys;
  if (!node->leaf) {
    clean->children.reserve(node->children.size());
    for (const ChildRef& child : node->children) {
      MANIFOLD_ASSIGN_OR_RETURN(PageRef page, WriteBackChild(child, layout, sink, flushed));
      clean->children.push_back(ChildRef{page, nullptr});
    }
    return NodePtr(std::move(clean));
  }
  info->overflow.resize(node->values.size());
  clean->values.reserve(node->values.size());
  for (size_t i = 0; i < node->values.size(); ++i) {
    LeafValue value = node->values[i];
    if (value.large && !value.written()) {
      MANIFOLD_ASSIGN_OR_RETURN(uint64_t first,
                                sink->AllocatePages(layout.OverflowPages(value.value_bytes)));
      MANIFOLD_RETURN_IF_ERROR(sink->WriteLargeValue(first, value.bytes));
      value.overflow =
          PageRef{first, MaskCrc(crc32c::Value(value.bytes.data(), value.bytes.size()))};
      value.bytes.reset();
      info->overflow[i] = value.overflow;
      info->written_runs.push_back(PageRun{first, layout.OverflowPages(value.value_bytes)});
    }
    clean->values.push_back(std::move(value));
  }
  return NodePtr(std::move(clean));
}

StatusOr<PageRef> WriteBackNode(const NodePtr& node, const Layout& layout, PageSink* sink,
                                std::vector<PendingFlush>* flushed) {
  assert(node->flush != nullptr);  // Only in-memory nodes are reached here.
  if (const FlushInfo* done = node->flush->get()) return done->page;
  auto info = std::make_unique<FlushInfo>();
  MANIFOLD_ASSIGN_OR_RETURN(NodePtr clean, CleanImage(node, layout, sink, flushed, info.get()));
  MANIFOLD_ASSIGN_OR_RETURN(uint64_t page_id, sink->AllocatePages(1));
  MANIFOLD_ASSIGN_OR_RETURN(uint32_t crc, sink->WriteNode(page_id, std::move(clean)));
  info->page = PageRef{page_id, crc};
  const PageRef page = info->page;
  flushed->push_back(PendingFlush{node->flush, std::move(info)});
  return page;
}
}  // namespace

StatusOr<PageRef> WriteBackTree(const TreeRoot& root, const Layout& layout, PageSink* sink,
                                std::vector<PendingFlush>* flushed) {
  if (root.node == nullptr) return root.page;
  return WriteBackNode(root.node, layout, sink, flushed);
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
    : source_(source), layout_(source->layout()), epoch_(NextWriterEpoch()) {
  root_.page = root;
}

WriteTree::WriteTree(NodeSource* source, const TreeRoot& root)
    : source_(source), layout_(source->layout()), epoch_(NextWriterEpoch()) {
  root_.page = root.page;
  // The shared node is never changed through this pointer: MakeDirty copies every node whose
  // owner is not this tree (I1).
  root_.dirty = std::const_pointer_cast<Node>(root.node);
  if (root_.dirty != nullptr) root_.page = PageRef{};
}

TreeRoot WriteTree::Publish() {
  epoch_ = NextWriterEpoch();  // Nodes made so far now belong to readers: later changes copy them.
  return TreeRoot{root_.page, root_.dirty};
}

MutableNodePtr WriteTree::NewNode() {
  auto node = std::make_shared<Node>();
  Adopt(node.get());
  return node;
}

void WriteTree::Adopt(Node* node, bool replaces_dirty) {
  node->owner = epoch_;
  node->flush = std::make_shared<FlushCell>();
  // A copy of a node no checkpoint has written replaces memory already counted as dirty (that
  // node is released once no version holds it), so only first-time dirtying adds to the count.
  if (!replaces_dirty) dirty_bytes_ += layout_.page_bytes;
}

StatusOr<Node*> WriteTree::MakeDirty(ChildRef* ref) {
  if (ref->is_dirty()) {
    if (ref->dirty->owner == epoch_) return ref->dirty.get();
    return CopyPublished(ref);
  }
  assert(!ref->page.empty());
  // I1: a fresh node decoded from the page, never the page changed in place. Its inline values
  // stay slices of the (immutable) image.
  MANIFOLD_ASSIGN_OR_RETURN(ref->dirty, source_->LoadNode(ref->page));
  Adopt(ref->dirty.get());
  freed_.push_back(PageRun{ref->page.page_id, 1});
  ref->page = PageRef{};
  return ref->dirty.get();
}

// Copies a published in-memory node. If a durable checkpoint wrote it, the copy takes over the
// checkpoint's pages (its large values' runs) and the node's own page is freed; children that a
// checkpoint wrote are replaced by their pages, so that memory is returned to the page cache's
// bound instead of staying pinned by the tree (the write buffer's bound).
Node* WriteTree::CopyPublished(ChildRef* ref) {
  const MutableNodePtr published = ref->dirty;
  auto copy = std::make_shared<Node>(*published);
  const FlushInfo* info = published->flush->get();
  Adopt(copy.get(), /*replaces_dirty=*/info == nullptr);
  if (info != nullptr) {
    freed_.push_back(PageRun{info->page.page_id, 1});
    for (size_t i = 0; i < info->overflow.size(); ++i) {
      if (info->overflow[i].empty()) continue;
      copy->values[i].overflow = info->overflow[i];
      copy->values[i].bytes.reset();
    }
  } else {
    freed_cells_.push_back(published->flush);
  }
  for (ChildRef& child : copy->children) {
    if (!child.is_dirty()) continue;
    if (const FlushInfo* info = child.dirty->flush->get()) child = ChildRef{info->page, nullptr};
  }
  ref->dirty = std::move(copy);
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
  return TreeGet(source_, TreeRoot{root_.page, root_.dirty}, key);
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
    Adopt(right.get());
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
  MANIFOLD_RETURN_IF_ERROR(FlushRef(&root_, sink));
  modified_ = false;
  freed_.clear();
  return root_.page;
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

bool Cursor::Frame::leaf() const {
  return node != nullptr ? node->leaf : NodePage(page.data()).leaf();
}

size_t Cursor::Frame::count() const {
  if (node == nullptr) return NodePage(page.data()).count();
  return node->leaf ? node->keys.size() : node->children.size();
}

std::string_view Cursor::Frame::key(size_t i) const {
  return node != nullptr ? node->keys[i].view() : NodePage(page.data()).key(i);
}

std::string_view Cursor::key() const {
  const Frame& leaf = path_.back();
  return leaf.key(leaf.index);
}

LeafValue Cursor::value() const {
  const Frame& leaf = path_.back();
  if (leaf.node != nullptr) return leaf.node->values[leaf.index];
  return PageLeafValue(leaf.page, leaf.index);
}

bool Cursor::InlineValue(std::string_view* bytes) const {
  const Frame& leaf = path_.back();
  if (leaf.node != nullptr) {
    const LeafValue& value = leaf.node->values[leaf.index];
    if (value.written()) return false;
    *bytes = value.bytes.view();
    return true;
  }
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
  PageRef page;
  if (frame.node != nullptr) {
    const ChildRef& child = frame.node->children[index];
    if (child.is_dirty()) return Frame{child.dirty, SharedBytes(), 0};
    page = child.page;
  } else {
    page = NodePage(frame.page.data()).child(index);
  }
  MANIFOLD_ASSIGN_OR_RETURN(SharedBytes image, source_->LoadPage(page));
  return Frame{nullptr, std::move(image), 0};
}

StatusOr<Cursor::Frame> Cursor::Root() {
  if (root_.node != nullptr) return Frame{root_.node, SharedBytes(), 0};
  MANIFOLD_ASSIGN_OR_RETURN(SharedBytes image, source_->LoadPage(root_.page));
  return Frame{nullptr, std::move(image), 0};
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
    const bool in_memory = frame.node != nullptr;
    if (frame.leaf()) {
      frame.index = in_memory ? LowerBound(*frame.node, target)
                              : NodePage(frame.page.data()).LowerBound(target);
      path_.push_back(std::move(frame));
      return Status::OK();
    }
    frame.index = in_memory ? ChildIndex(*frame.node, target)
                            : NodePage(frame.page.data()).ChildIndex(target);
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
