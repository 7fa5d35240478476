// MergedCursor (merged_view.h): write buffers merged over a tree at a reader's sequence number,
// both directions. The tree lives in memory (a flushed WriteTree over MemPages); the expected view
// comes from point lookups (LookupBuffers, then the tree), which write_buffer_test checks on their
// own.
#include "engine/db/merged_view.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/btree/node_page.h"
#include "engine/btree/page.h"
#include "engine/port/atomic.h"
#include "engine/port/sync.h"

namespace manifold {
namespace {

// The tree's pages, kept in memory as sealed page images: the cursor reads the same encoded
// pages it reads from the data file. Large values live in a map by their first overflow page.
class MemPages : public btree::NodeSource, public btree::PageSink {
 public:
  MemPages() { layout_.page_bytes = 1024; }  // Small nodes: a few dozen keys span many leaves.
  StatusOr<SharedBytes> LoadPage(const btree::PageRef& ref) override {
    auto it = pages_.find(ref.page_id);
    if (it == pages_.end()) return Status::Corruption("merged_view_test: no such page");
    return SharedBytes(std::string_view(it->second));
  }
  StatusOr<std::string> LoadLargeValue(const btree::LeafValue& value) override {
    auto it = large_.find(value.overflow.page_id);
    if (it == large_.end()) return Status::Corruption("merged_view_test: no such large value");
    return it->second;
  }
  const btree::Layout& layout() const override { return layout_; }
  StatusOr<uint64_t> AllocatePages(uint64_t count) override {
    const uint64_t first = next_page_;
    next_page_ += count;
    return first;
  }
  StatusOr<uint32_t> WriteNode(uint64_t page_id, btree::NodePtr node) override {
    std::string page(layout_.page_bytes, '\0');
    btree::EncodeNodePage(*node, layout_, page.data());
    const uint16_t count = node->leaf ? node->keys.size() : node->children.size();
    const uint32_t crc = btree::SealPage(
        page.data(), layout_.page_bytes,
        node->leaf ? btree::PageType::kLeaf : btree::PageType::kInternal, count, page_id, 1);
    pages_[page_id] = std::move(page);
    return crc;
  }
  Status WriteLargeValue(uint64_t first_page, std::string_view value) override {
    large_[first_page] = std::string(value);
    return Status::OK();
  }

 private:
  btree::Layout layout_;
  std::map<uint64_t, std::string> pages_;
  std::map<uint64_t, std::string> large_;
  uint64_t next_page_ = 1;
};

using Model = std::map<std::string, std::string>;

class MergedCursorTest : public ::testing::Test {
 protected:
  // A new buffer on top of the stack (newest): its sequence numbers must exceed the older ones'
  // (I32).
  WriteBuffer* PushBuffer() {
    auto created = WriteBuffer::Create(WriteBufferOptions{});
    EXPECT_TRUE(created.ok());
    std::shared_ptr<WriteBuffer> buffer = std::move(created).value();
    owned_.insert(owned_.begin(), buffer);
    return buffer.get();
  }
  void TreePut(const std::string& key, const std::string& value) {
    ASSERT_TRUE(tree_.Put(key, value).ok());
    tree_model_[key] = value;
  }
  BufferStackPtr Stack() const {
    auto stack = std::make_shared<BufferStack>();
    for (const auto& buffer : owned_) stack->buffers.push_back(buffer);
    return stack;
  }
  std::unique_ptr<MergedCursor> Cursor(uint64_t sequence) {
    StatusOr<btree::PageRef> flushed = tree_.Flush(&pages_);
    EXPECT_TRUE(flushed.ok()) << flushed.status().ToString();
    if (flushed.ok()) root_ = btree::TreeRoot::OnDisk(*flushed);
    return std::make_unique<MergedCursor>(&pages_, root_, Stack(), sequence);
  }
  // What a reader at `sequence` sees: each key's newest buffered entry, else the tree.
  Model Expected(uint64_t sequence) const {
    Model model = tree_model_;
    const BufferStackPtr stack = Stack();
    for (const auto& buffer : owned_) {
      WriteBuffer::Iterator it(buffer.get());
      for (it.SeekToFirst(); it.Valid(); it.Next()) {
        const std::string key(it.key());
        const WriteBuffer::Lookup found = LookupBuffers(stack.get(), key, sequence);
        if (found.found == WriteBuffer::Found::kValue) model[key] = std::string(found.value);
        if (found.found == WriteBuffer::Found::kTombstone) model.erase(key);
      }
    }
    return model;
  }
  // Every key of the cursor, walked forward from the first and backward from the last.
  static void ExpectWalks(MergedCursor* cursor, const Model& model) {
    std::vector<std::pair<std::string, std::string>> forward, backward;
    ASSERT_TRUE(cursor->SeekToFirst().ok());
    while (cursor->Valid()) {
      forward.emplace_back(cursor->key(), cursor->value());
      ASSERT_TRUE(cursor->Next().ok());
    }
    ASSERT_TRUE(cursor->SeekToLast().ok());
    while (cursor->Valid()) {
      backward.emplace_back(cursor->key(), cursor->value());
      ASSERT_TRUE(cursor->Prev().ok());
    }
    const std::vector<std::pair<std::string, std::string>> want(model.begin(), model.end());
    EXPECT_EQ(forward, want);
    EXPECT_EQ(std::vector(backward.rbegin(), backward.rend()), want);
  }

