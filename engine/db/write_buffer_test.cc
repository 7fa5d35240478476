#include "engine/db/write_buffer.h"

#include <gtest/gtest.h>  // Before rapidcheck/gtest.h, which needs its macros.
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/db/write_buffer_test_util.h"
#include "engine/port/atomic.h"
#include "engine/port/sync.h"

namespace manifold {
namespace {

using Found = WriteBuffer::Found;
using write_buffer_test::Delete;
using write_buffer_test::NewBuffer;
using write_buffer_test::Put;

struct Entry {
  std::string key;
  uint64_t sequence;
  EntryType type;
  std::string value;
  friend bool operator==(const Entry&, const Entry&) = default;
};

std::ostream& operator<<(std::ostream& out, const Entry& e) {
  return out << "{" << e.key << "@" << e.sequence << (e.type == EntryType::kPut ? " put " : " del ")
             << e.value << "}";
}

std::vector<Entry> Forward(const WriteBuffer& buffer) {
  std::vector<Entry> entries;
  WriteBuffer::Iterator it(&buffer);
  for (it.SeekToFirst(); it.Valid(); it.Next()) {
    entries.push_back({std::string(it.key()), it.sequence(), it.type(), std::string(it.value())});
  }
  return entries;
}

std::vector<Entry> Backward(const WriteBuffer& buffer) {
  std::vector<Entry> entries;
  WriteBuffer::Iterator it(&buffer);
  for (it.SeekToLast(); it.Valid(); it.Prev()) {
    entries.push_back({std::string(it.key()), it.sequence(), it.type(), std::string(it.value())});
  }
  return entries;
}

Entry At(const WriteBuffer::Iterator& it) {
  return {std::string(it.key()), it.sequence(), it.type(), std::string(it.value())};
}

TEST(WriteBufferTest, CreateRefusesOptionsOutOfRange) {
  WriteBufferOptions options;
  options.entries_max = 0;
  StatusOr<std::unique_ptr<WriteBuffer>> zero = WriteBuffer::Create(options);
  ASSERT_TRUE(zero.status().IsInvalidArgument());
  EXPECT_NE(zero.status().message().find("entries_max"), std::string::npos);
  options.entries_max = WriteBuffer::kEntriesMaxLimit + 1;
  EXPECT_TRUE(WriteBuffer::Create(options).status().IsInvalidArgument());
  options = {};
  options.arena_block_bytes = 10;
  StatusOr<std::unique_ptr<WriteBuffer>> block = WriteBuffer::Create(options);
  ASSERT_TRUE(block.status().IsInvalidArgument());
  EXPECT_NE(block.status().message().find("block_bytes"), std::string::npos);
  options = {};
  options.bytes_max = 0;
  EXPECT_TRUE(WriteBuffer::Create(options).status().IsInvalidArgument());
  // A limit below one arena block would accept the buffer and then refuse every Add.
  options = {};
  options.arena_block_bytes = 8192;
  options.bytes_max = 8191;
  StatusOr<std::unique_ptr<WriteBuffer>> below = WriteBuffer::Create(options);
  ASSERT_TRUE(below.status().IsInvalidArgument());
  EXPECT_NE(below.status().message().find("8191"), std::string::npos) << below.status().ToString();
  EXPECT_NE(below.status().message().find("8192"), std::string::npos) << below.status().ToString();
  options.bytes_max = 8192;
  StatusOr<std::unique_ptr<WriteBuffer>> one_block = WriteBuffer::Create(options);
  ASSERT_TRUE(one_block.ok()) << one_block.status().ToString();
  EXPECT_TRUE((*one_block)->Add(1, EntryType::kPut, "k", "v").ok());
}

TEST(WriteBufferTest, EmptyBuffer) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  EXPECT_EQ(buffer->MemoryBytes(), 0u);
  EXPECT_EQ(buffer->EntryCount(), 0u);
  EXPECT_EQ(buffer->Get("a", WriteBuffer::kReadLatest).found, Found::kNotPresent);
  EXPECT_EQ(buffer->Get("", 0).found, Found::kNotPresent);
  WriteBuffer::Iterator it(buffer.get());
  EXPECT_FALSE(it.Valid());
  it.SeekToFirst();
  EXPECT_FALSE(it.Valid());
  it.SeekToLast();
  EXPECT_FALSE(it.Valid());
  it.Seek("a");
  EXPECT_FALSE(it.Valid());
  it.SeekForPrev("a");
  EXPECT_FALSE(it.Valid());
}

TEST(WriteBufferTest, PutGetAndTombstone) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 5, "apple", "red");
  Put(buffer.get(), 6, "banana", "yellow");
  Delete(buffer.get(), 7, "apple");
  EXPECT_EQ(buffer->EntryCount(), 3u);
  EXPECT_GT(buffer->MemoryBytes(), 0u);

  WriteBuffer::Lookup apple = buffer->Get("apple", WriteBuffer::kReadLatest);
  EXPECT_EQ(apple.found, Found::kTombstone);
  EXPECT_EQ(apple.sequence, 7u);
  apple = buffer->Get("apple", 6);
  EXPECT_EQ(apple.found, Found::kValue);
  EXPECT_EQ(apple.value, "red");
  EXPECT_EQ(apple.sequence, 5u);
  EXPECT_EQ(buffer->Get("apple", 4).found, Found::kNotPresent);  // Before its first write.
  EXPECT_EQ(buffer->Get("banana", 5).found, Found::kNotPresent);
  EXPECT_EQ(buffer->Get("banana", 6).value, "yellow");
  EXPECT_EQ(buffer->Get("cherry", WriteBuffer::kReadLatest).found, Found::kNotPresent);
  EXPECT_EQ(buffer->Get("appl", WriteBuffer::kReadLatest).found, Found::kNotPresent);
  EXPECT_EQ(buffer->Get("apples", WriteBuffer::kReadLatest).found, Found::kNotPresent);
}

