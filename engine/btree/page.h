// Page formats of the B+tree store: the common page header, leaf and internal nodes, and overflow
// runs. docs/design.md describes every byte; the constants below are the single source of truth.
#ifndef MANIFOLD_BTREE_PAGE_H_
#define MANIFOLD_BTREE_PAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/util/shared_bytes.h"
#include "engine/util/small_bytes.h"
#include "manifold/status.h"

namespace manifold::btree {

// Every page starts with this 24-byte header:
//   [0,4)   crc32c of bytes [4, page_bytes), masked (see MaskCrc)
//   [4]     PageType
//   [5]     reserved, 0
//   [6,8)   entry count (leaf: entries; internal: children; others: type-specific)
//   [8,16)  page id (the page's own number, to catch misdirected writes)
//   [16,24) sequence number of the commit that wrote the page
inline constexpr size_t kPageHeaderBytes = 24;

enum class PageType : uint8_t {
  kHeader = 1,    // One of the two commit slots (pages 0 and 1).
  kLeaf = 2,      // B+tree leaf: sorted key/value entries.
  kInternal = 3,  // B+tree internal node: children and separator keys.
  kOverflow = 4,  // One page of a contiguous run holding a large value.
  kFreeList = 5,  // One page of the persisted free-page list.
};

// Page ids 0 and 1 are the header slots, so 0 never names a tree page: it means "no page".
inline constexpr uint64_t kNoPage = 0;
inline constexpr uint64_t kFirstDataPage = 2;

// A committed page as seen from its parent: where it is and the checksum it must have.
// Invariant I3 (docs/design.md): a parent records each child's checksum.
struct PageRef {
  uint64_t page_id = kNoPage;
  uint32_t crc = 0;
  bool empty() const { return page_id == kNoPage; }
  friend bool operator==(const PageRef&, const PageRef&) = default;
};

// A leaf entry's value. Small values live inline in the leaf. Large ones live in a run of
// contiguous overflow pages; until their commit writes them (`overflow.page_id == kNoPage`),
// their bytes stay in `bytes`.
struct LeafValue {
  // Inline value, or a large value not yet written. Shared, not copied, by node copies.
  SharedBytes bytes;
  bool large = false;        // Stored (or to be stored) in overflow pages.
  uint32_t value_bytes = 0;  // Length of the value.
  PageRef overflow;          // First page of the run and the crc32c of the whole value.

  static LeafValue Inline(std::string_view v);
  bool written() const { return large && !overflow.empty(); }
};

// A decoded tree node: a writer's dirty node (engine/btree/tree.h). A clean node is not decoded at
// all: readers search its page image in place (node_page.h) and the page cache holds only images; a
// writer decodes a page into a fresh Node when it changes it (invariant I1: committed pages are
// never modified in place).
struct Node;
using NodePtr = std::shared_ptr<const Node>;
using MutableNodePtr = std::shared_ptr<Node>;

// A child pointer inside an internal node: either a committed page, or (for a writer's
// uncommitted tree only) an in-memory dirty node.
struct ChildRef {
  PageRef page;
  MutableNodePtr dirty;
  bool is_dirty() const { return dirty != nullptr; }
};

// A contiguous run of pages [first, first + count).
struct PageRun {
  uint64_t first = kNoPage;
  uint64_t count = 0;
  friend bool operator==(const PageRun&, const PageRun&) = default;
};

struct Node {
  bool leaf = true;
  // Leaf: the entry keys, ascending. Internal: separators; keys[i] is the smallest key that may
  // appear under children[i + 1], so keys.size() == children.size() - 1.
  std::vector<SmallBytes> keys;
  std::vector<LeafValue> values;   // Leaf only; parallel to keys.
  std::vector<ChildRef> children;  // Internal only.

  // Bytes the node's body occupies once encoded (without the page header).
  size_t EncodedBodyBytes() const;
};

// Size limits derived from the page size. Invariant I6: every leaf entry and every internal entry
// fits in a quarter of a page body, so any node that overflows by one entry splits into two that
// fit.
struct Layout {
  uint32_t page_bytes = 4096;
  size_t body_bytes() const { return page_bytes - kPageHeaderBytes; }
  size_t entry_bytes_max() const { return body_bytes() / 4; }
  // A non-root node whose body is smaller than this is merged with or refilled from a sibling.
  size_t underfull_bytes() const { return body_bytes() / 4; }
  uint32_t key_bytes_max() const { return page_bytes / 8; }
  // Values at most this long (for this key) are stored inline in the leaf.
  size_t inline_value_bytes_max(size_t key_bytes) const;
  // Payload bytes per overflow page.
  size_t overflow_payload_bytes() const { return body_bytes(); }
  uint64_t OverflowPages(uint64_t value_bytes) const;
};

// Encoded size of one leaf entry / one internal separator entry.
size_t LeafEntryBytes(std::string_view key, const LeafValue& value);
size_t InternalEntryBytes(std::string_view key);
inline constexpr size_t kChildRefBytes = 12;  // u64 page id + u32 crc.
// Child 0 of an internal node: its slot, an empty separator's length, the child pointer.
inline constexpr size_t kInternalFirstEntryBytes = 2 + 2 + kChildRefBytes;

// crc32c values stored on disk are masked so that a page holding its own checksum, or a run of
// zeros, does not checksum to a plausible value (as leveldb does).
uint32_t MaskCrc(uint32_t crc);

// Fills the page header and checksum of `page` (page_bytes long). Returns the stored crc.
uint32_t SealPage(char* page, size_t page_bytes, PageType type, uint16_t count, uint64_t page_id,
                  uint64_t sequence);

// Checks a page read from `page_id`: checksum, type, page id, and (if `expected_crc` is set) the
// checksum its parent recorded. `where` names the file for messages.
[[nodiscard]] Status VerifyPage(const char* page, size_t page_bytes, uint64_t page_id,
                                PageType expected_type, const uint32_t* expected_crc,
                                std::string_view where);

// Reads the header fields of a verified page.
PageType PageTypeOf(const char* page);
uint16_t PageCountOf(const char* page);
uint64_t PageSequenceOf(const char* page);
uint32_t PageCrcOf(const char* page);

}  // namespace manifold::btree

#endif  // MANIFOLD_BTREE_PAGE_H_
