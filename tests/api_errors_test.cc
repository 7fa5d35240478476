// Every bad input gets the Status code documented in docs/errors.md and docs/limits.md, with a
// non-empty message, and nothing is written by a refused call.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"
#include "tests/api_test_util.h"

namespace manifold::api_test {
namespace {

TEST_F(ApiErrorsTest, GetAbsentKeyIsNotFound) {
  EXPECT_CODE(db_->Get({}, "default", "absent"), StatusCode::kNotFound);
  EXPECT_CODE(db_->Get({}, "default", ""), StatusCode::kNotFound);
  ASSERT_TRUE(db_->Put({}, "default", "k", "v").ok());
  ASSERT_TRUE(db_->Delete({}, "default", "k").ok());
  EXPECT_CODE(db_->Get({}, "default", "k"), StatusCode::kNotFound);
  auto txn = db_->BeginTransaction("default");
  ASSERT_TRUE(txn.ok());
  EXPECT_CODE((*txn)->Get("absent"), StatusCode::kNotFound);
}

TEST_F(ApiErrorsTest, UnknownColumnFamilyIsNotFound) {
  EXPECT_CODE(db_->Put({}, "nope", "k", "v"), StatusCode::kNotFound);
  EXPECT_CODE(db_->Delete({}, "nope", "k"), StatusCode::kNotFound);
  EXPECT_CODE(db_->Get({}, "nope", "k"), StatusCode::kNotFound);
  EXPECT_CODE(db_->NewIterator({}, "nope"), StatusCode::kNotFound);
  EXPECT_CODE(db_->BeginTransaction("nope"), StatusCode::kNotFound);
  EXPECT_CODE(db_->DropColumnFamily("nope"), StatusCode::kNotFound);
  WriteBatch batch;
  batch.Put("default", "k", "v");
  batch.Put("nope", "k", "v");
  EXPECT_CODE(db_->Write({}, batch), StatusCode::kNotFound);
  ExpectDefaultHolds(0);  // The batch's valid half was not applied.
  // A family that existed and was dropped.
  ASSERT_TRUE(db_->CreateColumnFamily("gone").ok());
  ASSERT_TRUE(db_->Put({}, "gone", "k", "v").ok());
  ASSERT_TRUE(db_->DropColumnFamily("gone").ok());
  EXPECT_CODE(db_->Get({}, "gone", "k"), StatusCode::kNotFound);
  EXPECT_CODE(db_->Put({}, "gone", "k", "v"), StatusCode::kNotFound);
  EXPECT_CODE(db_->DropColumnFamily("gone"), StatusCode::kNotFound);
  // But the snapshot from before the drop still reads it: that is not an error.
}

TEST_F(ApiErrorsTest, ColumnFamilyNamesAndExistence) {
  const std::string longest(Limits::kColumnFamilyNameBytesMax, 'n');
  const std::string too_long(Limits::kColumnFamilyNameBytesMax + 1, 'n');
  EXPECT_CODE(db_->CreateColumnFamily(""), StatusCode::kInvalidArgument);
  EXPECT_CODE(db_->CreateColumnFamily(too_long), StatusCode::kInvalidArgument);
  EXPECT_CODE(db_->CreateColumnFamily(std::string(1000, 'n')), StatusCode::kInvalidArgument);
  EXPECT_OK(db_->CreateColumnFamily(longest));
  EXPECT_OK(db_->CreateColumnFamily("a"));
  EXPECT_OK(db_->CreateColumnFamily(std::string("\0bin", 4)));
  EXPECT_CODE(db_->CreateColumnFamily("a"), StatusCode::kAlreadyExists);
  EXPECT_CODE(db_->CreateColumnFamily("default"), StatusCode::kAlreadyExists);
  EXPECT_CODE(db_->CreateColumnFamily(longest), StatusCode::kAlreadyExists);
  EXPECT_CODE(db_->DropColumnFamily("default"), StatusCode::kInvalidArgument);
  EXPECT_CODE(db_->DropColumnFamily(""), StatusCode::kInvalidArgument);
  EXPECT_CODE(db_->DropColumnFamily(too_long), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->ListColumnFamilies(),
            (std::vector<std::string>{std::string("\0bin", 4), "a", "default", longest}));
  // "default" is still there and usable.
  EXPECT_OK(db_->Put({}, "default", "k", "v"));
  Open();
  EXPECT_EQ(db_->ListColumnFamilies().size(), 4u);
}

TEST_F(ApiErrorsTest, UnsyncedWritesAreVisibleAtOnceAndSurviveACleanClose) {
  WriteOptions no_sync;
  no_sync.sync = false;
  const Stats before = db_->GetStats();
  EXPECT_OK(db_->Put(no_sync, "default", "k", "v"));
  auto k = db_->Get({}, "default", "k");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, "v");
  EXPECT_OK(db_->Put(no_sync, "default", "gone", "x"));
  EXPECT_OK(db_->Delete(no_sync, "default", "gone"));
  EXPECT_CODE(db_->Get({}, "default", "gone"), StatusCode::kNotFound);
  WriteBatch batch;
  batch.Put("default", "b1", "1");
  batch.Put("default", "b2", "2");
  EXPECT_OK(db_->Write(no_sync, batch));
  {
    auto txn = db_->BeginTransaction("default");
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->Put("t", "3").ok());
    EXPECT_OK((*txn)->Commit(no_sync));
    // Accepted, so the transaction is finished (only refused options leave it open).
    EXPECT_CODE((*txn)->Put("t2", "v"), StatusCode::kAborted);
  }
  const std::map<std::string, std::string> expected = {
      {"b1", "1"}, {"b2", "2"}, {"k", "v"}, {"t", "3"}};
  EXPECT_EQ(ReadAll(db_.get(), "default"), expected);
  const Stats after = db_->GetStats();
  EXPECT_EQ(after.commits - before.commits, 5u);
  EXPECT_EQ(after.sequence, before.sequence + 5);
  EXPECT_EQ(db_->GetSnapshot()->sequence(), after.sequence);
  EXPECT_EQ(after.log_records - before.log_records, 5u);
  // Not one of them waited for (or caused) a log sync.
  EXPECT_EQ(after.log_syncs, before.log_syncs);
  EXPECT_EQ(after.log_sync_commits, before.log_sync_commits);

