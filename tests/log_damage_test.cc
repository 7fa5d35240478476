// A lost, truncated or bit-flipped log segment of a live POSIX database is never taken for a torn
// tail (issue 11, item 1; I20-I23 in docs/design.md). Each test writes durable commits across
// several small segments, copies the database directory while it is still open (what a crash
// leaves: every acknowledged commit is in the files), damages the copy, and opens it: Corruption
// naming the file, or with Options::wal_salvage an open that keeps the commits before the damage
// and counts what it dropped. An undamaged copy opens with every acknowledged commit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "manifold/db.h"
#include "manifold/options.h"
#include "manifold/status.h"

namespace manifold {
namespace {

namespace fs = std::filesystem;

constexpr int kCommits = 120;
constexpr size_t kValueBytes = 1500;  // About 40 records per 64 KiB segment: 3 or 4 segments.

std::string Key(int i) { return "key" + std::to_string(1000 + i); }

// Unique per commit, so the test can find a commit's record in a segment file by its bytes.
std::string Value(int i) {
  std::string v = "value-of-commit-" + std::to_string(1000 + i) + "-";
  v.resize(kValueBytes, static_cast<char>('a' + i % 26));
  return v;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

class LogDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    root_ = fs::path(tmp != nullptr ? tmp : "/tmp") /
            ("log_damage_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    options_.page_bytes = 1024;
    options_.wal_segment_bytes = 64 << 10;
    // No checkpoint while the test writes: every commit stays in the log.
    options_.background_checkpoints = false;
    options_.checkpoint_log_bytes = uint64_t{1} << 30;
    options_.checkpoint_interval_us = 0;
    auto db = DB::Open(options_, (root_ / "live").string());
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    live_ = std::move(db).value();
    for (int i = 0; i < kCommits; ++i) {
      ASSERT_TRUE(live_->Put(WriteOptions{}, "default", Key(i), Value(i)).ok());  // Durable.
    }
    // The crash image: the live database's files as they are now (it stays open).
    fs::copy(root_ / "live", root_ / "copy", fs::copy_options::recursive);
    fs::remove(root_ / "copy" / "LOCK");
    segments_ = Segments();
    ASSERT_GE(segments_.size(), 2u) << "the commits must span several segments";
  }

  void TearDown() override {
    live_.reset();
    fs::remove_all(root_);
  }

  // The copy's segment files, oldest first.
  std::vector<fs::path> Segments() const {
    std::vector<fs::path> found;
    for (const fs::directory_entry& entry : fs::directory_iterator(root_ / "copy")) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("wal-", 0) == 0 && name.size() == 24) found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    return found;
  }

  StatusOr<std::unique_ptr<DB>> OpenCopy(bool salvage) {
    Options options = options_;
    options.wal_salvage = salvage;
    return DB::Open(options, (root_ / "copy").string());
  }

  // Opens the damaged copy: Corruption naming `file`; then with salvage: opens with a prefix of
  // the commits (at least `kept_min`) and returns it.
  std::unique_ptr<DB> ExpectCorruptionThenSalvage(const fs::path& file, int kept_min) {
    auto refused = OpenCopy(/*salvage=*/false);
    EXPECT_TRUE(refused.status().IsCorruption()) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find(file.filename().string()), std::string::npos)
        << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("wal_salvage"), std::string::npos);
    auto salvaged = OpenCopy(/*salvage=*/true);
    EXPECT_TRUE(salvaged.ok()) << salvaged.status().ToString();
    if (!salvaged.ok()) return nullptr;
    std::unique_ptr<DB> db = std::move(salvaged).value();
    EXPECT_GE(CountPrefix(db.get()), kept_min);
    return db;
  }

  // How many commits, from the first, the database holds (and that nothing after them is there).
  static int CountPrefix(DB* db) {
    int present = 0;
    while (present < kCommits) {
      auto value = db->Get(ReadOptions{}, "default", Key(present));
      if (!value.ok()) break;
      EXPECT_EQ(*value, Value(present));
      ++present;
    }
    for (int i = present; i < kCommits; ++i) {
      EXPECT_TRUE(db->Get(ReadOptions{}, "default", Key(i)).status().IsNotFound()) << i;
    }
    return present;
  }

  Options options_;
  fs::path root_;
  std::unique_ptr<DB> live_;
  std::vector<fs::path> segments_;
};

