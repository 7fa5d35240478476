// Copy-on-write B+tree operations. A committed tree is named by its root PageRef and never
// changes. A WriteTree is one writer's private, uncommitted version: it copies every node it
// changes (dirty nodes live only in memory) and records which committed pages it stopped using,
// so that its commit can free them. Flush() then writes the dirty nodes bottom-up, giving every
// parent its children's new page ids and checksums.
#ifndef MANIFOLD_BTREE_TREE_H_
#define MANIFOLD_BTREE_TREE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/btree/page.h"
#include "engine/util/shared_bytes.h"
#include "manifold/status.h"

namespace manifold::btree {

// Where trees read committed pages from (the page cache over the data file).
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  // Returns the image of the leaf or internal page at `ref`: verified against `ref.crc` and
  // validated (ValidateNodePage) when it was read from disk, never again afterwards (I40).
  [[nodiscard]] virtual StatusOr<SharedBytes> LoadPage(const PageRef& ref) = 0;
  // Returns the bytes of a written large value, verified page by page and as a whole.
  [[nodiscard]] virtual StatusOr<std::string> LoadLargeValue(const LeafValue& value) = 0;
  virtual const Layout& layout() const = 0;

  // The page at `ref` decoded into a fresh node (for writers and whole-tree walks; readers search
  // the image instead).
  [[nodiscard]] StatusOr<MutableNodePtr> LoadNode(const PageRef& ref);
};

// Where Flush writes new pages. Implemented by the commit in engine/db.
class PageSink {
 public:
  virtual ~PageSink() = default;
  // Reserves `count` contiguous free pages and returns the first.
  [[nodiscard]] virtual StatusOr<uint64_t> AllocatePages(uint64_t count) = 0;
  // Seals and queues a node page for writing; returns the page's crc. The sink may keep `node`
  // to serve later reads of that page from memory.
  [[nodiscard]] virtual StatusOr<uint32_t> WriteNode(uint64_t page_id, NodePtr node) = 0;
  // Queues a large value for writing into overflow pages starting at `first_page`.
  [[nodiscard]] virtual Status WriteLargeValue(uint64_t first_page, std::string_view value) = 0;
};

// The root of a committed tree: a page of the data file (empty for an empty tree).
struct TreeRoot {
  PageRef page;
  bool empty() const { return page.empty(); }
  static TreeRoot OnDisk(PageRef page) { return TreeRoot{page}; }
};

// Reads a committed value: resolves overflow pages.
[[nodiscard]] StatusOr<std::string> MaterializeValue(NodeSource* source, const LeafValue& value);

// Point lookup in a committed tree. nullopt when absent. The value's inline bytes are a slice of
// its page image: holding the LeafValue keeps them alive and unchanged (I43), which is what
// DB::GetPinned hands out.
[[nodiscard]] StatusOr<std::optional<LeafValue>> TreeFind(NodeSource* source, const TreeRoot& root,
                                                          std::string_view key);
// TreeFind with the value copied out (once, straight from the page) or its overflow run read.
[[nodiscard]] StatusOr<std::optional<std::string>> TreeGet(NodeSource* source, const TreeRoot& root,
                                                           std::string_view key);

// Calls `visit` for every page of a committed tree (nodes and overflow runs), parents first.
// Used to free a dropped tree and by the integrity checker.
using PageVisitor = std::function<Status(const PageRun& run, const Node* node, int depth)>;
[[nodiscard]] Status VisitTreePages(NodeSource* source, const PageRef& root,
                                    const PageVisitor& visit);

class WriteTree {
 public:
  // Starts from the committed tree at `root` (empty if root.empty()).
  WriteTree(NodeSource* source, PageRef root);

  // Inserts or replaces. The key and value must respect the layout's limits (checked by the
  // caller with user-facing messages; asserted here).
  [[nodiscard]] Status Put(std::string_view key, std::string_view value);
  // Removes `key`; returns whether it was present.
  [[nodiscard]] StatusOr<bool> Delete(std::string_view key);
  [[nodiscard]] StatusOr<std::optional<std::string>> Get(std::string_view key);

