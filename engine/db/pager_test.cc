#include "engine/db/pager.h"

#include <gtest/gtest.h>

#include "engine/btree/tree.h"
#include "manifold/env.h"

namespace manifold {
namespace {

using btree::PageRef;
using btree::PageRun;

TEST(HeaderSlotTest, RoundTripAndDamage) {
  HeaderSlot slot;
  slot.sequence = 41;
  slot.page_bytes = 4096;
  slot.page_count = 77;
  slot.catalog = PageRef{5, 123};
  slot.free_list = PageRef{9, 456};
  slot.free_list_pages = 1;
  slot.next_cf_id = 3;
  slot.checkpoint_count = 7;
  slot.log_head = 12;
  std::string page = EncodeHeaderSlot(slot, HeaderSlotPage(slot.checkpoint_count));
  ASSERT_EQ(page.size(), 4096u);
  auto decoded = DecodeHeaderSlot(page.data(), 4096, 1, "f");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->sequence, 41u);
  EXPECT_EQ(decoded->log_head, 12u);
  EXPECT_EQ(decoded->page_count, 77u);
  EXPECT_EQ(decoded->catalog, slot.catalog);
  EXPECT_EQ(decoded->free_list, slot.free_list);
  EXPECT_EQ(decoded->next_cf_id, 3u);
  EXPECT_EQ(decoded->checkpoint_count, 7u);
  // An odd checkpoint lives in slot 1 only.
  EXPECT_TRUE(DecodeHeaderSlot(page.data(), 4096, 0, "f").status().IsCorruption());
  // A torn header write (the second half still old) is detected.
  std::string torn = page;
  std::fill(torn.begin() + 40, torn.end(), '\0');
  EXPECT_TRUE(DecodeHeaderSlot(torn.data(), 4096, 1, "f").status().IsCorruption());
  // Read with the wrong page size.
  EXPECT_FALSE(DecodeHeaderSlot(page.data(), 1024, 1, "f").ok());
}

// I12: another page's write over a slot is told apart from damage to the slot's own write.
TEST(HeaderSlotTest, ForeignPageVersusGarbledOwnWrite) {
  constexpr uint32_t kBytes = 1024;
  HeaderSlot slot;
  slot.sequence = 9;
  slot.page_bytes = kBytes;
  slot.page_count = 40;
  slot.checkpoint_count = 4;
  slot.log_head = 3;
  const std::string own = EncodeHeaderSlot(slot, 0);
  EXPECT_FALSE(HoldsForeignPage(own.data(), kBytes, 0));
  const std::string zeros(kBytes, '\0');
  EXPECT_FALSE(HoldsForeignPage(zeros.data(), kBytes, 0));
  std::string leaf(kBytes, 'v');
  btree::SealPage(leaf.data(), kBytes, btree::PageType::kLeaf, 3, 17, 8);
  // A whole foreign page, and foreign prefixes over the old slot that reach its page id.
  EXPECT_TRUE(HoldsForeignPage(leaf.data(), kBytes, 0));
  for (size_t prefix : {size_t{16}, size_t{100}, size_t{512}, size_t{kBytes - 1}}) {
    std::string torn = own;
    torn.replace(0, prefix, leaf.substr(0, prefix));
    EXPECT_TRUE(HoldsForeignPage(torn.data(), kBytes, 0)) << prefix;
    EXPECT_FALSE(DecodeHeaderSlot(torn.data(), kBytes, 0, "f").ok()) << prefix;
  }
  // The slot's own write with one bit of its type byte flipped (kHeader 1 reads as kInternal 3
  // or kFreeList 5; storage seed 480): a damaged slot, passed over, not a foreign page.
  for (int bit = 0; bit < 8; ++bit) {
    std::string garbled = own;
    garbled[4] = static_cast<char>(garbled[4] ^ (1 << bit));
    EXPECT_FALSE(HoldsForeignPage(garbled.data(), kBytes, 0)) << bit;
    EXPECT_TRUE(DecodeHeaderSlot(garbled.data(), kBytes, 0, "f").status().IsCorruption()) << bit;
    // Read as the other slot, it is not this slot's write: foreign when its type is.
    const btree::PageType type = btree::PageTypeOf(garbled.data());
    const bool foreign_type = type != btree::PageType::kHeader && static_cast<int>(type) >= 2 &&
                              static_cast<int>(type) <= 5;
    EXPECT_EQ(HoldsForeignPage(garbled.data(), kBytes, 1), foreign_type) << bit;
  }
  // Storage seed 480: the slot's write garbled in its type byte, its second sector lost (the old
  // slot's bytes) and a bit flipped in the rest: still the slot's own damaged write.
  HeaderSlot older = slot;
  older.sequence = 5;
  older.checkpoint_count = 2;
  const std::string old_slot = EncodeHeaderSlot(older, 0);
  std::string mixed = own;
  mixed[4] = static_cast<char>(mixed[4] ^ 0x02);  // kInternal
  mixed.replace(512, 512, old_slot.substr(512, 512));
  mixed[700] = static_cast<char>(mixed[700] ^ 0x10);
  EXPECT_FALSE(HoldsForeignPage(mixed.data(), kBytes, 0));
  // A foreign page's middle sector landed whole over the slot's first: foreign by its type byte.
  std::string middle = own;
  middle.replace(0, 512, std::string(512, static_cast<char>(btree::PageType::kLeaf)));
  EXPECT_TRUE(HoldsForeignPage(middle.data(), kBytes, 0));
}

TEST(PageAllocatorTest, ReusesOnlyReleasedPages) {
  PageAllocator allocator(2, 1000);
  EXPECT_EQ(*allocator.Allocate(3), 2u);
  EXPECT_EQ(*allocator.Allocate(1), 5u);
  allocator.FreeAt(7, PageRun{2, 3});
  // Freed at sequence 7: not reusable while a snapshot at 6 lives.
  allocator.Release(6);
  EXPECT_EQ(*allocator.Allocate(1), 6u);
  EXPECT_EQ(allocator.pending_pages(), 3u);
  allocator.Release(7);
  EXPECT_EQ(allocator.pending_pages(), 0u);
  EXPECT_EQ(*allocator.Allocate(2), 2u);  // First fit, from the front of the run.
  EXPECT_EQ(*allocator.Allocate(1), 4u);
  EXPECT_EQ(allocator.page_count(), 7u);
}

TEST(PageAllocatorTest, PersistableRunsMergeFreeAndPending) {
  PageAllocator allocator(20, 1000);
  allocator.AddFree(PageRun{2, 2});
  allocator.FreeAt(3, PageRun{4, 1});
  allocator.FreeAt(4, PageRun{10, 3});
  std::vector<PageRun> runs = allocator.PersistableRuns();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], (PageRun{2, 3}));
  EXPECT_EQ(runs[1], (PageRun{10, 3}));
}

