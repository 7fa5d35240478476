// Close/reopen: every workload's contents survive closing and reopening the database (and, on
// MemFileSystem, a power cut before reopening), on both the in-memory and the POSIX file system.
// Also sanity checks of the statistics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"

namespace manifold {
namespace {

constexpr uint32_t kPageBytes = 1024;

using CfMap = std::map<std::string, std::string>;
using DbMap = std::map<std::string, CfMap>;

enum class FsKind { kMem, kPosix };

std::string Value(size_t len, uint64_t seed) {
  std::string v(len, '\0');
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>(seed * 131 + i * 7 + (i >> 8));
  return v;
}

std::string Key(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

class ReopenTest : public ::testing::TestWithParam<FsKind> {
 protected:
  void SetUp() override {
    options_.page_bytes = kPageBytes;
    options_.file_growth_bytes = 32 * kPageBytes;
    if (GetParam() == FsKind::kMem) {
      mem_ = NewMemFileSystem();
      options_.file_system = mem_.get();
      path_ = "/db";
    } else {
      options_.file_system = nullptr;  // The POSIX file system.
      const char* tmp = std::getenv("TEST_TMPDIR");
      static int counter = 0;
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      for (char& c : name) {
        if (c == '/') c = '_';
      }
      path_ = std::string(tmp != nullptr ? tmp : "/tmp") + "/reopen_" + std::to_string(getpid()) +
              "_" + std::to_string(counter++) + "_" + name;
    }
    Open();
    model_["default"];
  }

  void TearDown() override {
    db_.reset();
    if (GetParam() == FsKind::kPosix) {
      // Best effort: the test's temporary directory is removed by the test runner anyway.
      std::string cmd = "rm -rf '" + path_ + "'";
      if (system(cmd.c_str()) != 0) {
      }
    }
  }

  void Open() {
    auto db = DB::Open(options_, path_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  // Closes and reopens; on MemFileSystem, also simulates a power cut in between (every commit
  // was durable when it returned, so nothing may be lost).
  void Reopen(bool power_cut = true) {
    db_.reset();
    if (mem_ != nullptr && power_cut) mem_->DropUnsyncedData();
    Open();
  }

  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    ASSERT_TRUE(db_->Put({}, cf, key, value).ok());
    model_[cf][key] = value;
  }
  void Delete(const std::string& cf, const std::string& key) {
    ASSERT_TRUE(db_->Delete({}, cf, key).ok());
    model_[cf].erase(key);
  }
  void Write(const WriteBatch& batch) {
    Status s = db_->Write({}, batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (const WriteBatch::Op& op : batch.ops()) {
      if (op.type == WriteBatch::OpType::kPut) {
        model_[op.column_family][op.key] = op.value;
      } else {
        model_[op.column_family].erase(op.key);
      }
    }
  }
  void CreateCf(const std::string& name) {
    Status s = db_->CreateColumnFamily(name);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model_[name];
  }
  void DropCf(const std::string& name) {
    Status s = db_->DropColumnFamily(name);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model_.erase(name);
  }

  DbMap ReadAll() {
    DbMap all;
    for (const std::string& cf : db_->ListColumnFamilies()) {
      CfMap& data = all[cf];
      auto it = db_->NewIterator({}, cf);
      EXPECT_TRUE(it.ok()) << it.status().ToString();
      if (!it.ok()) continue;
      for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
        data.emplace(std::string((*it)->key()), std::string((*it)->value()));
      }
      EXPECT_TRUE((*it)->status().ok());
      // Backwards too.
      size_t n = 0;
      for ((*it)->SeekToLast(); (*it)->Valid(); (*it)->Prev()) ++n;
      EXPECT_EQ(n, data.size()) << "backward scan of " << cf;
    }
    return all;
  }

  // The database equals the model: column families, scans, and a Get of every key.
  void CheckModel() {
    std::vector<std::string> names;
    for (const auto& [cf, data] : model_) names.push_back(cf);
    EXPECT_EQ(db_->ListColumnFamilies(), names);
    const DbMap all = ReadAll();
    ASSERT_EQ(all.size(), model_.size());
    for (const auto& [cf, data] : model_) {
      const CfMap& got = all.at(cf);
      EXPECT_EQ(got.size(), data.size()) << "column family " << cf;
      EXPECT_TRUE(got == data) << "column family " << cf << " differs";
      for (const auto& [key, value] : data) {
        auto v = db_->Get({}, cf, key);
        ASSERT_TRUE(v.ok()) << cf << "/" << key << ": " << v.status().ToString();
        ASSERT_EQ(*v, value) << cf << "/" << key;
      }
    }
  }

  // VerifyIntegrity checks the data file as of the latest checkpoint, which need not hold the
  // latest commits (they may be only in the log): check it as it is and, with
  // `checkpoint_first`, checkpoint so that it holds every column family of the model and check
  // it again.
  void CheckIntegrity(bool checkpoint_first = true) {
    IntegrityReport report;
    Status s = db_->VerifyIntegrity(&report);
    EXPECT_TRUE(s.ok()) << s.ToString()
                        << (report.problems.empty() ? "" : "; " + report.problems.front());
    EXPECT_TRUE(report.problems.empty());
    if (!checkpoint_first) return;
    s = db_->Checkpoint();
    ASSERT_TRUE(s.ok()) << s.ToString();
    const Stats stats = db_->GetStats();
    EXPECT_EQ(stats.checkpoint_sequence, stats.sequence);
    s = db_->VerifyIntegrity(&report);
    EXPECT_TRUE(s.ok()) << s.ToString()
                        << (report.problems.empty() ? "" : "; " + report.problems.front());
    EXPECT_TRUE(report.problems.empty());
    EXPECT_GE(report.column_families, model_.size());
  }

  void ReopenAndCheck() {
    CheckModel();
    CheckIntegrity(/*checkpoint_first=*/false);
    // The first close has to checkpoint whatever only the log held.
    Reopen(/*power_cut=*/true);
    CheckModel();
    CheckIntegrity();
    Reopen(/*power_cut=*/false);
    CheckModel();
  }

  std::unique_ptr<MemFileSystem> mem_;
  Options options_;
  std::string path_;
  std::unique_ptr<DB> db_;
  DbMap model_;
};

TEST_P(ReopenTest, EmptyDatabase) {
  ReopenAndCheck();
  EXPECT_EQ(db_->ListColumnFamilies(), std::vector<std::string>{"default"});
  EXPECT_EQ(db_->GetStats().sequence, 0u);
  EXPECT_EQ(db_->page_bytes(), kPageBytes);
}

TEST_P(ReopenTest, SmallPutsOverwritesAndDeletes) {
  Put("default", "a", "1");
  Put("default", "b", "2");
  Put("default", "", "empty key");
  Put("default", "c", "");
  Put("default", "a", "1b");
  Delete("default", "b");
  Delete("default", "never-existed");
  Put("default", std::string("\0\xff", 2), "binary key");
  Put("default", std::string(Limits::KeyBytesMax(kPageBytes), 'x'), "longest key");
  ReopenAndCheck();
  auto b = db_->Get({}, "default", "b");
  EXPECT_TRUE(b.status().IsNotFound());
}

// Enough keys for a tree of three or more levels with 1 KiB pages; then deletes that shrink it
// and finally empty it.
TEST_P(ReopenTest, ManyKeysMultiLevelTreeThenDeleteEverything) {
  constexpr int kKeys = 6000;
  for (int start = 0; start < kKeys; start += 500) {
    WriteBatch batch;
    for (int i = start; i < start + 500; ++i)
      batch.Put("default", Key(i * 7919 % kKeys), Value(i % 60, i));
    Write(batch);
  }
  ReopenAndCheck();
  const Stats full = db_->GetStats();
  // Delete every other key, in several batches.
  for (int start = 0; start < kKeys; start += 1000) {
    WriteBatch batch;
    for (int i = start; i < start + 1000; i += 2) batch.Delete("default", Key(i));
    Write(batch);
  }
  ReopenAndCheck();
  // Then everything, one key at a time for the last few.
  WriteBatch batch;
  for (int i = 1; i < kKeys - 10; i += 2) batch.Delete("default", Key(i));
  Write(batch);
  for (int i = kKeys - 9; i < kKeys; i += 2) Delete("default", Key(i));
  ASSERT_TRUE(model_["default"].empty());
  ReopenAndCheck();
  auto it = db_->NewIterator({}, "default");
  ASSERT_TRUE(it.ok());
  (*it)->SeekToFirst();
  EXPECT_FALSE((*it)->Valid());
  (*it)->SeekToLast();
  EXPECT_FALSE((*it)->Valid());
  it->reset();
  // The freed pages are reused: refilling does not grow the file past its earlier size much.
  for (int start = 0; start < kKeys; start += 500) {
    WriteBatch refill;
    for (int i = start; i < start + 500; ++i) refill.Put("default", Key(i), Value(i % 60, i + 1));
    Write(refill);
  }
  const Stats refilled = db_->GetStats();
  EXPECT_LE(refilled.pages_total, full.pages_total * 2 + 64)
      << "freed pages were not reused (pages_total " << full.pages_total << " -> "
      << refilled.pages_total << ")";
  ReopenAndCheck();
}

TEST_P(ReopenTest, LargeValuesInOverflowPages) {
  for (int i = 0; i < 20; ++i) Put("default", Key(i), Value(500 + i * 450, i));  // Up to ~9 KiB.
  // Overwrite with other sizes: inline -> overflow, overflow -> inline, overflow -> bigger.
  for (int i = 0; i < 20; i += 3) Put("default", Key(i), Value(10, i));
  for (int i = 1; i < 20; i += 3) Put("default", Key(i), Value(20000 + i, i + 7));
  for (int i = 2; i < 20; i += 5) Delete("default", Key(i));
  Put("default", std::string(Limits::KeyBytesMax(kPageBytes), 'L'), Value(3000, 99));
  ReopenAndCheck();
  // One value of a few hundred KiB.
  Put("default", "huge", Value(300 * 1024, 5));
  ReopenAndCheck();
}

TEST_P(ReopenTest, ColumnFamilies) {
  CreateCf("users");
  CreateCf("logs");
  CreateCf(std::string(Limits::kColumnFamilyNameBytesMax, 'c'));
  for (int i = 0; i < 300; ++i) {
    WriteBatch batch;
    batch.Put("default", Key(i), Value(i % 30, i));
    batch.Put("users", Key(i * 3), Value(i % 100, i + 1));
    batch.Put("logs", Key(1000 - i), Value(i % 7, i + 2));
    if (i % 10 == 0) batch.Delete("users", Key(i));
    if (i % 50 == 0) batch.Put(std::string(Limits::kColumnFamilyNameBytesMax, 'c'), Key(i), "x");
    Write(batch);
  }
  ReopenAndCheck();
  DropCf("logs");
  CreateCf("temp");
  Put("temp", "t", "1");
  ReopenAndCheck();
  // Re-creating a dropped family gives an empty one.
  CreateCf("logs");
  ReopenAndCheck();
  EXPECT_TRUE(db_->Get({}, "logs", Key(1000)).status().IsNotFound());
  Put("logs", "fresh", "yes");
  DropCf("users");
  ReopenAndCheck();
}

TEST_P(ReopenTest, TransactionsAcrossReopen) {
  CreateCf("t");
  {
    auto txn = db_->BeginTransaction("t");
    ASSERT_TRUE(txn.ok());
    for (int i = 0; i < 200; ++i) ASSERT_TRUE((*txn)->Put(Key(i), Value(50, i)).ok());
    ASSERT_TRUE((*txn)->Commit({}).ok());
    for (int i = 0; i < 200; ++i) model_["t"][Key(i)] = Value(50, i);
  }
  {
    auto txn = db_->BeginTransaction("t");
    ASSERT_TRUE(txn.ok());
    for (int i = 0; i < 200; ++i) ASSERT_TRUE((*txn)->Delete(Key(i)).ok());
    (*txn)->Abort();
  }
  {
    auto txn = db_->BeginTransaction("t");
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->Put("uncommitted", "x").ok());
    // Destroyed without commit: aborted.
  }
  ReopenAndCheck();
  EXPECT_TRUE(db_->Get({}, "t", "uncommitted").status().IsNotFound());
}

// Many short sessions, each adding to what the previous ones wrote.
TEST_P(ReopenTest, ManySessions) {
  for (int session = 0; session < 15; ++session) {
    for (int i = 0; i < 20; ++i) {
      Put("default", Key(session * 20 + i), Value(session * 37 % 700, session));
    }
    if (session % 3 == 0) Delete("default", Key(session * 10));
    if (session == 4) CreateCf("s4");
    if (session > 4) Put("s4", Key(session), "v");
    Reopen(/*power_cut=*/session % 2 == 0);
    CheckModel();
  }
  CheckIntegrity();
}

TEST_P(ReopenTest, PageSizeIsKeptFromCreation) {
  Put("default", "a", "b");
  db_.reset();
  options_.page_bytes = 4096;  // Ignored: the database keeps its own.
  Open();
  EXPECT_EQ(db_->page_bytes(), kPageBytes);
  // The key limit is the one of the database's page size.
  EXPECT_TRUE(db_->Put({}, "default", std::string(Limits::KeyBytesMax(kPageBytes) + 1, 'k'), "v")
                  .IsInvalidArgument());
  CheckModel();
}

TEST_P(ReopenTest, StatsSanity) {
  // No time-triggered checkpoint: the counts below must not depend on how fast the test runs.
  db_.reset();
  options_.checkpoint_interval_us = 0;
  Open();
  const Stats fresh = db_->GetStats();
  EXPECT_EQ(fresh.commits, 0u);
  EXPECT_EQ(fresh.sequence, 0u);
  EXPECT_EQ(fresh.log_records, 0u);
  EXPECT_EQ(fresh.checkpoint_sequence, 0u);
  EXPECT_GT(fresh.file_bytes, 0u);
  EXPECT_GE(fresh.pages_total, 2u);  // Two header slots at least.
  constexpr int kCommits = 40;
  for (int i = 0; i < kCommits; ++i) Put("default", Key(i), Value(100, i));
  const Stats after = db_->GetStats();
  EXPECT_EQ(after.commits, static_cast<uint64_t>(kCommits));
  EXPECT_EQ(after.sequence, static_cast<uint64_t>(kCommits));
  // Each commit appends one log record and, committing alone and durably, waits for a log sync
  // of its own: one sync per commit, where writing pages and a header slot took two.
  EXPECT_EQ(after.log_records - fresh.log_records, static_cast<uint64_t>(kCommits));
  EXPECT_GE(after.log_bytes - fresh.log_bytes, static_cast<uint64_t>(kCommits) * 100);
  EXPECT_EQ(after.log_syncs - fresh.log_syncs, static_cast<uint64_t>(kCommits));
  EXPECT_EQ(after.log_sync_commits - fresh.log_sync_commits, static_cast<uint64_t>(kCommits));
  ASSERT_FALSE(after.commits_per_sync_histogram.empty());
  EXPECT_EQ(after.commits_per_sync_histogram[0], after.log_syncs);        // Every sync covered one.
  EXPECT_GE(after.syncs - fresh.syncs, static_cast<uint64_t>(kCommits));  // Log syncs count too.
  // The data file's bytes alone: the commits went to the log (log_bytes) only.
  EXPECT_EQ(after.bytes_written, fresh.bytes_written);
  EXPECT_GE(after.file_bytes, after.pages_total * kPageBytes);
  EXPECT_GE(after.pages_total, after.pages_free);
  // Pages reach the data file only in checkpoints, and none was due yet.
  EXPECT_EQ(after.checkpoints, fresh.checkpoints);
  EXPECT_EQ(after.pages_written, fresh.pages_written);
  EXPECT_EQ(after.pages_total, fresh.pages_total);
  EXPECT_EQ(after.checkpoint_sequence, 0u);
  EXPECT_GT(after.dirty_bytes, 0u);
  // A failed write is not a commit.
  EXPECT_FALSE(db_->Put({}, "no-such-cf", "k", "v").ok());
  EXPECT_EQ(db_->GetStats().commits, static_cast<uint64_t>(kCommits));
  EXPECT_EQ(db_->GetStats().log_records, after.log_records);
  // Snapshot sequence numbers follow commits.
  EXPECT_EQ(db_->GetSnapshot()->sequence(), static_cast<uint64_t>(kCommits));

  // A checkpoint writes the pages, syncs them, then writes and syncs a header slot.
  ASSERT_TRUE(db_->Checkpoint().ok());
  const Stats checkpointed = db_->GetStats();
  EXPECT_EQ(checkpointed.checkpoints, after.checkpoints + 1);
  EXPECT_EQ(checkpointed.checkpoint_sequence, static_cast<uint64_t>(kCommits));
  EXPECT_EQ(checkpointed.dirty_bytes, 0u);
  EXPECT_EQ(checkpointed.commits, after.commits);  // A checkpoint is not a commit.
  EXPECT_EQ(checkpointed.log_records, after.log_records);
  // 40 values of 100 bytes do not fit one 1 KiB leaf: several leaves, a parent, the catalog, the
  // header slot.
  EXPECT_GE(checkpointed.pages_written - after.pages_written, 4u);
  EXPECT_EQ(checkpointed.bytes_written - after.bytes_written,
            (checkpointed.pages_written - after.pages_written) * kPageBytes);
  EXPECT_GE(checkpointed.syncs - after.syncs, 2u);
  EXPECT_GT(checkpointed.pages_total, after.pages_total);
  EXPECT_GE(checkpointed.file_bytes, checkpointed.pages_total * kPageBytes);
  EXPECT_GE(checkpointed.pages_total, checkpointed.pages_free);
  // Nothing new: a second checkpoint writes nothing.
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->GetStats().pages_written, checkpointed.pages_written);

  Reopen(/*power_cut=*/false);
  const Stats reopened = db_->GetStats();
  EXPECT_EQ(reopened.commits, 0u);  // Counters are since open...
  EXPECT_EQ(reopened.log_records, 0u);
  EXPECT_EQ(reopened.sequence, static_cast<uint64_t>(kCommits));  // ...the sequence persists.
  EXPECT_EQ(reopened.checkpoint_sequence, static_cast<uint64_t>(kCommits));
  EXPECT_EQ(reopened.log_records_replayed, 0u);  // The checkpoint covered every commit.
  EXPECT_EQ(reopened.pages_total, checkpointed.pages_total);
  // Cold cache: reading every key reads pages from the file; reading them again hits the cache.
  CheckModel();
  const Stats read_once = db_->GetStats();
  EXPECT_GT(read_once.pages_read, 0u);
  EXPECT_GT(read_once.bytes_read, 0u);
  EXPECT_GT(read_once.cache_misses, 0u);
  EXPECT_GT(read_once.cache_bytes, 0u);
  CheckModel();
  const Stats read_twice = db_->GetStats();
  EXPECT_GT(read_twice.cache_hits, read_once.cache_hits);
  EXPECT_EQ(read_twice.pages_written, 0u);  // Reads write nothing.
  EXPECT_EQ(read_twice.log_bytes, 0u);
  EXPECT_EQ(read_twice.commits, 0u);
}

// Commits not yet checkpointed when the database is closed: the close checkpoints them, so the
// reopened database has nothing to replay, and the data file alone holds every commit.
TEST_P(ReopenTest, CloseCheckpointsEveryCommit) {
  CreateCf("cf");
  for (int i = 0; i < 50; ++i) Put(i % 2 == 0 ? "default" : "cf", Key(i), Value(i * 13, i));
  WriteOptions no_sync;
  no_sync.sync = false;
  ASSERT_TRUE(db_->Put(no_sync, "cf", "unsynced", "kept by the close").ok());
  model_["cf"]["unsynced"] = "kept by the close";
  const Stats before = db_->GetStats();
  EXPECT_LT(before.checkpoint_sequence, before.sequence);
  Reopen(/*power_cut=*/true);
  const Stats reopened = db_->GetStats();
  EXPECT_EQ(reopened.sequence, before.sequence);
  EXPECT_EQ(reopened.checkpoint_sequence, before.sequence);
  EXPECT_EQ(reopened.log_records_replayed, 0u);
  CheckModel();
  CheckIntegrity();
}

INSTANTIATE_TEST_SUITE_P(FileSystems, ReopenTest, ::testing::Values(FsKind::kMem, FsKind::kPosix),
                         [](const ::testing::TestParamInfo<FsKind>& info) {
                           return std::string(info.param == FsKind::kMem ? "Mem" : "Posix");
                         });

}  // namespace
}  // namespace manifold
