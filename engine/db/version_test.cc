#include "engine/db/version.h"

#include <gtest/gtest.h>

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
  version.column_families["default"] = ColumnFamilyState{0, {}, nullptr};
  version.column_families["users"] = ColumnFamilyState{4, btree::PageRef{9, 1}, nullptr};
  ASSERT_NE(version.Find("users"), nullptr);
  EXPECT_EQ(version.Find("users")->id, 4u);
  EXPECT_EQ(version.Find("nope"), nullptr);
}

}  // namespace
}  // namespace manifold
