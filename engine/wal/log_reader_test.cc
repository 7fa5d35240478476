#include "engine/wal/log_reader.h"

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
#include "manifold/env.h"

namespace manifold::wal {
namespace {

constexpr char kDir[] = "/db";

std::string PayloadFor(uint64_t lsn) { return "commit " + std::to_string(lsn); }

std::string SegmentPath(uint64_t number) {
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

TEST_F(ReplayTest, EmptyDirectory) {
  ASSERT_TRUE(Replay(7).ok());
  EXPECT_EQ(result_.last_lsn, 7u);
  EXPECT_EQ(result_.records_applied, 0u);
  EXPECT_EQ(result_.records_skipped, 0u);
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_TRUE(result_.segments.empty());
  EXPECT_TRUE(applied_.empty());
}

TEST_F(ReplayTest, MissingDirectoryIsAnError) {
  ReplayOptions options;
  options.fs = fs_.get();
  options.dir = "/nowhere";
  const Status s = ReplayLog(
      options, [](uint64_t, std::string_view) { return Status::OK(); }, &result_);
  EXPECT_FALSE(s.ok());
}

TEST_F(ReplayTest, CleanLog) {
  SegmentImage seg(1);
  seg.AddSynced(1, 10);
  const size_t end = seg.bytes().size();
  seg.PadTo(4096);  // Preallocated.
  Write(seg);
  ASSERT_TRUE(Replay(0).ok());
  EXPECT_EQ(applied_, Range(1, 10));
  EXPECT_EQ(result_.last_lsn, 10u);
  EXPECT_EQ(result_.records_applied, 10u);
  EXPECT_EQ(result_.records_skipped, 0u);
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_EQ(result_.salvage_dropped, 0u);
  EXPECT_EQ(result_.segments, std::vector<uint64_t>{1});
  EXPECT_TRUE(Contains(result_.end_note, SegmentFileName(1) + " offset " + std::to_string(end)))
      << result_.end_note;
}

// I22: every segment length the writer leaves is a whole number of granules, so a log that ends
// exactly at the end of a shorter file was truncated (at a record boundary).
TEST_F(ReplayTest, ChainEndingAtAnIllegalLengthIsCorruption) {
  SegmentImage seg(1);
  seg.AddSynced(1, 3);
  WriteFile(SegmentPath(1), seg.bytes());
  ExpectCorruptionAndSalvage(
      0, {SegmentFileName(1), std::to_string(seg.bytes().size()) + " bytes long"}, 3, 0);
}

TEST_F(ReplayTest, OtherFilesAreIgnored) {
  SegmentImage seg(2);
  seg.AddSynced(1, 2);
  Write(seg);
  // Names close to a segment's must not be read as one (they hold garbage here).
  const std::string garbage(64, 'g');
  for (const char* name : {"LOCK", "MANIFOLD", "wal-2.log", "wal-0000000000000003.log.tmp",
                           "wal-00000000000000004.log"}) {
    WriteFile(std::string(kDir) + "/" + name, garbage);
  }
  ASSERT_TRUE(Replay(0).ok());
  EXPECT_EQ(applied_, Range(1, 2));
  EXPECT_EQ(result_.segments, std::vector<uint64_t>{2});
}

TEST_F(ReplayTest, SeveralSegmentsWithPaddingAndStaleTails) {
  SegmentImage a(3);
  a.AddSynced(1, 5);
  a.AddRoll(6, 5, 4);  // The next record did not fit: the writer moved on.
  a.PadTo(1024);
  SegmentImage b(4);
  b.AddSynced(6, 9);
  b.AddRoll(10, 9, 7);  // Numbers need not be contiguous.
  // A recycled file: stale records of its old number, some with LSNs the chain will need next.
  for (uint64_t lsn = 8; lsn < 20; ++lsn) b.AddStale(1, lsn, lsn - 1);
  SegmentImage c(7);
  c.AddSynced(10, 12);
  c.PadTo(1024);
  Write(a);
  Write(b);
  Write(c);
  ASSERT_TRUE(Replay(0).ok());
  EXPECT_EQ(applied_, Range(1, 12));
  EXPECT_EQ(result_.last_lsn, 12u);
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_EQ(result_.segments, (std::vector<uint64_t>{3, 4, 7}));
}

TEST_F(ReplayTest, RecordsCoveredByCheckpointAreSkipped) {
  SegmentImage a(1);
  a.AddSynced(1, 6);
  a.AddRoll(7, 6, 2);
  SegmentImage b(2);
  b.AddSynced(7, 10);
  Write(a);
  Write(b);

  ASSERT_TRUE(Replay(6).ok());
  EXPECT_EQ(applied_, Range(7, 10));
  EXPECT_EQ(result_.records_skipped, 6u);
  EXPECT_EQ(result_.records_applied, 4u);
  EXPECT_EQ(result_.last_lsn, 10u);

  ASSERT_TRUE(Replay(8).ok());
  EXPECT_EQ(applied_, Range(9, 10));
  EXPECT_EQ(result_.records_skipped, 8u);

  ASSERT_TRUE(Replay(10).ok());
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(result_.records_skipped, 10u);
  EXPECT_EQ(result_.last_lsn, 10u);
  EXPECT_FALSE(result_.torn_tail);

  // A checkpoint newer than the whole log (its segments were already retired up to here).
  ASSERT_TRUE(Replay(20).ok());
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(result_.last_lsn, 20u);
  EXPECT_FALSE(result_.torn_tail);
}

TEST_F(ReplayTest, DamageCoveredByCheckpointIsHarmless) {
  SegmentImage a(1);
  a.AddSynced(1, 5);
  a.AddRoll(6, 5, 2);
  a.Damage(2);
  SegmentImage b(2);
  b.AddSynced(6, 8);
  Write(a);
  Write(b);
  head_ = 2;  // The segment holding lsn 6: segment 1 is not even read.
  ASSERT_TRUE(Replay(5).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(6, 8));
  EXPECT_FALSE(result_.torn_tail);
}

// I22: a segment's length is durable before records are written into it, so a record that the
// end of its file cuts off was truncated, not torn by a crash: Corruption, even with nothing after
// it to vouch for it.
TEST_F(ReplayTest, RecordCutByTheEndOfItsFileIsCorruption) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  const size_t cut = seg.Add(6, 5);
  seg.bytes().resize(cut + kRecordHeaderBytes + 3);
  WriteFile(SegmentPath(1), seg.bytes());
  ExpectCorruptionAndSalvage(0, {SegmentFileName(1) + " offset " + std::to_string(cut), "cuts off"},
                             5, 0);
}

TEST_F(ReplayTest, HeaderCutByTheEndOfItsFileIsCorruption) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  const size_t cut = seg.Add(6, 5);
  seg.bytes().resize(cut + 20);
  WriteFile(SegmentPath(1), seg.bytes());
  EXPECT_TRUE(Replay(0).IsCorruption());
  EXPECT_EQ(applied_, Range(1, 5));
}

TEST_F(ReplayTest, TornTailInPreallocatedSegment) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  const size_t torn = seg.Add(6, 5);
  seg.PadTo(4096);
  // The sector holding the end of record 6's payload never made it: zeros there.
  seg.bytes()[torn + kRecordHeaderBytes + 1] = 0;
  Write(seg);
  ASSERT_TRUE(Replay(0).ok());
  EXPECT_EQ(applied_, Range(1, 5));
  EXPECT_TRUE(result_.torn_tail);
}

