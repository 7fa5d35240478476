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

namespace manifold {
namespace {

constexpr uint32_t kPageBytes = 1024;
constexpr uint32_t kKeyMax = Limits::KeyBytesMax(kPageBytes);

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// Checks the code and that the message says something.
#define EXPECT_CODE(expr, expected_code)                                     \
  do {                                                                       \
    const auto& _result = (expr);                                            \
    const ::manifold::Status& _status = StatusOf(_result);                   \
    EXPECT_EQ(_status.code(), (expected_code))                               \
        << #expr << " returned " << _status.ToString() << ", expected "      \
        << ::manifold::StatusCodeName(expected_code);                        \
    if (!_status.ok()) {                                                     \
      EXPECT_FALSE(_status.message().empty()) << #expr << ": empty message"; \
    }                                                                        \
  } while (0)

#define EXPECT_OK(expr)                                                                   \
  do {                                                                                    \
    const auto& _result = (expr);                                                         \
    EXPECT_TRUE(StatusOf(_result).ok()) << #expr << ": " << StatusOf(_result).ToString(); \
  } while (0)

// Every key and value of one column family.
std::map<std::string, std::string> ReadAll(DB* db, const std::string& column_family) {
  std::map<std::string, std::string> all;
  auto it = db->NewIterator({}, column_family);
  EXPECT_TRUE(it.ok()) << it.status().ToString();
  if (!it.ok()) return all;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    all.emplace(std::string((*it)->key()), std::string((*it)->value()));
  }
  EXPECT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
  return all;
}

// What a power cut right now would leave of the database in directory `from`, copied to `to`,
// where it can be opened although the database in `from` is still open: its lock refuses a second
// open, and closing it would first write a final checkpoint, which a crash does not. The power
// cut reaches every file of `fs`, so the database in `from` must only be closed afterwards.
Status CopyCrashImage(MemFileSystem* fs, const std::string& from, const std::string& to) {
  fs->DropUnsyncedData();
  MANIFOLD_RETURN_IF_ERROR(fs->CreateDir(to));
  MANIFOLD_RETURN_IF_ERROR(fs->SyncDir("/"));
  MANIFOLD_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(from));
  for (const std::string& name : names) {
    if (name == "LOCK") continue;  // Held by the open database; opening the copy makes its own.
    OpenFileOptions read_only;
    read_only.read_only = true;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> source,
                              fs->OpenFile(from + "/" + name, read_only));
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, source->Size());
    std::string bytes(size, '\0');
    MANIFOLD_ASSIGN_OR_RETURN(size_t got, source->Read(0, size, bytes.data()));
    if (got != size) return Status::IOError("short read of " + from + "/" + name);
    OpenFileOptions create;
    create.create = true;
    create.exclusive = true;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> copy, fs->OpenFile(to + "/" + name, create));
    MANIFOLD_RETURN_IF_ERROR(copy->Write(0, bytes));
    MANIFOLD_RETURN_IF_ERROR(copy->Sync());
  }
  return fs->SyncDir(to);
}

class ApiErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.file_system = fs_.get();
    options_.page_bytes = kPageBytes;
    Open();
  }

  void Open() {
    db_.reset();
    auto db = DB::Open(options_, "/db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  // Nothing but what the test put there: the "default" family holding `expected_keys` keys.
  void ExpectDefaultHolds(size_t expected_keys) {
    EXPECT_EQ(db_->ListColumnFamilies(), std::vector<std::string>{"default"});
    auto it = db_->NewIterator({}, "default");
    ASSERT_TRUE(it.ok());
    size_t n = 0;
    for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) ++n;
    EXPECT_EQ(n, expected_keys);
  }

  std::unique_ptr<MemFileSystem> fs_ = NewMemFileSystem();
  Options options_;
  std::unique_ptr<DB> db_;
};

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