  db_.reset();
  fs_->DropUnsyncedData();
  Open();
  EXPECT_EQ(ReadAll(db_.get(), "default"), expected);
  EXPECT_EQ(db_->GetStats().sequence, after.sequence);
  EXPECT_TRUE(db_->VerifyIntegrity(nullptr).ok());
}

// A power cut may lose no-sync commits, but only a suffix of the commits made after the last
// durable one: the recovered state is the state after some prefix of the commits (never with a
// hole), and a durable commit forces every commit before it, no-sync or not. Each pattern is a
// run of commits, 'n' without sync, 's' with; 'N' is a no-sync commit of a 64 KiB value, so that
// the log buffer fills and is written (but not synced) before any sync.
TEST_F(ApiErrorsTest, PowerCutLosesOnlyASuffixOfUnsyncedWrites) {
  const std::vector<std::string> patterns = {
      "nnnnn",
      "nnnnns",
      "nnnnnsnnnnn",
      "snsnnsnnn",
      "ssss",
      std::string(24, 'N'),
      std::string(24, 'N') + "s" + std::string(4, 'N'),
  };
  for (size_t p = 0; p < patterns.size(); ++p) {
    const std::string& pattern = patterns[p];
    SCOPED_TRACE("pattern " + pattern);
    const std::string path = "/cut" + std::to_string(p);
    auto db = DB::Open(options_, path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    // states[i]: the contents after the first i commits.
    std::vector<std::map<std::string, std::string>> states(1);
    size_t durable_prefix = 0;
    for (size_t i = 0; i < pattern.size(); ++i) {
      WriteOptions write;
      write.sync = pattern[i] == 's';
      std::map<std::string, std::string> next = states.back();
      const std::string key = "k" + std::to_string(i % 3);
      Status s;
      if (i % 4 == 3) {
        s = (*db)->Delete(write, "default", key);
        next.erase(key);
      } else {
        const std::string value =
            std::to_string(i) + std::string(pattern[i] == 'N' ? 64 << 10 : 10, 'a' + i % 26);
        s = (*db)->Put(write, "default", key, value);
        next[key] = value;
      }
      ASSERT_TRUE(s.ok()) << "commit " << i << ": " << s.ToString();
      states.push_back(std::move(next));
      // Visible at once, durable or not.
      ASSERT_EQ(ReadAll(db->get(), "default"), states.back()) << "after commit " << i;
      if (write.sync) durable_prefix = i + 1;
    }
    const std::string image = path + "-crash";
    ASSERT_TRUE(CopyCrashImage(fs_.get(), path, image).ok());
    db->reset();  // After the power cut: only closed, never used.

    auto recovered = DB::Open(options_, image);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    const uint64_t sequence = (*recovered)->GetStats().sequence;
    ASSERT_GE(sequence, durable_prefix) << "a durable commit (or one before it) was lost";
    ASSERT_LE(sequence, pattern.size());
    EXPECT_EQ(ReadAll(recovered->get(), "default"), states[sequence])
        << "not the state after the first " << sequence << " commits";
    EXPECT_TRUE((*recovered)->VerifyIntegrity(nullptr).ok());
    // The recovered database takes new durable commits after the ones it lost.
    ASSERT_TRUE((*recovered)->Put({}, "default", "after", "yes").ok());
    recovered->reset();
    fs_->DropUnsyncedData();
    recovered = DB::Open(options_, image);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    std::map<std::string, std::string> expected = states[sequence];
    expected["after"] = "yes";
    EXPECT_EQ(ReadAll(recovered->get(), "default"), expected);
  }
}

TEST_F(ApiErrorsTest, FinishedTransactionIsAborted) {
  auto txn = db_->BeginTransaction("default");
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->Put("k", "v").ok());
  ASSERT_TRUE((*txn)->Commit({}).ok());
  EXPECT_CODE((*txn)->Put("k2", "v"), StatusCode::kAborted);
  EXPECT_CODE((*txn)->Delete("k"), StatusCode::kAborted);
  EXPECT_CODE((*txn)->Get("k"), StatusCode::kAborted);
  EXPECT_CODE((*txn)->Commit({}), StatusCode::kAborted);
  auto txn2 = db_->BeginTransaction("default");
  ASSERT_TRUE(txn2.ok());
  (*txn2)->Abort();
  EXPECT_CODE((*txn2)->Put("k2", "v"), StatusCode::kAborted);
  EXPECT_CODE((*txn2)->Commit({}), StatusCode::kAborted);
  ExpectDefaultHolds(1);
}