  // A random walk of `steps` steps that turns often, checked against `model` at every step:
  // each step first runs `before_step`, then draws op = pick(6): a seek (Seek or SeekForPrev to
  // `key()`) when op < seek_below or the cursor is off the end, Next when op < next_below, else
  // Prev.
  static void RandomWalk(MergedCursor* cursor, const Model& model, int steps, uint32_t seek_below,
                         uint32_t next_below, const std::function<uint32_t(uint32_t)>& pick,
                         const std::function<std::string()>& key,
                         const std::function<void()>& before_step) {
    auto at = model.end();  // The model's position (end() when the cursor is not valid).
    for (int step = 0; step < steps; ++step) {
      before_step();
      const uint32_t op = pick(6);
      if (at == model.end() || op < seek_below) {
        const std::string target = key();
        if (pick(2) == 0) {
          ASSERT_TRUE(cursor->Seek(target).ok());
          at = model.lower_bound(target);
        } else {
          ASSERT_TRUE(cursor->SeekForPrev(target).ok());
          at = model.upper_bound(target);
          at = at == model.begin() ? model.end() : std::prev(at);
        }
      } else if (op < next_below) {
        ASSERT_TRUE(cursor->Next().ok());
        ++at;
      } else {
        ASSERT_TRUE(cursor->Prev().ok());
        at = at == model.begin() ? model.end() : std::prev(at);
      }
      ASSERT_EQ(cursor->Valid(), at != model.end()) << "step " << step;
      if (at == model.end()) continue;
      ASSERT_EQ(cursor->key(), at->first) << "step " << step;
      ASSERT_EQ(cursor->value(), at->second) << "step " << step;
    }
  }

  MemPages pages_;
  btree::WriteTree tree_{&pages_, btree::PageRef{}};
  btree::TreeRoot root_;
  Model tree_model_;
  std::vector<std::shared_ptr<WriteBuffer>> owned_;  // Newest first.
};

TEST_F(MergedCursorTest, TombstonesHideTreeKeysAndOlderBuffers) {
  for (const char* key : {"a", "b", "c", "d"}) TreePut(key, std::string("tree-") + key);
  WriteBuffer* older = PushBuffer();
  ASSERT_TRUE(older->Add(1, EntryType::kTombstone, "b", "").ok());
  ASSERT_TRUE(older->Add(2, EntryType::kPut, "e", "older-e").ok());
  WriteBuffer* newer = PushBuffer();
  ASSERT_TRUE(newer->Add(3, EntryType::kPut, "b", "newer-b").ok());  // Back again.
  ASSERT_TRUE(newer->Add(4, EntryType::kTombstone, "c", "").ok());
  ASSERT_TRUE(newer->Add(5, EntryType::kTombstone, "e", "").ok());
  std::unique_ptr<MergedCursor> cursor = Cursor(5);
  ExpectWalks(cursor.get(), {{"a", "tree-a"}, {"b", "newer-b"}, {"d", "tree-d"}});
  ASSERT_TRUE(cursor->Seek("c").ok());  // Lands past the deleted key.
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), "d");
  ASSERT_TRUE(cursor->SeekForPrev("c").ok());
  ASSERT_TRUE(cursor->Valid());
  EXPECT_EQ(cursor->key(), "b");
  EXPECT_EQ(cursor->value(), "newer-b");
  ASSERT_TRUE(cursor->Seek("e").ok());
  EXPECT_FALSE(cursor->Valid());
}