TEST_F(ReplayTest, TornFirstRecordOfNewSegment) {
  SegmentImage a(1);
  a.AddSynced(1, 3);
  a.AddRoll(4, 3, 2);
  a.PadTo(512);
  SegmentImage b(2);
  b.Add(4, 3);
  b.bytes().resize(kRecordHeaderBytes + 2);  // The rest of the record never reached the disk.
  Write(a);
  Write(b);
  ASSERT_TRUE(Replay(0).ok());
  EXPECT_EQ(applied_, Range(1, 3));
  EXPECT_TRUE(result_.torn_tail);
  EXPECT_TRUE(Contains(result_.end_note, SegmentFileName(2))) << result_.end_note;
}

// A group write (records 6, 7, 8 appended together, none synced yet) torn by a crash: record 6
// is lost, 7 and 8 reached the disk. Nothing acknowledged is lost: the records after the damage
// were appended when only lsn 5 was durable.
TEST_F(ReplayTest, LostUnsyncedMiddleRecordIsATornTail) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  seg.Add(6, 5);
  seg.Add(7, 5);
  seg.Add(8, 5);
  seg.Damage(6);
  seg.PadTo(2048);
  Write(seg);
  ASSERT_TRUE(Replay(0).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(1, 5));
  EXPECT_EQ(result_.last_lsn, 5u);
  EXPECT_TRUE(result_.torn_tail);
  EXPECT_EQ(result_.salvage_dropped, 0u);
  EXPECT_TRUE(Contains(result_.end_note, "lsn 6")) << result_.end_note;
}

