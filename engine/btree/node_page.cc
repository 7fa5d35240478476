#include "engine/btree/node_page.h"

#include <cassert>
#include <cstring>
#include <string>

#include "engine/util/check.h"
#include "engine/util/fault_point.h"

namespace manifold::btree {
namespace {

// Extra for an overflow value: u64 first page, u32 crc of the whole value.
constexpr size_t kOverflowRefBytes = 8 + 4;

std::string At(std::string_view where, uint64_t page_id, size_t page_bytes) {
  return "page " + std::to_string(page_id) + " at offset " + std::to_string(page_id * page_bytes) +
         " in " + std::string(where);
}

}  // namespace

PageValue NodePage::value(size_t i) const {
  const char* entry = Entry(i);
  const size_t key_bytes = DecodeFixed16(entry);
  PageValue value;
  value.large = static_cast<uint8_t>(entry[2]) == kValueOverflow;
  value.value_bytes = DecodeFixed32(entry + 3);
  const char* after_key = entry + kLeafEntryHeadBytes + key_bytes;
  if (value.large) {
    value.overflow = PageRef{DecodeFixed64(after_key), DecodeFixed32(after_key + 8)};
  } else {
    value.inline_bytes = std::string_view(after_key, value.value_bytes);
  }
  return value;
}

PageRef NodePage::child(size_t i) const {
  const char* entry = Entry(i);
  const char* ref = entry + kInternalEntryHeadBytes + DecodeFixed16(entry);
  return PageRef{DecodeFixed64(ref), DecodeFixed32(ref + 8)};
}

size_t NodePage::LowerBound(std::string_view key) const {
  size_t lo = 0;
  size_t hi = count();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (this->key(mid) < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

size_t NodePage::ChildIndex(std::string_view key) const {
  // The first separator > key, among separators 1..count-1; its child's left neighbour is the
  // answer. I41: a key equal to a separator lives right of it (the separator is the smallest key
  // of its child). The planted bug stops at an equal separator and goes left.
  const bool equal_goes_left = MANIFOLD_PLANTED_BUG(planted_bug::kPageSearchEqualGoesLeft);
  size_t lo = 1;
  size_t hi = count();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    const std::string_view separator = this->key(mid);
    if (separator < key || (separator == key && !equal_goes_left)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo - 1;
}

LeafValue PageLeafValue(const SharedBytes& image, size_t i) {
  const PageValue stored = NodePage(image.data()).value(i);
  LeafValue value;
  value.value_bytes = stored.value_bytes;
  if (stored.large) {
    value.large = true;
    value.overflow = stored.overflow;
  } else {
    value.bytes = SharedBytes::Slice(image, stored.inline_bytes.data() - image.data(),
                                     stored.inline_bytes.size());
  }
  return value;
}

void EncodeNodePage(const Node& node, [[maybe_unused]] const Layout& layout, char* page) {
  assert(node.EncodedBodyBytes() <= layout.body_bytes());  // I6.
  const size_t count = node.leaf ? node.keys.size() : node.children.size();
  char* slots = page + kPageHeaderBytes;
  char* p = slots + count * kSlotBytes;
  auto slot = [&](size_t i) {
    assert(static_cast<size_t>(p - page) < layout.page_bytes);
    EncodeFixed16(slots + i * kSlotBytes, static_cast<uint16_t>(p - page));
  };
  for (size_t i = 0; i < count; ++i) {
    slot(i);
    if (node.leaf) {
      const LeafValue& value = node.values[i];
      MANIFOLD_CHECK(i == 0 || node.keys[i - 1].view() < node.keys[i].view(),
                     "I41: the keys of a page ascend strictly");
      EncodeFixed16(p, static_cast<uint16_t>(node.keys[i].size()));
      p[2] = static_cast<char>(value.large ? kValueOverflow : kValueInline);
      EncodeFixed32(p + 3, value.value_bytes);
      p = CopyBytes(p + kLeafEntryHeadBytes, node.keys[i]);
      if (value.large) {
        assert(value.written());
        EncodeFixed64(p, value.overflow.page_id);
        EncodeFixed32(p + 8, value.overflow.crc);
        p += kOverflowRefBytes;
      } else {
        p = CopyBytes(p, value.bytes);
      }
    } else {
      const std::string_view separator = i == 0 ? std::string_view() : node.keys[i - 1].view();
      MANIFOLD_CHECK(i < 2 || node.keys[i - 2].view() < separator,
                     "I41: the separators of a page ascend strictly");
      EncodeFixed16(p, static_cast<uint16_t>(separator.size()));
      p = CopyBytes(p + kInternalEntryHeadBytes, separator);
      const ChildRef& child = node.children[i];
      assert(!child.is_dirty());
      EncodeFixed64(p, child.page.page_id);
      EncodeFixed32(p + 8, child.page.crc);
      p += kChildRefBytes;
    }
  }
  assert(static_cast<size_t>(p - page) <= layout.page_bytes);
}

Status ValidateNodePage(const char* page, const Layout& layout, uint64_t page_id,
                        std::string_view where) {
  const PageType type = PageTypeOf(page);
  auto corrupt = [&](const std::string& what) {
    return Status::Corruption(At(where, page_id, layout.page_bytes) + ": " + what);
  };
  if (type != PageType::kLeaf && type != PageType::kInternal) {
    return corrupt("not a tree page (type " + std::to_string(static_cast<int>(type)) + ")");
  }
  const bool leaf = type == PageType::kLeaf;
  const size_t count = PageCountOf(page);
  const size_t end = layout.page_bytes;
  const size_t slots_end = kPageHeaderBytes + count * kSlotBytes;
  if (!leaf && count < 1) return corrupt("internal node without children");
  if (slots_end > end) return corrupt("offset array of " + std::to_string(count) + " entries");
  std::string_view previous;
  for (size_t i = 0; i < count; ++i) {
    const size_t offset = DecodeFixed16(page + kPageHeaderBytes + i * kSlotBytes);
    const size_t head = leaf ? kLeafEntryHeadBytes : kInternalEntryHeadBytes;
    if (offset < slots_end || offset + head > end) {
      return corrupt("entry " + std::to_string(i) + " at offset " + std::to_string(offset) +
                     " lies outside the page body");
    }
    const char* entry = page + offset;
    const size_t key_bytes = DecodeFixed16(entry);
    if (key_bytes > layout.key_bytes_max()) {
      return corrupt("key length " + std::to_string(key_bytes) + " exceeds the limit");
    }
    size_t tail = kChildRefBytes;
    uint64_t pointer = 0;
    if (leaf) {
      const uint8_t kind = static_cast<uint8_t>(entry[2]);
      if (kind == kValueInline) {
        tail = DecodeFixed32(entry + 3);
      } else if (kind == kValueOverflow) {
        tail = kOverflowRefBytes;
      } else {
        return corrupt("unknown value kind " + std::to_string(kind));
      }
    } else if (i == 0 ? key_bytes != 0 : key_bytes == 0) {
      return corrupt("internal entry " + std::to_string(i) + " has a separator of " +
                     std::to_string(key_bytes) + " bytes");
    }
    if (offset + head + key_bytes + tail > end) return corrupt("entry overruns the page");
    const std::string_view key(entry + head, key_bytes);
    const bool has_key = leaf || i > 0;
    if (has_key && (leaf ? i > 0 : i > 1) && !(previous < key)) {
      return corrupt("keys out of order at entry " + std::to_string(i));
    }
    if (has_key) previous = key;
    if (!leaf || static_cast<uint8_t>(entry[2]) == kValueOverflow) {
      pointer = DecodeFixed64(entry + head + key_bytes);
      if (pointer < kFirstDataPage) {
        return corrupt(std::string(leaf ? "overflow value" : "child pointer") + " points at page " +
                       std::to_string(pointer));
      }
    }
  }
  return Status::OK();
}

MutableNodePtr DecodeNodePage(const SharedBytes& image) {
  const NodePage view(image.data());
  auto node = std::make_shared<Node>();
  node->leaf = view.leaf();
  const size_t count = view.count();
  if (node->leaf) {
    node->keys.reserve(count);
    node->values.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      node->keys.emplace_back(view.key(i));
      node->values.push_back(PageLeafValue(image, i));
    }
    return node;
  }
  node->keys.reserve(count - 1);
  node->children.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) node->keys.emplace_back(view.key(i));
    node->children.push_back(ChildRef{view.child(i), nullptr});
  }
  return node;
}

}  // namespace manifold::btree