TEST_F(MergedCursorTest, ReaderSeesOnlyEntriesAtOrBelowItsSequence) {
  TreePut("a", "tree-a");
  TreePut("c", "tree-c");
  WriteBuffer* older = PushBuffer();
  ASSERT_TRUE(older->Add(10, EntryType::kPut, "a", "a10").ok());
  ASSERT_TRUE(older->Add(11, EntryType::kPut, "b", "b11").ok());
  WriteBuffer* newer = PushBuffer();
  for (uint64_t s = 20; s < 40; ++s) {  // Many versions: more than a walk steps over.
    ASSERT_TRUE(newer->Add(s, EntryType::kPut, "a", "a" + std::to_string(s)).ok());
  }
  ASSERT_TRUE(newer->Add(40, EntryType::kTombstone, "c", "").ok());
  ASSERT_TRUE(newer->Add(41, EntryType::kPut, "d", "d41").ok());
  ExpectWalks(Cursor(0).get(), {{"a", "tree-a"}, {"c", "tree-c"}});
  ExpectWalks(Cursor(10).get(), {{"a", "a10"}, {"c", "tree-c"}});
  ExpectWalks(Cursor(25).get(), {{"a", "a25"}, {"b", "b11"}, {"c", "tree-c"}});
  ExpectWalks(Cursor(40).get(), {{"a", "a39"}, {"b", "b11"}});
  ExpectWalks(Cursor(WriteBuffer::kReadLatest).get(), {{"a", "a39"}, {"b", "b11"}, {"d", "d41"}});
}

TEST_F(MergedCursorTest, AbortedEntriesAreSkipped) {
  TreePut("a", "tree-a");
  TreePut("b", "tree-b");
  WriteBuffer* buffer = PushBuffer();
  ASSERT_TRUE(buffer->Add(1, EntryType::kPut, "a", "a1").ok());
  ASSERT_TRUE(buffer->Add(2, EntryType::kTombstone, "b", "").ok());
  ASSERT_TRUE(buffer->Add(2, EntryType::kPut, "c", "c2").ok());
  ASSERT_TRUE(buffer->MarkAborted(2, 2).ok());  // I26, I30: the tombstone and c never happened.
  ASSERT_TRUE(buffer->Add(2, EntryType::kPut, "d", "d2").ok());  // The number is reused.
  ExpectWalks(Cursor(2).get(), {{"a", "a1"}, {"b", "tree-b"}, {"d", "d2"}});
}

TEST_F(MergedCursorTest, DirectionChangesAcrossBuffersAndTree) {
  // Keys interleave across the sources, so at every key the others sit on either side of it.
  for (const char* key : {"a", "d", "g", "j"}) TreePut(key, std::string("t") + key);
  WriteBuffer* older = PushBuffer();
  for (const char* key : {"b", "e", "h"})
    ASSERT_TRUE(older->Add(1, EntryType::kPut, key, "o").ok());
  WriteBuffer* newer = PushBuffer();
  for (const char* key : {"c", "f", "g", "i"}) {
    ASSERT_TRUE(newer->Add(2, EntryType::kPut, key, "n").ok());
  }
  ASSERT_TRUE(newer->Add(2, EntryType::kTombstone, "e", "").ok());
  std::unique_ptr<MergedCursor> cursor = Cursor(2);
  const std::vector<std::string> keys = {"a", "b", "c", "d", "f", "g", "h", "i", "j"};
  // Back and forth at every position: next, prev, next again must agree with the key order.
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    ASSERT_TRUE(cursor->Seek(keys[i]).ok());
    ASSERT_TRUE(cursor->Next().ok());
    ASSERT_TRUE(cursor->Valid());
    EXPECT_EQ(cursor->key(), keys[i + 1]);
    ASSERT_TRUE(cursor->Prev().ok());
    ASSERT_TRUE(cursor->Valid());
    EXPECT_EQ(cursor->key(), keys[i]);
    ASSERT_TRUE(cursor->Next().ok());
    ASSERT_TRUE(cursor->Valid());
    EXPECT_EQ(cursor->key(), keys[i + 1]);
  }
  ASSERT_TRUE(cursor->SeekForPrev("e").ok());  // Deleted: lands on d, the tree's.
  EXPECT_EQ(cursor->key(), "d");
  ASSERT_TRUE(cursor->Next().ok());  // Turning forward over the tombstone.
  EXPECT_EQ(cursor->key(), "f");
  ASSERT_TRUE(cursor->Prev().ok());
  EXPECT_EQ(cursor->key(), "d");
  EXPECT_EQ(cursor->value(), "td");
  ASSERT_TRUE(cursor->Seek("g").ok());
  EXPECT_EQ(cursor->value(), "n");  // The buffer's g shadows the tree's.
  ASSERT_TRUE(cursor->SeekToLast().ok());
  ASSERT_TRUE(cursor->Prev().ok());
  EXPECT_EQ(cursor->key(), "i");
  ASSERT_TRUE(cursor->Next().ok());
  EXPECT_EQ(cursor->key(), "j");
  ASSERT_TRUE(cursor->Next().ok());
  EXPECT_FALSE(cursor->Valid());
}

