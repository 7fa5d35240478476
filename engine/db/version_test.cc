#include "engine/db/version.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace manifold {
namespace {

TEST(CatalogRecordTest, RoundTrip) {
  ColumnFamilyState state{7, btree::PageRef{1234, 0xabcdef01}, nullptr};
  auto decoded = DecodeColumnFamilyRecord(EncodeColumnFamilyRecord(state));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->id, 7u);
  EXPECT_EQ(decoded->root, state.root);
  ColumnFamilyState empty{0, {}, nullptr};
  EXPECT_TRUE(DecodeColumnFamilyRecord(EncodeColumnFamilyRecord(empty))->root.empty());
}

TEST(CatalogRecordTest, RejectsBadRecords) {
  EXPECT_TRUE(DecodeColumnFamilyRecord("short").status().IsCorruption());
  // A root pointing at a header slot page is corrupt.
  std::string record =
      EncodeColumnFamilyRecord(ColumnFamilyState{1, btree::PageRef{1, 5}, nullptr});
  EXPECT_TRUE(DecodeColumnFamilyRecord(record).status().IsCorruption());
}

TEST(VersionRegistryTest, OldestLiveFollowsVersionLifetimes) {
  auto registry = std::make_shared<VersionRegistry>();
  EXPECT_EQ(registry->OldestLive(), UINT64_MAX);
  auto v3 = std::make_shared<Version>(registry, 3);
  auto v5 = std::make_shared<Version>(registry, 5);
  auto v5b = std::make_shared<Version>(registry, 5);
  EXPECT_EQ(registry->OldestLive(), 3u);
  v3.reset();
  EXPECT_EQ(registry->OldestLive(), 5u);
  v5.reset();
  EXPECT_EQ(registry->OldestLive(), 5u);  // A second version at 5 still lives.
  v5b.reset();
  EXPECT_EQ(registry->OldestLive(), UINT64_MAX);
}

TEST(VersionTest, FindsColumnFamiliesByName) {
  auto registry = std::make_shared<VersionRegistry>();
  Version version(registry, 1);
  version.column_families.Set("default", ColumnFamilyState{0, {}, nullptr});
  version.column_families.Set("users", ColumnFamilyState{4, btree::PageRef{9, 1}, nullptr});
  ASSERT_NE(version.Find("users"), nullptr);
  EXPECT_EQ(version.Find("users")->id, 4u);
  EXPECT_EQ(version.Find("nope"), nullptr);
}

// The catalog against a std::map model through inserts, replacements and erases, checking that
// every earlier copy still reads exactly what it held when it was taken.
// The id index grows a level as ids pass each power of 2^kIdBits, and keeps every id's path.
TEST(ColumnFamilyMapTest, IdIndexSpansLevelsAndLargeIds) {
  ColumnFamilyMap map;
  const std::vector<uint32_t> ids = {0, 1, 31, 32, 1023, 1024, 40000, 1u << 30, UINT32_MAX};
  for (uint32_t id : ids) {
    map.Set("cf" + std::to_string(id), ColumnFamilyState{id, {}, nullptr});
    for (uint32_t earlier : ids) {
      if (earlier > id) break;
      const ColumnFamilyMap::Entry* entry = map.FindById(earlier);
      ASSERT_NE(entry, nullptr) << earlier << " after " << id;
      EXPECT_EQ(entry->name, "cf" + std::to_string(earlier));
    }
  }
  EXPECT_EQ(map.FindById(2), nullptr);
  EXPECT_EQ(map.FindById(1025), nullptr);
  ASSERT_TRUE(map.Erase("cf1024"));
  EXPECT_EQ(map.FindById(1024), nullptr);
  EXPECT_NE(map.FindById(1023), nullptr);
  EXPECT_NE(map.FindById(UINT32_MAX), nullptr);
}

TEST(ColumnFamilyMapTest, MatchesModelAndCopiesKeepTheirState) {
  ColumnFamilyMap map;
  std::map<std::string, uint32_t> model;
  std::vector<std::pair<ColumnFamilyMap, std::map<std::string, uint32_t>>> copies;
  uint64_t x = 12345;
  for (uint32_t step = 0; step < 3000; ++step) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const std::string name = "cf" + std::to_string((x >> 33) % 200);
    if ((x >> 20) % 4 == 0) {
      EXPECT_EQ(map.Erase(name), model.erase(name) == 1) << name;
    } else {
      map.Set(name, ColumnFamilyState{step, {}, nullptr});
      model[name] = step;
    }
    if (step % 300 == 0) copies.emplace_back(map, model);
  }
  copies.emplace_back(map, model);
  for (const auto& [copy, expected] : copies) {
    ASSERT_EQ(copy.size(), expected.size());
    auto want = expected.begin();
    for (const auto& [name, state] : copy) {
      ASSERT_NE(want, expected.end());
      EXPECT_EQ(name, want->first);
      EXPECT_EQ(state.id, want->second);
      ++want;
    }
    EXPECT_EQ(want, expected.end());
    for (const auto& [name, id] : expected) {
      const ColumnFamilyState* found = copy.Find(name);
      ASSERT_NE(found, nullptr) << name;
      EXPECT_EQ(found->id, id);
      // The id index (I46) finds the same entry.
      const ColumnFamilyMap::Entry* by_id = copy.FindById(id);
      ASSERT_NE(by_id, nullptr) << id;
      EXPECT_EQ(by_id->name, name);
      EXPECT_EQ(&by_id->state, found);
    }
    EXPECT_EQ(copy.Find("absent"), nullptr);
    // Ids replaced or erased are gone from the index: exactly the model's ids are found.
    size_t ids_found = 0;
    for (uint32_t id = 0; id < 3000; ++id) ids_found += copy.FindById(id) != nullptr ? 1 : 0;
    EXPECT_EQ(ids_found, expected.size());
  }
  map.Clear();
  EXPECT_EQ(map.FindById(2999), nullptr);
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
  EXPECT_FALSE(map.Erase("cf1"));
}

}  // namespace
}  // namespace manifold
