// Every size and count limit of docs/limits.md: at the limit a call succeeds, past it the call
// fails with the documented Status code and a message, writes nothing, and leaves the database
// usable (a file that reaches its size limit included).
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"
#include "tests/api_test_util.h"

namespace manifold::api_test {
namespace {

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

}  // namespace
}  // namespace manifold::api_test