// Chaos seed 1733: a sync marker misdirected onto older records of the head segment (or lost
// from its slot) leaves bytes that do not decode before the next group, and a crash takes that
// group's own marker. Nothing vouches for the group, but it is intact and it is the record the
// chain needs next: the chain passes over the damage instead of dropping acknowledged commits.
TEST_F(ReplayTest, DamageBeforeTheNextNeededRecordIsPassedOver) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  seg.Damage(3);                               // Covered by the checkpoint at 5.
  const size_t marker = seg.AddSyncMarker(5);  // The marker's slot, then zeroed below.
  seg.Add(6, 5);                               // The next group: synced, its marker lost.
  seg.Add(7, 5);
  std::fill(seg.bytes().begin() + marker, seg.bytes().begin() + seg.OffsetOf(6), '\0');
  Write(seg);
  ASSERT_TRUE(Replay(5).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(6, 7));
  EXPECT_EQ(result_.damage_passed_over, 1u);
  EXPECT_FALSE(result_.torn_tail) << result_.end_note;
  // Damage to the needed record itself still ends the chain (no hole: 7 is not applied).
  seg.Damage(6);
  Write(seg);
  ExpectTornTail(5, 5);
}

// Record 8 was appended after lsn 7 was durable, so a damaged record 6 lost acknowledged data.
TEST_F(ReplayTest, DamagedRecordVouchedForByLaterRecordIsCorruption) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  seg.Add(6, 5);
  seg.Add(7, 5);
  seg.Add(8, 7);
  seg.Damage(6);
  Write(seg);
  const Status s = Replay(0);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), SegmentFileName(1))) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "offset " + std::to_string(seg.OffsetOf(6)))) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "lsn 6")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "lsn 8")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "wal_salvage")) << s.ToString();
  // The option it names says what it would drop: records 7 and 8.
  EXPECT_TRUE(Contains(s.message(), "drops those 2 records")) << s.ToString();
  EXPECT_EQ(applied_, Range(1, 5));  // The records before the damage were already handed over.
}

// The evidence scan's bound: a vouching record whose header ends exactly at the end of the file
// (an empty payload in the segment's last 32 bytes, which the format allows) must still be seen.
TEST_F(ReplayTest, VoucherEndingExactlyAtTheEndOfTheFileIsSeen) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  seg.Add(6, 5);
  seg.Damage(6);
  const size_t file_bytes = RoundUpToGranule(seg.bytes().size() + kRecordHeaderBytes);
  seg.PadTo(file_bytes - kRecordHeaderBytes);
  AppendRecord(&seg.bytes(), seg.number(), 7, /*synced_lsn=*/6, "");
  ASSERT_EQ(seg.bytes().size(), file_bytes);
  WriteFile(SegmentPath(seg.number()), seg.bytes());
  const Status s = Replay(0);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString() << " / " << result_.end_note;
  EXPECT_TRUE(Contains(s.message(), "lsn 6")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "lsn 7")) << s.ToString();
  EXPECT_EQ(applied_, Range(1, 5));
}

TEST_F(ReplayTest, SalvageKeepsRecordsBeforeTheDamage) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  seg.Add(6, 5);
  seg.Add(7, 5);
  seg.Add(8, 7);
  seg.Damage(6);
  Write(seg);
  ASSERT_TRUE(Replay(0, /*salvage=*/true).ok());
  EXPECT_EQ(applied_, Range(1, 5));
  EXPECT_EQ(result_.last_lsn, 5u);
  EXPECT_EQ(result_.salvage_dropped, 2u);  // Records 7 and 8.
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_TRUE(Contains(result_.end_note, "salvage")) << result_.end_note;
}

TEST_F(ReplayTest, SalvageOfATornTailDropsNothing) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  seg.Add(6, 5);
  seg.Add(7, 5);
  seg.Damage(6);
  Write(seg);
  ASSERT_TRUE(Replay(0, /*salvage=*/true).ok());
  EXPECT_EQ(applied_, Range(1, 5));
  EXPECT_EQ(result_.salvage_dropped, 0u);
  EXPECT_TRUE(result_.torn_tail);
}

