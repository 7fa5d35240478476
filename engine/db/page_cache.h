// A bounded cache of decoded tree nodes keyed by page id, sharded so readers on different pages
// rarely share a lock. Entries remember the checksum of the page they were decoded from, so a
// lookup for a different version of the page misses instead of returning stale data.
#ifndef MANIFOLD_DB_PAGE_CACHE_H_
#define MANIFOLD_DB_PAGE_CACHE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <unordered_map>

#include "engine/btree/page.h"
#include "engine/port/sync.h"

namespace manifold {

class PageCache {
 public:
  explicit PageCache(uint64_t capacity_bytes);

  // The node cached for `ref.page_id` if it was decoded from a page with checksum `ref.crc`.
  btree::NodePtr Lookup(const btree::PageRef& ref);
  // Caches `node` as the content of `ref`, replacing any older entry for the page id.
  void Insert(const btree::PageRef& ref, btree::NodePtr node);
  uint64_t usage_bytes() const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    uint64_t page_id;
    uint32_t crc;
    btree::NodePtr node;
    size_t charge_bytes;
  };
  struct Shard {
    port::Mutex mu;
    std::list<Entry> lru MANIFOLD_GUARDED_BY(mu);  // Most recently used first.
    std::unordered_map<uint64_t, std::list<Entry>::iterator> index MANIFOLD_GUARDED_BY(mu);
    uint64_t usage_bytes MANIFOLD_GUARDED_BY(mu) = 0;
  };
  Shard& ShardFor(uint64_t page_id) { return shards_[page_id % kShards]; }

  uint64_t shard_capacity_bytes_;
  std::array<Shard, kShards> shards_;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_PAGE_CACHE_H_
