#include "engine/wal/log_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/util/coding.h"
#include "engine/util/crc32c.h"

namespace manifold::wal {
namespace {

std::string Record(uint64_t segment, uint64_t lsn, uint64_t synced_lsn, std::string_view payload) {
  std::string out;
  AppendRecord(&out, segment, lsn, synced_lsn, payload);
  return out;
}

TEST(LogFormatTest, RecordBytesPadsToEight) {
  EXPECT_EQ(RecordBytes(0), 32u);
  EXPECT_EQ(RecordBytes(1), 40u);
  EXPECT_EQ(RecordBytes(7), 40u);
  EXPECT_EQ(RecordBytes(8), 40u);
  EXPECT_EQ(RecordBytes(9), 48u);
  EXPECT_EQ(RecordBytes(64), 96u);
  for (size_t n = 0; n < 100; ++n) {
    EXPECT_EQ(RecordBytes(n) % kRecordAlignBytes, 0u);
    EXPECT_GE(RecordBytes(n), kRecordHeaderBytes + n);
    EXPECT_LT(RecordBytes(n), kRecordHeaderBytes + n + kRecordAlignBytes);
  }
}

TEST(LogFormatTest, MaskMatchesDesignDoc) {
  // docs/design.md: ((crc >> 15) | (crc << 17)) + 0xa282ead8, the same as btree::MaskCrc.
  EXPECT_EQ(MaskRecordCrc(0), 0xa282ead8u);
  EXPECT_EQ(MaskRecordCrc(1), (1u << 17) + 0xa282ead8u);
  EXPECT_EQ(MaskRecordCrc(0x8000u), 1u + 0xa282ead8u);
}

TEST(LogFormatTest, LayoutIsAsDocumented) {
  const std::string payload = "hello";
  const std::string rec = Record(0x0102030405060708ull, 42, 40, payload);
  ASSERT_EQ(rec.size(), 40u);
  EXPECT_EQ(DecodeFixed32(rec.data() + 4), 5u);
  EXPECT_EQ(DecodeFixed64(rec.data() + 8), 0x0102030405060708ull);
  EXPECT_EQ(DecodeFixed64(rec.data() + 16), 42u);
  EXPECT_EQ(DecodeFixed64(rec.data() + 24), 40u);
  EXPECT_EQ(rec.substr(32, 5), payload);
  EXPECT_EQ(rec.substr(37), std::string(3, '\0'));
  // The checksum covers [4, 32 + payload_bytes), masked.
  EXPECT_EQ(DecodeFixed32(rec.data()), MaskRecordCrc(crc32c::Value(rec.data() + 4, 28 + 5)));
}

TEST(LogFormatTest, RoundTripManyRecords) {
  std::mt19937_64 rng(7);
  std::string log;
  std::vector<std::string> payloads;
  std::vector<size_t> offsets;
  for (uint64_t lsn = 1; lsn <= 300; ++lsn) {
    std::string payload(rng() % 200, '\0');
    for (char& c : payload) c = static_cast<char>(rng());
    offsets.push_back(log.size());
    AppendRecord(&log, 9, lsn, lsn - 1 - (lsn > 3 ? rng() % 3 : 0), payload);
    payloads.push_back(payload);
  }
  size_t offset = 0;
  for (uint64_t lsn = 1; lsn <= 300; ++lsn) {
    RecordView view;
    ASSERT_EQ(offset, offsets[lsn - 1]);
    ASSERT_TRUE(DecodeRecord(std::string_view(log).substr(offset), 9, &view)) << lsn;
    EXPECT_EQ(view.segment, 9u);
    EXPECT_EQ(view.lsn, lsn);
    EXPECT_LT(view.synced_lsn, lsn);
    EXPECT_EQ(view.payload, payloads[lsn - 1]);
    // The view points into the decoded buffer: no copy.
    EXPECT_EQ(view.payload.data(), log.data() + offset + kRecordHeaderBytes);
    EXPECT_EQ(view.bytes, RecordBytes(payloads[lsn - 1].size()));
    offset += view.bytes;
  }
  EXPECT_EQ(offset, log.size());
}

TEST(LogFormatTest, EmptyPayloadRoundTrips) {
  const std::string rec = Record(1, 1, 0, "");
  RecordView view;
  ASSERT_TRUE(DecodeRecord(rec, 1, &view));
  EXPECT_TRUE(view.payload.empty());
  EXPECT_EQ(view.bytes, 32u);
}

TEST(LogFormatTest, EverySingleByteCorruptionIsRejected) {
  for (size_t payload_bytes : {0, 1, 5, 8, 64, 301}) {
    std::string payload(payload_bytes, '\0');
    for (size_t i = 0; i < payload_bytes; ++i) payload[i] = static_cast<char>(i * 31 + 7);
    const std::string rec = Record(3, 1000, 998, payload);
    RecordView view;
    ASSERT_TRUE(DecodeRecord(rec, 3, &view));
    // Every byte that carries meaning: the header and the payload.
    for (size_t pos = 0; pos < kRecordHeaderBytes + payload_bytes; ++pos) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = rec;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
        EXPECT_FALSE(DecodeRecord(bad, 3, &view))
            << "payload " << payload_bytes << " byte " << pos << " bit " << bit;
      }
      for (int value : {0x00, 0xff, 0x5a}) {
        std::string bad = rec;
        if (bad[pos] == static_cast<char>(value)) continue;
        bad[pos] = static_cast<char>(value);
        EXPECT_FALSE(DecodeRecord(bad, 3, &view))
            << "payload " << payload_bytes << " byte " << pos << " = " << value;
      }
    }
  }
}