TEST_F(ApiErrorsTest, KeyLimit) {
  const std::string at_limit(kKeyMax, 'k');
  const std::string over(kKeyMax + 1, 'k');
  const std::string way_over(10 * kKeyMax, 'k');
  EXPECT_OK(db_->Put({}, "default", at_limit, "v"));
  EXPECT_OK(db_->Put({}, "default", "", "empty keys are allowed"));
  for (const std::string& key : {over, way_over}) {
    EXPECT_CODE(db_->Put({}, "default", key, "v"), StatusCode::kInvalidArgument);
    EXPECT_CODE(db_->Delete({}, "default", key), StatusCode::kInvalidArgument);
    EXPECT_CODE(db_->Get({}, "default", key), StatusCode::kInvalidArgument);
    WriteBatch batch;
    batch.Put("default", "fine", "v");
    batch.Put("default", key, "v");
    EXPECT_CODE(db_->Write({}, batch), StatusCode::kInvalidArgument);
    WriteBatch delete_batch;
    delete_batch.Delete("default", key);
    EXPECT_CODE(db_->Write({}, delete_batch), StatusCode::kInvalidArgument);
    auto txn = db_->BeginTransaction("default");
    ASSERT_TRUE(txn.ok());
    EXPECT_CODE((*txn)->Put(key, "v"), StatusCode::kInvalidArgument);
    EXPECT_CODE((*txn)->Delete(key), StatusCode::kInvalidArgument);
    EXPECT_CODE((*txn)->Get(key), StatusCode::kInvalidArgument);
    // The transaction is still usable after a refused operation.
    EXPECT_OK((*txn)->Put("txn-key", "v"));
    EXPECT_OK((*txn)->Commit({}));
  }
  EXPECT_CODE(db_->Get({}, "default", "fine"), StatusCode::kNotFound);  // Batch all-or-nothing.
  ExpectDefaultHolds(3);
}

TEST_F(ApiErrorsTest, KeyLimitFollowsPageSize) {
  for (uint32_t page : {1024u, 4096u, 65536u}) {
    SCOPED_TRACE(page);
    options_.page_bytes = page;
    auto db = DB::Open(options_, "/db" + std::to_string(page));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->page_bytes(), page);
    EXPECT_OK((*db)->Put({}, "default", std::string(Limits::KeyBytesMax(page), 'k'), "v"));
    EXPECT_CODE((*db)->Put({}, "default", std::string(Limits::KeyBytesMax(page) + 1, 'k'), "v"),
                StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Limits::KeyBytesMax(4096), 512u);
}

TEST_F(ApiErrorsTest, ValueLimit) {
  const std::string over(Limits::kValueBytesMax + 1, 'v');
  EXPECT_CODE(db_->Put({}, "default", "k", over), StatusCode::kInvalidArgument);
  WriteBatch batch;
  batch.Put("default", "a", "small");
  batch.Put("default", "k", over);
  EXPECT_CODE(db_->Write({}, batch), StatusCode::kInvalidArgument);
  {
    auto txn = db_->BeginTransaction("default");
    ASSERT_TRUE(txn.ok());
    EXPECT_CODE((*txn)->Put("k", over), StatusCode::kInvalidArgument);
    EXPECT_OK((*txn)->Commit({}));
  }
  ExpectDefaultHolds(0);
  // A large value below the limit is fine.
  const std::string big(1 << 20, 'b');
  EXPECT_OK(db_->Put({}, "default", "big", big));
  auto got = db_->Get({}, "default", "big");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, big);
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

TEST_F(ApiErrorsTest, ColumnFamilyCountLimit) {
  // "default" counts: 4095 more fit, the next one does not.
  for (size_t i = 1; i < Limits::kColumnFamiliesMax; ++i) {
    Status s = db_->CreateColumnFamily("cf" + std::to_string(i));
    ASSERT_TRUE(s.ok()) << i << ": " << s.ToString();
  }
  EXPECT_CODE(db_->CreateColumnFamily("one-too-many"), StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->ListColumnFamilies().size(), Limits::kColumnFamiliesMax);
  EXPECT_OK(db_->DropColumnFamily("cf7"));
  EXPECT_OK(db_->CreateColumnFamily("one-too-many"));
  EXPECT_TRUE(db_->VerifyIntegrity(nullptr).ok());
}

