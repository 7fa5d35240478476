#include "engine/db/page_cache.h"

namespace manifold {

PageCache::PageCache(uint64_t capacity_bytes) : shard_capacity_bytes_(capacity_bytes / kShards) {}

btree::NodePtr PageCache::Lookup(const btree::PageRef& ref) {
  Shard& shard = ShardFor(ref.page_id);
  port::MutexLock lock(&shard.mu);
  auto it = shard.index.find(ref.page_id);
  if (it == shard.index.end() || it->second->crc != ref.crc) return nullptr;
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->node;
}

void PageCache::Insert(const btree::PageRef& ref, btree::NodePtr node) {
  Shard& shard = ShardFor(ref.page_id);
  size_t charge = node->MemoryBytes();
  port::MutexLock lock(&shard.mu);
  auto it = shard.index.find(ref.page_id);
  if (it != shard.index.end()) {
    shard.usage_bytes -= it->second->charge_bytes;
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  shard.lru.push_front(Entry{ref.page_id, ref.crc, std::move(node), charge});
  shard.index[ref.page_id] = shard.lru.begin();
  shard.usage_bytes += charge;
  // Keep at least the newest entry even when it alone exceeds the shard's share.
  while (shard.usage_bytes > shard_capacity_bytes_ && shard.lru.size() > 1) {
    Entry& victim = shard.lru.back();
    shard.usage_bytes -= victim.charge_bytes;
    shard.index.erase(victim.page_id);
    shard.lru.pop_back();
  }
}

uint64_t PageCache::usage_bytes() const {
  uint64_t total = 0;
  for (const Shard& shard : shards_) {
    port::MutexLock lock(const_cast<port::Mutex*>(&shard.mu));
    total += shard.usage_bytes;
  }
  return total;
}

}  // namespace manifold