TEST(WriteBufferTest, SameKeyManySequencesReadsAtEveryOldSequence) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  for (uint64_t s = 10; s < 110; s += 2) {
    if (s % 10 == 0) {
      Delete(buffer.get(), s, "k");
    } else {
      Put(buffer.get(), s, "k", "v" + std::to_string(s));
    }
  }
  EXPECT_EQ(buffer->Get("k", 9).found, Found::kNotPresent);
  for (uint64_t read = 10; read < 120; ++read) {
    const uint64_t newest = std::min<uint64_t>(read - read % 2, 108);
    WriteBuffer::Lookup lookup = buffer->Get("k", read);
    EXPECT_EQ(lookup.sequence, newest) << read;
    if (newest % 10 == 0) {
      EXPECT_EQ(lookup.found, Found::kTombstone) << read;
    } else {
      EXPECT_EQ(lookup.found, Found::kValue) << read;
      EXPECT_EQ(lookup.value, "v" + std::to_string(newest));
    }
  }
  // Iteration: newest first.
  std::vector<Entry> entries = Forward(*buffer);
  ASSERT_EQ(entries.size(), 50u);
  for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(entries[i].sequence, 108 - 2 * i);
  // Seek to a key at a sequence lands on the newest entry at or below it.
  WriteBuffer::Iterator it(buffer.get());
  it.Seek("k", 51);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.sequence(), 50u);
  it.Seek("k", 9);
  EXPECT_FALSE(it.Valid());  // No entry of k that old, and no later key.
}

TEST(WriteBufferTest, LaterEntryOfOneKeyAndSequenceShadowsTheEarlier) {
  // A batch that writes one key twice: both entries carry the commit's sequence number.
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 3, "k", "first");
  Put(buffer.get(), 3, "k", "second");
  EXPECT_EQ(buffer->Get("k", 3).value, "second");
  Delete(buffer.get(), 3, "k");
  EXPECT_EQ(buffer->Get("k", 3).found, Found::kTombstone);
  std::vector<Entry> expected = {{"k", 3, EntryType::kTombstone, ""},
                                 {"k", 3, EntryType::kPut, "second"},
                                 {"k", 3, EntryType::kPut, "first"}};
  EXPECT_EQ(Forward(*buffer), expected);
  std::reverse(expected.begin(), expected.end());
  EXPECT_EQ(Backward(*buffer), expected);
}

TEST(WriteBufferTest, KeysOrderBytewise) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  // Keys that share their first 8 bytes (or are shorter, zero-padded) are ordered by the full
  // comparison, the rest by their 8-byte prefixes.
  const std::vector<std::string> keys = {"b",
                                         "",
                                         std::string("a\0", 2),
                                         "\xff",
                                         "a",
                                         "ab",
                                         "prefix0",
                                         std::string("\0", 1),
                                         "prefix01",
                                         "prefix01a",
                                         "prefix02",
                                         "prefix01\xff",
                                         std::string("prefix01\0", 9),
                                         std::string(20, '\xff'),
                                         std::string(8, '\0')};
  uint64_t s = 1;
  for (const std::string& key : keys) Put(buffer.get(), s++, key, "v");
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  std::vector<Entry> entries = Forward(*buffer);
  ASSERT_EQ(entries.size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) EXPECT_EQ(entries[i].key, sorted[i]);
  EXPECT_EQ(buffer->Get("", WriteBuffer::kReadLatest).found, Found::kValue);
  EXPECT_EQ(buffer->Get(std::string("a\0", 2), WriteBuffer::kReadLatest).found, Found::kValue);
}

