#include "engine/btree/page.h"

#include <cassert>
#include <cstring>
#include <string>

#include "engine/util/coding.h"
#include "engine/util/crc32c.h"
#include "engine/util/fault_point.h"

namespace manifold::btree {
namespace {

constexpr uint8_t kValueInline = 1;
constexpr uint8_t kValueOverflow = 2;
constexpr uint32_t kCrcMaskDelta = 0xa282ead8u;

// Fixed part of a leaf entry: u16 key length, u8 value kind, u32 value length.
constexpr size_t kLeafEntryFixedBytes = 2 + 1 + 4;
// Extra for an overflow value: u64 first page, u32 crc of the whole value.
constexpr size_t kOverflowRefBytes = 8 + 4;

std::string PageWhere(std::string_view where, uint64_t page_id, size_t page_bytes) {
  return "page " + std::to_string(page_id) + " at offset " + std::to_string(page_id * page_bytes) +
         " in " + std::string(where);
}

// Bounds-checked sequential reader over a page body.
class BodyReader {
 public:
  BodyReader(const char* data, size_t size) : p_(data), end_(data + size) {}
  bool Has(size_t n) const { return static_cast<size_t>(end_ - p_) >= n; }
  uint16_t U16() { return Take<uint16_t>(DecodeFixed16(p_), 2); }
  uint32_t U32() { return Take<uint32_t>(DecodeFixed32(p_), 4); }
  uint64_t U64() { return Take<uint64_t>(DecodeFixed64(p_), 8); }
  uint8_t U8() { return Take<uint8_t>(static_cast<uint8_t>(*p_), 1); }
  std::string Bytes(size_t n) { return std::string(View(n)); }
  const char* position() const { return p_; }
  std::string_view View(size_t n) {
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }

