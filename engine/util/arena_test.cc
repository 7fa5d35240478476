#include "engine/util/arena.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace manifold {
namespace {

ArenaOptions Options(size_t block_bytes, size_t bytes_max = SIZE_MAX) {
  ArenaOptions options;
  options.block_bytes = block_bytes;
  options.bytes_max = bytes_max;
  return options;
}

TEST(ArenaTest, CheckOptionsNamesWhatIsOutOfRange) {
  EXPECT_TRUE(Arena::CheckOptions(Options(4096)).ok());
  EXPECT_TRUE(Arena::CheckOptions(Options(Arena::kBlockBytesMin)).ok());
  EXPECT_TRUE(Arena::CheckOptions(Options(Arena::kBlockBytesMax)).ok());
  Status small = Arena::CheckOptions(Options(Arena::kBlockBytesMin - 1));
  EXPECT_TRUE(small.IsInvalidArgument());
  EXPECT_NE(small.message().find("block_bytes"), std::string::npos) << small.ToString();
  EXPECT_TRUE(Arena::CheckOptions(Options(Arena::kBlockBytesMax + 1)).IsInvalidArgument());
  Status zero = Arena::CheckOptions(Options(4096, 0));
  EXPECT_TRUE(zero.IsInvalidArgument());
  EXPECT_NE(zero.message().find("bytes_max"), std::string::npos) << zero.ToString();
  // Less than one block: no ordinary allocation could ever fit.
  EXPECT_TRUE(Arena::CheckOptions(Options(4096, 4096)).ok());
  Status below = Arena::CheckOptions(Options(4096, 4095));
  EXPECT_TRUE(below.IsInvalidArgument());
  EXPECT_NE(below.message().find("bytes_max is 4095"), std::string::npos) << below.ToString();
  EXPECT_NE(below.message().find("block_bytes 4096"), std::string::npos) << below.ToString();
}

TEST(ArenaTest, EmptyArenaHoldsNothing) {
  Arena arena(Options(4096));
  EXPECT_EQ(arena.MemoryBytes(), 0u);
  EXPECT_EQ(arena.block_count(), 0u);
  EXPECT_EQ(arena.AllocationCost(8, 8), 4096u);
}

TEST(ArenaTest, SmallAllocationsShareABlockAndCountItExactly) {
  Arena arena(Options(4096));
  char* a = arena.Allocate(100, 8);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(arena.MemoryBytes(), 4096u);  // One whole block, header included.
  EXPECT_EQ(arena.block_count(), 1u);
  char* b = arena.Allocate(100, 8);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(arena.MemoryBytes(), 4096u);
  EXPECT_GE(b, a + 100);
  EXPECT_EQ(arena.AllocationCost(100, 8), 0u);
  // The memory is usable and distinct.
  std::memset(a, 'a', 100);
  std::memset(b, 'b', 100);
  EXPECT_EQ(a[99], 'a');
  EXPECT_EQ(b[0], 'b');
}

TEST(ArenaTest, AllocationsAreAligned) {
  Arena arena(Options(4096));
  for (size_t align : {1u, 2u, 4u, 8u, 16u}) {
    ASSERT_NE(arena.Allocate(1, 1), nullptr);  // Misalign the bump pointer.
    char* p = arena.Allocate(24, align);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
  }
}

TEST(ArenaTest, FullBlockStartsAnotherOfTheSameSize) {
  Arena arena(Options(1024));
  size_t allocated = 0;
  // 1024 - 16 header bytes hold 126 allocations of 8 bytes, 8-aligned.
  const size_t per_block = (1024 - Arena::kBlockHeaderBytes) / 8;
  for (size_t i = 0; i < per_block; ++i) {
    ASSERT_NE(arena.Allocate(8, 8), nullptr);
    allocated += 8;
  }
  EXPECT_EQ(arena.block_count(), 1u);
  EXPECT_EQ(arena.AllocationCost(8, 8), 1024u);
  ASSERT_NE(arena.Allocate(8, 8), nullptr);
  EXPECT_EQ(arena.block_count(), 2u);
  EXPECT_EQ(arena.MemoryBytes(), 2048u);
}

TEST(ArenaTest, LargeAllocationGetsADedicatedBlockAndKeepsTheCurrentOne) {
  Arena arena(Options(4096));
  char* small = arena.Allocate(16, 8);
  ASSERT_NE(small, nullptr);
  const size_t large_bytes = 4096 / 4 + 1;
  // A large one that fits in the current block's free space is served from it.
  EXPECT_EQ(arena.AllocationCost(large_bytes, 8), 0u);
  char* fits = arena.Allocate(large_bytes, 8);
  ASSERT_NE(fits, nullptr);
  EXPECT_EQ(arena.block_count(), 1u);
  // One larger than the remaining space gets its own block of exactly its size plus the header.
  const size_t huge_bytes = 10000;
  EXPECT_EQ(arena.AllocationCost(huge_bytes, 16), Arena::kBlockHeaderBytes + huge_bytes);
  char* huge = arena.Allocate(huge_bytes, 16);
  ASSERT_NE(huge, nullptr);
  EXPECT_EQ(arena.block_count(), 2u);
  EXPECT_EQ(arena.MemoryBytes(), 4096u + Arena::kBlockHeaderBytes + huge_bytes);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(huge) % 16, 0u);
  std::memset(huge, 'h', huge_bytes);
  // The ordinary block is still the current one.
  char* next = arena.Allocate(16, 8);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(arena.block_count(), 2u);
  EXPECT_GE(next, fits + large_bytes);
}

