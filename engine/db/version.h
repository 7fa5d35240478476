// A Version is one committed state of the whole database: the catalog of column families and
// their roots as of one commit sequence number. Versions are immutable and shared by readers;
// while one is alive, no page it can reach is reused (invariant I4).
#ifndef MANIFOLD_DB_VERSION_H_
#define MANIFOLD_DB_VERSION_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/btree/page.h"
#include "engine/btree/tree.h"
#include "engine/db/buffer_list.h"
#include "engine/port/sync.h"
#include "manifold/db.h"

namespace manifold {

// Counts live versions per sequence number so the allocator knows which freed pages a reader
// may still reach.
class VersionRegistry {
 public:
  void Add(uint64_t sequence);
  void Remove(uint64_t sequence);
  // The oldest sequence a live version holds; UINT64_MAX if none.
  uint64_t OldestLive();

 private:
  port::Mutex mu_;
  std::map<uint64_t, uint64_t> live_ MANIFOLD_GUARDED_BY(mu_);  // sequence -> versions alive.
};

struct ColumnFamilyState {
  uint32_t id = 0;
  btree::PageRef root;  // On disk (a durable checkpoint's tree). Empty when it holds no keys.
  // The write buffers over `root` this version reads at its sequence number (I32, I35); null
  // when there are none. Not part of the catalog record.
  BufferStackPtr buffers;
};

// The column-family catalog of one version: an immutable sorted map from name to state whose
// nodes versions share. A change copies only the O(log n) nodes on the path to the changed name
// (a treap with path copying; priorities come from a hash of the name, so the shape depends on
// the names alone), which keeps a commit's cost independent of the number of column families.
// Copying a map copies two pointers; a node is never changed once it is built, so a version that
// holds a map keeps reading exactly its own catalog (snapshot semantics, I4).
//
// A second index finds an entry by column-family id with no name comparison, for
// ColumnFamilyHandle (I46): a persistent radix trie, kIdBits of the id per level, as many levels
// as the largest id needs (2 for ids below 1024). It shares the entries with the treap, so a
// change copies one trie node per level besides the treap path.
class ColumnFamilyMap {
 public:
  struct Entry {
    std::string name;
    ColumnFamilyState state;
  };

 private:
  using EntryRef = std::shared_ptr<const Entry>;
  struct Node;
  using NodeRef = std::shared_ptr<const Node>;
  struct Node {
    Node(EntryRef entry_in, uint64_t priority_in, NodeRef left_in, NodeRef right_in)
        : entry(std::move(entry_in)),
          priority(priority_in),
          left(std::move(left_in)),
          right(std::move(right_in)) {}
    EntryRef entry;
    uint64_t priority;  // Heap order: a node's priority is at least its children's.
    NodeRef left;
    NodeRef right;
  };
  static constexpr uint32_t kIdBits = 5;
  static constexpr uint32_t kIdFanout = 1u << kIdBits;
  struct IdNode;
  using IdNodeRef = std::shared_ptr<const IdNode>;
  struct IdNode {
    std::array<IdNodeRef, kIdFanout> children;  // Levels above the bottom one.
    std::array<EntryRef, kIdFanout> entries;    // The bottom level.
  };

 public:
  // In-order (name order) traversal. Invalidated by nothing: it holds raw pointers into nodes the
  // map keeps alive, so the map must outlive it and must not change while it is in use.
  class const_iterator {
   public:
    const Entry& operator*() const { return *stack_.back()->entry; }
    const Entry* operator->() const { return stack_.back()->entry.get(); }
    const_iterator& operator++();
    bool operator==(const const_iterator& other) const { return stack_ == other.stack_; }
    bool operator!=(const const_iterator& other) const { return !(*this == other); }

   private:
    friend class ColumnFamilyMap;
    void PushLeft(const Node* node);
    std::vector<const Node*> stack_;  // Path to the current node; empty at the end.
  };

  const_iterator begin() const;
  const_iterator end() const { return const_iterator(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  const ColumnFamilyState* Find(std::string_view name) const;
  // The entry whose state has `id`, or null: O(levels) array steps, no name comparison.
  const Entry* FindById(uint32_t id) const;
  // Inserts `name` or replaces its state.
  void Set(std::string_view name, const ColumnFamilyState& state);
  // Removes `name`; false when it is absent.
  bool Erase(std::string_view name);
  void Clear();

 private:
  static NodeRef Insert(const NodeRef& node, const EntryRef& entry, uint64_t priority,
                        EntryRef* replaced);
  static NodeRef Remove(const NodeRef& node, std::string_view name, EntryRef* removed);
  static NodeRef Merge(const NodeRef& left, const NodeRef& right);
  // Sets the id index's slot for `id` to `entry` (null clears it), copying the path to it.
  void SetById(uint32_t id, EntryRef entry);
  static IdNodeRef SetInTrie(const IdNode* node, uint32_t level, uint32_t id, EntryRef entry);

  NodeRef root_;
  size_t size_ = 0;
  IdNodeRef id_root_;
  uint32_t id_levels_ = 0;  // Levels of the id index: it holds ids below 2^(kIdBits*levels).
};

struct Version {
  Version(std::shared_ptr<VersionRegistry> registry, uint64_t sequence);
  ~Version();
  Version(const Version&) = delete;
  Version& operator=(const Version&) = delete;

  const ColumnFamilyState* Find(std::string_view name) const;
  const ColumnFamilyMap::Entry* FindById(uint32_t id) const { return column_families.FindById(id); }

  std::shared_ptr<VersionRegistry> registry;
  uint64_t sequence;
  uint64_t page_count = btree::kFirstDataPage;
  btree::PageRef catalog;
  btree::PageRef free_list;
  uint32_t next_cf_id = 1;
  ColumnFamilyMap column_families;
};

using VersionPtr = std::shared_ptr<const Version>;

// The public Snapshot handle: a reference to a Version.
class SnapshotImpl : public Snapshot {
 public:
  explicit SnapshotImpl(VersionPtr version) : version_(std::move(version)) {}
  uint64_t sequence() const override { return version_->sequence; }
  const VersionPtr& version() const { return version_; }

 private:
  VersionPtr version_;
};

// Catalog record for a column family: u32 id, u64 root page, u32 root crc.
std::string EncodeColumnFamilyRecord(const ColumnFamilyState& state);
[[nodiscard]] StatusOr<ColumnFamilyState> DecodeColumnFamilyRecord(std::string_view record);

}  // namespace manifold

#endif  // MANIFOLD_DB_VERSION_H_