 private:
  template <typename T>
  T Take(T v, size_t n) {
    p_ += n;
    return v;
  }
  const char* p_;
  const char* end_;
};

// `r` reads `body`; inline values become slices of it (one buffer per decoded page).
Status DecodeLeafBody(BodyReader& r, const SharedBytes& body, uint16_t count, const Layout& layout,
                      Node* node, const std::string& where) {
  node->keys.reserve(count);
  node->values.reserve(count);
  for (uint16_t i = 0; i < count; ++i) {
    if (!r.Has(kLeafEntryFixedBytes)) return Status::Corruption(where + ": truncated leaf entry");
    uint16_t key_bytes = r.U16();
    uint8_t kind = r.U8();
    uint32_t value_bytes = r.U32();
    if (key_bytes > layout.key_bytes_max()) {
      return Status::Corruption(where + ": key length " + std::to_string(key_bytes) +
                                " exceeds the limit");
    }
    LeafValue value;
    value.value_bytes = value_bytes;
    if (kind == kValueInline) {
      if (!r.Has(key_bytes + size_t{value_bytes})) {
        return Status::Corruption(where + ": leaf entry overruns the page");
      }
      node->keys.emplace_back(r.View(key_bytes));
      value.bytes = SharedBytes::Slice(body, r.position() - body.data(), value_bytes);
      r.View(value_bytes);
    } else if (kind == kValueOverflow) {
      if (!r.Has(key_bytes + kOverflowRefBytes)) {
        return Status::Corruption(where + ": leaf entry overruns the page");
      }
      node->keys.emplace_back(r.View(key_bytes));
      value.large = true;
      value.overflow.page_id = r.U64();
      value.overflow.crc = r.U32();
      if (value.overflow.page_id < kFirstDataPage) {
        return Status::Corruption(where + ": overflow value points at page " +
                                  std::to_string(value.overflow.page_id));
      }
    } else {
      return Status::Corruption(where + ": unknown value kind " + std::to_string(kind));
    }
    node->values.push_back(std::move(value));
  }
  return Status::OK();
}

Status DecodeInternalBody(BodyReader& r, uint16_t count, const Layout& layout, Node* node,
                          const std::string& where) {
  if (count < 1) return Status::Corruption(where + ": internal node without children");
  for (uint16_t i = 0; i < count; ++i) {
    if (i > 0) {
      if (!r.Has(2)) return Status::Corruption(where + ": truncated separator");
      uint16_t key_bytes = r.U16();
      if (key_bytes > layout.key_bytes_max() || !r.Has(key_bytes)) {
        return Status::Corruption(where + ": separator overruns the page");
      }
      node->keys.emplace_back(r.View(key_bytes));
    }
    if (!r.Has(kChildRefBytes)) return Status::Corruption(where + ": truncated child pointer");
    ChildRef child;
    child.page.page_id = r.U64();
    child.page.crc = r.U32();
    if (child.page.page_id < kFirstDataPage) {
      return Status::Corruption(where + ": child pointer to page " +
                                std::to_string(child.page.page_id));
    }
    node->children.push_back(std::move(child));
  }
  return Status::OK();
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

size_t InternalEntryBytes(std::string_view key) { return 2 + key.size() + kChildRefBytes; }

size_t Node::EncodedBodyBytes() const {
  size_t bytes = 0;
  if (leaf) {
    for (size_t i = 0; i < keys.size(); ++i) bytes += LeafEntryBytes(keys[i], values[i]);
  } else {
    bytes = kChildRefBytes;
    for (const SmallBytes& key : keys) bytes += InternalEntryBytes(key);
  }
  return bytes;
}

size_t Node::MemoryBytes() const {
  size_t bytes = sizeof(Node) + keys.capacity() * sizeof(SmallBytes) +
                 values.capacity() * sizeof(LeafValue) + children.capacity() * sizeof(ChildRef);
  for (const SmallBytes& key : keys) bytes += key.HeapBytes();
  // Values decoded from one page share its buffer: count each buffer once (consecutive values
  // usually share one, so comparing with the previous is enough to avoid most double counts).
  const void* previous = nullptr;
  for (const LeafValue& value : values) {
    if (value.bytes.buffer_id() != previous) bytes += value.bytes.MemoryBytes();
    previous = value.bytes.buffer_id();
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

void EncodeNodeBody(const Node& node, const Layout& layout, char* page) {
  assert(node.EncodedBodyBytes() <= layout.body_bytes());  // I6.
  char* p = page + kPageHeaderBytes;
  auto put16 = [&p](uint16_t v) { EncodeFixed16(p, v), p += 2; };
  auto put32 = [&p](uint32_t v) { EncodeFixed32(p, v), p += 4; };
  auto put64 = [&p](uint64_t v) { EncodeFixed64(p, v), p += 8; };
  auto put_bytes = [&p](std::string_view s) { p = CopyBytes(p, s); };
  if (node.leaf) {
    for (size_t i = 0; i < node.keys.size(); ++i) {
      const LeafValue& value = node.values[i];
      put16(static_cast<uint16_t>(node.keys[i].size()));
      *p++ = static_cast<char>(value.large ? kValueOverflow : kValueInline);
      put32(value.value_bytes);
      put_bytes(node.keys[i]);
      if (value.large) {
        assert(value.written());
        put64(value.overflow.page_id);
        put32(value.overflow.crc);
      } else {
        put_bytes(value.bytes);
      }
    }
  } else {
    for (size_t i = 0; i < node.children.size(); ++i) {
      if (i > 0) {
        put16(static_cast<uint16_t>(node.keys[i - 1].size()));
        put_bytes(node.keys[i - 1]);
      }
      assert(!node.children[i].is_dirty());
      put64(node.children[i].page.page_id);
      put32(node.children[i].page.crc);
    }
  }
  std::memset(p, 0, page + layout.page_bytes - p);  // Deterministic bytes past the body.
}

StatusOr<MutableNodePtr> DecodeNode(const char* page, const Layout& layout, uint64_t page_id,
                                    std::string_view where) {
  std::string at = PageWhere(where, page_id, layout.page_bytes);
  PageType type = PageTypeOf(page);
  if (type != PageType::kLeaf && type != PageType::kInternal) {
    return Status::Corruption(at + ": not a tree page (type " +
                              std::to_string(static_cast<int>(type)) + ")");
  }
  auto node = std::make_shared<Node>();
  node->leaf = type == PageType::kLeaf;
  uint16_t count = PageCountOf(page);
  if (!node->leaf) {
    BodyReader reader(page + kPageHeaderBytes, layout.body_bytes());
    MANIFOLD_RETURN_IF_ERROR(DecodeInternalBody(reader, count, layout, node.get(), at));
    return node;
  }
  const SharedBytes body(std::string_view(page + kPageHeaderBytes, layout.body_bytes()));
  BodyReader reader(body.data(), body.size());
  MANIFOLD_RETURN_IF_ERROR(DecodeLeafBody(reader, body, count, layout, node.get(), at));
  return node;
}

}  // namespace manifold::btree