TEST(WriteBufferTest, SeekAndSeekForPrevAtTheEdges) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 1, "b", "b1");
  Put(buffer.get(), 2, "d", "d2");
  Put(buffer.get(), 3, "d", "d3");
  Put(buffer.get(), 4, "f", "f4");
  WriteBuffer::Iterator it(buffer.get());
  it.Seek("a");
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(At(it), (Entry{"b", 1, EntryType::kPut, "b1"}));
  it.Seek("d");
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.sequence(), 3u);  // The newest entry of an exact match.
  it.Seek("c");
  EXPECT_EQ(it.key(), "d");
  it.Seek("g");
  EXPECT_FALSE(it.Valid());

  it.SeekForPrev("g");
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), "f");
  it.SeekForPrev("d");
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.sequence(), 2u);  // The oldest entry of an exact match.
  it.SeekForPrev("e");
  EXPECT_EQ(it.sequence(), 2u);
  it.SeekForPrev("c");
  EXPECT_EQ(it.key(), "b");
  it.SeekForPrev("a");
  EXPECT_FALSE(it.Valid());
  it.SeekForPrev("");
  EXPECT_FALSE(it.Valid());
}

// SeekBefore is one search for the last entry below a key. The Seek-then-Prev it replaces in the
// merged cursor (I53) is two, and a writer adding a newer entry of the key between them puts it
// just before the entry Seek found, so the Prev lands on the key again: a backward walk beside a
// writer returned a key twice (tests/concurrency_test).
TEST(WriteBufferTest, SeekBeforeIsNotMisledByANewerEntryOfTheKey) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 1, "b", "b1");
  Put(buffer.get(), 2, "prefix__d", "d2");
  Put(buffer.get(), 3, "prefix__d", "d3");
  Put(buffer.get(), 4, "prefix__f", "f4");
  WriteBuffer::Iterator seeked(buffer.get());
  seeked.Seek("prefix__d");
  EXPECT_EQ(seeked.sequence(), 3u);
  Put(buffer.get(), 5, "prefix__d", "d5");  // Between the two steps: newest first, so before.
  seeked.Prev();
  ASSERT_TRUE(seeked.Valid());
  EXPECT_EQ(At(seeked), (Entry{"prefix__d", 5, EntryType::kPut, "d5"}));  // The key again.

  WriteBuffer::Iterator it(buffer.get());
  it.SeekBefore("prefix__d");
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(At(it), (Entry{"b", 1, EntryType::kPut, "b1"}));
  it.SeekBefore("prefix__e");  // Between keys: the oldest entry of the one below.
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(At(it), (Entry{"prefix__d", 2, EntryType::kPut, "d2"}));
  it.SeekBefore("prefix__");  // A prefix of longer keys sorts before them.
  EXPECT_EQ(it.key(), "b");
  it.SeekBefore("b");
  EXPECT_FALSE(it.Valid());
  it.SeekBefore("z");
  EXPECT_EQ(it.key(), "prefix__f");
  ASSERT_TRUE(buffer->MarkAborted(5, 5).ok());  // I30: SeekBefore skips aborted entries too.
  Put(buffer.get(), 5, "c", "c5");
  ASSERT_TRUE(buffer->MarkAborted(5, 5).ok());
  it.SeekBefore("prefix__");
  EXPECT_EQ(it.key(), "b");
}

TEST(WriteBufferTest, IteratorChangesDirection) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  for (int i = 0; i < 100; ++i) {
    Put(buffer.get(), static_cast<uint64_t>(i + 1), "k" + std::to_string(1000 + i), "v");
  }
  WriteBuffer::Iterator it(buffer.get());
  it.Seek("k1050");
  ASSERT_TRUE(it.Valid());
  it.Next();
  EXPECT_EQ(it.key(), "k1051");
  it.Prev();
  EXPECT_EQ(it.key(), "k1050");
  it.Prev();
  EXPECT_EQ(it.key(), "k1049");
  it.Next();
  it.Next();
  EXPECT_EQ(it.key(), "k1051");
  // Off the front, then start again.
  it.SeekToFirst();
  it.Prev();
  EXPECT_FALSE(it.Valid());
  it.SeekToLast();
  EXPECT_EQ(it.key(), "k1099");
  it.Next();
  EXPECT_FALSE(it.Valid());
  it.SeekForPrev("k1099");
  it.Prev();
  EXPECT_EQ(it.key(), "k1098");
}

