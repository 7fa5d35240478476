// PageIdIndex: the page cache's map from page id to the slot holding its image, an open-addressing
// table with linear probing (docs/design.md I42). The cache looks a page up on every tree step of
// every read that misses the write buffers; std::unordered_map made that a division by a prime,
// a bucket load and a node load (three dependent cache misses) plus a heap node per insert. Here a
// lookup hashes with one multiply and usually finds the id in the first cache line it loads, and
// inserting allocates only when the table doubles. Not thread-safe: the cache's shard lock guards
// it.
#ifndef MANIFOLD_DB_PAGE_ID_INDEX_H_
#define MANIFOLD_DB_PAGE_ID_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace manifold {

class PageIdIndex {
 public:
  // No page has this id (it is past any file the pager can address), so it marks empty slots.
  static constexpr uint64_t kNoPage = UINT64_MAX;
  static constexpr uint32_t kNotFound = UINT32_MAX;
  // The table never holds more than half of its slots, so probe runs stay short.
  static constexpr size_t kSlotsMin = 16;

  PageIdIndex();

  // The value stored for `page_id`, or kNotFound.
  uint32_t Find(uint64_t page_id) const;
  // Stores `value` for `page_id`, replacing any earlier value. `page_id` must not be kNoPage and
  // `value` not kNotFound (checked).
  void Set(uint64_t page_id, uint32_t value);
  // Removes `page_id`; false if it was not there.
  bool Erase(uint64_t page_id);
  size_t size() const { return size_; }
  size_t slot_count() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t page_id = kNoPage;
    uint32_t value = kNotFound;
  };
  size_t Home(uint64_t page_id) const;
  size_t Next(size_t slot) const { return (slot + 1) & mask_; }
  void Grow();

  std::vector<Slot> slots_;
  size_t mask_;
  int shift_;  // 64 - log2(slot_count()): Home takes the product's top bits.
  size_t size_ = 0;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_PAGE_ID_INDEX_H_
