#include "engine/btree/page.h"

#include <cassert>
#include <cstring>
#include <string>

#include "engine/util/coding.h"
#include "engine/util/crc32c.h"
#include "engine/util/fault_point.h"

namespace manifold::btree {
namespace {

constexpr uint32_t kCrcMaskDelta = 0xa282ead8u;

// Fixed part of a leaf entry (format 4, docs/design.md): its u16 slot in the offset array, u16 key
// length, u8 value kind, u32 value length.
constexpr size_t kLeafEntryFixedBytes = 2 + 2 + 1 + 4;
// Extra for an overflow value: u64 first page, u32 crc of the whole value.
constexpr size_t kOverflowRefBytes = 8 + 4;

std::string PageWhere(std::string_view where, uint64_t page_id, size_t page_bytes) {
  return "page " + std::to_string(page_id) + " at offset " + std::to_string(page_id * page_bytes) +
         " in " + std::string(where);
}

}  // namespace

LeafValue LeafValue::Inline(std::string_view v) {
  LeafValue value;
  value.bytes = SharedBytes(v);
  value.value_bytes = static_cast<uint32_t>(v.size());
  return value;
}

size_t Layout::inline_value_bytes_max(size_t key_bytes) const {
  size_t fixed = kLeafEntryFixedBytes + key_bytes;
  return fixed >= entry_bytes_max() ? 0 : entry_bytes_max() - fixed;
}

uint64_t Layout::OverflowPages(uint64_t value_bytes) const {
  uint64_t per_page = overflow_payload_bytes();
  return value_bytes == 0 ? 1 : (value_bytes + per_page - 1) / per_page;
}

size_t LeafEntryBytes(std::string_view key, const LeafValue& value) {
  size_t bytes = kLeafEntryFixedBytes + key.size();
  return bytes + (value.large ? kOverflowRefBytes : value.bytes.size());
}

// Its u16 slot, u16 separator length, the separator, the child pointer.
size_t InternalEntryBytes(std::string_view key) { return 2 + 2 + key.size() + kChildRefBytes; }

size_t Node::EncodedBodyBytes() const {
  size_t bytes = 0;
  if (leaf) {
    for (size_t i = 0; i < keys.size(); ++i) bytes += LeafEntryBytes(keys[i], values[i]);
  } else {
    bytes = kInternalFirstEntryBytes;
    for (const SmallBytes& key : keys) bytes += InternalEntryBytes(key);
  }
  return bytes;
}

uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }

uint32_t SealPage(char* page, size_t page_bytes, PageType type, uint16_t count, uint64_t page_id,
                  uint64_t sequence) {
  page[4] = static_cast<char>(type);
  page[5] = 0;
  EncodeFixed16(page + 6, count);
  EncodeFixed64(page + 8, page_id);
  EncodeFixed64(page + 16, sequence);
  uint32_t crc = MaskCrc(crc32c::Value(page + 4, page_bytes - 4));
  EncodeFixed32(page, crc);
  return crc;
}

Status VerifyPage(const char* page, size_t page_bytes, uint64_t page_id, PageType expected_type,
                  const uint32_t* expected_crc, std::string_view where) {
  uint32_t stored = DecodeFixed32(page);
  uint32_t computed = MaskCrc(crc32c::Value(page + 4, page_bytes - 4));
  if (stored != computed && !MANIFOLD_PLANTED_BUG(planted_bug::kSkipChecksum)) {
    return Status::Corruption(PageWhere(where, page_id, page_bytes) +
                              ": checksum mismatch (stored " + std::to_string(stored) +
                              ", computed " + std::to_string(computed) + ")");
  }
  if (DecodeFixed64(page + 8) != page_id) {
    return Status::Corruption(PageWhere(where, page_id, page_bytes) + ": holds page " +
                              std::to_string(DecodeFixed64(page + 8)) + " (misdirected write)");
  }
  if (PageTypeOf(page) != expected_type) {
    return Status::Corruption(PageWhere(where, page_id, page_bytes) + ": page type " +
                              std::to_string(static_cast<int>(PageTypeOf(page))) + ", expected " +
                              std::to_string(static_cast<int>(expected_type)));
  }
  if (expected_crc != nullptr && *expected_crc != stored &&
      !MANIFOLD_PLANTED_BUG(planted_bug::kSkipChecksum)) {
    return Status::Corruption(PageWhere(where, page_id, page_bytes) + ": stale page (checksum " +
                              std::to_string(stored) + " differs from the parent's record " +
                              std::to_string(*expected_crc) + ")");
  }
  return Status::OK();
}

PageType PageTypeOf(const char* page) { return static_cast<PageType>(page[4]); }
uint16_t PageCountOf(const char* page) { return DecodeFixed16(page + 6); }
uint64_t PageSequenceOf(const char* page) { return DecodeFixed64(page + 16); }
uint32_t PageCrcOf(const char* page) { return DecodeFixed32(page); }

}  // namespace manifold::btree
