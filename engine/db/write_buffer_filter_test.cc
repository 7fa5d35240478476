// The write buffer's key filter (docs/design.md "Write buffer", key filter): no false negatives,
// aborted and reused sequence numbers included, a low false-positive rate, and its bytes counted
// in the arena (I31).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "engine/db/write_buffer.h"
#include "engine/db/write_buffer_test_util.h"
#include "engine/util/arena.h"

namespace manifold {
namespace {

using Found = WriteBuffer::Found;
using write_buffer_test::NewBuffer;
using write_buffer_test::Put;

std::string FilterKey(uint64_t i) { return "user" + std::to_string(i * 2654435761u % 1000003); }

TEST(WriteBufferTest, FilterHasNoFalseNegativesAndRulesOutMostAbsentKeys) {
  // A per-column-family buffer's shape in miniature: 1 MiB, blocks of an eighth of it.
  WriteBufferOptions options;
  options.bytes_max = 1 << 20;
  options.arena_block_bytes = 128 << 10;
  EXPECT_EQ(WriteBuffer::FilterBytes(options), (1u << 20) / 64);
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  const std::string value(100, 'v');
  uint64_t added = 0;
  while (buffer
             ->Add(added + 1, added % 5 == 0 ? EntryType::kTombstone : EntryType::kPut,
                   FilterKey(added), added % 5 == 0 ? "" : value)
             .ok()) {
    ++added;
  }
  ASSERT_GT(added, 5000u);
  for (uint64_t i = 0; i < added; ++i) {
    ASSERT_TRUE(buffer->MayContain(FilterKey(i))) << i;
    EXPECT_EQ(buffer->Get(FilterKey(i), WriteBuffer::kReadLatest).found,
              i % 5 == 0 ? Found::kTombstone : Found::kValue);
  }
  // About 150 arena bytes an entry: ~19 filter bits per key, ~0.1% false positives.
  uint64_t maybe = 0;
  const uint64_t absent = 100000;
  for (uint64_t i = 0; i < absent; ++i) {
    if (buffer->MayContain("absent" + std::to_string(i))) ++maybe;
  }
  EXPECT_LT(maybe, absent / 100) << maybe << " false positives of " << absent;
}

TEST(WriteBufferTest, FilterKeepsAbortedKeysAndFindsReusedSequences) {
  WriteBufferOptions options;
  options.bytes_max = 64 << 10;
  options.arena_block_bytes = 8 << 10;
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  for (uint64_t s = 1; s <= 200; ++s) Put(buffer.get(), s, FilterKey(s), "first");
  ASSERT_TRUE(buffer->MarkAborted(101, 200).ok());
  // The aborted keys' bits stay (a "maybe"); the search hides the entries (I30).
  for (uint64_t s = 101; s <= 200; ++s) {
    EXPECT_TRUE(buffer->MayContain(FilterKey(s)));
    EXPECT_EQ(buffer->Get(FilterKey(s), WriteBuffer::kReadLatest).found, Found::kNotPresent);
  }
  // The reused sequence numbers bring other keys and some of the aborted ones again: all found.
  for (uint64_t s = 101; s <= 200; ++s) {
    Put(buffer.get(), s, FilterKey(s % 2 == 0 ? s : s + 1000), "again");
  }
  for (uint64_t s = 1; s <= 200; ++s) {
    const std::string key = FilterKey(s <= 100 || s % 2 == 0 ? s : s + 1000);
    ASSERT_TRUE(buffer->MayContain(key)) << s;
    WriteBuffer::Lookup found = buffer->Get(key, WriteBuffer::kReadLatest);
    ASSERT_EQ(found.found, Found::kValue) << s;
    EXPECT_EQ(found.value, s <= 100 ? "first" : "again");
    EXPECT_EQ(found.sequence, s);
  }
}

TEST(WriteBufferTest, FilterBytesAreCountedInTheArena) {
  WriteBufferOptions options;
  options.bytes_max = 64 << 10;
  options.arena_block_bytes = 8 << 10;
  const size_t filter = WriteBuffer::FilterBytes(options);
  EXPECT_EQ(filter, 1024u);  // bytes_max / 64.
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  EXPECT_EQ(buffer->MemoryBytes(), 0u);  // Taken with the first entry, not before.
  EXPECT_EQ(buffer->EntryCostInEmptyBuffer("k", "v"), options.arena_block_bytes);
  Put(buffer.get(), 1, "k", "v");
  EXPECT_EQ(buffer->MemoryBytes(), options.arena_block_bytes);  // Filter and entry, one block.
  // Entries fill the block less the filter (and its alignment slack): fewer fit than without.
  auto fill_one_block = [](WriteBufferOptions o) {
    std::unique_ptr<WriteBuffer> b = NewBuffer(o);
    uint64_t s = 1;
    while (b->MemoryBytes() <= o.arena_block_bytes) {
      EXPECT_TRUE(b->Add(s, EntryType::kPut, "key" + std::to_string(s), "v").ok());
      ++s;
    }
    return s;
  };
  WriteBufferOptions unfiltered = options;
  unfiltered.key_filter = false;
  EXPECT_EQ(WriteBuffer::FilterBytes(unfiltered), 0u);
  EXPECT_LT(fill_one_block(options), fill_one_block(unfiltered));
  // A first entry that fits beside the filter takes one block; a larger one takes the filter's
  // block plus a dedicated one.
  EXPECT_EQ(NewBuffer(options)->EntryCostInEmptyBuffer("k", std::string(4000, 'M')),
            options.arena_block_bytes);
  const std::string large(8000, 'L');
  std::unique_ptr<WriteBuffer> big = NewBuffer(options);
  const size_t cost = big->EntryCostInEmptyBuffer("k", large);
  EXPECT_EQ(cost, options.arena_block_bytes + Arena::kBlockHeaderBytes + 32 +
                      WriteBuffer::kHeightMax * 8 + 1 + large.size());
  Put(big.get(), 1, "k", large);
  EXPECT_LE(big->MemoryBytes(), cost);
  EXPECT_GT(big->MemoryBytes(), options.arena_block_bytes + large.size());
  // The filter is bounded by a quarter block, slack included.
  options.bytes_max = 64 << 20;
  EXPECT_LE(WriteBuffer::FilterBytes(options) + 48, options.arena_block_bytes / 4);
}

}  // namespace
}  // namespace manifold
