#include "engine/wal/log_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/util/coding.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_reader_test_util.h"
#include "manifold/env.h"

namespace manifold::wal {
namespace {

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

}  // namespace
}  // namespace manifold::wal