TEST(WriteBufferTest, AbortedRangeIsSkippedAndItsSequenceNumbersReused) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 1, "a", "a1");
  Put(buffer.get(), 2, "b", "b2");
  Put(buffer.get(), 3, "a", "a3");
  Delete(buffer.get(), 4, "b");
  Put(buffer.get(), 4, "c", "c4");
  ASSERT_TRUE(buffer->MarkAborted(3, 4).ok());
  EXPECT_EQ(buffer->AbortedCount(), 3u);
  EXPECT_EQ(buffer->EntryCount(), 5u);  // Aborted entries keep their memory.
  EXPECT_EQ(buffer->sequence_max(), 2u);
  EXPECT_EQ(buffer->Get("a", WriteBuffer::kReadLatest).value, "a1");
  EXPECT_EQ(buffer->Get("b", WriteBuffer::kReadLatest).value, "b2");
  EXPECT_EQ(buffer->Get("c", WriteBuffer::kReadLatest).found, Found::kNotPresent);
  std::vector<Entry> expected = {{"a", 1, EntryType::kPut, "a1"}, {"b", 2, EntryType::kPut, "b2"}};
  EXPECT_EQ(Forward(*buffer), expected);
  EXPECT_EQ(Backward(*buffer), (std::vector<Entry>{expected[1], expected[0]}));
  WriteBuffer::Iterator it(buffer.get());
  it.Seek("c");
  EXPECT_FALSE(it.Valid());
  it.SeekForPrev("c");
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), "b");
  EXPECT_EQ(it.sequence(), 2u);

  // The next commits reuse 3 and 4; the aborted entries stay hidden beside the new ones.
  Put(buffer.get(), 3, "a", "a3 again");
  Put(buffer.get(), 4, "c", "c4 again");
  EXPECT_EQ(buffer->Get("a", WriteBuffer::kReadLatest).value, "a3 again");
  EXPECT_EQ(buffer->Get("c", 4).value, "c4 again");
  EXPECT_EQ(buffer->Get("b", 4).value, "b2");
  expected = {{"a", 3, EntryType::kPut, "a3 again"},
              {"a", 1, EntryType::kPut, "a1"},
              {"b", 2, EntryType::kPut, "b2"},
              {"c", 4, EntryType::kPut, "c4 again"}};
  EXPECT_EQ(Forward(*buffer), expected);
  std::reverse(expected.begin(), expected.end());
  EXPECT_EQ(Backward(*buffer), expected);
}

TEST(WriteBufferTest, AbortRefusesRangesThatAreNotTheNewest) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 5, "a", "v");
  Put(buffer.get(), 8, "b", "v");
  Status inverted = buffer->MarkAborted(7, 6);
  EXPECT_TRUE(inverted.IsInvalidArgument());
  EXPECT_NE(inverted.message().find("first > last"), std::string::npos);
  Status middle = buffer->MarkAborted(5, 6);  // Entries at 8 come after it.
  EXPECT_TRUE(middle.IsInvalidArgument());
  EXPECT_NE(middle.message().find("newest"), std::string::npos) << middle.ToString();
  EXPECT_EQ(buffer->AbortedCount(), 0u);
  // A range past the newest entry (commits that never reached this buffer) is fine.
  ASSERT_TRUE(buffer->MarkAborted(8, 20).ok());
  EXPECT_EQ(buffer->AbortedCount(), 1u);
  ASSERT_TRUE(buffer->MarkAborted(0, 20).ok());  // Everything, down to sequence 0.
  EXPECT_EQ(buffer->AbortedCount(), 2u);
  EXPECT_EQ(buffer->sequence_max(), 0u);
  EXPECT_TRUE(Forward(*buffer).empty());
  EXPECT_TRUE(Backward(*buffer).empty());
  Put(buffer.get(), 0, "z", "v");
  EXPECT_EQ(Forward(*buffer).size(), 1u);
}

TEST(WriteBufferTest, BadInputGetsInvalidArgumentAndChangesNothing) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  Put(buffer.get(), 10, "a", "v");
  const size_t bytes = buffer->MemoryBytes();
  Status tombstone = buffer->Add(11, EntryType::kTombstone, "a", "value");
  EXPECT_TRUE(tombstone.IsInvalidArgument());
  EXPECT_NE(tombstone.message().find("tombstone"), std::string::npos);
  Status type = buffer->Add(11, static_cast<EntryType>(9), "a", "");
  EXPECT_TRUE(type.IsInvalidArgument());
  EXPECT_NE(type.message().find("type 9"), std::string::npos) << type.ToString();
  Status older = buffer->Add(9, EntryType::kPut, "a", "");
  EXPECT_TRUE(older.IsInvalidArgument());
  EXPECT_NE(older.message().find("sequence number 9 is below 10"), std::string::npos)
      << older.ToString();
  EXPECT_EQ(buffer->EntryCount(), 1u);
  EXPECT_EQ(buffer->MemoryBytes(), bytes);
}

