#include "engine/db/commit_stats.h"

#include <gtest/gtest.h>

#include <vector>

namespace manifold {
namespace {

TEST(CommitStatsTest, SyncHistogramBucketsByPowerOfTwo) {
  CommitStats counters;
  for (uint64_t commits : {1, 2, 3, 4, 7, 8}) counters.AddSync(commits);
  Stats stats;
  counters.CopyTo(&stats);
  EXPECT_EQ(stats.log_syncs, 6u);
  EXPECT_EQ(stats.log_sync_commits, 25u);
  // [1], [2, 3], [4, 7], [8, 15].
  EXPECT_EQ(stats.commits_per_sync_histogram, (std::vector<uint64_t>{1, 2, 2, 1}));
}

TEST(CommitStatsTest, SyncHistogramLastBucketTakesTheRest) {
  CommitStats counters;
  counters.AddSync(0);
  counters.AddSync(~uint64_t{0});
  Stats stats;
  counters.CopyTo(&stats);
  ASSERT_EQ(stats.commits_per_sync_histogram.size(), CommitStats::kSyncBuckets);
  EXPECT_EQ(stats.commits_per_sync_histogram.front(), 1u);
  EXPECT_EQ(stats.commits_per_sync_histogram.back(), 1u);
}

TEST(CommitStatsTest, RolledBackRecordsAreTakenBack) {
  CommitStats counters;
  for (int i = 0; i < 5; ++i) counters.AddRecord();
  counters.RemoveRecords(3);
  counters.AddCommit();
  Stats stats;
  counters.CopyTo(&stats);
  EXPECT_EQ(stats.log_records, 2u);
  EXPECT_EQ(stats.commits, 1u);
}

TEST(CommitStatsTest, CheckpointTimesAddUpAndKeepTheLongest) {
  CommitStats counters;
  counters.AddCheckpoint(30);
  counters.AddCheckpoint(50);
  counters.AddCheckpoint(10);
  Stats stats;
  counters.CopyTo(&stats);
  EXPECT_EQ(counters.checkpoints(), 3u);
  EXPECT_EQ(stats.checkpoints, 3u);
  EXPECT_EQ(stats.checkpoint_us_total, 90u);
  EXPECT_EQ(stats.checkpoint_us_max, 50u);
}

TEST(CommitStatsTest, OneStallLinePerCheckpoint) {
  CommitStats counters;
  counters.AddStall();
  EXPECT_TRUE(counters.EndStall(5));
  counters.AddStall();
  EXPECT_FALSE(counters.EndStall(7));  // Same checkpoint interval: not logged again.
  counters.AddCheckpoint(1);
  counters.AddStall();
  EXPECT_TRUE(counters.EndStall(11));
  Stats stats;
  counters.CopyTo(&stats);
  EXPECT_EQ(stats.writer_stalls, 3u);
  EXPECT_EQ(stats.writer_stall_us, 23u);
}

}  // namespace
}  // namespace manifold
