// The write-ahead log's record format and segment file names. docs/wal_format.md describes every
// byte; the constants below are the single source of truth.
//
// A record holds one commit. Records start at 8-byte-aligned offsets within a segment file:
//   [0,4)   crc32c of bytes [4, 32 + payload_bytes), masked (see MaskRecordCrc)
//   [4,8)   payload_bytes (u32)
//   [8,16)  number of the segment file the record was written into (u64)
//   [16,24) lsn (u64): the commit's sequence number; consecutive records have consecutive LSNs
//   [24,32) synced_lsn (u64): the highest LSN known durable when the record was appended
//   [32, 32 + payload_bytes)  payload (log_payload.h)
//   zero padding up to the next multiple of 8 (not covered by the checksum: it carries nothing)
#ifndef MANIFOLD_WAL_LOG_FORMAT_H_
#define MANIFOLD_WAL_LOG_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace manifold::wal {

inline constexpr size_t kRecordHeaderBytes = 32;
inline constexpr size_t kRecordAlignBytes = 8;

// The largest payload a record can describe (payload_bytes is a u32).
inline constexpr size_t kRecordPayloadBytesMax = UINT32_MAX;

// Bytes a record with `payload_bytes` of payload occupies in a segment: header plus payload,
// rounded up to kRecordAlignBytes.
inline constexpr size_t RecordBytes(size_t payload_bytes) {
  return (kRecordHeaderBytes + payload_bytes + kRecordAlignBytes - 1) & ~(kRecordAlignBytes - 1);
}

// The checksum mask, identical to btree::MaskCrc and to the formula in docs/design.md. Defined
// here rather than borrowed from engine/btree so that the log (a lower layer than the tree, read
// by recovery before any page) does not depend on the page code. Masking makes the stored value
// of a zero-filled region (preallocated, or lost sectors) differ from crc32c of zeros, so zeros
// never decode as a record, and a record embedded in a payload does not checksum as itself.
inline constexpr uint32_t kRecordCrcMaskDelta = 0xa282ead8u;
inline constexpr uint32_t MaskRecordCrc(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kRecordCrcMaskDelta;
}

// Appends one full record (header, payload, zero padding) to `*out`, which must already end on a
// record boundary (out->size() % kRecordAlignBytes == 0). Requires synced_lsn < lsn (a record is
// never durable before it is written) and payload.size() <= kRecordPayloadBytesMax.
void AppendRecord(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn,
                  std::string_view payload);
// The same, given payload_crc = crc32c::Value(payload) taken beforehand: only the header is
// checksummed here (crc32c::Combine joins the two), so a writer can checksum its payload before
// it takes the commit lock. The record's bytes are identical.
void AppendRecord(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn,
                  std::string_view payload, uint32_t payload_crc);

// A decoded record. `payload` points into the decoded buffer.
struct RecordView {
  uint64_t segment = 0;
  uint64_t lsn = 0;
  uint64_t synced_lsn = 0;
  std::string_view payload;
  // RecordBytes(payload.size()): where the next record starts. May exceed the bytes that were
  // decoded when the data ends inside the padding (the padding is not needed to decode).
  size_t bytes = 0;
};

// Raises the synced_lsn field of the record at the start of `record` (a whole record, as
// AppendRecord wrote it) to `synced_lsn` when that is larger and still below the record's LSN,
// and reseals its checksum. The log writer stamps synced_lsn when it buffers a record; a record
// buffered while an earlier group's sync was under way carries a stale value, and restamped when
// written it vouches for that group (I23). Returns whether the field changed.
bool RaiseSyncedLsn(std::string* record, uint64_t synced_lsn);

// Decodes the record at the start of `data` (which runs from the record's start to the end of
// the segment data read). Returns true only if the header fits, the payload fits in `data`, the
// segment number equals `expected_segment` (a record left by an older use of a recycled file
// carries its old number) and the checksum matches. Never reads outside `data`.
bool DecodeRecord(std::string_view data, uint64_t expected_segment, RecordView* out);

// --- Control records (docs/wal_format.md, "Control records") ---------------------------------
// A control record is a record whose payload's first byte is a control kind instead of the
// payload format version (log_payload.h: 1). It is never applied and takes no LSN: its `lsn`
// field holds the LSN of the next data record (so synced_lsn < lsn still holds), and the reader
// passes over it in the chain. Its `synced_lsn` vouches like any record's.
//
// Roll record: payload [kind 0xF1][u64 number of the next segment], 9 bytes. It ends a segment
// whose next record did not fit; the next segment's file was durable before it was written (I20).
inline constexpr uint8_t kControlRoll = 0xF1;
inline constexpr size_t kRollPayloadBytes = 9;
// Sync marker: payload [kind 0xF2], 1 byte. Written (not synced) right after a group once its sync
// completed, carrying synced_lsn = the group's last LSN, so the newest durable record has a
// record after it that vouches for it (I23).
inline constexpr uint8_t kControlSyncMarker = 0xF2;
inline constexpr size_t kSyncMarkerPayloadBytes = 1;

inline constexpr size_t kRollRecordBytes = RecordBytes(kRollPayloadBytes);
inline constexpr size_t kSyncMarkerRecordBytes = RecordBytes(kSyncMarkerPayloadBytes);
// Room every segment keeps free after its last data record: a sync marker, then a roll record.
inline constexpr size_t kSegmentReserveBytes = kSyncMarkerRecordBytes + kRollRecordBytes;

// Segment files are preallocated in whole granules (I22): every length the writer leaves a segment
// file at is a multiple of this, and the length is durable before records are written into it.
inline constexpr uint64_t kSegmentGranuleBytes = uint64_t{64} << 10;
// The smallest legal segment length (whole granules, I22) that holds `bytes`.
inline constexpr uint64_t RoundUpToGranule(uint64_t bytes) {
  return (bytes + kSegmentGranuleBytes - 1) / kSegmentGranuleBytes * kSegmentGranuleBytes;
}

enum class RecordKind {
  kData,        // A commit (payload format version 1, or bytes DecodePayload will reject).
  kRoll,        // Control: the chain continues at offset 0 of the segment it names.
  kSyncMarker,  // Control: vouches through synced_lsn; carries nothing else.
};

// The kind of a decoded record; for kRoll sets *next_segment. A payload that starts with a
// control kind but has the wrong size is kData (and fails payload decoding when applied).
RecordKind ClassifyRecord(const RecordView& record, uint64_t* next_segment);

// Appends a roll record naming `next_segment` (see AppendRecord for the other arguments; `lsn` is
// the next data record's LSN).
void AppendRollRecord(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn,
                      uint64_t next_segment);
// Appends a sync marker (`lsn`: the next data record's LSN).
void AppendSyncMarker(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn);

// Segment numbers are printed with this many decimal digits, so names sort like numbers.
inline constexpr size_t kSegmentNumberDigits = 16;
// The largest number SegmentFileName can print: 10^16 - 1.
inline constexpr uint64_t kSegmentNumberMax = 9'999'999'999'999'999ull;

// "wal-0000000000000042.log" for 42. Requires number <= kSegmentNumberMax.
std::string SegmentFileName(uint64_t number);

// The inverse of SegmentFileName: true and `*number` set only for a name SegmentFileName could
// have produced (exact prefix and suffix, exactly 16 decimal digits).
bool ParseSegmentFileName(std::string_view name, uint64_t* number);

}  // namespace manifold::wal

#endif  // MANIFOLD_WAL_LOG_FORMAT_H_
