#include "engine/db/page_id_index.h"

#include <gtest/gtest.h>

#include <unordered_map>

#include "engine/util/random.h"

namespace manifold {
namespace {

TEST(PageIdIndexTest, FindsWhatWasSetAndNotWhatWasErased) {
  PageIdIndex index;
  EXPECT_EQ(index.Find(7), PageIdIndex::kNotFound);
  index.Set(7, 70);
  index.Set(0, 1);
  EXPECT_EQ(index.Find(7), 70u);
  EXPECT_EQ(index.Find(0), 1u);
  index.Set(7, 71);  // Replaces.
  EXPECT_EQ(index.Find(7), 71u);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_TRUE(index.Erase(7));
  EXPECT_FALSE(index.Erase(7));
  EXPECT_EQ(index.Find(7), PageIdIndex::kNotFound);
  EXPECT_EQ(index.Find(0), 1u);
  EXPECT_EQ(index.size(), 1u);
}

TEST(PageIdIndexTest, GrowsAndStaysAtMostHalfFull) {
  PageIdIndex index;
  // One shard's ids: all congruent modulo the shard count, the pattern Home must spread.
  for (uint32_t i = 0; i < 10000; ++i) {
    index.Set(uint64_t{i} * 64 + 5, i);
    ASSERT_LE(index.size() * 2, index.slot_count());
  }
  for (uint32_t i = 0; i < 10000; ++i) ASSERT_EQ(index.Find(uint64_t{i} * 64 + 5), i);
  EXPECT_EQ(index.Find(4), PageIdIndex::kNotFound);
}

// Random sets and erases, checked against std::unordered_map after every step: backward-shift
// deletion must never leave an id unreachable behind an emptied slot.
TEST(PageIdIndexTest, AgreesWithAMapUnderRandomSetsAndErases) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    Xoshiro256 random(seed);
    PageIdIndex index;
    std::unordered_map<uint64_t, uint32_t> model;
    const uint64_t id_range = 64 * seed;  // Small ranges: long probe runs, many collisions.
    for (int step = 0; step < 20000; ++step) {
      const uint64_t id = random.Uniform(id_range) * 64 + seed;
      if (random.Uniform(3) == 0) {
        ASSERT_EQ(index.Erase(id), model.erase(id) == 1) << "seed " << seed << " step " << step;
      } else {
        const uint32_t value = static_cast<uint32_t>(random.Uniform(1000000));
        index.Set(id, value);
        model[id] = value;
      }
      ASSERT_EQ(index.size(), model.size());
      const uint64_t probe = random.Uniform(id_range) * 64 + seed;
      auto it = model.find(probe);
      ASSERT_EQ(index.Find(probe), it == model.end() ? PageIdIndex::kNotFound : it->second)
          << "seed " << seed << " step " << step;
    }
    for (const auto& [id, value] : model) ASSERT_EQ(index.Find(id), value);
  }
}

}  // namespace
}  // namespace manifold