// Random buffers (with aborted ranges and reused sequence numbers) over a random tree, read at
// random sequence numbers by random walks that change direction often.
TEST_F(MergedCursorTest, RandomWalksMatchPointLookups) {
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    auto key = [&] {
      char buffer[8];
      snprintf(buffer, sizeof(buffer), "k%02u", pick(40));
      return std::string(buffer);
    };
    owned_.clear();
    tree_ = btree::WriteTree(&pages_, btree::PageRef{});
    tree_model_.clear();
    for (uint32_t i = pick(60); i > 0; --i) TreePut(key(), "t" + std::to_string(i));
    uint64_t sequence = 0;
    for (uint32_t b = pick(4); b > 0; --b) {
      WriteBuffer* buffer = PushBuffer();
      const uint64_t start = sequence;
      for (uint32_t i = pick(40); i > 0; --i) {
        if (pick(10) == 0 && buffer->sequence_max() > start) {
          // The newest commits of this buffer roll back; their numbers are used again.
          const uint64_t last = buffer->sequence_max();
          const uint64_t first = last - pick(static_cast<uint32_t>(last - start) + 1);
          ASSERT_TRUE(buffer->MarkAborted(first, last).ok());
          sequence = buffer->sequence_max();
          continue;
        }
        sequence = std::max(sequence, buffer->sequence_max()) + pick(2);
        const bool tombstone = pick(3) == 0;
        ASSERT_TRUE(buffer
                        ->Add(sequence, tombstone ? EntryType::kTombstone : EntryType::kPut, key(),
                              tombstone ? "" : "v" + std::to_string(sequence))
                        .ok());
      }
      ++sequence;  // The next (newer) buffer starts above this one (I32).
    }
    const uint64_t read =
        pick(4) == 0 ? WriteBuffer::kReadLatest : pick(static_cast<uint32_t>(sequence) + 1);
    const Model model = Expected(read);
    std::unique_ptr<MergedCursor> cursor = Cursor(read);
    ExpectWalks(cursor.get(), model);
    ASSERT_NO_FATAL_FAILURE(RandomWalk(cursor.get(), model, 200, /*seek_below=*/2,
                                       /*next_below=*/4, pick, key, [] {}));
  }
}