TEST(WriteBufferTest, EntriesMaxGivesNoSpace) {
  WriteBufferOptions options;
  options.entries_max = 3;
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  for (uint64_t s = 1; s <= 3; ++s) Put(buffer.get(), s, "k" + std::to_string(s), "v");
  Status full = buffer->Add(4, EntryType::kPut, "k4", "v");
  EXPECT_TRUE(full.IsNoSpace());
  EXPECT_NE(full.message().find("3 entries of 3"), std::string::npos) << full.ToString();
  EXPECT_EQ(buffer->EntryCount(), 3u);
  EXPECT_EQ(buffer->Get("k4", WriteBuffer::kReadLatest).found, Found::kNotPresent);
}

TEST(WriteBufferTest, BytesMaxGivesNoSpaceAndIsNeverPassed) {
  WriteBufferOptions options;
  options.arena_block_bytes = 4096;
  options.bytes_max = 3 * 4096;
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  const std::string value(100, 'v');
  uint64_t s = 1;
  Status status;
  for (; (status = buffer->Add(s, EntryType::kPut, "key" + std::to_string(s), value)).ok(); ++s) {
    ASSERT_LE(buffer->MemoryBytes(), options.bytes_max);
  }
  EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
  EXPECT_NE(status.message().find("new buffer"), std::string::npos);
  EXPECT_EQ(buffer->MemoryBytes(), options.bytes_max);  // Exactly three blocks.
  const uint64_t count = buffer->EntryCount();
  EXPECT_EQ(count, s - 1);  // Entry s was refused.
  EXPECT_GT(count, 50u);    // 3 x 4 KiB of ~150-byte entries.
  // Every entry that went in is readable.
  for (uint64_t i = 1; i < s; ++i) {
    EXPECT_EQ(buffer->Get("key" + std::to_string(i), WriteBuffer::kReadLatest).value, value);
  }
}

TEST(WriteBufferTest, EntryLargerThanTheBufferIsInvalidArgument) {
  WriteBufferOptions options;
  options.arena_block_bytes = 4096;
  options.bytes_max = 8192;
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  const std::string huge(9000, 'h');
  Status status = buffer->Add(1, EntryType::kPut, "k", huge);
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_NE(status.message().find("never fit"), std::string::npos);
  EXPECT_EQ(buffer->MemoryBytes(), 0u);
  // The largest value that the cost bound admits fits, in an empty buffer, at any tower height.
  std::string value;
  while (buffer->EntryCostInEmptyBuffer("k", value + 'x') <= options.bytes_max) value += 'x';
  // A dedicated block beside the block holding the key filter.
  ASSERT_GT(value.size(), 3900u);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    options.seed = seed;
    std::unique_ptr<WriteBuffer> fresh = NewBuffer(options);
    Status fits = fresh->Add(1, EntryType::kPut, "k", value);
    ASSERT_TRUE(fits.ok()) << fits.ToString();
    EXPECT_LE(fresh->MemoryBytes(), options.bytes_max);
    EXPECT_EQ(fresh->Get("k", 1).value, value);
  }
  EXPECT_TRUE(buffer->Add(1, EntryType::kPut, "k", value + 'x').IsInvalidArgument());
}

TEST(WriteBufferTest, LargeValueGetsItsOwnArenaBlock) {
  WriteBufferOptions options;
  options.arena_block_bytes = 4096;
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  Put(buffer.get(), 1, "small", "v");
  EXPECT_EQ(buffer->MemoryBytes(), 4096u);
  const std::string large(5000, 'L');
  Put(buffer.get(), 2, "large", large);
  // One dedicated block: the entry's header, tower, key and value plus the block header.
  EXPECT_GT(buffer->MemoryBytes(), 4096u + 5000u);
  EXPECT_LE(buffer->MemoryBytes(),
            4096u + Arena::kBlockHeaderBytes + 32 + WriteBuffer::kHeightMax * 8 + 5 + 5000);
  EXPECT_EQ(buffer->Get("large", 2).value, large);
}