// WriteOptions::sync = false is accepted by every write: the commit returns without waiting for
// a log sync, is visible at once, and a clean close keeps it (the final checkpoint makes it
// durable), even through a power cut right after the close.
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

TEST_F(ApiErrorsTest, BatchLimits) {
  options_.batch_ops_max = 10;
  options_.batch_bytes_max = 1000;
  Open();
  WriteBatch ops;
  for (int i = 0; i < 11; ++i) ops.Put("default", "k" + std::to_string(i), "v");
  EXPECT_CODE(db_->Write({}, ops), StatusCode::kInvalidArgument);
  WriteBatch bytes;
  bytes.Put("default", "k", std::string(1001, 'v'));
  EXPECT_CODE(db_->Write({}, bytes), StatusCode::kInvalidArgument);
  ExpectDefaultHolds(0);
  auto txn = db_->BeginTransaction("default");
  ASSERT_TRUE(txn.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*txn)->Put("k" + std::to_string(i), "v").ok());
  EXPECT_CODE((*txn)->Put("k10", "v"), StatusCode::kInvalidArgument);
  EXPECT_OK((*txn)->Commit({}));
  ExpectDefaultHolds(10);
}

// Commits do not write the data file (only the log); the file size limit is met by the checkpoint
// that would write the pages: Checkpoint() fails with NoSpace, having written nothing, and the
// database stays writable (the commit stays in memory and in the log). Once the data fits again
// the next checkpoint succeeds.
TEST_F(ApiErrorsTest, FileSizeLimitIsNoSpaceAndLeavesTheDatabaseWritable) {
  options_.file_bytes_max = 64 * kPageBytes;
  options_.file_growth_bytes = 4 * kPageBytes;
  db_.reset();
  auto db = DB::Open(options_, "/small");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE((*db)->Put({}, "default", "a", "small").ok());
  ASSERT_TRUE((*db)->Checkpoint().ok());
  const Stats fits = (*db)->GetStats();
  EXPECT_EQ(fits.checkpoint_sequence, fits.sequence);
  const std::string big(100 * kPageBytes, 'x');
  EXPECT_OK((*db)->Put({}, "default", "big", big));
  auto got = (*db)->Get({}, "default", "big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, big);
  EXPECT_CODE((*db)->Checkpoint(), StatusCode::kNoSpace);
  const Stats refused = (*db)->GetStats();
  EXPECT_EQ(refused.checkpoints, fits.checkpoints);
  EXPECT_EQ(refused.checkpoint_sequence, fits.checkpoint_sequence);
  EXPECT_EQ(refused.pages_total, fits.pages_total);
  EXPECT_LE(refused.file_bytes, options_.file_bytes_max);
  EXPECT_GT(refused.dirty_bytes, 0u);  // Still waiting for a checkpoint.
  // The data file is still the last checkpoint's, whole.
  EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
  // Writable, and a second attempt is refused the same way.
  EXPECT_OK((*db)->Put({}, "default", "b", "still writable"));
  EXPECT_CODE((*db)->Checkpoint(), StatusCode::kNoSpace);
  // Once the big value is gone the checkpoint fits.
  EXPECT_OK((*db)->Delete({}, "default", "big"));
  EXPECT_OK((*db)->Checkpoint());
  const Stats after = (*db)->GetStats();
  EXPECT_EQ(after.checkpoint_sequence, after.sequence);
  EXPECT_LE(after.pages_total * kPageBytes, options_.file_bytes_max);
  EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
  db->reset();
  fs_->DropUnsyncedData();
  db = DB::Open(options_, "/small");
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  const std::map<std::string, std::string> expected = {{"a", "small"}, {"b", "still writable"}};
  EXPECT_EQ(ReadAll(db->get(), "default"), expected);
}

// Near the file size limit, checkpoints fail with NoSpace or succeed at random. Commits only
// reach the log, so every one succeeds; after a refused checkpoint the test makes room the way a
// user would, deleting what it just wrote and then other keys until a checkpoint fits. Every
// refusal leaves the database writable and its data file unchanged, and no page leaks (the
// integrity check accounts for every page), across reopen and power loss.
TEST_F(ApiErrorsTest, RepeatedNoSpaceNearTheLimitLeaksNothing) {
  options_.file_bytes_max = 160 * kPageBytes;
  options_.file_growth_bytes = 8 * kPageBytes;
  // Checkpoints only when the test asks: the I/O is the same in every run.
  options_.background_checkpoints = false;
  options_.checkpoint_interval_us = 0;
  auto open = [&] {
    auto db = DB::Open(options_, "/full");
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  };
  std::unique_ptr<DB> db = open();
  ASSERT_NE(db, nullptr);
  std::map<std::string, std::string> model;
  uint64_t seed = 12345;
  auto next = [&] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return seed >> 33;
  };
  int no_space = 0;
  int ok = 0;
  // Checkpoints and checks the outcome: true when it fit.
  auto checkpoint = [&](int i) {
    const Stats before = db->GetStats();
    Status s = db->Checkpoint();
    const Stats after = db->GetStats();
    if (s.ok()) {
      ++ok;
      EXPECT_EQ(after.checkpoint_sequence, after.sequence) << "iteration " << i;
      EXPECT_EQ(after.dirty_bytes, 0u) << "iteration " << i;
    } else {
      EXPECT_TRUE(s.IsNoSpace()) << "iteration " << i << ": " << s.ToString();
      EXPECT_FALSE(s.message().empty());
      ++no_space;
      // Nothing was written: the last durable checkpoint and the file's page count stand.
      EXPECT_EQ(after.checkpoints, before.checkpoints) << "iteration " << i;
      EXPECT_EQ(after.checkpoint_sequence, before.checkpoint_sequence) << "iteration " << i;
      EXPECT_EQ(after.pages_total, before.pages_total) << "iteration " << i;
    }
    EXPECT_LE(after.pages_total * kPageBytes, options_.file_bytes_max) << "iteration " << i;
    EXPECT_LE(after.file_bytes, options_.file_bytes_max) << "iteration " << i;
    return s.ok();
  };
  for (int i = 0; i < 300; ++i) {
    const std::string key = "k" + std::to_string(next() % 30);
    const int action = static_cast<int>(next() % 10);
    std::vector<std::string> written = {key};
    WriteBatch batch;
    if (action < 2) {
      batch.Delete("default", key);
    } else if (action < 4) {
      batch.Put("default", key, std::string(next() % (40 * kPageBytes), 'b'));
      batch.Put("default", key + "x", "small");
      written.push_back(key + "x");
    } else {
      batch.Put("default", key,
                std::string(next() % 2 == 0 ? next() % 100 : next() % (60 * kPageBytes),
                            static_cast<char>('a' + i % 26)));
    }
    Status s = db->Write({}, batch);
    ASSERT_TRUE(s.ok()) << "iteration " << i << ": " << s.ToString();
    for (const WriteBatch::Op& op : batch.ops()) {
      if (op.type == WriteBatch::OpType::kPut) {
        model[op.key] = op.value;
      } else {
        model.erase(op.key);
      }
    }
    if (!checkpoint(i)) {
      // Still writable: make room until a checkpoint fits.
      std::vector<std::string> victims = written;
      for (const auto& [k, v] : model) {
        if (next() % 2 == 0) victims.push_back(k);
      }
      bool fits = false;
      for (size_t v = 0; v < victims.size() && !fits; ++v) {
        s = db->Delete({}, "default", victims[v]);
        ASSERT_TRUE(s.ok()) << "iteration " << i << ": " << s.ToString();
        model.erase(victims[v]);
        fits = checkpoint(i);
      }
      ASSERT_TRUE(fits) << "iteration " << i << ": no checkpoint fits after deleting "
                        << victims.size() << " keys";
    }
    if (i % 50 == 49) {
      IntegrityReport report;
      Status verify = db->VerifyIntegrity(&report);
      ASSERT_TRUE(verify.ok()) << "iteration " << i << ": " << verify.ToString();
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(no_space, 20);
  EXPECT_GT(ok, 20);
  auto check = [&](DB* d) {
    EXPECT_TRUE(ReadAll(d, "default") == model)
        << "differs from the model of " << model.size() << " keys";
    EXPECT_TRUE(d->VerifyIntegrity(nullptr).ok());
    EXPECT_LE(d->GetStats().pages_total * kPageBytes, options_.file_bytes_max);
  };
  check(db.get());
  db.reset();
  fs_->DropUnsyncedData();
  db = open();
  ASSERT_NE(db, nullptr);
  check(db.get());
}

// SUSPECTED ENGINE BUG -- this test fails on purpose until the engine is fixed (see the report
// that came with it). A commit that no checkpoint can fit under file_bytes_max is acknowledged,
// and then locks the database:
//   1. with the write buffer full of it, every later write is refused with NoSpace, even the
//      Delete that would make the data fit again (ThrottleWriter reruns the failing checkpoint);
//   2. once closed, the database no longer opens writable with the options it was used with
//      (recovery's checkpoint fails with NoSpace), although it holds only acknowledged commits.
// docs/errors.md says NoSpace leaves the database writable, and options.h that a commit that would
// exceed file_bytes_max fails with NoSpace. Either refusing such a commit or letting deletes
// through (and opening without the checkpoint) passes this test.
TEST_F(ApiErrorsTest, CommitThatCannotFitNeverLocksTheDatabase) {
  options_.file_bytes_max = 64 * kPageBytes;
  options_.file_growth_bytes = 4 * kPageBytes;
  options_.background_checkpoints = false;
  const std::string big(100 * kPageBytes, 'x');  // More than the whole file may hold.
  db_.reset();
  {
    SCOPED_TRACE("1: full write buffer");
    Options small_buffer = options_;
    small_buffer.write_buffer_bytes_max = 64 << 10;  // The smallest allowed.
    auto db = DB::Open(small_buffer, "/locked");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put({}, "default", "a", "small").ok());
    Status put = (*db)->Put({}, "default", "big", big);
    EXPECT_TRUE(put.ok() || put.IsNoSpace()) << put.ToString();
    // Making room must be possible.
    EXPECT_OK((*db)->Delete({}, "default", "big"));
    EXPECT_OK((*db)->Checkpoint());
    EXPECT_OK((*db)->Put({}, "default", "b", "writable again"));
  }
  {
    SCOPED_TRACE("2: reopen");
    auto db = DB::Open(options_, "/unopenable");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put({}, "default", "a", "small").ok());
    Status put = (*db)->Put({}, "default", "big", big);
    EXPECT_TRUE(put.ok() || put.IsNoSpace()) << put.ToString();
    db->reset();
    db = DB::Open(options_, "/unopenable");
    ASSERT_TRUE(db.ok()) << "reopening with the same options: " << db.status().ToString();
    std::map<std::string, std::string> expected = {{"a", "small"}};
    if (put.ok()) expected["big"] = big;  // Acknowledged, so durable.
    EXPECT_TRUE(ReadAll(db->get(), "default") == expected);
    EXPECT_OK((*db)->Delete({}, "default", "big"));
    EXPECT_OK((*db)->Checkpoint());
  }
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
}  // namespace manifold
