// Arena: a block allocator for data that lives and dies together (a write buffer's entries), so
// an insert costs a pointer bump instead of a malloc, and the memory it holds is known to the
// byte. Blocks come from operator new; each starts with a small header linking it to the
// previous block, and everything is freed at once when the arena is destroyed.
//
// MemoryBytes() is exact: the sum of the sizes of every block requested from operator new,
// headers and the unused tail of each block included (invariant I31). The allocator's own
// bookkeeping inside malloc is the only memory it does not count.
//
// One thread allocates at a time (the caller serializes allocations); MemoryBytes() may be read
// from any thread.
#ifndef MANIFOLD_UTIL_ARENA_H_
#define MANIFOLD_UTIL_ARENA_H_

#include <cstddef>
#include <cstdint>

#include "engine/port/atomic.h"
#include "manifold/status.h"

namespace manifold {

struct ArenaOptions {
  // Size of an ordinary block, header included. An allocation larger than a quarter of it gets a
  // block of its own, so at most a quarter of a block is ever left unused at a block's end by
  // moving on to the next one.
  size_t block_bytes = 1 << 20;
  // Most bytes the arena may hold (MemoryBytes()); an allocation that would pass it fails. At
  // least block_bytes (CheckOptions), so one ordinary block fits.
  size_t bytes_max = SIZE_MAX;
};

class Arena {
 public:
  // Bounds on ArenaOptions::block_bytes.
  static constexpr size_t kBlockBytesMin = 1 << 10;
  static constexpr size_t kBlockBytesMax = 64 << 20;
  // Every block starts at this alignment, the largest Allocate() accepts.
  static constexpr size_t kAlignMax = 16;
  // The header at the start of every block (a link to the previous block), padded to kAlignMax.
  static constexpr size_t kBlockHeaderBytes = 16;

  // OK, or InvalidArgument naming the option that is out of range.
  static Status CheckOptions(const ArenaOptions& options);

  // `options` must pass CheckOptions (a caller bug otherwise; checked).
  explicit Arena(const ArenaOptions& options);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `bytes` bytes aligned to `align` (a power of two, at most kAlignMax), or nullptr if taking
  // them would raise MemoryBytes() past bytes_max (nothing is allocated then). Zero bytes give a
  // valid, unique-enough pointer that must not be dereferenced.
  char* Allocate(size_t bytes, size_t align);

  // How much MemoryBytes() would grow if Allocate(bytes, align) were called now: 0 when it fits
  // in the current block, the size of the block it would get otherwise. SIZE_MAX when no block
  // could hold it (a size overflow).
  size_t AllocationCost(size_t bytes, size_t align) const;

  // What Allocate(bytes, align) costs in an arena that holds no block yet: the least bytes_max
  // under which it can ever succeed.
  size_t CostInEmptyArena(size_t bytes, size_t align) const;
  // What Allocate(first_bytes, first_align) and then Allocate(bytes, align) cost together in an
  // arena that holds no block yet (a write buffer's key filter, then its first entry). SIZE_MAX
  // on a size overflow.
  size_t CostInEmptyArena(size_t first_bytes, size_t first_align, size_t bytes, size_t align) const;

  // Exact bytes held (see the top of this file). Any thread.
  size_t MemoryBytes() const { return memory_bytes_.load(std::memory_order_relaxed); }
  size_t bytes_max() const { return options_.bytes_max; }
  size_t block_bytes() const { return options_.block_bytes; }
  // Blocks held (ordinary and dedicated). Allocating thread only.
  size_t block_count() const { return block_count_; }

 private:
  struct BlockHeader {
    BlockHeader* previous;
  };

  // The block size Allocate(bytes, align) would request if it does not fit in the current block,
  // or SIZE_MAX on overflow.
  size_t FreshBlockBytes(size_t bytes, size_t align) const;
  // Offset of the first byte aligned to `align` at or after `ptr_`, or SIZE_MAX if none fits.
  size_t AlignedOffset(size_t align) const;
  char* NewBlock(size_t block_bytes);

  const ArenaOptions options_;
  // The current block's free range [ptr_, end_).
  char* ptr_ = nullptr;
  char* end_ = nullptr;
  BlockHeader* newest_ = nullptr;  // Newest block; the chain runs back through `previous`.
  size_t block_count_ = 0;
  // Written only by the allocating thread; relaxed, since readers want a figure, not an order.
  port::Atomic<size_t> memory_bytes_{0};
};

}  // namespace manifold

#endif  // MANIFOLD_UTIL_ARENA_H_