// Padding carries nothing, so the checksum does not cover it: damage there loses nothing, and
// rejecting the record for it would turn harmless damage into lost data.
TEST(LogFormatTest, PaddingIsNotCovered) {
  const std::string rec = Record(3, 5, 4, "abc");
  ASSERT_EQ(rec.size(), 40u);
  std::string bad = rec;
  bad[39] = 'x';
  RecordView view;
  ASSERT_TRUE(DecodeRecord(bad, 3, &view));
  EXPECT_EQ(view.payload, "abc");
}

TEST(LogFormatTest, ZeroRegionIsRejected) {
  for (size_t bytes : {0, 8, 31, 32, 33, 40, 4096}) {
    const std::string zeros(bytes, '\0');
    RecordView view;
    for (uint64_t segment : std::vector<uint64_t>{0, 1, 77}) {
      EXPECT_FALSE(DecodeRecord(zeros, segment, &view)) << bytes << " zeros, segment " << segment;
    }
  }
}

TEST(LogFormatTest, WrongSegmentIsRejected) {
  const std::string rec = Record(5, 10, 9, "payload");
  RecordView view;
  EXPECT_TRUE(DecodeRecord(rec, 5, &view));
  EXPECT_FALSE(DecodeRecord(rec, 4, &view));
  EXPECT_FALSE(DecodeRecord(rec, 6, &view));
  EXPECT_FALSE(DecodeRecord(rec, 0, &view));
}

TEST(LogFormatTest, TruncationIsRejectedUntilPayloadComplete) {
  const std::string rec = Record(2, 3, 1, "12345");  // 37 meaningful bytes, 40 with padding.
  RecordView view;
  for (size_t n = 0; n < 37; ++n) {
    EXPECT_FALSE(DecodeRecord(std::string_view(rec).substr(0, n), 2, &view)) << n;
  }
  // The padding is not needed: a file that ends inside it still holds the whole record.
  for (size_t n = 37; n <= 40; ++n) {
    ASSERT_TRUE(DecodeRecord(std::string_view(rec).substr(0, n), 2, &view)) << n;
    EXPECT_EQ(view.payload, "12345");
    EXPECT_EQ(view.bytes, 40u);
  }
}

TEST(LogFormatTest, HugeLengthNeverReadsOutOfBounds) {
  std::string rec = Record(2, 3, 1, "x");
  EncodeFixed32(rec.data() + 4, std::numeric_limits<uint32_t>::max());
  RecordView view;
  EXPECT_FALSE(DecodeRecord(rec, 2, &view));
  EncodeFixed32(rec.data() + 4, static_cast<uint32_t>(rec.size() - 32 + 1));
  EXPECT_FALSE(DecodeRecord(rec, 2, &view));
}

TEST(LogFormatTest, RandomBytesDoNotDecode) {
  std::mt19937_64 rng(11);
  RecordView view;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes(rng() % 128, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // Random data passing a 32-bit checksum after a matching length and segment is ~never.
    EXPECT_FALSE(DecodeRecord(bytes, rng() % 4, &view));
  }
}

TEST(LogFormatTest, SegmentFileNames) {
  EXPECT_EQ(SegmentFileName(0), "wal-0000000000000000.log");
  EXPECT_EQ(SegmentFileName(42), "wal-0000000000000042.log");
  EXPECT_EQ(SegmentFileName(kSegmentNumberMax), "wal-9999999999999999.log");
  for (uint64_t n : std::vector<uint64_t>{0, 1, 9, 10, 12345678, kSegmentNumberMax}) {
    uint64_t parsed = 7;
    ASSERT_TRUE(ParseSegmentFileName(SegmentFileName(n), &parsed)) << n;
    EXPECT_EQ(parsed, n);
  }
  // Names sort like numbers.
  EXPECT_LT(SegmentFileName(9), SegmentFileName(10));
  EXPECT_LT(SegmentFileName(99999), SegmentFileName(100000));
}