TEST_F(ReplayTest, GapAtSegmentStartVouchedForIsCorruption) {
  SegmentImage a(1);
  a.AddSynced(1, 4);
  a.AddRoll(5, 4, 2);
  a.PadTo(512);
  SegmentImage b(2);  // Record 5 is missing: segment 2 starts at 6, appended after 5 was durable.
  b.AddSynced(6, 8);
  Write(a);
  Write(b);
  const Status s = Replay(0);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "lsn 5")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), SegmentFileName(2) + " offset 0")) << s.ToString();
  EXPECT_EQ(applied_, Range(1, 4));

  ASSERT_TRUE(Replay(0, /*salvage=*/true).ok());
  EXPECT_EQ(result_.last_lsn, 4u);
  EXPECT_EQ(result_.salvage_dropped, 3u);
}

TEST_F(ReplayTest, GapAtSegmentStartNotVouchedForIsATornTail) {
  SegmentImage a(1);
  a.AddSynced(1, 4);
  a.AddRoll(5, 4, 2);
  SegmentImage b(2);
  b.Add(6, 4);
  b.Add(7, 4);
  Write(a);
  Write(b);
  ASSERT_TRUE(Replay(0).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(1, 4));
  EXPECT_TRUE(result_.torn_tail);
}

TEST_F(ReplayTest, MissingSegmentFileIsCorruption) {
  SegmentImage a(1);
  a.AddSynced(1, 3);
  a.AddRoll(4, 3, 2);
  SegmentImage c(3);  // Segment 2 (records 4..6) is gone.
  c.AddSynced(7, 9);
  Write(a);
  Write(c);
  ExpectCorruptionAndSalvage(
      0, {"lsn 4", "roll record naming", SegmentFileName(2), SegmentFileName(3)}, 3, 3);
}

// I20: the segment a roll record names was durable before the roll record was written, so the
// newest segment ending with a roll record proves that a newer segment was lost, even though
// nothing after the loss is left to vouch for it.
TEST_F(ReplayTest, RollToALostNewestSegmentIsCorruption) {
  SegmentImage a(1);
  a.Add(1, 0);
  a.Add(2, 0);  // Nothing after the roll record vouches for anything.
  a.AddRoll(3, 0, 2);
  Write(a);
  ExpectCorruptionAndSalvage(0, {SegmentFileName(2), "no later segment exists"}, 2, 0);
}

// I20 + I22: a segment is preallocated and its length synced before the roll record naming it is
// written, so the segment a roll record leads to is never empty; one that is was truncated, even
// though nothing after the cut is left to vouch for what it held.
TEST_F(ReplayTest, EmptySegmentARollRecordLeadsToIsCorruption) {
  SegmentImage a(1);
  a.Add(1, 0);
  a.Add(2, 0);
  a.AddRoll(3, 0, 2);
  Write(a);
  WriteFile(SegmentPath(2), "");  // Truncated to nothing.
  ExpectCorruptionAndSalvage(0, {SegmentFileName(2), "is empty", "truncated"}, 2, 0);

  // Preallocated and never written (a crash before the group's writes): a clean end.
  SegmentImage b(2);
  Write(b);
  ASSERT_TRUE(Replay(0).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(1, 2));
}

// A segment that is not the newest must end with a roll record. One that does not was cut short
// (or its roll record never reached the disk): the chain ends there, and the later records decide
// like any evidence: here they vouch for lsn 4, so it is Corruption.
TEST_F(ReplayTest, NonNewestSegmentWithoutARollRecordEndsTheChain) {
  SegmentImage a(1);
  a.AddSynced(1, 3);  // Records 4.. and the roll record were cut off.
  SegmentImage b(2);
  b.Add(5, 4);
  b.Add(6, 5);
  Write(a);
  Write(b);
  const Status s = Replay(0);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "without a roll record")) << s.ToString();
  EXPECT_EQ(applied_, Range(1, 3));

  // Unvouched (a crash lost the roll record and the group after it): a torn tail.
  SegmentImage c(2);
  c.Add(4, 3);
  c.Add(5, 3);
  Write(c);
  ExpectTornTail(0, 3);
}

