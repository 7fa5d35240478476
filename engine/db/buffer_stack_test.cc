// The short buffer stack (docs/design.md I47, I48): the cap on a column family's waiting
// immutable buffers is an option checked at open, and checkpoints merge several buffers at once
// rather than one per fill.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "manifold/db.h"
#include "manifold/env.h"

namespace manifold {
namespace {

Options SmallBuffers(FileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.page_bytes = 1024;
  options.background_checkpoints = false;  // Checkpoints run inline: a reproducible count.
  options.write_buffer_bytes_max = 16 << 20;
  options.write_buffer_bytes_per_cf_max = 64 << 10;
  options.checkpoint_dirty_bytes = 16 << 20;  // Only the stack triggers a checkpoint here.
  options.checkpoint_log_bytes = 1ull << 40;
  options.checkpoint_interval_us = 0;
  options.write_slowdown_delay_us = 0;
  return options;
}

TEST(BufferStackTest, OpenRefusesACapOutOfRange) {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  Options options = SmallBuffers(fs.get());
  for (uint64_t cap : {uint64_t{0}, uint64_t{65}}) {
    options.write_buffer_immutables_per_cf_max = cap;
    StatusOr<std::unique_ptr<DB>> db = DB::Open(options, "/db");
    ASSERT_TRUE(db.status().IsInvalidArgument()) << cap << ": " << db.status().ToString();
    EXPECT_NE(db.status().message().find("write_buffer_immutables_per_cf_max"), std::string::npos);
  }
  options.write_buffer_immutables_per_cf_max = 64;
  EXPECT_TRUE(DB::Open(options, "/db").ok());
}

// Writes `keys` keys of 100-byte values, in batches of 50, and returns the checkpoints taken.
uint64_t CheckpointsFor(uint64_t cap, int keys) {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  Options options = SmallBuffers(fs.get());
  options.write_buffer_immutables_per_cf_max = cap;
  StatusOr<std::unique_ptr<DB>> opened = DB::Open(options, "/db");
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  std::unique_ptr<DB> db = std::move(opened).value();
  const uint64_t before = db->GetStats().checkpoints;
  const std::string value(100, 'v');
  for (int i = 0; i < keys; i += 50) {
    WriteBatch batch;
    for (int j = i; j < i + 50; ++j)
      batch.Put("default", "key" + std::to_string(j * 7919 % keys), value);
    Status written = db->Write({}, batch);
    EXPECT_TRUE(written.ok()) << written.ToString();
  }
  for (int i = 0; i < keys; i += 97) {
    StatusOr<std::string> got = db->Get({}, "default", "key" + std::to_string(i));
    EXPECT_TRUE(got.ok() && *got == value) << i << ": " << got.status().ToString();
  }
  const Stats stats = db->GetStats();
  EXPECT_EQ(stats.writer_stalls,
            0u);  // Inline checkpoints take the stack before it passes the cap.
  return stats.checkpoints - before;
}

TEST(BufferStackTest, CheckpointsMergeUpToTheCapOfBuffersAtOnce) {
  // 8,000 entries of ~150 arena bytes fill about 18 buffers of 64 KiB.
  const uint64_t one = CheckpointsFor(1, 8000);
  const uint64_t three = CheckpointsFor(3, 8000);
  EXPECT_GT(one, 12u);
  // I48: a checkpoint is due when 3 buffers wait, not at each fill (each checkpoint also takes
  // the active buffer, partly full, so not quite a third as many).
  EXPECT_LE(2 * three, one) << three << " checkpoints with a cap of 3, " << one << " with 1";
  EXPECT_GT(three, 0u);
}

}  // namespace
}  // namespace manifold