TEST(WriteBufferTest, SameSeedSameShape) {
  // Memory depends on the towers drawn (small blocks make it sensitive): one seed, one figure.
  auto fill = [](uint64_t seed) {
    WriteBufferOptions options;
    options.arena_block_bytes = 1024;
    options.seed = seed;
    std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
    for (uint64_t s = 1; s <= 20000; ++s) {
      EXPECT_TRUE(buffer->Add(s, EntryType::kPut, std::to_string(s * 7919 % 20011), "v").ok());
    }
    return buffer->MemoryBytes();
  };
  EXPECT_EQ(fill(1), fill(1));
  std::vector<size_t> figures;
  for (uint64_t seed = 0; seed < 8; ++seed) figures.push_back(fill(seed));
  std::sort(figures.begin(), figures.end());
  EXPECT_NE(figures.front(), figures.back()) << "heights do not depend on the seed";
}

// The write path adds each commit's keys in key order, starting from where the last insert
// linked (the splice): batches in order, shuffled across batches, with a key repeated inside a
// batch (the later op newest) and keys before the splice (the search from the head) must give
// the same order, reads and backward walk as one-at-a-time inserts in any order.
TEST(WriteBufferTest, SortedBatchesFromTheSpliceKeepTheOrder) {
  std::unique_ptr<WriteBuffer> buffer = NewBuffer();
  std::map<std::tuple<std::string, uint64_t, uint64_t>, Entry> model;  // (key, ~seq, ~ordinal)
  uint64_t ordinal = 0;
  for (uint64_t sequence = 1; sequence <= 60; ++sequence) {
    std::vector<std::string> keys;
    for (uint64_t i = 0; i < 200; ++i)
      keys.push_back(std::to_string((i * 7919 + sequence * 31) % 3001));
    keys.push_back(keys[5]);  // Repeated: added after its twin, so it shadows it.
    std::stable_sort(keys.begin(), keys.end());
    if (sequence % 7 == 0) std::reverse(keys.begin(), keys.end());  // Before the splice.
    for (const std::string& key : keys) {
      const std::string value =
          key + "@" + std::to_string(sequence) + "#" + std::to_string(ordinal);
      ASSERT_TRUE(buffer->Add(sequence, EntryType::kPut, key, value).ok());
      model.emplace(std::make_tuple(key, ~sequence, ~ordinal++),
                    Entry{key, sequence, EntryType::kPut, value});
    }
  }
  std::vector<Entry> expected;
  for (const auto& [k, e] : model) expected.push_back(e);
  EXPECT_EQ(Forward(*buffer), expected);
  std::vector<Entry> reversed(expected.rbegin(), expected.rend());
  EXPECT_EQ(Backward(*buffer), reversed);
  for (const Entry& e : expected) {
    const WriteBuffer::Lookup lookup = buffer->Get(e.key, WriteBuffer::kReadLatest);
    const Entry& newest = model.lower_bound(std::make_tuple(e.key, 0, 0))->second;
    EXPECT_EQ(lookup.value, newest.value) << e.key;
  }
}

// ---- Property test: random operations against a model ----------------------------------

// The model: every entry with its insert ordinal and aborted flag, ordered as the buffer orders.
struct ModelEntry {
  Entry entry;
  uint64_t ordinal;
  bool aborted;
};

// The live entries, in the buffer's order. A std::map keyed by (key, ~sequence, ~ordinal).
std::vector<Entry> ModelLive(const std::vector<ModelEntry>& model) {
  std::map<std::tuple<std::string, uint64_t, uint64_t>, Entry> ordered;
  for (const ModelEntry& m : model) {
    if (m.aborted) continue;
    ordered.emplace(std::make_tuple(m.entry.key, ~m.entry.sequence, ~m.ordinal), m.entry);
  }
  std::vector<Entry> live;
  for (auto& [k, e] : ordered) live.push_back(e);
  return live;
}

const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = {"",          "a",
                                                "aa",        "ab",
                                                "b",         std::string("b\0", 2),
                                                "ba",        "c",
                                                "\x80",      "\xff",
                                                "longkey1",  "longkey1a",
                                                "longkey1b", std::string("longkey1\0", 9),
                                                "longkey2",  "longkey"};
  return keys;
}

struct Op {
  int kind;  // 0..5 add, 6 abort, 7 add below the floor (refused).
  int key;   // Index into Keys().
  int step;  // Sequence advance for an add (0..2), or how far back an abort starts.
  bool tombstone;
  int value_bytes;
};

