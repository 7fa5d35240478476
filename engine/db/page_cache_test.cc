#include "engine/db/page_cache.h"

#include <gtest/gtest.h>

namespace manifold {
namespace {

btree::NodePtr LeafWith(int keys, size_t value_bytes) {
  auto node = std::make_shared<btree::Node>();
  for (int i = 0; i < keys; ++i) {
    node->keys.push_back("k" + std::to_string(i));
    node->values.push_back(btree::LeafValue::Inline(std::string(value_bytes, 'v')));
  }
  return node;
}

TEST(PageCacheTest, HitsOnlyTheVersionItCached) {
  PageCache cache(1 << 20);
  btree::NodePtr node = LeafWith(3, 10);
  cache.Insert(btree::PageRef{5, 111}, node);
  EXPECT_EQ(cache.Lookup(btree::PageRef{5, 111}), node);
  // Same page id, different checksum: a newer or older version of the page. Must miss.
  EXPECT_EQ(cache.Lookup(btree::PageRef{5, 222}), nullptr);
  EXPECT_EQ(cache.Lookup(btree::PageRef{6, 111}), nullptr);
  btree::NodePtr newer = LeafWith(1, 10);
  cache.Insert(btree::PageRef{5, 222}, newer);
  EXPECT_EQ(cache.Lookup(btree::PageRef{5, 222}), newer);
  EXPECT_EQ(cache.Lookup(btree::PageRef{5, 111}), nullptr);
}

TEST(PageCacheTest, StaysWithinItsBudget) {
  const uint64_t budget = 256 << 10;
  PageCache cache(budget);
  for (uint64_t page = 2; page < 2000; ++page) {
    cache.Insert(btree::PageRef{page, 1}, LeafWith(20, 100));
  }
  EXPECT_LE(cache.usage_bytes(), budget);
  EXPECT_GT(cache.usage_bytes(), budget / 2);
  // The most recent entries are still there; the oldest were evicted.
  EXPECT_NE(cache.Lookup(btree::PageRef{1999, 1}), nullptr);
  EXPECT_EQ(cache.Lookup(btree::PageRef{2, 1}), nullptr);
}

TEST(PageCacheTest, ShardsGrowWithCapacity) {
  EXPECT_EQ(PageCache(256 << 10).shard_count(), 1u);
  EXPECT_EQ(PageCache(8 << 20).shard_count(), 8u);
  EXPECT_EQ(PageCache(64ull << 20).shard_count(), PageCache::kShardsMax);
  EXPECT_EQ(PageCache(1ull << 30).shard_count(), PageCache::kShardsMax);
}

TEST(PageCacheTest, EvictsLeastRecentlyUsed) {
  PageCache cache(8 * 1024);  // One shard of 8 KiB.
  ASSERT_EQ(cache.shard_count(), 1u);
  btree::NodePtr node = LeafWith(10, 100);
  const size_t per_shard = 8 * 1024 / node->MemoryBytes();
  ASSERT_GE(per_shard, 2u);
  const uint64_t n = 1;
  for (uint64_t i = 1; i <= per_shard; ++i) cache.Insert(btree::PageRef{n * i, 1}, node);
  ASSERT_NE(cache.Lookup(btree::PageRef{n, 1}), nullptr);  // Touch the oldest.
  cache.Insert(btree::PageRef{n * (per_shard + 1), 1}, node);
  EXPECT_NE(cache.Lookup(btree::PageRef{n, 1}), nullptr);      // Recently used: kept.
  EXPECT_EQ(cache.Lookup(btree::PageRef{2 * n, 1}), nullptr);  // Oldest untouched: gone.
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);
}

}  // namespace
}  // namespace manifold
