#include "engine/db/page_cache.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "engine/util/check.h"

namespace manifold {

PageCache::PageCache(uint64_t capacity_bytes)
    : shard_count_(std::clamp<uint64_t>(capacity_bytes / kShardBytesMin, 1, kShardsMax)),
      shard_capacity_bytes_(capacity_bytes / shard_count_) {}

SharedBytes PageCache::Lookup(const btree::PageRef& ref) {
  Shard& shard = ShardFor(ref.page_id);
  port::MutexLock lock(&shard.mu);
  auto it = shard.index.find(ref.page_id);
  if (it == shard.index.end() || it->second->crc != ref.crc) {
    ++shard.misses;
    return SharedBytes();
  }
  ++shard.hits;
  it->second->referenced = true;
  return it->second->image;
}

void PageCache::Insert(const btree::PageRef& ref, SharedBytes image) {
  Shard& shard = ShardFor(ref.page_id);
  const size_t charge = ChargeOf(image);
  // I42: the cache never holds more than its capacity, so an image that cannot fit even in an
  // empty shard stays with its reader only.
  if (charge > shard_capacity_bytes_) return;
  std::vector<SharedBytes> evicted;  // Freed after the lock.
  port::MutexLock lock(&shard.mu);
  auto it = shard.index.find(ref.page_id);
  if (it != shard.index.end()) {
    shard.usage_bytes -= it->second->charge_bytes;
    evicted.push_back(std::move(it->second->image));
    shard.order.erase(it->second);
    shard.index.erase(it);
  }
  shard.order.push_front(Entry{ref.page_id, ref.crc, std::move(image), charge, false});
  shard.index[ref.page_id] = shard.order.begin();
  shard.usage_bytes += charge;
  // A new entry starts unflagged at the front, so it goes only after every older entry had its
  // second chance. Every pass over a flagged entry clears its flag, so this ends within two
  // passes over the list; the new entry fits alone (checked above), so it stays.
  while (shard.usage_bytes > shard_capacity_bytes_) {
    auto victim = std::prev(shard.order.end());
    if (victim->referenced) {
      victim->referenced = false;
      shard.order.splice(shard.order.begin(), shard.order, victim);
      continue;
    }
    shard.usage_bytes -= victim->charge_bytes;
    shard.index.erase(victim->page_id);
    evicted.push_back(std::move(victim->image));
    shard.order.erase(victim);
  }
  MANIFOLD_CHECK(shard.usage_bytes <= shard_capacity_bytes_,
                 "I42: the page cache holds at most cache_bytes_max bytes of page images");
}  // `lock` is released before `evicted` (declared first) frees the images.

template <typename Field>
uint64_t PageCache::Sum(Field field) const {
  uint64_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    port::MutexLock lock(const_cast<port::Mutex*>(&shard.mu));
    total += shard.*field;
  }
  return total;
}

uint64_t PageCache::usage_bytes() const { return Sum(&Shard::usage_bytes); }
uint64_t PageCache::hits() const { return Sum(&Shard::hits); }
uint64_t PageCache::misses() const { return Sum(&Shard::misses); }

}  // namespace manifold
