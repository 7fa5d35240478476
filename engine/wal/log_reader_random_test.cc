// The log reader against a model of the writer: random group commits, crashes that tear the
// unsynced groups, damage to records a later one vouches for, and a million-record replay.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/util/coding.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_reader.h"
#include "engine/wal/log_reader_test_util.h"
#include "manifold/env.h"

namespace manifold::wal {
namespace {

class ModelLog {
 public:
  ModelLog(std::mt19937_64* rng, size_t segment_bytes) : rng_(*rng), segment_bytes_(segment_bytes) {
    NewSegment();
  }

  // Appends a group of `n` records, all stamped with the LSN that was durable before the group
  // (the writer does not know yet whether any of them will be synced).
  void AppendGroup(int n) {
    const uint64_t synced = durable_;
    for (int i = 0; i < n; ++i) {
      const uint64_t lsn = ++last_;
      const std::string payload = PayloadFor(lsn) + std::string(rng_() % 120, 'p');
      // A record never spans segments: one that does not fit goes to a new segment, and a roll
      // record naming it ends the old one (I20).
      if (offset_ + RecordBytes(payload.size()) + kSegmentReserveBytes > segment_bytes_) {
        std::string roll;
        AppendRollRecord(&roll, segment_, lsn, synced, segment_ + 1);
        Place(roll);
        NewSegment();
      }
      std::string record;
      AppendRecord(&record, segment_, lsn, synced, payload);
      ASSERT_LE(offset_ + record.size(), segment_bytes_);
      Place(record);
    }
  }

  // Power cut: every 64-byte block touched by an unsynced write keeps its new contents or goes
  // back to what it held before the write, independently.
  void Crash() {
    for (const Written& w : unsynced_) {
      std::string& image = images_[w.segment];
      for (size_t pos = w.offset & ~size_t{63}; pos < w.offset + w.bytes.size(); pos += 64) {
        if (rng_() % 2 == 0) continue;
        const std::string& before = originals_[w.segment];
        image.replace(pos, 64, before.substr(pos, 64));
      }
    }
    // Blocks shared with synced records must hold them: reverting a block also reverts the
    // synced bytes in it, which a real disk would not do. Put synced records back.
    for (const Written& w : synced_) images_[w.segment].replace(w.offset, w.bytes.size(), w.bytes);
  }

  // Everything appended so far is durable.
  void Sync() {
    for (Written& w : unsynced_) synced_.push_back(w);
    unsynced_.clear();
    durable_ = last_;
  }

  uint64_t durable() const { return durable_; }
  uint64_t last() const { return last_; }
  const std::map<uint64_t, std::string>& images() const { return images_; }

 private:
  struct Written {
    uint64_t segment;
    size_t offset;
    std::string bytes;
  };

  void Place(const std::string& record) {
    images_[segment_].replace(offset_, record.size(), record);
    unsynced_.push_back({segment_, offset_, record});
    offset_ += record.size();
  }

  void NewSegment() {
    ++segment_;
    offset_ = 0;
    // Preallocated to a whole granule (I22); only the first segment_bytes_ take records.
    std::string image(kSegmentGranuleBytes, '\0');
    if (rng_() % 2 == 0) {
      // A recycled file: stale records of an older number, with LSNs near the live ones.
      std::string stale;
      while (true) {
        const uint64_t lsn = last_ + 1 + rng_() % 8;
        std::string one;
        AppendRecord(&one, segment_ + 1000, lsn, lsn - 1, PayloadFor(lsn));
        if (stale.size() + one.size() > segment_bytes_) break;
        stale += one;
      }
      image.replace(0, stale.size(), stale);
    }
    images_[segment_] = image;
    originals_[segment_] = image;
  }

