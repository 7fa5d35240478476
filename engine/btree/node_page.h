// Leaf and internal pages (format 4): a slotted layout read in place. A clean tree node in memory
// is its page image (a SharedBytes of page_bytes): a lookup is a binary search over the page's
// offset array, with no decode and no allocation (issue 12). Only a writer that changes a node
// decodes it (DecodeNodePage), and only the checkpoint encodes one (EncodeNodePage).
// docs/design.md ("Leaf page (type 2)", "Internal page (type 3)") gives every byte.
#ifndef MANIFOLD_BTREE_NODE_PAGE_H_
#define MANIFOLD_BTREE_NODE_PAGE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/btree/page.h"
#include "engine/util/coding.h"
#include "engine/util/shared_bytes.h"
#include "manifold/status.h"

namespace manifold::btree {

// The offset array after the page header: one u16 page offset per entry, in key order.
inline constexpr size_t kSlotBytes = 2;
// A leaf entry starts with u16 key length, u8 value kind, u32 value length.
inline constexpr size_t kLeafEntryHeadBytes = 2 + 1 + 4;
// An internal entry starts with u16 separator length (0 for child 0).
inline constexpr size_t kInternalEntryHeadBytes = 2;
inline constexpr uint8_t kValueInline = 1;
inline constexpr uint8_t kValueOverflow = 2;

// One leaf entry's value as its page stores it.
struct PageValue {
  bool large = false;
  uint32_t value_bytes = 0;
  std::string_view inline_bytes;  // Inline values only: bytes inside the page.
  PageRef overflow;               // Large values only.
};

// A view of a leaf or internal page image that passed ValidateNodePage (or was encoded by this
// process): nothing here checks bounds again (I40).
class NodePage {
 public:
  explicit NodePage(const char* page) : page_(page) {}

  bool leaf() const { return PageTypeOf(page_) == PageType::kLeaf; }
  // Leaf: entries. Internal: children.
  size_t count() const { return PageCountOf(page_); }

  // Leaf: the key of entry i. Internal: separator i (1 <= i < count), the smallest key that may
  // appear under child i.
  std::string_view key(size_t i) const {
    const char* entry = Entry(i);
    const size_t head = leaf() ? kLeafEntryHeadBytes : kInternalEntryHeadBytes;
    return std::string_view(entry + head, DecodeFixed16(entry));
  }
  PageValue value(size_t i) const;  // Leaf only.
  PageRef child(size_t i) const;    // Internal only.

  // Leaf: the first entry whose key is >= `key` (count() when none).
  size_t LowerBound(std::string_view key) const;
  // Internal: the child that may hold `key`, the last whose separator is <= `key` (I41).
  size_t ChildIndex(std::string_view key) const;

 private:
  const char* Entry(size_t i) const {
    return page_ + DecodeFixed16(page_ + kPageHeaderBytes + i * kSlotBytes);
  }
  const char* page_;
};

// Leaf entry i of `image` as a LeafValue; an inline value is a slice of the image, so it keeps the
// page alive without copying it (Get and GetPinned read through this).
LeafValue PageLeafValue(const SharedBytes& image, size_t i);

// Encodes a clean node (every child and large value already written) into `page` (page_bytes,
// zero-filled). The caller seals it. Asserts the node fits (I6) and its keys ascend (I41).
void EncodeNodePage(const Node& node, const Layout& layout, char* page);

// Checks the slotted structure of a leaf or internal page whose header VerifyPage accepted: every
// offset and length inside the page, known value kinds, keys strictly ascending, child and
// overflow pointers past the header slots. Run once per read from disk (I40).
[[nodiscard]] Status ValidateNodePage(const char* page, const Layout& layout, uint64_t page_id,
                                      std::string_view where);

// Decodes a validated image into a node a writer may change; inline values stay slices of the
// image (no copy of value bytes).
MutableNodePtr DecodeNodePage(const SharedBytes& image);

}  // namespace manifold::btree

#endif  // MANIFOLD_BTREE_NODE_PAGE_H_