TEST_F(LogDamageTest, UndamagedCopyHasEveryAcknowledgedCommit) {
  auto db = OpenCopy(/*salvage=*/false);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(CountPrefix(db->get()), kCommits);
  EXPECT_EQ((*db)->GetStats().log_records_replayed, static_cast<uint64_t>(kCommits));
  EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
}

// I20: the segment before it ends with a roll record naming it.
TEST_F(LogDamageTest, DeletedNewestSegmentIsCorruption) {
  fs::remove(segments_.back());
  std::unique_ptr<DB> db = ExpectCorruptionThenSalvage(segments_.back(), 1);
  ASSERT_NE(db, nullptr);
  EXPECT_LT(CountPrefix(db.get()), kCommits);
  EXPECT_EQ(db->GetStats().log_records_salvage_dropped, 0u);  // Nothing after the loss is left.
}

TEST_F(LogDamageTest, DeletedMiddleSegmentIsCorruptionAndSalvageCountsTheRest) {
  ASSERT_GE(segments_.size(), 3u);
  fs::remove(segments_[1]);
  std::unique_ptr<DB> db = ExpectCorruptionThenSalvage(segments_[1], 1);
  ASSERT_NE(db, nullptr);
  // The later segments' records are dropped (and counted); the deleted segment's are gone.
  const uint64_t dropped = db->GetStats().log_records_salvage_dropped;
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(static_cast<uint64_t>(CountPrefix(db.get())) + dropped,
            static_cast<uint64_t>(kCommits));
}

// I21: the checkpoint header names the head segment; with every segment gone the open must not
// succeed with an empty database.
TEST_F(LogDamageTest, DeletedHeadSegmentIsCorruption) {
  for (const fs::path& segment : segments_) fs::remove(segment);
  auto refused = OpenCopy(/*salvage=*/false);
  EXPECT_TRUE(refused.status().IsCorruption()) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find(segments_.front().filename().string()),
            std::string::npos)
      << refused.status().ToString();
}

// I22: segment lengths are whole preallocation granules, durable before records go into them.
TEST_F(LogDamageTest, NewestSegmentTruncatedInsideItsRecordsIsCorruption) {
  const std::string bytes = ReadFile(segments_.back());
  const size_t last = bytes.find(Value(kCommits - 1).substr(0, 20));
  ASSERT_NE(last, std::string::npos);
  WriteFile(segments_.back(), bytes.substr(0, last + 100));  // Cuts the newest record.
  std::unique_ptr<DB> db = ExpectCorruptionThenSalvage(segments_.back(), kCommits - 1);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountPrefix(db.get()), kCommits - 1);
}

TEST_F(LogDamageTest, MiddleSegmentTruncatedIsCorruption) {
  const std::string bytes = ReadFile(segments_.front());
  WriteFile(segments_.front(), bytes.substr(0, bytes.size() / 3));
  std::unique_ptr<DB> db = ExpectCorruptionThenSalvage(segments_.front(), 0);
  ASSERT_NE(db, nullptr);
  EXPECT_LT(CountPrefix(db.get()), kCommits);
}

// I23: the sync marker written after the newest durable group vouches for its record.
TEST_F(LogDamageTest, BitFlipInTheNewestRecordIsCorruption) {
  std::string bytes = ReadFile(segments_.back());
  const size_t last = bytes.find(Value(kCommits - 1).substr(0, 20));
  ASSERT_NE(last, std::string::npos);
  bytes[last + 30] ^= 0x08;
  WriteFile(segments_.back(), bytes);
  std::unique_ptr<DB> db = ExpectCorruptionThenSalvage(segments_.back(), kCommits - 1);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(CountPrefix(db.get()), kCommits - 1);
}

}  // namespace
}  // namespace manifold
