#include "engine/db/page_cache.h"

#include <algorithm>
#include <vector>

#include "engine/util/check.h"

namespace manifold {

PageCache::PageCache(uint64_t capacity_bytes)
    : shard_count_(std::clamp<uint64_t>(capacity_bytes / kShardBytesMin, 1, kShardsMax)),
      shard_capacity_bytes_(capacity_bytes / shard_count_) {}

SharedBytes PageCache::Lookup(const btree::PageRef& ref) {
  Shard& shard = ShardFor(ref.page_id);
  port::MutexLock lock(&shard.mu);
  const uint32_t slot = shard.index.Find(ref.page_id);
  if (slot == PageIdIndex::kNotFound || shard.slots[slot].crc != ref.crc) {
    ++shard.misses;
    return SharedBytes();
  }
  ++shard.hits;
  Entry& entry = shard.slots[slot];
  MANIFOLD_CHECK(entry.page_id == ref.page_id, "I42: the index points at the page's own slot");
  entry.referenced = true;
  return entry.image;
}

void PageCache::Release(Shard* shard, uint32_t slot, std::vector<SharedBytes>* evicted) {
  Entry& entry = shard->slots[slot];
  const bool indexed = shard->index.Erase(entry.page_id);
  MANIFOLD_CHECK(indexed, "I42: every used slot is in its shard's index");
  shard->usage_bytes -= entry.charge_bytes;
  evicted->push_back(std::move(entry.image));
  entry = Entry{};
  shard->free_slots.push_back(slot);
}

void PageCache::Insert(const btree::PageRef& ref, SharedBytes image) {
  Shard& shard = ShardFor(ref.page_id);
  const size_t charge = ChargeOf(image);
  // I42: the cache never holds more than its capacity, so an image that cannot fit even in an
  // empty shard stays with its reader only.
  if (charge > shard_capacity_bytes_) return;
  std::vector<SharedBytes> evicted;  // Freed after the lock.
  port::MutexLock lock(&shard.mu);
  uint32_t slot = shard.index.Find(ref.page_id);
  if (slot != PageIdIndex::kNotFound) {
    // A newer (or older) version of a cached page replaces it in its slot. It keeps a second
    // chance, as a hit would give it: the checkpoint that wrote it seeds the cache with pages
    // readers are about to need (I42).
    Entry& entry = shard.slots[slot];
    shard.usage_bytes -= entry.charge_bytes;
    evicted.push_back(std::move(entry.image));
    entry = Entry{ref.page_id, ref.crc, std::move(image), charge, true};
  } else {
    if (!shard.free_slots.empty()) {
      slot = shard.free_slots.back();
      shard.free_slots.pop_back();
    } else {
      MANIFOLD_CHECK(shard.slots.size() < PageIdIndex::kNotFound, "I42: slots fit 32 bits");
      slot = static_cast<uint32_t>(shard.slots.size());
      shard.slots.emplace_back();
    }
    // A new entry starts unflagged; a freed slot is one the hand just passed, so the entry goes
    // only after every older entry had its second chance.
    shard.slots[slot] = Entry{ref.page_id, ref.crc, std::move(image), charge, false};
    shard.index.Set(ref.page_id, slot);
  }
  shard.usage_bytes += charge;
  // Every pass over a flagged entry clears its flag, so this ends within two sweeps; the new
  // entry fits alone (checked above) and is never the victim, so it stays.
  while (shard.usage_bytes > shard_capacity_bytes_) {
    if (shard.hand >= shard.slots.size()) shard.hand = 0;
    const uint32_t victim = static_cast<uint32_t>(shard.hand++);
    Entry& entry = shard.slots[victim];
    if (entry.page_id == PageIdIndex::kNoPage || victim == slot) continue;
    if (entry.referenced) {
      entry.referenced = false;
      continue;
    }
    Release(&shard, victim, &evicted);
  }
  MANIFOLD_CHECK(shard.usage_bytes <= shard_capacity_bytes_,
                 "I42: the page cache holds at most cache_bytes_max bytes of page images");
  MANIFOLD_CHECK(shard.index.size() + shard.free_slots.size() == shard.slots.size(),
                 "I42: every slot is either indexed or free");
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
