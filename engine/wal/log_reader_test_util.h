// What the log reader's tests share (log_reader_test.cc, log_reader_random_test.cc): segment
// files built record by record, and a fixture that replays them from a MemFileSystem.
#ifndef MANIFOLD_ENGINE_WAL_LOG_READER_TEST_UTIL_H_
#define MANIFOLD_ENGINE_WAL_LOG_READER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/wal/log_format.h"
#include "engine/wal/log_reader.h"
#include "manifold/env.h"

namespace manifold::wal {

constexpr char kDir[] = "/db";

inline std::string PayloadFor(uint64_t lsn) { return "commit " + std::to_string(lsn); }

inline std::string SegmentPath(uint64_t number) {
  return std::string(kDir) + "/" + SegmentFileName(number);
}

// The bytes of one segment file, built record by record.
class SegmentImage {
 public:
  explicit SegmentImage(uint64_t number) : number_(number) {}

  uint64_t number() const { return number_; }
  std::string& bytes() { return bytes_; }

  // Appends the record for `lsn` (payload PayloadFor(lsn)); returns its offset.
  size_t Add(uint64_t lsn, uint64_t synced_lsn) {
    const size_t offset = bytes_.size();
    AppendRecord(&bytes_, number_, lsn, synced_lsn, PayloadFor(lsn));
    offsets_[lsn] = offset;
    return offset;
  }
  // Appends records first..last, each written and synced alone (synced_lsn = lsn - 1).
  void AddSynced(uint64_t first, uint64_t last) {
    for (uint64_t lsn = first; lsn <= last; ++lsn) Add(lsn, lsn - 1);
  }
  // Appends a record a previous use of the file under segment `old_number` left behind.
  void AddStale(uint64_t old_number, uint64_t lsn, uint64_t synced_lsn) {
    AppendRecord(&bytes_, old_number, lsn, synced_lsn, PayloadFor(lsn));
  }
  // Appends a roll record naming `next` as the next segment (`next_lsn`: the LSN it needs next).
  void AddRoll(uint64_t next_lsn, uint64_t synced_lsn, uint64_t next) {
    AppendRollRecord(&bytes_, number_, next_lsn, synced_lsn, next);
  }
  // Appends a sync marker saying lsns up to `synced_lsn` are durable.
  size_t AddSyncMarker(uint64_t synced_lsn) {
    const size_t offset = bytes_.size();
    AppendSyncMarker(&bytes_, number_, synced_lsn + 1, synced_lsn);
    return offset;
  }
  // Zero-fills up to `size` bytes, like preallocation.
  void PadTo(size_t size) {
    if (bytes_.size() < size) bytes_.resize(size, '\0');
  }
  size_t OffsetOf(uint64_t lsn) const { return offsets_.at(lsn); }
  // Flips a bit in the payload of record `lsn`.
  void Damage(uint64_t lsn) { bytes_[OffsetOf(lsn) + kRecordHeaderBytes + 2] ^= 0x10; }

 private:
  uint64_t number_;
  std::string bytes_;
  std::map<uint64_t, size_t> offsets_;
};

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_->CreateDir(kDir).ok()); }

  void WriteFile(const std::string& path, std::string_view bytes) {
    OpenFileOptions create;
    create.create = true;
    auto file = fs_->OpenFile(path, create);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    ASSERT_TRUE((*file)->Truncate(0).ok());
    ASSERT_TRUE((*file)->Write(0, bytes).ok());
  }
  // Writes the segment preallocated to whole granules, as the writer leaves every segment (I22).
  void Write(SegmentImage& segment) {
    segment.PadTo(RoundUpToGranule(segment.bytes().size()));
    WriteFile(SegmentPath(segment.number()), segment.bytes());
  }
  // A segment is never written shorter than one granule.
  static size_t RoundUpToGranule(size_t bytes) {
    return std::max<uint64_t>(kSegmentGranuleBytes, wal::RoundUpToGranule(bytes));
  }

  // Replays into applied_, checking every payload against the LSN it came with.
  Status Replay(uint64_t checkpoint_lsn, bool salvage = false, FileSystem* fs = nullptr) {
    applied_.clear();
    ReplayOptions options;
    options.fs = fs != nullptr ? fs : fs_.get();
    options.dir = kDir;
    options.checkpoint_lsn = checkpoint_lsn;
    options.head_segment = head_;
    options.salvage = salvage;
    return ReplayLog(
        options,
        [this](uint64_t lsn, std::string_view payload) {
          // PayloadFor(lsn), possibly followed by filler 'p's (ModelLog).
          const std::string expected = PayloadFor(lsn);
          EXPECT_EQ(payload.substr(0, expected.size()), expected);
          EXPECT_EQ(payload.find_first_not_of('p', expected.size()), std::string_view::npos)
              << payload;
          applied_.push_back(lsn);
          return Status::OK();
        },
        &result_);
  }

  // Replays from `checkpoint_lsn` and expects Corruption whose message holds every one of
  // `parts`, with the records up to `last` applied; then salvage keeps them and drops `dropped`.
  void ExpectCorruptionAndSalvage(uint64_t checkpoint_lsn, const std::vector<std::string>& parts,
                                  uint64_t last, uint64_t dropped) {
    const Status s = Replay(checkpoint_lsn);
    ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    for (const std::string& part : parts) {
      EXPECT_TRUE(Contains(s.message(), part)) << part << " in " << s.ToString();
    }
    EXPECT_TRUE(Contains(s.message(), "wal_salvage")) << s.ToString();
    EXPECT_EQ(applied_, Range(checkpoint_lsn + 1, last));
    ASSERT_TRUE(Replay(checkpoint_lsn, /*salvage=*/true).ok()) << result_.end_note;
    EXPECT_EQ(applied_, Range(checkpoint_lsn + 1, last));
    EXPECT_EQ(result_.last_lsn, last);
    EXPECT_EQ(result_.salvage_dropped, dropped);
  }

  // Replays from `checkpoint_lsn` and expects a torn tail after `last`.
  void ExpectTornTail(uint64_t checkpoint_lsn, uint64_t last) {
    ASSERT_TRUE(Replay(checkpoint_lsn).ok()) << result_.end_note;
    EXPECT_EQ(applied_, Range(checkpoint_lsn + 1, last));
    EXPECT_TRUE(result_.torn_tail) << result_.end_note;
  }

  static std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
    std::vector<uint64_t> lsns;
    for (uint64_t lsn = first; lsn <= last; ++lsn) lsns.push_back(lsn);
    return lsns;
  }

  static bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  std::unique_ptr<MemFileSystem> fs_ = NewMemFileSystem();
  uint64_t head_ = 0;  // ReplayOptions::head_segment.
  ReplayResult result_;
  std::vector<uint64_t> applied_;
};
}  // namespace manifold::wal

#endif  // MANIFOLD_ENGINE_WAL_LOG_READER_TEST_UTIL_H_