// I21: the checkpoint header names the segment holding the first record it does not cover; that
// segment missing is Corruption even when no segment is left at all.
TEST_F(ReplayTest, MissingHeadSegmentIsCorruption) {
  SegmentImage b(4);
  b.AddSynced(9, 12);
  Write(b);
  head_ = 3;
  ExpectCorruptionAndSalvage(6, {SegmentFileName(3), "log head"}, 6, 4);

  ASSERT_TRUE(fs_->Remove(SegmentPath(4)).ok());
  ExpectCorruptionAndSalvage(6, {SegmentFileName(3)}, 6, 0);
}

// Segments below the head hold only checkpointed records (retired files kept for reuse keep their
// old numbers); they are not read, so their roll records cannot matter.
TEST_F(ReplayTest, SegmentsBelowTheHeadAreNotRead) {
  SegmentImage old(1);
  old.AddSynced(1, 4);
  old.AddRoll(5, 4, 2);  // Segment 2 was removed after a checkpoint covered it.
  SegmentImage head(3);
  head.AddSynced(7, 9);
  Write(old);
  Write(head);
  head_ = 3;
  ASSERT_TRUE(Replay(6).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(7, 9));
  EXPECT_EQ(result_.segments, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(result_.end_segment, 3u);
}

// I23: a sync marker after the newest durable record vouches for it, so a bit flipped in it on
// disk is Corruption. Without the marker nothing can tell it from a torn unsynced write.
TEST_F(ReplayTest, SyncMarkerMakesDamageToTheNewestDurableRecordCorruption) {
  SegmentImage seg(1);
  seg.AddSynced(1, 5);
  const size_t marker = seg.AddSyncMarker(5);
  seg.Damage(5);
  Write(seg);
  // The marker is not a commit: salvage drops nothing.
  ExpectCorruptionAndSalvage(0, {"lsn 5", "offset " + std::to_string(marker)}, 4, 0);

  SegmentImage unmarked(1);
  unmarked.AddSynced(1, 5);
  unmarked.Damage(5);
  Write(unmarked);
  ExpectTornTail(0, 4);
}

// Control records take no LSN and are never applied; the chain passes over them.
TEST_F(ReplayTest, ControlRecordsArePassedOver) {
  SegmentImage a(1);
  a.AddSynced(1, 2);
  a.AddSyncMarker(2);
  a.Add(3, 2);
  a.AddSyncMarker(3);
  a.AddRoll(4, 3, 2);
  SegmentImage b(2);
  b.Add(4, 3);
  const size_t end = b.AddSyncMarker(4) + kSyncMarkerRecordBytes;
  for (SegmentImage* image : {&a, &b}) Write(*image);
  ASSERT_TRUE(Replay(0).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(1, 4));  // Four data records, three control records.
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_EQ(std::make_pair(result_.end_segment, result_.end_offset), std::make_pair(2ul, end));
}

TEST_F(ReplayTest, FirstRecordAfterCheckpointMissing) {
  SegmentImage seg(1);
  seg.AddSynced(15, 17);  // Records 11..14 were durable (record 15 says so) but are gone.
  Write(seg);
  EXPECT_TRUE(Replay(10).IsCorruption());
  EXPECT_TRUE(applied_.empty());

  SegmentImage unsynced(1);
  unsynced.Add(15, 10);
  unsynced.Add(16, 10);
  Write(unsynced);
  ASSERT_TRUE(Replay(10).ok());
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(result_.last_lsn, 10u);
  EXPECT_TRUE(result_.torn_tail);
}

// A recycled file keeps its old records after the new ones; they carry the old segment number
// and must be neither applied (even when their LSN is the one needed next) nor taken as evidence.
TEST_F(ReplayTest, StaleRecordsOfRecycledFileAreIgnored) {
  SegmentImage seg(5);
  seg.AddSynced(1, 3);
  seg.AddRoll(4, 3, 6);
  for (uint64_t lsn = 4; lsn <= 10; ++lsn) seg.AddStale(2, lsn, lsn - 1);
  Write(seg);
  SegmentImage all_stale(6);
  for (uint64_t lsn = 4; lsn <= 10; ++lsn) all_stale.AddStale(3, lsn, lsn - 1);
  Write(all_stale);
  ASSERT_TRUE(Replay(0).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(1, 3));
  EXPECT_FALSE(result_.torn_tail);
  EXPECT_EQ(result_.salvage_dropped, 0u);
}

// A segment whose chain ends with a roll record hands over to the segment it names, whatever
// undecodable bytes (here: garbage that is not a record of this segment) follow the roll record.
TEST_F(ReplayTest, SegmentStoppingMidWayHandsOver) {
  SegmentImage a(1);
  a.AddSynced(1, 3);
  a.AddRoll(4, 3, 2);
  a.bytes().append(64, '\x7f');
  a.PadTo(1024);
  SegmentImage b(2);
  b.AddSynced(4, 6);
  Write(a);
  Write(b);
  ASSERT_TRUE(Replay(0).ok()) << result_.end_note;
  EXPECT_EQ(applied_, Range(1, 6));
  EXPECT_FALSE(result_.torn_tail);
}

// Records the chain still needs after the stop inside a segment mean the chain ends there, even
// if the next segment happens to start at the needed LSN: a later segment must not paper over
// damage. (A writer that resumes after a torn tail must therefore not leave such records behind;
// docs/wal_format.md.)
TEST_F(ReplayTest, DamageInsideSegmentIsNotPaperedOverByNextSegment) {
  SegmentImage a(1);
  a.AddSynced(1, 2);
  a.Add(3, 2);
  a.Add(4, 2);
  a.Add(5, 2);
  a.Damage(3);
  SegmentImage b(2);
  b.Add(3, 2);
  b.Add(4, 2);
  Write(a);
  Write(b);
  ExpectTornTail(0, 2);
}

TEST_F(ReplayTest, ApplyErrorStopsReplay) {
  SegmentImage seg(1);
  seg.AddSynced(1, 10);
  Write(seg);
  ReplayOptions options;
  options.fs = fs_.get();
  options.dir = kDir;
  std::vector<uint64_t> seen;
  const Status s = ReplayLog(
      options,
      [&seen](uint64_t lsn, std::string_view) {
        seen.push_back(lsn);
        return lsn == 3 ? Status::InvalidArgument("cannot apply lsn 3") : Status::OK();
      },
      &result_);
  EXPECT_EQ(s, Status::InvalidArgument("cannot apply lsn 3"));
  EXPECT_EQ(seen, Range(1, 3));
  EXPECT_EQ(result_.records_applied, 2u);
  EXPECT_EQ(result_.last_lsn, 2u);
}

// Fails every Read of one path; everything else goes to the wrapped file system.
class FailingReadFileSystem : public FileSystemWrapper {
 public:
  FailingReadFileSystem(FileSystem* base, std::string fail_path)
      : FileSystemWrapper(base), fail_path_(std::move(fail_path)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base()->OpenFile(path, options));
    if (path != fail_path_) return file;
    return std::unique_ptr<File>(std::make_unique<FailingReadFile>(std::move(file)));
  }

 private:
  class FailingReadFile : public FileWrapper {
   public:
    explicit FailingReadFile(std::unique_ptr<File> base) : FileWrapper(std::move(base)) {}
    StatusOr<size_t> Read(uint64_t offset, size_t, char*) const override {
      return Status::IOError("read " + path() + " at " + std::to_string(offset) + ": EIO");
    }
  };

  std::string fail_path_;
};

