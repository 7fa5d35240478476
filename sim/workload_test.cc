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

// Empty values (a null data pointer in the page encoder once: issue 11 item 7) are written by
// single puts and batches, and checkpoints follow them, so they reach the data file.
TEST(WorkloadTest, WritesEmptyValuesThatCheckpointsThenCover) {
  WorkloadOptions options;
  options.ops = 3000;
  int empty_puts = 0, empty_batch_writes = 0, checkpointed = 0;
  bool pending = false;
  for (const WorkloadOp& op : GenerateWorkload(1, options)) {
    if (op.kind == OpKind::kCheckpoint && pending) ++checkpointed, pending = false;
    for (const KeyOp& w : op.writes) {
      if (w.is_delete || w.value_bytes != 0) continue;
      pending = true;
      ++(op.kind == OpKind::kPut ? empty_puts : empty_batch_writes);
    }
  }
  EXPECT_GE(empty_puts, 10);
  EXPECT_GE(empty_batch_writes, 10);
  EXPECT_GE(checkpointed, 10);
}

TEST(WorkloadTest, HoldsSnapshotsAcrossCheckpointsThatFreeTheirPages) {
  // The snapshot-churn script: checkpoint, snapshot, batch, checkpoint, batch, checkpoint, then
  // a full scan at that snapshot of the column family the batches changed.
  WorkloadOptions options;
  options.ops = 3000;
  const std::vector<WorkloadOp> ops = GenerateWorkload(1, options);
  int scripts = 0;
  for (size_t i = 0; i + 6 < ops.size(); ++i) {
    const OpKind expected[] = {OpKind::kCheckpoint,  OpKind::kTakeSnapshot, OpKind::kBatch,
                               OpKind::kCheckpoint,  OpKind::kBatch,        OpKind::kCheckpoint,
                               OpKind::kReadSnapshot};
    bool match = true;
    for (size_t k = 0; k < 7; ++k) match = match && ops[i + k].kind == expected[k];
    if (!match) continue;
    ++scripts;
    const WorkloadOp& read = ops[i + 6];
    EXPECT_EQ(read.snapshot_slot, ops[i + 1].snapshot_slot);
    EXPECT_TRUE(read.lower.empty() && read.upper.empty());
    EXPECT_EQ(read.limit, 0u);
    for (size_t batch : {i + 2, i + 4}) {
      EXPECT_GE(ops[batch].writes.size(), 20u);
      for (const KeyOp& w : ops[batch].writes) EXPECT_EQ(w.cf, read.cf);
    }
    for (size_t k = 0; k < 7; ++k) EXPECT_EQ(ops[i + k].index, i + k);
  }
  EXPECT_GE(scripts, 10);
}

TEST(WorkloadTest, ValuesAreDerivedDeterministically) {
  EXPECT_EQ(ValueFor(3, 1, 100), ValueFor(3, 1, 100));
  EXPECT_NE(ValueFor(3, 1, 100), ValueFor(3, 2, 100));
  EXPECT_EQ(ValueFor(9, 0, 5000).size(), 5000u);
  EXPECT_EQ(ValueFor(9, 0, 0), "");
}

}  // namespace
}  // namespace manifold::sim