  // True when the tree differs from the committed root it started from.
  bool modified() const { return modified_; }
  // Committed pages (and overflow runs) this tree no longer uses. Freed when it commits.
  const std::vector<PageRun>& freed() const { return freed_; }
  // Approximate memory of the in-memory nodes and values this tree created since it started or
  // last flushed (a page per dirty node: its decoded entries, and the image its inline values
  // slice).
  uint64_t dirty_bytes() const { return dirty_bytes_; }
  // Writes every dirty node and large value through `sink` and returns the new committed root.
  // After a successful Flush the tree is clean again and starts from the returned root.
  [[nodiscard]] StatusOr<PageRef> Flush(PageSink* sink);

 private:
  enum class Fill { kOk, kOver, kUnder };

  StatusOr<Node*> MakeDirty(ChildRef* ref);
  MutableNodePtr NewNode();
  // Counts a node that became dirty in dirty_bytes_.
  void CountDirtyNode() { dirty_bytes_ += layout_.page_bytes; }
  // Returns whether the key was inserted after every key of its leaf, and its leaf (and each
  // ancestor up to here) is the last child of its parent: the ascending-insert pattern.
  StatusOr<bool> PutInto(ChildRef* ref, std::string_view key, LeafValue value);
  StatusOr<bool> DeleteFrom(ChildRef* ref, std::string_view key);
  Fill FillOf(const Node& node) const;
  Status FixChild(Node* parent, size_t index);
  Status Rebalance(Node* parent, size_t index);
  void SplitChild(Node* parent, size_t index, bool append);
  Status FixRoot(bool append = false);
  void FreeValue(const LeafValue& value);
  // I56: repacks the runs of adjacent dirty leaves under every dirty internal node.
  void PackRef(ChildRef* ref);
  // Packs parent->children[first, end) (dirty leaves); returns how many leaves the run has now.
  size_t PackRun(Node* parent, size_t first, size_t end);
  Status FlushRef(ChildRef* ref, PageSink* sink);

  NodeSource* source_;
  Layout layout_;
  ChildRef root_;
  bool modified_ = false;
  std::vector<PageRun> freed_;
  uint64_t dirty_bytes_ = 0;
};

// Moves over a committed tree in key order. Holds the page images on its path, so it stays valid
// while the pages it reads cannot be reused (the caller holds a snapshot).
class Cursor {
 public:
  Cursor(NodeSource* source, TreeRoot root) : source_(source), root_(std::move(root)) {}

  [[nodiscard]] Status SeekToFirst();
  [[nodiscard]] Status SeekToLast();
  // First key >= target.
  [[nodiscard]] Status Seek(std::string_view target);
  // Last key <= target.
  [[nodiscard]] Status SeekForPrev(std::string_view target);
  [[nodiscard]] Status Next();
  [[nodiscard]] Status Prev();

  bool Valid() const { return !path_.empty(); }
  // Both stay valid until the cursor moves: they point into a page image the cursor holds.
  std::string_view key() const;
  LeafValue value() const;
  // The value's bytes when they are stored with the entry (not in overflow pages), without the
  // reference value() takes on the page (a scan reads one value per step); valid until the
  // cursor moves. False for a value in overflow pages: read it through value().
  bool InlineValue(std::string_view* bytes) const;

 private:
  // One level of the path: a page image searched in place.
  struct Frame {
    SharedBytes page;
    size_t index;
    bool leaf() const;
    size_t count() const;  // Leaf: entries; internal: children.
    std::string_view key(size_t i) const;
  };
  // Descends from path_.back() (or the root) taking the first or last child at every level.
  Status DescendEdge(bool first);
  Status Descend(std::string_view target);
  // Moves to the adjacent leaf entry; clears path_ at either end.
  Status Step(bool forward);

  StatusOr<Frame> Child(const Frame& frame, size_t index);
  StatusOr<Frame> Root();

  NodeSource* source_;
  TreeRoot root_;
  std::vector<Frame> path_;
};

}  // namespace manifold::btree

#endif  // MANIFOLD_BTREE_TREE_H_
