// A full disk is a transient condition (docs/errors.md, I26): over a CapacityFileSystem whose
// byte budget runs out, commits fail with NoSpace and are not applied, the database stays
// writable, and once the budget is raised ("space freed") writes and checkpoints work again
// without a reopen. Every acknowledged commit survives a reopen, no refused one appears, and the
// log's sequence numbers stay consecutive (the reopened database counts exactly the acknowledged
// commits).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "tests/capacity_fs.h"

namespace manifold {
namespace {

using test_support::CapacityFileSystem;

constexpr char kDbPath[] = "/db";

class FullDiskTest : public ::testing::Test {
 protected:
  FullDiskTest() : mem_(NewMemFileSystem()), fs_(mem_.get()) {}

  Options MakeOptions() const {
    Options options;
    options.file_system = const_cast<CapacityFileSystem*>(&fs_);
    options.page_bytes = 1024;
    options.wal_segment_bytes = 64 << 10;  // Small segments: new ones are needed often.
    options.file_growth_bytes = 16 << 10;
    options.background_checkpoints = false;
    options.checkpoint_log_bytes = 1 << 20;
    options.group_commit_window_us = 0;
    return options;
  }

  std::unique_ptr<DB> OpenDb() {
    StatusOr<std::unique_ptr<DB>> db = DB::Open(MakeOptions(), kDbPath);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(*db) : nullptr;
  }

  // Reopens and checks that the database holds exactly `expected` in the default column family
  // and that its sequence counts exactly `commits` commits.
  void ExpectAfterReopen(const std::map<std::string, std::string>& expected, uint64_t commits) {
    std::unique_ptr<DB> db = OpenDb();
    ASSERT_NE(db, nullptr);
    EXPECT_EQ(db->GetStats().sequence, commits);
    std::map<std::string, std::string> found;
    StatusOr<std::unique_ptr<Iterator>> it = db->NewIterator({}, "default");
    ASSERT_TRUE(it.ok()) << it.status().ToString();
    for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
      found[std::string((*it)->key())] = std::string((*it)->value());
    }
    ASSERT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
    EXPECT_EQ(found, expected);
    IntegrityReport report;
    EXPECT_TRUE(db->VerifyIntegrity(&report).ok());
  }

  static std::string ValueOf(int i) { return std::string(900, static_cast<char>('a' + i % 26)); }

  std::unique_ptr<MemFileSystem> mem_;
  CapacityFileSystem fs_;
};

TEST_F(FullDiskTest, WritesResumeOnceSpaceIsFreedAndAcknowledgedCommitsSurvive) {
  std::map<std::string, std::string> acknowledged;
  uint64_t commits = 0;
  {
    std::unique_ptr<DB> db = OpenDb();
    ASSERT_NE(db, nullptr);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(db->Put({}, "default", "k" + std::to_string(i), ValueOf(i)).ok());
      acknowledged["k" + std::to_string(i)] = ValueOf(i);
      ++commits;
    }
    // Room for a little more, then the disk is full.
    fs_.SetCapacity(fs_.used_bytes() + (8 << 10));
    int refused = 0;
    for (int i = 20; i < 400 && refused < 30; ++i) {
      const std::string key = "k" + std::to_string(i);
      Status status = db->Put({}, "default", key, ValueOf(i));
      if (status.ok()) {
        acknowledged[key] = ValueOf(i);
        ++commits;
        continue;
      }
      // Never ReadOnly: nothing was written, so nothing needs a reopen.
      ASSERT_TRUE(status.IsNoSpace()) << status.ToString();
      ++refused;
      StatusOr<std::string> absent = db->Get({}, "default", key);
      EXPECT_TRUE(absent.status().IsNotFound()) << "a refused commit is visible: " << key;
      Status checkpoint = db->Checkpoint();
      EXPECT_TRUE(checkpoint.ok() || checkpoint.IsNoSpace()) << checkpoint.ToString();
    }
    ASSERT_EQ(refused, 30) << "the disk never filled up";
    ASSERT_GT(fs_.refusals(), 0u);

    // Space is freed: everything works again on the same handle.
    fs_.SetCapacity(CapacityFileSystem::kUnlimited);
    for (int i = 400; i < 440; ++i) {
      const std::string key = "k" + std::to_string(i);
      Status status = db->Put({}, "default", key, ValueOf(i));
      ASSERT_TRUE(status.ok()) << status.ToString();
      acknowledged[key] = ValueOf(i);
      ++commits;
    }
    Status checkpoint = db->Checkpoint();
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.ToString();
    EXPECT_EQ(db->GetStats().sequence, commits);
  }
  ExpectAfterReopen(acknowledged, commits);
}

// Several committers share each log group: when the group cannot get its space, every commit in
// it fails with NoSpace (none is half-applied), and later commits continue the LSN chain.
TEST_F(FullDiskTest, ConcurrentCommitsInAFailedGroupAllFailCleanly) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60;
  std::unique_ptr<DB> db = OpenDb();
  ASSERT_NE(db, nullptr);
  fs_.SetCapacity(fs_.used_bytes() + (48 << 10));
  std::vector<std::map<std::string, std::string>> acknowledged(kThreads);
  std::vector<std::string> errors(kThreads);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        Status status = db->Put({}, "default", key, ValueOf(i));
        if (status.ok()) {
          acknowledged[t][key] = ValueOf(i);
        } else if (status.IsNoSpace()) {
          ++refused;
        } else if (errors[t].empty()) {
          errors[t] = status.ToString();
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::string& error : errors) EXPECT_EQ(error, "");
  ASSERT_GT(refused.load(), 0) << "the disk never filled up";
  fs_.SetCapacity(CapacityFileSystem::kUnlimited);
  ASSERT_TRUE(db->Put({}, "default", "after", "space").ok());
  std::map<std::string, std::string> all = {{"after", "space"}};
  for (const auto& map : acknowledged) all.insert(map.begin(), map.end());
  EXPECT_EQ(db->GetStats().sequence, all.size());
  db.reset();
  ExpectAfterReopen(all, all.size());
}

// A commit that became visible before its record was written (sync = false) cannot be undone, so
// a group holding one keeps I8: the database refuses writes until it is reopened, and the reopen
// recovers everything durable.
TEST_F(FullDiskTest, VisibleUnwrittenCommitKeepsTheDatabaseReadOnlyUntilReopen) {
  std::map<std::string, std::string> durable;
  {
    std::unique_ptr<DB> db = OpenDb();
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Put({}, "default", "durable", "yes").ok());
    durable["durable"] = "yes";
    fs_.SetCapacity(fs_.used_bytes());  // Not one more byte.
    WriteOptions no_sync;
    no_sync.sync = false;
    Status status;
    int i = 0;
    // No-sync commits are visible at once; the first sync commit's group must write them.
    for (; i < 200 && status.ok(); ++i) {
      status = db->Put(no_sync, "default", "n" + std::to_string(i), ValueOf(i));
      if (status.ok()) status = db->Put({}, "default", "s" + std::to_string(i), ValueOf(i));
    }
    ASSERT_FALSE(status.ok());
    EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
    fs_.SetCapacity(CapacityFileSystem::kUnlimited);
    Status refused = db->Put({}, "default", "later", "x");
    EXPECT_TRUE(refused.IsReadOnly()) << refused.ToString();
  }
  std::unique_ptr<DB> db = OpenDb();
  ASSERT_NE(db, nullptr);
  StatusOr<std::string> value = db->Get({}, "default", "durable");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "yes");
  EXPECT_TRUE(db->Put({}, "default", "later", "x").ok());
}

}  // namespace
}  // namespace manifold
