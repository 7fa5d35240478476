// A bounded cache of decoded tree nodes keyed by page id, sharded so readers on different pages
// rarely share a lock. Entries remember the checksum of the page they were decoded from, so a
// lookup for a different version of the page misses instead of returning stale data.
// Eviction is second-chance (CLOCK over a list): a hit only sets a flag, so the hot path of
// every read (three lookups per Get) does not reorder a list under the shard's lock.
#ifndef MANIFOLD_DB_PAGE_CACHE_H_
#define MANIFOLD_DB_PAGE_CACHE_H_

#include <array>
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
  // Lookups that hit / missed, summed over the shards (counted under each shard's lock, so
  // readers do not contend on one shared counter).
  uint64_t hits() const;
  uint64_t misses() const;

  // Page ids are spread over shard_count() shards by page_id % shard_count(): one per MiB of
  // capacity, at most kShardsMax, so that a small cache is not split into shards smaller than a
  // few nodes (each shard keeps at least its newest entry).
  static constexpr size_t kShardsMax = 64;
  static constexpr uint64_t kShardBytesMin = 1 << 20;
  size_t shard_count() const { return shard_count_; }

 private:
  struct Entry {
    uint64_t page_id;
    uint32_t crc;
    btree::NodePtr node;
    size_t charge_bytes;
    bool referenced;  // Hit since it was last passed by the eviction hand.
  };
  struct Shard {
    port::Mutex mu;
    std::list<Entry> order MANIFOLD_GUARDED_BY(mu);  // Newest (or given a second chance) first.
    std::unordered_map<uint64_t, std::list<Entry>::iterator> index MANIFOLD_GUARDED_BY(mu);
    uint64_t usage_bytes MANIFOLD_GUARDED_BY(mu) = 0;
    uint64_t hits MANIFOLD_GUARDED_BY(mu) = 0;
    uint64_t misses MANIFOLD_GUARDED_BY(mu) = 0;
  };
  template <typename Field>
  uint64_t Sum(Field field) const;
  Shard& ShardFor(uint64_t page_id) { return shards_[page_id % shard_count_]; }

  size_t shard_count_;
  uint64_t shard_capacity_bytes_;
  std::array<Shard, kShardsMax> shards_;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_PAGE_CACHE_H_
