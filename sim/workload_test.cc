#include "sim/workload.h"

#include <gtest/gtest.h>

#include <map>

namespace manifold::sim {
namespace {

TEST(WorkloadTest, SameSeedSameWorkload) {
  WorkloadOptions options;
  std::vector<WorkloadOp> a = GenerateWorkload(7, options);
  std::vector<WorkloadOp> b = GenerateWorkload(7, options);
  ASSERT_EQ(a.size(), options.ops);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].Describe(), b[i].Describe());
  std::vector<WorkloadOp> c = GenerateWorkload(8, options);
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i].Describe() != c[i].Describe();
  EXPECT_GT(differ, a.size() / 2);
}

TEST(WorkloadTest, CoversEveryOperationKindAndSizeClass) {
  WorkloadOptions options;
  options.ops = 3000;
  std::map<OpKind, int> kinds;
  bool overflow_value = false, limit_key = false;
  for (const WorkloadOp& op : GenerateWorkload(1, options)) {
    ++kinds[op.kind];
    for (const KeyOp& w : op.writes) {
      overflow_value |= w.value_bytes > options.page_bytes;
      limit_key |= w.key.size() == options.page_bytes / 8;
    }
  }
  EXPECT_EQ(kinds.size(), 18u);
  EXPECT_TRUE(overflow_value);
  EXPECT_TRUE(limit_key);
}

TEST(WorkloadTest, ValuesAreDerivedDeterministically) {
  EXPECT_EQ(ValueFor(3, 1, 100), ValueFor(3, 1, 100));
  EXPECT_NE(ValueFor(3, 1, 100), ValueFor(3, 2, 100));
  EXPECT_EQ(ValueFor(9, 0, 5000).size(), 5000u);
  EXPECT_EQ(ValueFor(9, 0, 0), "");
}

}  // namespace
}  // namespace manifold::sim
