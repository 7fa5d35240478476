#include "engine/db/page_cache.h"

#include <gtest/gtest.h>

namespace manifold {
namespace {

// A page image of `bytes` bytes; its content does not matter to the cache.
SharedBytes Image(size_t bytes, char fill = 'p') { return SharedBytes(std::string(bytes, fill)); }

TEST(PageCacheTest, HitsOnlyTheVersionItCached) {
  PageCache cache(1 << 20);
  SharedBytes image = Image(4096, 'a');
  cache.Insert(btree::PageRef{5, 111}, image);
  EXPECT_EQ(cache.Lookup(btree::PageRef{5, 111}).buffer_id(), image.buffer_id());
  // Same page id, different checksum: a newer or older version of the page. Must miss.
  EXPECT_TRUE(cache.Lookup(btree::PageRef{5, 222}).empty());
  EXPECT_TRUE(cache.Lookup(btree::PageRef{6, 111}).empty());
  SharedBytes newer = Image(4096, 'b');
  cache.Insert(btree::PageRef{5, 222}, newer);
  EXPECT_EQ(cache.Lookup(btree::PageRef{5, 222}).buffer_id(), newer.buffer_id());
  EXPECT_TRUE(cache.Lookup(btree::PageRef{5, 111}).empty());
}

TEST(PageCacheTest, StaysWithinItsBudget) {
  const uint64_t budget = 256 << 10;
  PageCache cache(budget);
  const uint64_t charge = PageCache::ChargeOf(Image(4096));
  for (uint64_t page = 2; page < 2000; ++page) {
    cache.Insert(btree::PageRef{page, 1}, Image(4096));
    ASSERT_LE(cache.usage_bytes(), budget);  // I42, after every insert.
  }
  // Counted by the images' bytes: as many whole images as fit.
  EXPECT_EQ(cache.usage_bytes(), budget / charge * charge);
  // The most recent entries are still there; the oldest were evicted.
  EXPECT_FALSE(cache.Lookup(btree::PageRef{1999, 1}).empty());
  EXPECT_TRUE(cache.Lookup(btree::PageRef{2, 1}).empty());
}

TEST(PageCacheTest, AnImageLargerThanTheCacheIsNotKept) {
  PageCache cache(2048);
  cache.Insert(btree::PageRef{3, 1}, Image(4096));
  EXPECT_EQ(cache.usage_bytes(), 0u);
  EXPECT_TRUE(cache.Lookup(btree::PageRef{3, 1}).empty());
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
  SharedBytes node = Image(1024);
  const size_t per_shard = 8 * 1024 / PageCache::ChargeOf(node);
  ASSERT_GE(per_shard, 2u);
  const uint64_t n = 1;
  for (uint64_t i = 1; i <= per_shard; ++i) cache.Insert(btree::PageRef{n * i, 1}, node);
  ASSERT_FALSE(cache.Lookup(btree::PageRef{n, 1}).empty());  // Touch the oldest.
  cache.Insert(btree::PageRef{n * (per_shard + 1), 1}, node);
  EXPECT_FALSE(cache.Lookup(btree::PageRef{n, 1}).empty());     // Recently used: kept.
  EXPECT_TRUE(cache.Lookup(btree::PageRef{2 * n, 1}).empty());  // Oldest untouched: gone.
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);
}

// Replacements, evictions and freed slots reused, many times over in one shard: the cache stays
// within its budget, the newest image of each page is the one found, and a replaced version is
// never returned.
TEST(PageCacheTest, ReplacesAndEvictsConsistentlyOverManyRounds) {
  PageCache cache(16 * 1024);  // One shard, four 4 KiB images.
  ASSERT_EQ(cache.shard_count(), 1u);
  const uint64_t charge = PageCache::ChargeOf(Image(4096));
  const uint64_t fits = 16 * 1024 / charge;
  ASSERT_GE(fits, 2u);
  for (uint32_t round = 1; round <= 200; ++round) {
    const uint64_t page = round % 7;
    SharedBytes image = Image(4096, static_cast<char>('a' + round % 26));
    cache.Insert(btree::PageRef{page, round}, image);
    ASSERT_LE(cache.usage_bytes(), 16u * 1024);
    ASSERT_EQ(cache.Lookup(btree::PageRef{page, round}).buffer_id(), image.buffer_id());
    if (round > 7) {
      // The version of this page inserted 7 rounds ago was replaced.
      ASSERT_TRUE(cache.Lookup(btree::PageRef{page, round - 7}).empty());
    }
  }
  EXPECT_EQ(cache.usage_bytes(), fits * charge);
}

}  // namespace
}  // namespace manifold