// A thread holding a Transaction that writes to the same column family outside it would wait for
// itself forever; the bounded wait (writer_wait_us_max) makes that a Busy naming the column family.
TEST_F(ApiErrorsTest, WriteToAColumnFamilyItsOwnTransactionHoldsIsBusyWithinTheBound) {
  options_.writer_wait_us_max = 50'000;
  Open();
  ASSERT_TRUE(db_->CreateColumnFamily("other").ok());
  auto txn = db_->BeginTransaction("default");
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  ASSERT_TRUE((*txn)->Put("in", "txn").ok());
  Clock* clock = SystemClock();
  const uint64_t start_us = clock->NowMicros();
  Status put = db_->Put({}, "default", "k", "v");
  const uint64_t waited_us = clock->NowMicros() - start_us;
  EXPECT_CODE(put, StatusCode::kBusy);
  EXPECT_NE(put.message().find("'default'"), std::string::npos) << put.ToString();
  EXPECT_NE(put.message().find("Transaction"), std::string::npos) << put.ToString();
  EXPECT_GE(waited_us, 50'000u);
  EXPECT_LT(waited_us, 5'000'000u);
  // A batch touching the held family and another is refused as a whole; a second transaction and
  // a drop of the family wait the same bound.
  WriteBatch batch;
  batch.Put("other", "a", "1");
  batch.Put("default", "b", "2");
  EXPECT_CODE(db_->Write({}, batch), StatusCode::kBusy);
  EXPECT_CODE(db_->BeginTransaction("default"), StatusCode::kBusy);
  EXPECT_OK(db_->Put({}, "other", "free", "yes"));  // Other column families are not held.
  ASSERT_TRUE((*txn)->Commit({}).ok());
  txn->reset();
  EXPECT_OK(db_->Put({}, "default", "k", "v"));
  EXPECT_EQ(ReadAll(db_.get(), "default"),
            (std::map<std::string, std::string>{{"in", "txn"}, {"k", "v"}}));
  EXPECT_EQ(ReadAll(db_.get(), "other"), (std::map<std::string, std::string>{{"free", "yes"}}));
}

// The bound is measured on the injected clock, not the wall clock: a waiter gives up only once
// that clock passes the deadline.
TEST_F(ApiErrorsTest, WriterWaitIsMeasuredOnTheInjectedClock) {
  class StepClock final : public Clock {
   public:
    uint64_t NowMicros() override { return now_us.load(); }
    void SleepForMicros(uint64_t duration_us) override { now_us += duration_us; }
    std::atomic<uint64_t> now_us{0};
  } clock;
  options_.clock = &clock;
  options_.writer_wait_us_max = 1'000'000;
  options_.background_checkpoints = false;
  Open();
  auto txn = db_->BeginTransaction("default");
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  std::atomic<bool> done{false};
  Status put;
  std::thread writer([&] {
    put = db_->Put({}, "default", "k", "v");
    done = true;
  });
  // Real time passes, the injected clock stays below the deadline: the writer keeps waiting.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(done.load());
  clock.SleepForMicros(2'000'000);
  writer.join();
  EXPECT_CODE(put, StatusCode::kBusy);
  (*txn)->Abort();
  txn->reset();
  db_.reset();  // Before the clock it uses goes away.
}

TEST_F(ApiErrorsTest, BadPageSizesAtOpen) {
  db_.reset();
  for (uint32_t page : {0u, 1u, 512u, 1000u, 1536u, 3000u, 4095u, 4097u, 131072u, 0x80000000u}) {
    SCOPED_TRACE(page);
    options_.page_bytes = page;
    EXPECT_CODE(DB::Open(options_, "/bad" + std::to_string(page)), StatusCode::kInvalidArgument);
    // Nothing was created.
    auto exists = fs_->Exists("/bad" + std::to_string(page) + "/MANIFOLD");
    ASSERT_TRUE(exists.ok());
    EXPECT_FALSE(*exists);
  }
  for (uint32_t page : {Limits::kPageBytesMin, 2048u, Limits::kPageBytesMax}) {
    options_.page_bytes = page;
    EXPECT_OK(DB::Open(options_, "/good" + std::to_string(page)));
  }
}

TEST_F(ApiErrorsTest, OpenMissingDatabaseWithoutCreate) {
  db_.reset();
  options_.create_if_missing = false;
  EXPECT_CODE(DB::Open(options_, "/missing"), StatusCode::kNotFound);
  EXPECT_FALSE(*fs_->Exists("/missing"));
  // A directory without a database in it.
  ASSERT_TRUE(fs_->CreateDir("/empty-dir").ok());
  EXPECT_CODE(DB::Open(options_, "/empty-dir"), StatusCode::kNotFound);
  // Read-only never creates.
  options_.create_if_missing = true;
  options_.read_only = true;
  EXPECT_CODE(DB::Open(options_, "/missing2"), StatusCode::kNotFound);
  // An existing database opens without create_if_missing.
  options_.read_only = false;
  options_.create_if_missing = false;
  EXPECT_OK(DB::Open(options_, "/db"));
}

TEST_F(ApiErrorsTest, ErrorIfExists) {
  ASSERT_TRUE(db_->Put({}, "default", "k", "v").ok());
  db_.reset();
  options_.error_if_exists = true;
  EXPECT_CODE(DB::Open(options_, "/db"), StatusCode::kAlreadyExists);
  // A new database is fine with error_if_exists.
  EXPECT_OK(DB::Open(options_, "/fresh"));
  // The refused open did not damage or lock anything.
  options_.error_if_exists = false;
  Open();
  auto v = db_->Get({}, "default", "k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "v");
}

TEST_F(ApiErrorsTest, ReadOnlyRefusesWrites) {
  ASSERT_TRUE(db_->CreateColumnFamily("cf").ok());
  ASSERT_TRUE(db_->Put({}, "default", "k", "v").ok());
  db_.reset();
  options_.read_only = true;
  Open();
  EXPECT_CODE(db_->Put({}, "default", "k", "w"), StatusCode::kReadOnly);
  EXPECT_CODE(db_->Delete({}, "default", "k"), StatusCode::kReadOnly);
  WriteOptions no_sync;
  no_sync.sync = false;
  EXPECT_CODE(db_->Put(no_sync, "default", "k", "w"), StatusCode::kReadOnly);
  EXPECT_CODE(db_->Checkpoint(), StatusCode::kReadOnly);
  WriteBatch batch;
  batch.Put("default", "k", "w");
  EXPECT_CODE(db_->Write({}, batch), StatusCode::kReadOnly);
  EXPECT_CODE(db_->CreateColumnFamily("new"), StatusCode::kReadOnly);
  EXPECT_CODE(db_->DropColumnFamily("cf"), StatusCode::kReadOnly);
  {
    auto txn = db_->BeginTransaction("default");
    if (txn.ok()) {
      // Refused at commit at the latest.
      Status put = (*txn)->Put("k", "w");
      if (put.ok()) {
        EXPECT_CODE((*txn)->Commit({}), StatusCode::kReadOnly);
      } else {
        EXPECT_CODE(put, StatusCode::kReadOnly);
      }
    } else {
      EXPECT_CODE(txn, StatusCode::kReadOnly);
    }
  }
  // Reads work.
  auto v = db_->Get({}, "default", "k");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, "v");
  EXPECT_EQ(db_->ListColumnFamilies(), (std::vector<std::string>{"cf", "default"}));
  EXPECT_TRUE(db_->VerifyIntegrity(nullptr).ok());
  // Still holds the lock.
  Options writer = options_;
  writer.read_only = false;
  EXPECT_CODE(DB::Open(writer, "/db"), StatusCode::kBusy);
}

TEST_F(ApiErrorsTest, SecondOpenIsBusyOnMemFileSystem) {
  EXPECT_CODE(DB::Open(options_, "/db"), StatusCode::kBusy);
  Options read_only = options_;
  read_only.read_only = true;
  EXPECT_CODE(DB::Open(read_only, "/db"), StatusCode::kBusy);
  // The failed opens did not disturb the open database.
  EXPECT_OK(db_->Put({}, "default", "k", "v"));
  db_.reset();
  // Once closed, it opens again.
  Open();
  auto v = db_->Get({}, "default", "k");
  ASSERT_TRUE(v.ok());
}

TEST_F(ApiErrorsTest, SecondOpenIsBusyOnPosixFileSystem) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/api_errors_busy_" + std::to_string(getpid());
  Options options;
  options.page_bytes = kPageBytes;
  {
    auto first = DB::Open(options, path);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_CODE(DB::Open(options, path), StatusCode::kBusy);
    EXPECT_OK((*first)->Put({}, "default", "k", "v"));
    // Another process: Busy as well (the child reports the status code as its exit code).
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto db = DB::Open(options, path);
      _exit(db.ok() ? 100 : static_cast<int>(db.status().code()));
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(child, &wstatus, 0), child);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), static_cast<int>(StatusCode::kBusy))
        << "a second process opening the database got code " << WEXITSTATUS(wstatus);
  }
  auto again = DB::Open(options, path);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_OK((*again)->Get({}, "default", "k"));
  // POSIX: a directory without a database, and a missing one.
  options.create_if_missing = false;
  EXPECT_CODE(DB::Open(options, path + "_missing"), StatusCode::kNotFound);
}

TEST_F(ApiErrorsTest, SnapshotFromAnotherDatabaseIsInvalid) {
  auto other = DB::Open(options_, "/other");
  ASSERT_TRUE(other.ok());
  auto foreign = (*other)->GetSnapshot();
  ReadOptions read;
  read.snapshot = foreign.get();
  EXPECT_CODE(db_->Get(read, "default", "k"), StatusCode::kInvalidArgument);
  EXPECT_CODE(db_->NewIterator(read, "default"), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace manifold::api_test