RC_GTEST_PROP(WriteBufferProperty, MatchesAMapModel, ()) {
  WriteBufferOptions options;
  options.arena_block_bytes = 1024;
  options.seed = *rc::gen::arbitrary<uint64_t>();
  // Sometimes small enough to fill up mid-run.
  options.bytes_max = *rc::gen::element<size_t>(size_t{1} << 30, 6 * 1024, 3 * 1024);
  options.entries_max = *rc::gen::element<uint64_t>(1 << 20, 40);
  std::unique_ptr<WriteBuffer> buffer = WriteBuffer::Create(options).value();
  const std::vector<Op> ops = *rc::gen::container<std::vector<Op>>(rc::gen::construct<Op>(
      rc::gen::inRange(0, 8), rc::gen::inRange(0, static_cast<int>(Keys().size())),
      rc::gen::inRange(0, 3), rc::gen::arbitrary<bool>(), rc::gen::inRange(0, 300)));

  std::vector<ModelEntry> model;
  uint64_t floor = 0;  // The lowest sequence number an add may use.
  uint64_t ordinal = 0;
  for (const Op& op : ops) {
    const std::string& key = Keys()[op.key];
    if (op.kind == 6) {
      const uint64_t last = floor + static_cast<uint64_t>(op.step);
      const uint64_t first = floor > 3 ? floor - static_cast<uint64_t>(op.step) : 0;
      RC_ASSERT(buffer->MarkAborted(first, last).ok());
      for (ModelEntry& m : model) {
        if (m.entry.sequence >= first && m.entry.sequence <= last) m.aborted = true;
      }
      floor = first == 0 ? 0 : first - 1;
    } else if (op.kind == 7) {
      if (floor == 0) continue;
      RC_ASSERT(buffer->Add(floor - 1, EntryType::kPut, key, "x").IsInvalidArgument());
    } else {
      const uint64_t sequence = floor + static_cast<uint64_t>(op.step);
      const EntryType type = op.tombstone ? EntryType::kTombstone : EntryType::kPut;
      const std::string value =
          op.tombstone ? "" : std::string(static_cast<size_t>(op.value_bytes), 'a' + op.key);
      const size_t bytes_before = buffer->MemoryBytes();
      const uint64_t count_before = buffer->EntryCount();
      Status status = buffer->Add(sequence, type, key, value);
      if (status.ok()) {
        model.push_back({{key, sequence, type, value}, ordinal++, false});
        floor = sequence;
      } else {
        RC_ASSERT(status.IsNoSpace());
        RC_ASSERT(buffer->MemoryBytes() == bytes_before);
        RC_ASSERT(buffer->EntryCount() == count_before);
        RC_ASSERT(count_before == options.entries_max ||
                  bytes_before + 1024 > options.bytes_max);  // Full, to within a block.
      }
    }
    RC_ASSERT(buffer->MemoryBytes() <= options.bytes_max);
    RC_ASSERT(buffer->EntryCount() == model.size());
  }

  // Full scans both ways.
  const std::vector<Entry> live = ModelLive(model);
  RC_ASSERT(Forward(*buffer) == live);
  std::vector<Entry> reversed(live.rbegin(), live.rend());
  RC_ASSERT(Backward(*buffer) == reversed);

  // Get of every key at every sequence number up to past the newest.
  for (const std::string& key : Keys()) {
    for (uint64_t read = 0; read <= floor + 3; ++read) {
      const Entry* newest = nullptr;
      for (const Entry& e : live) {
        if (e.key == key && e.sequence <= read) {
          newest = &e;  // The first in order is the one a reader sees.
          break;
        }
      }
      WriteBuffer::Lookup lookup = buffer->Get(key, read);
      if (newest == nullptr) {
        RC_ASSERT(lookup.found == Found::kNotPresent);
      } else {
        RC_ASSERT(lookup.sequence == newest->sequence);
        RC_ASSERT(lookup.found ==
                  (newest->type == EntryType::kPut ? Found::kValue : Found::kTombstone));
        RC_ASSERT(lookup.value == newest->value);
      }
    }
  }

  // Seeks, then a random walk that changes direction, against positions in `live`.
  const std::vector<int> walk =
      *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 2));  // 0 Next, 1 Prev.
  for (const std::string& key : Keys()) {
    for (int seek = 0; seek < 3; ++seek) {
      WriteBuffer::Iterator it(buffer.get());
      // Position in `live`, or -1 for not valid.
      int64_t at = -1;
      if (seek == 0) {
        it.Seek(key);
        auto found =
            std::find_if(live.begin(), live.end(), [&](const Entry& e) { return e.key >= key; });
        at = found == live.end() ? -1 : found - live.begin();
      } else if (seek == 1) {
        it.SeekForPrev(key);
        at = -1;
        for (size_t i = 0; i < live.size(); ++i) {
          if (live[i].key <= key) at = static_cast<int64_t>(i);
        }
      } else {
        const uint64_t sequence = floor / 2;
        it.Seek(key, sequence);
        auto found = std::find_if(live.begin(), live.end(), [&](const Entry& e) {
          return e.key > key || (e.key == key && e.sequence <= sequence);
        });
        at = found == live.end() ? -1 : found - live.begin();
      }
      for (int step : walk) {
        RC_ASSERT(it.Valid() == (at >= 0));
        if (at < 0) break;
        RC_ASSERT(At(it) == live[static_cast<size_t>(at)]);
        if (step == 0) {
          it.Next();
          at = at + 1 < static_cast<int64_t>(live.size()) ? at + 1 : -1;
        } else {
          it.Prev();
          at = at - 1;
        }
      }
    }
  }
}

