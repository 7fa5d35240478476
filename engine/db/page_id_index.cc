#include "engine/db/page_id_index.h"

#include <utility>

#include "engine/util/check.h"

namespace manifold {

PageIdIndex::PageIdIndex() : slots_(kSlotsMin), mask_(kSlotsMin - 1), shift_(64 - 4) {
  static_assert(kSlotsMin == 16, "shift_ is 64 - log2(kSlotsMin)");
}

// Fibonacci hashing: a shard's page ids share their residue modulo the shard count, so their low
// bits alone would crowd a few home slots; the product's top bits depend on every bit of the id.
size_t PageIdIndex::Home(uint64_t page_id) const {
  return static_cast<size_t>((page_id * 0x9e3779b97f4a7c15ull) >> shift_);
}

uint32_t PageIdIndex::Find(uint64_t page_id) const {
  for (size_t slot = Home(page_id);; slot = Next(slot)) {
    const Slot& s = slots_[slot];
    if (s.page_id == page_id) return s.value;
    // At most half the slots are used, so every probe run ends at an empty slot.
    if (s.page_id == kNoPage) return kNotFound;
  }
}

void PageIdIndex::Set(uint64_t page_id, uint32_t value) {
  MANIFOLD_CHECK(page_id != kNoPage && value != kNotFound,
                 "I42: the page cache indexes real page ids and slots");
  if ((size_ + 1) * 2 > slots_.size()) Grow();
  size_t slot = Home(page_id);
  while (slots_[slot].page_id != kNoPage && slots_[slot].page_id != page_id) slot = Next(slot);
  if (slots_[slot].page_id == kNoPage) ++size_;
  slots_[slot] = Slot{page_id, value};
  MANIFOLD_CHECK(size_ * 2 <= slots_.size(), "I42: the page id index stays at most half full");
}

bool PageIdIndex::Erase(uint64_t page_id) {
  size_t hole = Home(page_id);
  while (slots_[hole].page_id != page_id) {
    if (slots_[hole].page_id == kNoPage) return false;
    hole = Next(hole);
  }
  // Backward-shift deletion: move up every later entry of the probe run whose home does not lie
  // cyclically in (hole, slot], so no lookup meets an empty slot before its id (no tombstones).
  for (size_t slot = Next(hole); slots_[slot].page_id != kNoPage; slot = Next(slot)) {
    const size_t home = Home(slots_[slot].page_id);
    const bool home_after_hole = ((slot - home) & mask_) < ((slot - hole) & mask_);
    if (home_after_hole) continue;
    slots_[hole] = slots_[slot];
    hole = slot;
  }
  slots_[hole] = Slot{};
  --size_;
  return true;
}

void PageIdIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  --shift_;
  size_ = 0;
  for (const Slot& s : old) {
    if (s.page_id == kNoPage) continue;
    size_t slot = Home(s.page_id);
    while (slots_[slot].page_id != kNoPage) slot = Next(slot);
    slots_[slot] = s;
    ++size_;
  }
}

}  // namespace manifold