TEST(ArenaTest, BytesMaxIsNeverPassed) {
  Arena arena(Options(4096, 8192));
  // 4080 free bytes per block hold four 1000-byte allocations: eight fill two blocks.
  for (int i = 0; i < 8; ++i) ASSERT_NE(arena.Allocate(1000, 8), nullptr) << i;
  EXPECT_EQ(arena.MemoryBytes(), 8192u);
  EXPECT_EQ(arena.block_count(), 2u);
  EXPECT_EQ(arena.AllocationCost(1000, 8), 4096u);
  EXPECT_EQ(arena.Allocate(1000, 8), nullptr);  // Would need a third block.
  EXPECT_EQ(arena.Allocate(5000, 8), nullptr);  // A dedicated block would pass the limit too.
  EXPECT_EQ(arena.MemoryBytes(), 8192u);
  EXPECT_EQ(arena.block_count(), 2u);
  // What still fits in the current block (80 bytes) is served.
  EXPECT_NE(arena.Allocate(80, 8), nullptr);
  EXPECT_EQ(arena.Allocate(8, 8), nullptr);
  EXPECT_EQ(arena.MemoryBytes(), 8192u);
}

TEST(ArenaTest, AllocationLargerThanTheLimitFailsWithoutAllocating) {
  Arena arena(Options(1024, 4096));
  EXPECT_EQ(arena.CostInEmptyArena(5000, 8), Arena::kBlockHeaderBytes + 5000);
  EXPECT_EQ(arena.Allocate(5000, 8), nullptr);
  EXPECT_EQ(arena.MemoryBytes(), 0u);
  EXPECT_EQ(arena.block_count(), 0u);
}

TEST(ArenaTest, CostOfTwoAllocationsInAnEmptyArenaIsWhatTheyTake) {
  // Against the arena itself: every pair of sizes, the figure is the bytes the two take.
  for (size_t first : {0, 8, 200, 255, 256, 257, 900}) {
    for (size_t second : {1, 8, 100, 256, 257, 700, 760, 1000, 3000}) {
      for (size_t align : {1, 8, 16}) {
        Arena arena(Options(1024));
        const size_t cost = arena.CostInEmptyArena(first, 16, second, align);
        ASSERT_NE(arena.Allocate(first, 16), nullptr);
        ASSERT_NE(arena.Allocate(second, align), nullptr);
        EXPECT_EQ(cost, arena.MemoryBytes()) << first << " then " << second << " at " << align;
      }
    }
  }
  Arena arena(Options(1024));
  EXPECT_EQ(arena.CostInEmptyArena(SIZE_MAX - 4, 8, 8, 8), SIZE_MAX);
  EXPECT_EQ(arena.CostInEmptyArena(8, 8, SIZE_MAX - 4, 8), SIZE_MAX);
}

TEST(ArenaTest, SizeOverflowIsRefused) {
  Arena arena(Options(1024));
  EXPECT_EQ(arena.AllocationCost(SIZE_MAX - 4, 8), SIZE_MAX);
  EXPECT_EQ(arena.Allocate(SIZE_MAX - 4, 8), nullptr);
  EXPECT_EQ(arena.MemoryBytes(), 0u);
}

TEST(ArenaTest, ZeroBytesIsAValidAllocation) {
  Arena arena(Options(1024));
  EXPECT_NE(arena.Allocate(0, 8), nullptr);
  EXPECT_EQ(arena.MemoryBytes(), 1024u);
}

TEST(ArenaTest, MemoryBytesIsTheSumOfBlockSizes) {
  // A mix of sizes: the figure must equal the model's sum of the blocks the arena must have taken.
  Arena arena(Options(4096));
  size_t model_bytes = 0;
  size_t free_bytes = 0;  // In the model's current ordinary block.
  uint64_t state = 7;
  for (int i = 0; i < 2000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const size_t bytes = (state >> 33) % 3000;
    const size_t need = (bytes + 7) & ~size_t{7};  // Bump pointer stays 8-aligned with align 8.
    ASSERT_NE(arena.Allocate(need, 8), nullptr);
    if (need <= free_bytes) {
      free_bytes -= need;
    } else if (need > 4096 / 4) {
      model_bytes += Arena::kBlockHeaderBytes + need;
    } else {
      model_bytes += 4096;
      free_bytes = 4096 - Arena::kBlockHeaderBytes - need;
    }
    ASSERT_EQ(arena.MemoryBytes(), model_bytes) << "allocation " << i;
  }
}

}  // namespace
}  // namespace manifold
