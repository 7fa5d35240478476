#include "engine/wal/log_payload.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

#include "engine/util/coding.h"

namespace manifold::wal {
namespace {

constexpr size_t kOpCountOffset = 1;
static_assert(kOpCountOffset + 4 == kPayloadHeaderBytes);
static_assert(kPayloadOpFixedBytes == 1 + 4 + 4 + 4 + 4);

bool IsKnownType(uint8_t type) {
  return type >= static_cast<uint8_t>(LogOpType::kPut) &&
         type <= static_cast<uint8_t>(LogOpType::kDropColumnFamily);
}

bool IsColumnFamilyOp(LogOpType type) {
  return type == LogOpType::kCreateColumnFamily || type == LogOpType::kDropColumnFamily;
}

void PutString(std::string* dst, std::string_view s) {
  assert(s.size() <= std::numeric_limits<uint32_t>::max() && "payload strings have u32 lengths");
  PutFixed32(dst, static_cast<uint32_t>(s.size()));
  dst->append(s);
}

// Reads a payload front to back. Every read checks the remaining length first, so arbitrary
// bytes can at worst produce an error.
class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

  bool ReadU8(uint8_t* v) {
    if (remaining() < 1) return false;
    *v = static_cast<uint8_t>(data_[pos_]);
    pos_ += 1;
    return true;
  }
  bool ReadU32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = DecodeFixed32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  // A u32 length then that many bytes.
  bool ReadString(std::string_view* s) {
    uint32_t len = 0;
    if (!ReadU32(&len)) return false;
    if (len > remaining()) {
      pos_ -= 4;  // Report the offset of the length that lies.
      return false;
    }
    *s = data_.substr(pos_, len);
    pos_ += len;
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

Status Malformed(std::string_view payload, size_t op, size_t offset, std::string_view what) {
  return Status::Corruption("log payload (" + std::to_string(payload.size()) + " bytes): op " +
                            std::to_string(op) + " at byte " + std::to_string(offset) + ": " +
                            std::string(what));
}

}  // namespace

PayloadBuilder::PayloadBuilder() { Reset(); }

PayloadBuilder::PayloadBuilder(std::string buffer) : buffer_(std::move(buffer)) { Reset(); }

void PayloadBuilder::Reset() {
  buffer_.clear();
  buffer_.push_back(static_cast<char>(kPayloadFormatVersion));
  PutFixed32(&buffer_, 0);  // Op count, patched by Finish.
  ops_ = 0;
  assert(buffer_.size() == kPayloadHeaderBytes);
}

void PayloadBuilder::Reserve(size_t op_bytes) { buffer_.reserve(buffer_.size() + op_bytes); }

void PayloadBuilder::Add(LogOpType type, std::string_view column_family, std::string_view key,
                         std::string_view value, uint32_t cf_id) {
  assert(IsKnownType(static_cast<uint8_t>(type)));
  assert((!IsColumnFamilyOp(type) || (key.empty() && value.empty())) &&
         "column family ops carry no key or value");
  assert((type != LogOpType::kDelete || value.empty()) && "a delete carries no value");
  assert(ops_ < std::numeric_limits<uint32_t>::max() && "op count is a u32");
  const size_t before = buffer_.size();
  buffer_.push_back(static_cast<char>(type));
  PutFixed32(&buffer_, cf_id);
  PutString(&buffer_, column_family);
  PutString(&buffer_, key);
  PutString(&buffer_, value);
  assert(buffer_.size() - before == PayloadOpBytes(column_family, key, value));
  (void)before;
  ++ops_;
}

std::string PayloadBuilder::Finish() {
  assert(buffer_.size() >= kPayloadHeaderBytes);
  EncodeFixed32(buffer_.data() + kOpCountOffset, static_cast<uint32_t>(ops_));
  std::string out = std::move(buffer_);
  buffer_ = std::string();
  Reset();
  return out;
}

Status DecodePayload(std::string_view payload, std::vector<LogOpView>* ops) {
  ops->clear();
  Cursor in(payload);
  uint8_t version = 0;
  uint32_t count = 0;
  if (!in.ReadU8(&version) || !in.ReadU32(&count)) {
    return Status::Corruption("log payload (" + std::to_string(payload.size()) +
                              " bytes): shorter than its 5-byte header");
  }
  if (version != kPayloadFormatVersion) {
    return Status::Corruption("log payload: format version " + std::to_string(version) +
                              ", expected " + std::to_string(kPayloadFormatVersion));
  }
  // The count comes from the data: reserve no more than the bytes could possibly hold, so a
  // corrupt count cannot trigger a huge allocation.
  ops->reserve(std::min<size_t>(count, in.remaining() / kPayloadOpFixedBytes));
  for (uint32_t i = 0; i < count; ++i) {
    const size_t op_offset = in.offset();
    uint8_t type = 0;
    uint32_t cf_id = 0;
    if (!in.ReadU8(&type) || !in.ReadU32(&cf_id)) {
      return Malformed(payload, i, op_offset,
                       "truncated op header (" + std::to_string(count) + " ops announced)");
    }
    if (!IsKnownType(type)) {
      return Malformed(payload, i, op_offset, "unknown op type " + std::to_string(type));
    }
    LogOpView op{static_cast<LogOpType>(type), {}, {}, {}, cf_id};
    if (!in.ReadString(&op.column_family)) {
      return Malformed(payload, i, in.offset(), "column family name runs past the end");
    }
    if (!in.ReadString(&op.key)) return Malformed(payload, i, in.offset(), "key runs past the end");
    if (!in.ReadString(&op.value)) {
      return Malformed(payload, i, in.offset(), "value runs past the end");
    }
    if (IsColumnFamilyOp(op.type) && (!op.key.empty() || !op.value.empty())) {
      return Malformed(payload, i, op_offset, "column family op with a key or value");
    }
    if (op.type == LogOpType::kDelete && !op.value.empty()) {
      return Malformed(payload, i, op_offset, "delete with a value");
    }
    ops->push_back(op);
  }
  if (in.remaining() != 0) {
    return Status::Corruption("log payload (" + std::to_string(payload.size()) +
                              " bytes): " + std::to_string(in.remaining()) +
                              " trailing bytes after " + std::to_string(count) + " ops, at byte " +
                              std::to_string(in.offset()));
  }
  assert(ops->size() == count);
  return Status::OK();
}

}  // namespace manifold::wal