TEST_F(ReplayTest, ReadErrorIsReturnedNotTreatedAsTornTail) {
  SegmentImage a(1);
  a.AddSynced(1, 3);
  a.AddRoll(4, 3, 2);
  SegmentImage b(2);
  b.AddSynced(4, 6);
  Write(a);
  Write(b);
  FailingReadFileSystem failing(fs_.get(), SegmentPath(2));
  const Status s = Replay(0, false, &failing);
  ASSERT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), SegmentFileName(2))) << s.ToString();
  EXPECT_EQ(applied_, Range(1, 3));
}

TEST_F(ReplayTest, ReadErrorDuringEndOfLogScanIsReturned) {
  SegmentImage a(1);
  a.AddSynced(1, 3);
  a.Add(4, 3);
  a.Add(5, 3);
  a.Damage(4);  // The chain ends in segment 1; segment 2 is only read as evidence.
  SegmentImage b(2);
  b.AddSynced(6, 7);
  Write(a);
  Write(b);
  FailingReadFileSystem failing(fs_.get(), SegmentPath(2));
  EXPECT_TRUE(Replay(0, false, &failing).IsIOError());
}

// A model of the writer: group commits into preallocated (or recycled) segments, a crash that
// tears the unsynced groups at 64-byte "sector" granularity. Whatever the tear, recovery must
// succeed, keep every synced record, and apply a prefix of the records in order.
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