TEST(LogFormatTest, ParseSegmentFileNameIsStrict) {
  uint64_t n = 123;
  for (const char* bad : {
           "",
           "wal-.log",
           "wal-42.log",
           "wal-000000000000042.log",    // 15 digits
           "wal-00000000000000042.log",  // 17 digits
           "wal-0000000000000042.log.tmp",
           "wal-0000000000000042.LOG",
           "WAL-0000000000000042.log",
           "xwal-000000000000042.log",
           "wal-000000000000004a.log",
           "wal-+000000000000042.log",
           "wal- 000000000000042.log",
           "wal-0000000000000042-log",
           "MANIFOLD",
       }) {
    EXPECT_FALSE(ParseSegmentFileName(bad, &n)) << bad;
  }
  EXPECT_EQ(n, 123u);  // Untouched on failure.
}

// Control records (docs/wal_format.md, "Control records"): byte for byte, and classified back.
TEST(LogFormatTest, ControlRecordsAreAsDocumented) {
  std::string roll;
  AppendRollRecord(&roll, 7, 100, 99, 8);
  ASSERT_EQ(roll.size(), kRollRecordBytes);
  EXPECT_EQ(roll.size(), 48u);
  EXPECT_EQ(DecodeFixed32(roll.data() + 4), kRollPayloadBytes);
  EXPECT_EQ(static_cast<uint8_t>(roll[32]), 0xF1);
  EXPECT_EQ(DecodeFixed64(roll.data() + 33), 8u);
  RecordView view;
  ASSERT_TRUE(DecodeRecord(roll, 7, &view));
  EXPECT_EQ(view.lsn, 100u);  // The next data record's LSN: a control record takes none.
  EXPECT_EQ(view.synced_lsn, 99u);
  uint64_t next = 0;
  EXPECT_EQ(ClassifyRecord(view, &next), RecordKind::kRoll);
  EXPECT_EQ(next, 8u);

  std::string marker;
  AppendSyncMarker(&marker, 7, 100, 99);
  ASSERT_EQ(marker.size(), kSyncMarkerRecordBytes);
  EXPECT_EQ(marker.size(), 40u);
  EXPECT_EQ(static_cast<uint8_t>(marker[32]), 0xF2);
  ASSERT_TRUE(DecodeRecord(marker, 7, &view));
  EXPECT_EQ(ClassifyRecord(view, &next), RecordKind::kSyncMarker);
  EXPECT_EQ(kSegmentReserveBytes, 88u);

  // A control kind with the wrong payload size is a data record (rejected when decoded).
  std::string odd;
  AppendRecord(&odd, 7, 100, 99, std::string("\xF2\x00", 2));
  ASSERT_TRUE(DecodeRecord(odd, 7, &view));
  EXPECT_EQ(ClassifyRecord(view, &next), RecordKind::kData);
}

// I23: a record buffered during an earlier group's sync is restamped, when written, with what is
// durable by then, so it vouches for that group (chaos seed 124 with --ops 1500).
TEST(LogFormatTest, RaiseSyncedLsnRestampsAndReseals) {
  std::string group = Record(7, 79, 74, "payload of 79");
  const std::string second = Record(7, 80, 74, "payload of 80");
  group += second;
  EXPECT_FALSE(RaiseSyncedLsn(&group, 74));  // Not larger: unchanged.
  EXPECT_FALSE(RaiseSyncedLsn(&group, 60));
  EXPECT_FALSE(RaiseSyncedLsn(&group, 79));  // A record cannot vouch for itself.
  EXPECT_EQ(group, Record(7, 79, 74, "payload of 79") + second);
  EXPECT_TRUE(RaiseSyncedLsn(&group, 78));
  RecordView view;
  ASSERT_TRUE(DecodeRecord(group, 7, &view));  // Resealed: the checksum holds.
  EXPECT_EQ(view.lsn, 79u);
  EXPECT_EQ(view.synced_lsn, 78u);
  EXPECT_EQ(view.payload, "payload of 79");
  EXPECT_EQ(group, Record(7, 79, 78, "payload of 79") + second);  // The next record untouched.
}

}  // namespace
}  // namespace manifold::wal