  std::mt19937_64& rng_;
  const size_t segment_bytes_;
  uint64_t segment_ = 0;
  size_t offset_ = 0;
  uint64_t last_ = 0;
  uint64_t durable_ = 0;
  std::vector<Written> unsynced_;
  std::vector<Written> synced_;
  std::map<uint64_t, std::string> images_;
  std::map<uint64_t, std::string> originals_;
};

TEST_F(ReplayTest, RandomCrashStatesRecoverEverySyncedRecord) {
  int torn_tails = 0;
  int lost_unsynced = 0;  // Crashes that lost at least one unsynced record.
  int kept_unsynced = 0;  // Crashes where at least one unsynced record survived.
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs_ = NewMemFileSystem();
    ASSERT_TRUE(fs_->CreateDir(kDir).ok());
    std::mt19937_64 rng(seed);
    ModelLog log(&rng, 1024);
    const int synced_groups = static_cast<int>(rng() % 12);
    for (int g = 0; g < synced_groups; ++g) {
      log.AppendGroup(1 + static_cast<int>(rng() % 5));
      log.Sync();
    }
    const int unsynced_groups = static_cast<int>(rng() % 4);
    for (int g = 0; g < unsynced_groups; ++g) log.AppendGroup(1 + static_cast<int>(rng() % 5));
    log.Crash();
    for (const auto& [number, image] : log.images()) WriteFile(SegmentPath(number), image);

    const uint64_t checkpoint = log.durable() == 0 ? 0 : rng() % (log.durable() + 1);
    const Status s = Replay(checkpoint);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_GE(result_.last_lsn, std::max(log.durable(), checkpoint)) << result_.end_note;
    EXPECT_LE(result_.last_lsn, std::max(log.last(), checkpoint));
    EXPECT_EQ(applied_, Range(checkpoint + 1, result_.last_lsn));
    EXPECT_EQ(result_.salvage_dropped, 0u);
    if (unsynced_groups == 0) {
      EXPECT_FALSE(result_.torn_tail) << result_.end_note;
    }
    torn_tails += result_.torn_tail;
    lost_unsynced += result_.last_lsn < log.last();
    kept_unsynced += result_.last_lsn > std::max(log.durable(), checkpoint);
  }
  // The model must actually produce the interesting cases.
  std::printf("crash states: %d torn tails, %d lost unsynced records, %d kept some\n", torn_tails,
              lost_unsynced, kept_unsynced);
  EXPECT_GT(torn_tails, 20);
  EXPECT_GT(lost_unsynced, 20);
  EXPECT_GT(kept_unsynced, 20);
}

// One synced record damaged, with a later record vouching for it: always Corruption; with
// salvage, exactly the records before it.
TEST_F(ReplayTest, RandomDamageToVouchedRecordsIsDetected) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    fs_ = NewMemFileSystem();
    ASSERT_TRUE(fs_->CreateDir(kDir).ok());
    std::mt19937_64 rng(seed);
    ModelLog log(&rng, 1024);
    const int groups = 2 + static_cast<int>(rng() % 10);
    for (int g = 0; g < groups; ++g) {
      log.AppendGroup(1 + static_cast<int>(rng() % 5));
      log.Sync();
    }
    // One more group: its records vouch for everything before it.
    const uint64_t vouched = log.durable();
    log.AppendGroup(1);
    log.Sync();
    const uint64_t victim = 1 + rng() % vouched;
    // Find the victim and flip a byte of its payload.
    bool damaged = false;
    for (const auto& [number, image] : log.images()) {
      std::string bytes = image;
      for (size_t offset = 0; offset + kRecordHeaderBytes <= bytes.size() && !damaged;
           offset += kRecordAlignBytes) {
        RecordView view;
        uint64_t named = 0;
        if (DecodeRecord(std::string_view(bytes).substr(offset), number, &view) &&
            view.lsn == victim && ClassifyRecord(view, &named) == RecordKind::kData) {
          bytes[offset + kRecordHeaderBytes] ^= 1;
          damaged = true;
        }
      }
      WriteFile(SegmentPath(number), bytes);
    }
    ASSERT_TRUE(damaged);
    EXPECT_TRUE(Replay(0).IsCorruption()) << "victim lsn " << victim;
    ASSERT_TRUE(Replay(0, /*salvage=*/true).ok());
    EXPECT_EQ(result_.last_lsn, victim - 1);
    EXPECT_EQ(result_.salvage_dropped, log.last() - victim);
  }
}

// Replay speed: 1M records of 64-byte payload. Prints the rate; asserts only correctness.
TEST_F(ReplayTest, ReplaysAMillionRecords) {
  constexpr uint64_t kRecords = 1'000'000;
  constexpr size_t kSegmentBytes = size_t{32} << 20;
  std::string payload(64, 'v');
  uint64_t segment = 1;
  std::string image;
  image.reserve(kSegmentBytes);
  for (uint64_t lsn = 1; lsn <= kRecords; ++lsn) {
    if (image.size() + RecordBytes(payload.size()) + kSegmentReserveBytes > kSegmentBytes) {
      AppendRollRecord(&image, segment, lsn, lsn - 1, segment + 1);
      image.resize(RoundUpToGranule(image.size()), '\0');
      WriteFile(SegmentPath(segment++), image);
      image.clear();
    }
    EncodeFixed64(payload.data(), lsn);
    AppendRecord(&image, segment, lsn, lsn - 1, payload);
  }
  image.resize(RoundUpToGranule(image.size()), '\0');
  WriteFile(SegmentPath(segment), image);

  ReplayOptions options;
  options.fs = fs_.get();
  options.dir = kDir;
  uint64_t expected = 1;
  bool payloads_ok = true;
  const auto start = std::chrono::steady_clock::now();
  const Status s = ReplayLog(
      options,
      [&](uint64_t lsn, std::string_view p) {
        payloads_ok &= lsn == expected && p.size() == 64 && DecodeFixed64(p.data()) == lsn;
        ++expected;
        return Status::OK();
      },
      &result_);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(payloads_ok);
  EXPECT_EQ(result_.records_applied, kRecords);
  EXPECT_EQ(result_.last_lsn, kRecords);
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_EQ(result_.segments.size(), segment);
  std::printf("replayed %llu records (%llu segments) in %.3f s: %.2f M records/s, %.0f MB/s\n",
              static_cast<unsigned long long>(kRecords), static_cast<unsigned long long>(segment),
              seconds, kRecords / seconds / 1e6, kRecords * RecordBytes(64) / seconds / 1e6);
}

}  // namespace
}  // namespace manifold::wal
