// A bounded cache of tree page images keyed by page id, sharded so readers on different pages
// rarely share a lock. A clean node in memory is its page image (engine/btree/node_page.h), so
// the cache holds exactly the bytes of the pages, counted by their buffers (I42): no decoded
// node lives here. Entries remember their page's checksum, so a lookup for a different version
// of the page misses instead of returning stale data.
// Eviction is second-chance (CLOCK: a hand sweeping a shard's slots): a hit only sets a flag, so
// the hot path of every read (three lookups per Get) moves nothing under the shard's lock. A
// shard's index is a flat open-addressing table (page_id_index.h) and its entries live in one
// vector of slots, so neither a lookup nor an insert allocates a node.
#ifndef MANIFOLD_DB_PAGE_CACHE_H_
#define MANIFOLD_DB_PAGE_CACHE_H_

#include <array>
#include <cstdint>
#include <vector>

#include "engine/btree/page.h"
#include "engine/db/page_id_index.h"
#include "engine/port/sync.h"
#include "engine/util/shared_bytes.h"

namespace manifold {

class PageCache {
 public:
  explicit PageCache(uint64_t capacity_bytes);

  // The image cached for `ref.page_id` if its checksum is `ref.crc`; empty on a miss.
  SharedBytes Lookup(const btree::PageRef& ref);
  // Caches `image` (a checked page, I40) as the content of `ref`, replacing any older entry for
  // the page id. An image larger than a shard's share is not cached (I42).
  void Insert(const btree::PageRef& ref, SharedBytes image);
  // What an image is charged: every byte of its buffer.
  static uint64_t ChargeOf(const SharedBytes& image) { return image.MemoryBytes(); }
  uint64_t usage_bytes() const;
  // Lookups that hit / missed, summed over the shards (counted under each shard's lock, so
  // readers do not contend on one shared counter).
  uint64_t hits() const;
  uint64_t misses() const;

  // Page ids are spread over shard_count() shards by page_id % shard_count(): one per MiB of
  // capacity, at most kShardsMax, so that a small cache is not split into shards smaller than a
  // few pages.
  static constexpr size_t kShardsMax = 64;
  static constexpr uint64_t kShardBytesMin = 1 << 20;
  size_t shard_count() const { return shard_count_; }

 private:
  struct Entry {
    uint64_t page_id = PageIdIndex::kNoPage;  // kNoPage: a free slot.
    uint32_t crc = 0;
    SharedBytes image;
    size_t charge_bytes = 0;
    bool referenced = false;  // Hit since the hand last passed it.
  };
  struct Shard {
    port::Mutex mu;
    std::vector<Entry> slots MANIFOLD_GUARDED_BY(mu);
    std::vector<uint32_t> free_slots MANIFOLD_GUARDED_BY(mu);  // Indexes of free slots.
    PageIdIndex index MANIFOLD_GUARDED_BY(mu);                 // page id -> its slot.
    size_t hand MANIFOLD_GUARDED_BY(mu) = 0;                   // The next slot to consider.
    uint64_t usage_bytes MANIFOLD_GUARDED_BY(mu) = 0;
    uint64_t hits MANIFOLD_GUARDED_BY(mu) = 0;
    uint64_t misses MANIFOLD_GUARDED_BY(mu) = 0;
  };
  // Removes the entry in `slot` (used), moving its image to `evicted`.
  static void Release(Shard* shard, uint32_t slot, std::vector<SharedBytes>* evicted)
      MANIFOLD_REQUIRES(shard->mu);
  template <typename Field>
  uint64_t Sum(Field field) const;
  Shard& ShardFor(uint64_t page_id) { return shards_[page_id % shard_count_]; }

  size_t shard_count_;
  uint64_t shard_capacity_bytes_;
  std::array<Shard, kShardsMax> shards_;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_PAGE_CACHE_H_