// ---- One writer, concurrent readers (real threads; run under --config=tsan too) -----------

std::string ConcurrentKey(uint64_t i) { return "key" + std::to_string(i * 2654435761u % 997); }
// A value derived from key and sequence, so a torn or misattributed read shows.
std::string ConcurrentValue(const std::string& key, uint64_t sequence) {
  return key + "/" + std::to_string(sequence) + std::string(sequence % 50, '.');
}

TEST(WriteBufferConcurrencyTest, OneWriterManyReaders) {
  constexpr uint64_t kEntries = 20000;
  constexpr int kReaders = 3;
  WriteBufferOptions options;
  options.arena_block_bytes = 64 << 10;
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(options);
  // The sequence number of the newest entry the writer has finished adding (0: none yet).
  port::Atomic<uint64_t> published{0};
  port::Atomic<int> failures{0};
  port::Atomic<uint64_t> reader_rounds{0};
  // Set when the writer stops, however it stops: a failed ASSERT returns from the test before
  // `published` reaches kEntries, and the readers (joined by their destructors) must not wait
  // for it then.
  port::Atomic<bool> stop{false};

  std::vector<std::unique_ptr<port::Thread>> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.push_back(std::make_unique<port::Thread>("reader", [&, r] {
      uint64_t rounds = 0;
      while (true) {
        const uint64_t seen = published.load(std::memory_order_acquire);
        if (seen > 0) {
          // The entry published last is found, whole, at the latest sequence number.
          const std::string key = ConcurrentKey(seen);
          WriteBuffer::Lookup lookup = buffer->Get(key, WriteBuffer::kReadLatest);
          if (lookup.found != Found::kValue || lookup.sequence < seen ||
              lookup.value != ConcurrentValue(key, lookup.sequence)) {
            failures.fetch_add(1);
          }
          // At its own sequence number it is exactly that entry.
          lookup = buffer->Get(key, seen);
          if (lookup.sequence != seen || lookup.value != ConcurrentValue(key, seen)) {
            failures.fetch_add(1);
          }
        }
        // A scan (forward for even readers, backward for odd) is ordered, holds only whole
        // entries, and at least every entry published before it began.
        WriteBuffer::Iterator it(buffer.get());
        uint64_t count = 0;
        std::string previous_key;
        uint64_t previous_sequence = 0;
        bool first = true;
        for (r % 2 == 0 ? it.SeekToFirst() : it.SeekToLast(); it.Valid();
             r % 2 == 0 ? it.Next() : it.Prev()) {
          const std::string key(it.key());
          if (it.value() != ConcurrentValue(key, it.sequence())) failures.fetch_add(1);
          if (!first) {
            const bool ordered = r % 2 == 0
                                     ? (previous_key < key ||
                                        (previous_key == key && previous_sequence > it.sequence()))
                                     : (previous_key > key ||
                                        (previous_key == key && previous_sequence < it.sequence()));
            if (!ordered) failures.fetch_add(1);
          }
          previous_key = key;
          previous_sequence = it.sequence();
          first = false;
          ++count;
        }
        if (count < seen) failures.fetch_add(1);
        ++rounds;
        if (seen == kEntries) break;
        // The writer gave up: kEntries will never be published.
        if (stop.load() && published.load() < kEntries) break;
      }
      reader_rounds.fetch_add(rounds);
    }));
  }
  {
    // Runs on leaving this block (the loop done, or a failed ASSERT returning), before the
    // destructors of `readers` join.
    struct StopOnExit {
      port::Atomic<bool>* stop;
      ~StopOnExit() { stop->store(true); }
    } stop_on_exit{&stop};
    for (uint64_t s = 1; s <= kEntries; ++s) {
      const std::string key = ConcurrentKey(s);
      ASSERT_TRUE(buffer->Add(s, EntryType::kPut, key, ConcurrentValue(key, s)).ok());
      published.store(s, std::memory_order_release);
    }
  }
  for (auto& reader : readers) reader->Join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(reader_rounds.load(), static_cast<uint64_t>(kReaders));
  EXPECT_EQ(Forward(*buffer).size(), kEntries);
}

}  // namespace
}  // namespace manifold