TEST(PageAllocatorTest, PersistableRunsCoalesceAcrossSequencesInAnyOrder) {
  PageAllocator allocator(40, 1000);
  allocator.AddFree(PageRun{16, 2});
  allocator.AddFree(PageRun{30, 1});
  allocator.FreeAt(9, PageRun{15, 1});  // Later commit, lower page: sorted by page, not sequence.
  allocator.FreeAt(3, PageRun{14, 1});
  allocator.FreeAt(3, PageRun{2, 1});
  allocator.FreeAt(7, PageRun{31, 2});
  const std::vector<PageRun> expected = {PageRun{2, 1}, PageRun{14, 4}, PageRun{30, 3}};
  EXPECT_EQ(allocator.PersistableRuns(), expected);
}

TEST(PageAllocatorTest, RollbackUndoesOneCommit) {
  PageAllocator allocator(20, 1000);
  allocator.AddFree(PageRun{2, 4});
  allocator.FreeAt(6, PageRun{10, 2});
  const std::vector<PageRun> before = allocator.PersistableRuns();
  allocator.BeginCommit();
  EXPECT_EQ(*allocator.Allocate(3), 2u);   // From a free run.
  EXPECT_EQ(*allocator.Allocate(5), 20u);  // By growing the file.
  allocator.FreeAt(7, PageRun{12, 1});
  allocator.Rollback(7);
  EXPECT_EQ(allocator.PersistableRuns(), before);
  EXPECT_EQ(allocator.page_count(), 20u);
  EXPECT_EQ(allocator.pending_pages(), 2u);  // What sequence 6 freed is untouched.
  EXPECT_EQ(*allocator.Allocate(4), 2u);     // The run is whole again.
}

TEST(PageAllocatorTest, RefusesToGrowPastTheLimit) {
  PageAllocator allocator(2, 10);
  EXPECT_TRUE(allocator.Allocate(8).ok());
  Status status = allocator.Allocate(1).status();
  EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
}

// A pager of 1 KiB pages with a 1 MiB cache over a new file "/data" of an in-memory file
// system (`pager` null if the file could not be created).
struct PagerOnMemFile {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  std::unique_ptr<Pager> pager;
};

PagerOnMemFile NewPagerOnMemFile() {
  PagerOnMemFile data;
  OpenFileOptions create;
  create.create = true;
  auto file = data.fs->OpenFile("/data", create);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (file.ok())
    data.pager = std::make_unique<Pager>(std::move(*file), "/data", 1024, 1 << 20, true);
  return data;
}

