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

TEST(PageCacheTest, EvictsLeastRecentlyUsed) {
  PageCache cache(16 * 8 * 1024);  // 16 shards of 8 KiB.
  btree::NodePtr node = LeafWith(10, 100);
  const size_t per_shard = 8 * 1024 / node->MemoryBytes();
  ASSERT_GE(per_shard, 2u);
  // Pages 16, 32, 48... all land in shard 0.
  for (uint64_t i = 1; i <= per_shard; ++i) cache.Insert(btree::PageRef{16 * i, 1}, node);
  ASSERT_NE(cache.Lookup(btree::PageRef{16, 1}), nullptr);  // Touch the oldest.
  cache.Insert(btree::PageRef{16 * (per_shard + 1), 1}, node);
  EXPECT_NE(cache.Lookup(btree::PageRef{16, 1}), nullptr);  // Recently used: kept.
  EXPECT_EQ(cache.Lookup(btree::PageRef{32, 1}), nullptr);  // Least recently used: gone.
}

}  // namespace
}  // namespace manifold
