// An I/O error at every sync a clean run makes: after a failed sync the database refuses every
// write, a transaction's included, until it is reopened, and reads keep returning the
// acknowledged commits.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"
#include "tests/crash_fs.h"
#include "tests/crash_workload.h"

namespace manifold::crash_test {
namespace {

// After a failed sync -- of the log, of a new segment's directory entry, or of a checkpoint --
// the database refuses every write, even once the file system works again, until it is reopened;
// reads keep returning exactly the acknowledged commits; the reopened database holds the
// acknowledged commits (and maybe the failed one) and is writable. Cut at every sync a clean run
// makes while the workload runs.
TEST(CrashTest, IOErrorMakesDatabaseRefuseWritesUntilReopen) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  for (Checkpoints checkpoints : {Checkpoints::kAtClose, Checkpoints::kFrequent}) {
    const SyncMap map = CleanRun(steps, states, checkpoints);
    ASSERT_FALSE(::testing::Test::HasFailure());
    int failed_in_checkpoint = 0;
    for (uint64_t n = map.open_end; n < map.step_end.back(); ++n) {
      SCOPED_TRACE(std::string(CheckpointsName(checkpoints)) + ", cut at sync " +
                   std::to_string(n) + " (step " + std::to_string(map.PhaseOf(n)) + ")");
      auto inner = NewMemFileSystem();
      CrashFileSystem fs(inner.get());
      auto db = DB::Open(TestOptions(&fs, checkpoints), kDbPath);
      ASSERT_TRUE(db.ok());
      ASSERT_EQ(fs.sync_calls(), map.open_end);
      fs.CutAtSync(n, CutMode::kFailSync);
      size_t acked = 0;
      std::optional<size_t> failed;
      for (size_t i = 0; i < steps.size() && !failed; ++i) {
        Status s = RunStep(db->get(), steps[i]);
        if (s.ok()) {
          ++acked;
        } else {
          failed = i;
          EXPECT_TRUE(s.IsIOError() || s.IsReadOnly()) << s.ToString();
        }
      }
      const size_t cut_step = static_cast<size_t>(map.PhaseOf(n));
      if (!failed.has_value()) {
        // Only a checkpoint the last step triggered after it was acknowledged can fail unseen
        // by the steps; the next write sees the failure.
        EXPECT_EQ(cut_step, steps.size() - 1);
        Status s = (*db)->Put({}, "default", "extra", "v");
        EXPECT_TRUE(s.IsReadOnly()) << s.ToString();
      }
      // The step whose sync failed fails, or the next one when the sync was a checkpoint's that
      // the previous step triggered.
      EXPECT_TRUE(acked == cut_step || acked == cut_step + 1) << "acked " << acked;
      if (acked == cut_step + 1) ++failed_in_checkpoint;
      // The device works again, but the database must not trust its state.
      fs.Restore();
      EXPECT_FALSE((*db)->Put({}, "default", "k", "v").ok());
      EXPECT_FALSE((*db)->Delete({}, "default", "k").ok());
      WriteOptions no_sync;
      no_sync.sync = false;
      Status unsynced = (*db)->Put(no_sync, "default", "k", "v");
      EXPECT_TRUE(unsynced.IsReadOnly()) << unsynced.ToString();
      WriteBatch batch;
      batch.Put("default", "k", "v");
      Status write = (*db)->Write({}, batch);
      EXPECT_FALSE(write.ok());
      EXPECT_TRUE(write.IsReadOnly()) << write.ToString();
      EXPECT_FALSE(write.message().empty());
      EXPECT_FALSE((*db)->CreateColumnFamily("new-cf").ok());
      Status checkpoint = (*db)->Checkpoint();
      EXPECT_TRUE(checkpoint.IsReadOnly()) << checkpoint.ToString();
      auto txn = (*db)->BeginTransaction("default");
      if (txn.ok()) {
        Status put = (*txn)->Put("k", "v");
        if (put.ok()) {
          EXPECT_FALSE((*txn)->Commit({}).ok());
        }
      }
      txn = Status::Aborted("released");  // Release the transaction before closing.
      // Reads see the acknowledged commits, and nothing of the failed one.
      EXPECT_EQ((*db)->GetStats().sequence, acked);
      const DbMap read = ReadAll(db->get());
      EXPECT_EQ(read, states[acked]) << Diff(read, states[acked]);
      db->reset();

      // Reopen (no power loss: the process survived the I/O error).
      auto reopened = DB::Open(TestOptions(&fs, checkpoints), kDbPath);
      ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
      const uint64_t sequence = (*reopened)->GetStats().sequence;
      ASSERT_TRUE(sequence == acked || sequence == acked + 1) << sequence << " vs acked " << acked;
      EXPECT_EQ(ReadAll(reopened->get()), states[sequence]);
      EXPECT_TRUE((*reopened)->VerifyIntegrity(nullptr).ok());
      ASSERT_TRUE((*reopened)->Put({}, "default", "k", "v").ok());
      reopened->reset();

      // And after a power loss too.
      inner->DropUnsyncedData();
      auto again = DB::Open(TestOptions(inner.get(), checkpoints), kDbPath);
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      auto value = (*again)->Get({}, "default", "k");
      ASSERT_TRUE(value.ok()) << value.status().ToString();
      EXPECT_EQ(*value, "v");
      EXPECT_TRUE((*again)->VerifyIntegrity(nullptr).ok());
    }
    // With frequent checkpoints, some cuts hit a checkpoint after the step that triggered it was
    // acknowledged; with a checkpoint only at close, every cut hits the step's own sync.
    if (checkpoints == Checkpoints::kFrequent) {
      EXPECT_GT(failed_in_checkpoint, 0);
    } else {
      EXPECT_EQ(failed_in_checkpoint, 0);
    }
  }
}

// After a failed commit, every write is refused until reopen (docs/errors.md, invariant I8),
// including a transaction whose only operation deletes an absent key (a write that happens to
// change nothing): a read-only database refuses it too.
TEST(CrashTest, TransactionThatChangesNothingIsRefusedAfterIOError) {
  auto inner = NewMemFileSystem();
  CrashFileSystem fs(inner.get());
  auto db = DB::Open(TestOptions(&fs), kDbPath);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Put({}, "default", "k", "v").ok());
  fs.CutNow();
  EXPECT_FALSE((*db)->Put({}, "default", "k2", "v").ok());
  fs.Restore();
  auto txn = (*db)->BeginTransaction("default");
  if (txn.ok()) {
    Status del = (*txn)->Delete("absent");
    if (del.ok()) {
      Status commit = (*txn)->Commit({});
      EXPECT_FALSE(commit.ok()) << "a transaction committed on a database that refuses writes";
      EXPECT_TRUE(commit.IsReadOnly()) << commit.ToString();
    }
  }
  // A batch that changes nothing is refused (for comparison).
  WriteBatch batch;
  batch.Delete("default", "absent");
  EXPECT_TRUE((*db)->Write({}, batch).IsReadOnly());
}

}  // namespace
}  // namespace manifold::crash_test