// Snapshot readers beside a writer, the shape of tests/concurrency_test (I53): between every two
// steps of a walk the newest buffer takes entries newer than the reader (overwrites of the keys
// it walks, tombstones, new keys), keys are overwritten many times, keys share 8-byte prefixes,
// and the tree holds values in overflow pages. Forward from the first key, backward from the
// last, and random walks that turn often must all see the reader's view as it was before.
TEST_F(MergedCursorTest, NewerWritesDuringWalksChangeNothing) {
  for (uint32_t seed = 1; seed <= 80; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
    auto key = [&] {
      char buffer[16];
      snprintf(buffer, sizeof(buffer), pick(2) == 0 ? "k%02u" : "prefix__%02u", pick(30));
      return std::string(buffer);
    };
    // Some values go to overflow pages in the tree (1 KiB pages) and stay inline in buffers.
    auto value = [&](const std::string& tag) {
      return pick(4) == 0 ? tag + std::string(700, static_cast<char>('a' + pick(26))) : tag;
    };
    owned_.clear();
    tree_ = btree::WriteTree(&pages_, btree::PageRef{});
    tree_model_.clear();
    for (uint32_t i = pick(80); i > 0; --i) TreePut(key(), value("t" + std::to_string(i)));
    uint64_t sequence = 0;
    for (uint32_t b = 1 + pick(3); b > 0; --b) {
      WriteBuffer* buffer = PushBuffer();
      for (uint32_t i = pick(120); i > 0; --i) {
        sequence += pick(2);  // Several entries of one commit share its number.
        const bool tombstone = pick(4) == 0;
        ASSERT_TRUE(buffer
                        ->Add(sequence, tombstone ? EntryType::kTombstone : EntryType::kPut, key(),
                              tombstone ? "" : value("v" + std::to_string(sequence)))
                        .ok());
      }
      ++sequence;
    }
    const uint64_t read = pick(3) == 0 ? sequence : pick(static_cast<uint32_t>(sequence) + 1);
    const Model model = Expected(read);
    std::unique_ptr<MergedCursor> cursor = Cursor(read);
    WriteBuffer* active = owned_.front().get();
    uint64_t next = sequence + 1;
    auto write_newer = [&] {
      for (uint32_t n = pick(4); n > 0; --n) {
        next += pick(2);
        const bool tombstone = pick(3) == 0;
        ASSERT_TRUE(active
                        ->Add(next, tombstone ? EntryType::kTombstone : EntryType::kPut, key(),
                              tombstone ? "" : value("new" + std::to_string(next)))
                        .ok());
      }
    };
    const std::vector<std::pair<std::string, std::string>> want(model.begin(), model.end());
    std::vector<std::pair<std::string, std::string>> walked;
    ASSERT_TRUE(cursor->SeekToFirst().ok());
    while (cursor->Valid()) {
      walked.emplace_back(cursor->key(), cursor->value());
      write_newer();
      ASSERT_TRUE(cursor->Next().ok());
    }
    EXPECT_EQ(walked, want);
    walked.clear();
    ASSERT_TRUE(cursor->SeekToLast().ok());
    while (cursor->Valid()) {
      walked.emplace_back(cursor->key(), cursor->value());
      write_newer();
      ASSERT_TRUE(cursor->Prev().ok());
    }
    EXPECT_EQ(std::vector(walked.rbegin(), walked.rend()), want);
    ASSERT_NO_FATAL_FAILURE(RandomWalk(cursor.get(), model, 300, /*seek_below=*/1,
                                       /*next_below=*/3, pick, key, write_newer));
  }
}

// The same beside a real writer thread: it keeps overwriting a few hot keys (and deleting and
// adding others) in the newest buffer while the reader walks both ways at an older sequence
// number. Before BeforeKey was one search (WriteBuffer::Iterator::SeekBefore), a newer entry
// added between its Seek and its Prev made backward walks return a key twice (I53).
TEST_F(MergedCursorTest, WalksBesideAWriterThreadSeeTheirSnapshot) {
  for (int i = 0; i < 40; ++i) TreePut("k" + std::to_string(10 + i), "tree" + std::to_string(i));
  WriteBuffer* active = PushBuffer();
  uint64_t sequence = 0;
  for (int i = 0; i < 40; i += 2) {
    ASSERT_TRUE(active->Add(++sequence, EntryType::kPut, "k" + std::to_string(10 + i), "buf").ok());
  }
  ASSERT_TRUE(active->Add(++sequence, EntryType::kTombstone, "k13", "").ok());
  const uint64_t read = sequence;
  const Model model = Expected(read);
  const std::vector<std::pair<std::string, std::string>> want(model.begin(), model.end());
  std::unique_ptr<MergedCursor> cursor = Cursor(read);
  port::Atomic<bool> done{false};  // The reader has walked enough.
  port::Thread writer("writer", [&] {
    for (uint64_t s = read + 1; s < read + 300000 && !done.load(std::memory_order_acquire); ++s) {
      // Mostly the hot keys the walks pass over; every fifth entry a tombstone.
      const std::string key = "k" + std::to_string(10 + (s % 3 == 0 ? s * 7 % 40 : s % 6));
      const EntryType type = s % 5 == 0 ? EntryType::kTombstone : EntryType::kPut;
      if (!active->Add(s, type, key, type == EntryType::kPut ? "new" : "").ok()) break;
    }
  });
  for (int walks = 0; walks < 400; ++walks) {
    std::vector<std::pair<std::string, std::string>> walked;
    const bool forward = walks % 4 == 0;
    ASSERT_TRUE((forward ? cursor->SeekToFirst() : cursor->SeekToLast()).ok());
    while (cursor->Valid()) {
      walked.emplace_back(cursor->key(), cursor->value());
      ASSERT_TRUE((forward ? cursor->Next() : cursor->Prev()).ok());
    }
    if (!forward) std::reverse(walked.begin(), walked.end());
    if (walked != want) done.store(true, std::memory_order_release);
    ASSERT_EQ(walked, want) << (forward ? "forward" : "backward") << " walk " << walks;
  }
  done.store(true, std::memory_order_release);
  writer.Join();
}

}  // namespace
}  // namespace manifold
