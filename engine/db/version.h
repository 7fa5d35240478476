// A Version is one committed state of the whole database: the catalog of column families and
// their roots as of one commit sequence number. Versions are immutable and shared by readers;
// while one is alive, no page it can reach is reused (invariant I4).
#ifndef MANIFOLD_DB_VERSION_H_
#define MANIFOLD_DB_VERSION_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "engine/btree/page.h"
#include "engine/btree/tree.h"
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
  btree::PageRef root;         // On disk. Empty when the column family holds no keys.
  btree::NodePtr memory_root;  // When set, the tree is in memory (newer than `root`).
  btree::TreeRoot tree() const { return btree::TreeRoot{root, memory_root}; }
};

struct Version {
  Version(std::shared_ptr<VersionRegistry> registry, uint64_t sequence);
  ~Version();
  Version(const Version&) = delete;
  Version& operator=(const Version&) = delete;

  const ColumnFamilyState* Find(std::string_view name) const;

  std::shared_ptr<VersionRegistry> registry;
  uint64_t sequence;
  uint64_t page_count = btree::kFirstDataPage;
  btree::PageRef catalog;
  btree::PageRef free_list;
  uint32_t next_cf_id = 1;
  std::map<std::string, ColumnFamilyState, std::less<>> column_families;
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
