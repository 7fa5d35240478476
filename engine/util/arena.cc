#include "engine/util/arena.h"

#include <new>
#include <string>

#include "engine/util/check.h"

namespace manifold {

static_assert(sizeof(void*) <= Arena::kBlockHeaderBytes, "the block header holds one link");
static_assert(Arena::kBlockHeaderBytes % Arena::kAlignMax == 0,
              "the first allocation of a block starts at the block's own alignment");

Status Arena::CheckOptions(const ArenaOptions& options) {
  if (options.block_bytes < kBlockBytesMin || options.block_bytes > kBlockBytesMax) {
    return Status::InvalidArgument("arena block_bytes is " + std::to_string(options.block_bytes) +
                                   "; it must be between " + std::to_string(kBlockBytesMin) +
                                   " and " + std::to_string(kBlockBytesMax));
  }
  if (options.bytes_max == 0) {
    return Status::InvalidArgument("arena bytes_max is 0; it must allow at least one block");
  }
  // Below one block the first ordinary allocation can never fit: the arena would be accepted
  // and then refuse every small allocation.
  if (options.bytes_max < options.block_bytes) {
    return Status::InvalidArgument(
        "arena bytes_max is " + std::to_string(options.bytes_max) + ", less than block_bytes " +
        std::to_string(options.block_bytes) + "; it must allow at least one block");
  }
  return Status::OK();
}

Arena::Arena(const ArenaOptions& options) : options_(options) {
  MANIFOLD_CHECK(CheckOptions(options).ok(), "Arena options are checked by the caller");
}

Arena::~Arena() {
  BlockHeader* block = newest_;
  while (block != nullptr) {
    BlockHeader* previous = block->previous;
    ::operator delete(static_cast<void*>(block), std::align_val_t(kAlignMax));
    block = previous;
  }
}

size_t Arena::FreshBlockBytes(size_t bytes, size_t align) const {
  (void)align;  // A block's payload starts at kAlignMax, enough for every accepted alignment.
  if (bytes > SIZE_MAX - kBlockHeaderBytes) return SIZE_MAX;
  // Large allocations get a block of exactly their size, so the ordinary block size bounds the
  // waste at a block's end by a quarter block (the largest allocation that moves on to a new
  // ordinary block).
  if (bytes > options_.block_bytes / 4) return kBlockHeaderBytes + bytes;
  return options_.block_bytes;
}

size_t Arena::AlignedOffset(size_t align) const {
  if (ptr_ == nullptr) return SIZE_MAX;
  const uintptr_t address = reinterpret_cast<uintptr_t>(ptr_);
  const size_t offset = (align - (address & (align - 1))) & (align - 1);
  if (offset > static_cast<size_t>(end_ - ptr_)) return SIZE_MAX;
  return offset;
}

size_t Arena::AllocationCost(size_t bytes, size_t align) const {
  const size_t offset = AlignedOffset(align);
  if (offset != SIZE_MAX && bytes <= static_cast<size_t>(end_ - ptr_) - offset) return 0;
  return FreshBlockBytes(bytes, align);
}

size_t Arena::CostInEmptyArena(size_t bytes, size_t align) const {
  return FreshBlockBytes(bytes, align);
}

size_t Arena::CostInEmptyArena(size_t first_bytes, size_t first_align, size_t bytes,
                               size_t align) const {
  const size_t first = FreshBlockBytes(first_bytes, first_align);
  if (first == SIZE_MAX) return SIZE_MAX;
  size_t second = FreshBlockBytes(bytes, align);
  if (first_bytes <= options_.block_bytes / 4) {
    // The first allocation opened an ordinary block (at kBlockHeaderBytes, aligned to
    // kAlignMax): the second one costs nothing if it fits in the rest, as Allocate would find.
    const size_t used = kBlockHeaderBytes + first_bytes;
    const size_t start = (used + align - 1) / align * align;
    if (start <= first && bytes <= first - start) second = 0;
  }
  if (second == SIZE_MAX || second > SIZE_MAX - first) return SIZE_MAX;
  return first + second;
}

char* Arena::NewBlock(size_t block_bytes) {
  void* memory = ::operator new(block_bytes, std::align_val_t(kAlignMax));
  auto* header = static_cast<BlockHeader*>(memory);
  header->previous = newest_;
  newest_ = header;
  ++block_count_;
  // I31: every byte requested from operator new is counted, header and unused tail included.
  memory_bytes_.store(memory_bytes_.load(std::memory_order_relaxed) + block_bytes,
                      std::memory_order_relaxed);
  return static_cast<char*>(memory) + kBlockHeaderBytes;
}

char* Arena::Allocate(size_t bytes, size_t align) {
  MANIFOLD_CHECK(align != 0 && (align & (align - 1)) == 0 && align <= kAlignMax,
                 "Arena::Allocate takes a power-of-two alignment of at most kAlignMax");
  const size_t offset = AlignedOffset(align);
  if (offset != SIZE_MAX && bytes <= static_cast<size_t>(end_ - ptr_) - offset) {
    char* result = ptr_ + offset;
    ptr_ = result + bytes;
    return result;
  }
  const size_t fresh = FreshBlockBytes(bytes, align);
  const size_t held = memory_bytes_.load(std::memory_order_relaxed);
  // I31: the arena never holds more than bytes_max.
  if (fresh == SIZE_MAX || fresh > options_.bytes_max || held > options_.bytes_max - fresh) {
    return nullptr;
  }
  char* payload = NewBlock(fresh);
  MANIFOLD_CHECK(MemoryBytes() <= options_.bytes_max, "I31: an arena never passes bytes_max");
  if (bytes > options_.block_bytes / 4) return payload;  // Dedicated: the current block stays.
  ptr_ = payload + bytes;
  end_ = payload - kBlockHeaderBytes + fresh;
  return payload;
}

}  // namespace manifold
