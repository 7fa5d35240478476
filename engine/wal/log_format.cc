#include "engine/wal/log_format.h"

#include <cassert>
#include <cstring>

#include "engine/util/coding.h"
#include "engine/util/crc32c.h"

namespace manifold::wal {
namespace {

constexpr size_t kCrcOffset = 0;
constexpr size_t kPayloadBytesOffset = 4;
constexpr size_t kSegmentOffset = 8;
constexpr size_t kLsnOffset = 16;
constexpr size_t kSyncedLsnOffset = 24;
static_assert(kSyncedLsnOffset + 8 == kRecordHeaderBytes);
static_assert((kRecordAlignBytes & (kRecordAlignBytes - 1)) == 0, "alignment must be a power of 2");
static_assert(kRecordHeaderBytes % kRecordAlignBytes == 0);

// The mask must move a crc of zeros away from zero, or a zero-filled region would decode as an
// empty record with segment 0 and lsn 0.
static_assert(MaskRecordCrc(0) != 0);

constexpr std::string_view kSegmentPrefix = "wal-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr size_t kSegmentNameBytes =
    kSegmentPrefix.size() + kSegmentNumberDigits + kSegmentSuffix.size();

// Checksum of header bytes [4, 32) followed by the payload: everything that carries meaning.
uint32_t RecordCrc(const char* header, std::string_view payload) {
  uint32_t crc =
      crc32c::Value(header + kPayloadBytesOffset, kRecordHeaderBytes - kPayloadBytesOffset);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  return MaskRecordCrc(crc);
}

// The same from the payload's own checksum.
uint32_t RecordCrcFromPayloadCrc(const char* header, uint32_t payload_crc, size_t payload_bytes) {
  const uint32_t crc =
      crc32c::Value(header + kPayloadBytesOffset, kRecordHeaderBytes - kPayloadBytesOffset);
  return MaskRecordCrc(crc32c::Combine(crc, payload_crc, payload_bytes));
}

}  // namespace

void AppendRecord(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn,
                  std::string_view payload) {
  AppendRecord(out, segment, lsn, synced_lsn, payload,
               crc32c::Value(payload.data(), payload.size()));
}

void AppendRecord(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn,
                  std::string_view payload, uint32_t payload_crc) {
  assert(payload_crc == crc32c::Value(payload.data(), payload.size()) &&
         "payload_crc is the payload's checksum");
  assert(out->size() % kRecordAlignBytes == 0 && "records start 8-byte aligned");
  assert(payload.size() <= kRecordPayloadBytesMax && "payload_bytes is a u32");
  assert(synced_lsn < lsn && "a record cannot be durable before it is appended");
  char header[kRecordHeaderBytes];
  EncodeFixed32(header + kPayloadBytesOffset, static_cast<uint32_t>(payload.size()));
  EncodeFixed64(header + kSegmentOffset, segment);
  EncodeFixed64(header + kLsnOffset, lsn);
  EncodeFixed64(header + kSyncedLsnOffset, synced_lsn);
  EncodeFixed32(header + kCrcOffset, RecordCrcFromPayloadCrc(header, payload_crc, payload.size()));

  const size_t start = out->size();
  const size_t bytes = RecordBytes(payload.size());
  out->reserve(start + bytes);
  out->append(header, kRecordHeaderBytes);
  out->append(payload);
  out->append(bytes - kRecordHeaderBytes - payload.size(), '\0');
  assert(out->size() == start + bytes);
  assert(out->size() % kRecordAlignBytes == 0);
}

bool RaiseSyncedLsn(std::string* record, uint64_t synced_lsn) {
  assert(record->size() >= kRecordHeaderBytes);
  char* header = record->data();
  const uint32_t payload_bytes = DecodeFixed32(header + kPayloadBytesOffset);
  assert(payload_bytes <= record->size() - kRecordHeaderBytes);
  if (synced_lsn <= DecodeFixed64(header + kSyncedLsnOffset) ||
      synced_lsn >= DecodeFixed64(header + kLsnOffset)) {
    return false;
  }
  EncodeFixed64(header + kSyncedLsnOffset, synced_lsn);
  const std::string_view payload(header + kRecordHeaderBytes, payload_bytes);
  EncodeFixed32(header + kCrcOffset, RecordCrc(header, payload));
  return true;
}

bool DecodeRecord(std::string_view data, uint64_t expected_segment, RecordView* out) {
  if (data.size() < kRecordHeaderBytes) return false;
  const char* header = data.data();
  // Cheap rejections first: the recovery scan tries every 8-byte offset of damaged or stale
  // regions, and almost all of them fail on the length or the segment number.
  const uint32_t payload_bytes = DecodeFixed32(header + kPayloadBytesOffset);
  if (payload_bytes > data.size() - kRecordHeaderBytes) return false;
  const uint64_t segment = DecodeFixed64(header + kSegmentOffset);
  if (segment != expected_segment) return false;
  const std::string_view payload = data.substr(kRecordHeaderBytes, payload_bytes);
  if (DecodeFixed32(header + kCrcOffset) != RecordCrc(header, payload)) return false;
  out->segment = segment;
  out->lsn = DecodeFixed64(header + kLsnOffset);
  out->synced_lsn = DecodeFixed64(header + kSyncedLsnOffset);
  out->payload = payload;
  out->bytes = RecordBytes(payload_bytes);
  assert(out->bytes >= kRecordHeaderBytes + payload_bytes);
  return true;
}

RecordKind ClassifyRecord(const RecordView& record, uint64_t* next_segment) {
  const std::string_view payload = record.payload;
  if (payload.size() == kRollPayloadBytes && static_cast<uint8_t>(payload[0]) == kControlRoll) {
    *next_segment = DecodeFixed64(payload.data() + 1);
    return RecordKind::kRoll;
  }
  if (payload.size() == kSyncMarkerPayloadBytes &&
      static_cast<uint8_t>(payload[0]) == kControlSyncMarker) {
    return RecordKind::kSyncMarker;
  }
  return RecordKind::kData;
}

void AppendRollRecord(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn,
                      uint64_t next_segment) {
  assert(next_segment > segment && "segment numbers only grow");
  char payload[kRollPayloadBytes];
  payload[0] = static_cast<char>(kControlRoll);
  EncodeFixed64(payload + 1, next_segment);
  AppendRecord(out, segment, lsn, synced_lsn, std::string_view(payload, sizeof(payload)));
}

void AppendSyncMarker(std::string* out, uint64_t segment, uint64_t lsn, uint64_t synced_lsn) {
  const char payload[kSyncMarkerPayloadBytes] = {static_cast<char>(kControlSyncMarker)};
  AppendRecord(out, segment, lsn, synced_lsn, std::string_view(payload, sizeof(payload)));
}

std::string SegmentFileName(uint64_t number) {
  assert(number <= kSegmentNumberMax && "segment number does not fit 16 decimal digits");
  std::string name(kSegmentNameBytes, '0');
  std::memcpy(name.data(), kSegmentPrefix.data(), kSegmentPrefix.size());
  std::memcpy(name.data() + kSegmentPrefix.size() + kSegmentNumberDigits, kSegmentSuffix.data(),
              kSegmentSuffix.size());
  // Digits right to left; the leading positions keep their '0'.
  size_t pos = kSegmentPrefix.size() + kSegmentNumberDigits;
  for (uint64_t n = number; n != 0; n /= 10) {
    assert(pos > kSegmentPrefix.size());
    name[--pos] = static_cast<char>('0' + n % 10);
  }
  return name;
}

bool ParseSegmentFileName(std::string_view name, uint64_t* number) {
  if (name.size() != kSegmentNameBytes) return false;
  if (name.substr(0, kSegmentPrefix.size()) != kSegmentPrefix) return false;
  if (name.substr(kSegmentNameBytes - kSegmentSuffix.size()) != kSegmentSuffix) return false;
  // 16 digits never overflow a u64 (10^16 < 2^64), so no overflow check is needed.
  uint64_t value = 0;
  for (char c : name.substr(kSegmentPrefix.size(), kSegmentNumberDigits)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  assert(value <= kSegmentNumberMax);
  *number = value;
  return true;
}

}  // namespace manifold::wal