TEST(FreeListTest, WriteThenReadBack) {
  PagerOnMemFile data = NewPagerOnMemFile();
  ASSERT_NE(data.pager, nullptr);
  Pager& pager = *data.pager;
  PageAllocator allocator(2, 1 << 20);
  // Many scattered free pages, so the list spans several chain pages.
  ASSERT_TRUE(allocator.Allocate(2000).ok());
  for (uint64_t p = 2; p < 2002; p += 2) allocator.AddFree(PageRun{p, 1});
  CommitWriter writer(&allocator, pager.layout(), 5);
  std::vector<uint64_t> chain;
  auto head = writer.WriteFreeList({}, &chain);
  ASSERT_TRUE(head.ok());
  EXPECT_GT(chain.size(), 1u);
  ASSERT_TRUE(pager.Reserve(allocator.page_count(), 1 << 16).ok());
  ASSERT_TRUE(pager.WritePages(writer.pages()).ok());
  std::vector<PageRun> runs;
  std::vector<uint64_t> read_chain;
  ASSERT_TRUE(pager.ReadFreeList(*head, &runs, &read_chain).ok());
  EXPECT_EQ(read_chain, chain);
  EXPECT_EQ(runs, allocator.PersistableRuns());
  // The chain pages themselves are not listed as free.
  for (uint64_t page : chain) {
    for (const PageRun& run : runs) {
      EXPECT_FALSE(page >= run.first && page < run.first + run.count) << page;
    }
  }
}

// A free run's page count is 32 bits on disk: a run longer than 65,535 pages (64 MiB of 1 KiB
// pages, a large value deleted) must come back whole, not cut to its low 16 bits with the rest
// leaked (I5: every page is used or free).
TEST(FreeListTest, RunLongerThan16BitsRoundTrips) {
  PagerOnMemFile data = NewPagerOnMemFile();
  ASSERT_NE(data.pager, nullptr);
  Pager& pager = *data.pager;
  PageAllocator allocator(2, 1 << 20);
  constexpr uint64_t kLongRun = 70'000;  // More than 0xFFFF.
  ASSERT_TRUE(allocator.Allocate(kLongRun + 10).ok());
  allocator.AddFree(PageRun{5, kLongRun});
  CommitWriter writer(&allocator, pager.layout(), 5);
  std::vector<uint64_t> chain;
  auto head = writer.WriteFreeList({}, &chain);
  ASSERT_TRUE(head.ok());
  ASSERT_TRUE(pager.Reserve(allocator.page_count(), 1 << 16).ok());
  ASSERT_TRUE(pager.WritePages(writer.pages()).ok());
  std::vector<PageRun> runs;
  std::vector<uint64_t> read_chain;
  ASSERT_TRUE(pager.ReadFreeList(*head, &runs, &read_chain).ok());
  EXPECT_EQ(runs, allocator.PersistableRuns());
  uint64_t free_pages = 0;
  for (const PageRun& run : runs) free_pages += run.count;
  uint64_t persistable = 0;
  for (const PageRun& run : allocator.PersistableRuns()) persistable += run.count;
  EXPECT_EQ(free_pages, persistable);
  EXPECT_GT(free_pages, uint64_t{0xFFFF});
}

// I49: a checkpoint's writer holds at most held_bytes_max of page images: it writes them out as
// it goes and hands the tree pages to the cache, and every page it made reads back through the
// pager, from the cache or from the file.
TEST(CommitWriterTest, WritesOutWhatItHoldsPastItsLimit) {
  PagerOnMemFile data = NewPagerOnMemFile();
  ASSERT_NE(data.pager, nullptr);
  Pager& pager = *data.pager;
  PageAllocator allocator(2, 1 << 20);
  constexpr uint64_t kHeldMax = 3 * 1024;
  CommitWriter writer(&pager, &allocator, 5, kHeldMax, 1 << 16);
  btree::WriteTree tree(&pager, PageRef{});
  const std::string big(20 * 1024, 'b');  // About 21 overflow pages.
  ASSERT_TRUE(tree.Put("big", big).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(tree.Put("key" + std::to_string(1000 + i), std::string(40, 'v')).ok());
  }
  auto root = tree.Flush(&writer);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_LT(writer.held_bytes(), kHeldMax);
  EXPECT_GT(pager.stats().pages_written.load(), 20u);  // Written as it went.
  ASSERT_TRUE(writer.WriteHeld().ok());
  EXPECT_TRUE(writer.pages().empty());
  EXPECT_FALSE(writer.write_failed());
  EXPECT_GT(pager.cache()->usage_bytes(), 0u);  // The tree pages, handed to the cache.
  // Through the cache, and from the file alone.
  auto reopened = data.fs->OpenFile("/data", OpenFileOptions());
  ASSERT_TRUE(reopened.ok());
  Pager uncached(std::move(*reopened), "/data", 1024, 0, false);
  for (btree::NodeSource* source :
       {static_cast<btree::NodeSource*>(&pager), static_cast<btree::NodeSource*>(&uncached)}) {
    auto value = btree::TreeGet(source, btree::TreeRoot::OnDisk(*root), "big");
    ASSERT_TRUE(value.ok()) << value.status().ToString();
    EXPECT_EQ(**value, big);
    for (int i = 0; i < 100; ++i) {
      auto small =
          btree::TreeGet(source, btree::TreeRoot::OnDisk(*root), "key" + std::to_string(1000 + i));
      ASSERT_TRUE(small.ok()) << small.status().ToString();
      EXPECT_EQ(**small, std::string(40, 'v'));
    }
  }
}

}  // namespace
}  // namespace manifold
