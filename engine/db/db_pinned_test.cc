// DB::GetPinned (values read in place from page images, issue 12) and the format-version check
// of the data file (format 4: slotted tree pages).
#include <gtest/gtest.h>

#include <string>

#include "engine/btree/page.h"
#include "engine/db/db_impl.h"
#include "engine/db/pager.h"
#include "engine/util/coding.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/pinnable_value.h"

namespace manifold {
namespace {

class DBPinnedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.file_system = fs_.get();
    options_.page_bytes = 1024;
    options_.cache_bytes_max = 16 << 10;  // A few pages: reads evict what pinned values hold.
    Reopen();
  }
  void Reopen() {
    db_.reset();
    auto db = DB::Open(options_, "/db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }
  static std::string Key(int i) { return "key" + std::to_string(1000 + i); }

  std::unique_ptr<MemFileSystem> fs_ = NewMemFileSystem();
  Options options_;
  std::unique_ptr<DB> db_;
};

TEST_F(DBPinnedTest, PinnedValuesMatchGetInMemoryAndOnPages) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(db_->Put({}, "default", Key(i), "value" + std::to_string(i)).ok());
  }
  for (int round = 0; round < 2; ++round) {  // Write buffers, then page images.
    for (int i = 0; i < 300; ++i) {
      PinnableValue value;
      ASSERT_TRUE(db_->GetPinned({}, "default", Key(i), &value).ok()) << Key(i);
      EXPECT_EQ(value.value(), "value" + std::to_string(i));
      // A buffered value (round 0: nothing is checkpointed yet) is copied into the handle; an
      // inline value of a tree page is pinned in its image, never copied (I43).
      EXPECT_EQ(value.pinned(), round == 1) << Key(i);
      EXPECT_EQ(value.value(), *db_->Get({}, "default", Key(i)));
    }
    ASSERT_TRUE(db_->Checkpoint().ok());
    Reopen();  // Every read now comes from the data file.
  }
}

TEST_F(DBPinnedTest, APinnedValueOutlivesOverwriteCheckpointAndEviction) {
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(db_->Put({}, "default", Key(i), "old").ok());
  ASSERT_TRUE(db_->Checkpoint().ok());
  Reopen();
  PinnableValue pinned;
  ASSERT_TRUE(db_->GetPinned({}, "default", Key(7), &pinned).ok());
  ASSERT_TRUE(pinned.pinned());
  const char* bytes = pinned.value().data();
  // The key is replaced, its page freed and reused, and the cache cycles through other pages.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(db_->Put({}, "default", Key(i), "new" + std::to_string(round)).ok());
    }
    ASSERT_TRUE(db_->Checkpoint().ok());
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(db_->Get({}, "default", Key(i)).ok());
  }
  EXPECT_EQ(pinned.value(), "old");
  EXPECT_EQ(pinned.value().data(), bytes);  // The same bytes, never copied or changed (I43).
  EXPECT_EQ(*db_->Get({}, "default", Key(7)), "new2");
  // Moving the handle moves the pin.
  PinnableValue moved = std::move(pinned);
  EXPECT_EQ(moved.value(), "old");
  EXPECT_TRUE(pinned.value().empty());
  moved.Reset();
  EXPECT_FALSE(moved.pinned());
  EXPECT_TRUE(moved.value().empty());
}

TEST_F(DBPinnedTest, LargeEmptyAbsentAndSnapshotValues) {
  const std::string large(5000, 'L');  // Overflow pages at 1 KiB pages.
  ASSERT_TRUE(db_->Put({}, "default", "large", large).ok());
  ASSERT_TRUE(db_->Put({}, "default", "empty", "").ok());
  ASSERT_TRUE(db_->Put({}, "default", "snap", "before").ok());
  std::shared_ptr<const Snapshot> snapshot = db_->GetSnapshot();
  ASSERT_TRUE(db_->Put({}, "default", "snap", "after").ok());
  for (int round = 0; round < 2; ++round) {
    PinnableValue value;
    ASSERT_TRUE(db_->GetPinned({}, "default", "large", &value).ok());
    EXPECT_EQ(value.value(), large);
    ASSERT_TRUE(db_->GetPinned({}, "default", "empty", &value).ok());
    EXPECT_EQ(value.value(), "");
    ReadOptions at_snapshot;
    at_snapshot.snapshot = snapshot.get();
    ASSERT_TRUE(db_->GetPinned(at_snapshot, "default", "snap", &value).ok());
    EXPECT_EQ(value.value(), "before");
    ASSERT_TRUE(db_->GetPinned({}, "default", "snap", &value).ok());
    EXPECT_EQ(value.value(), "after");
    Status absent = db_->GetPinned({}, "default", "absent", &value);
    EXPECT_TRUE(absent.IsNotFound()) << absent.ToString();
    EXPECT_TRUE(value.value().empty());
    EXPECT_TRUE(db_->GetPinned({}, "no such cf", "large", &value).IsNotFound());
    ASSERT_TRUE(db_->Checkpoint().ok());  // Second round: from written pages and overflow runs.
  }
  snapshot.reset();
  Reopen();
  PinnableValue value;
  ASSERT_TRUE(db_->GetPinned({}, "default", "large", &value).ok());
  EXPECT_EQ(value.value(), large);
  EXPECT_FALSE(value.pinned());  // Assembled from its overflow run into the handle.
}

// A data file of an older format is refused with NotSupported naming both versions.
TEST_F(DBPinnedTest, OlderFormatVersionIsNotSupported) {
  ASSERT_TRUE(db_->Put({}, "default", "a", "1").ok());
  ASSERT_TRUE(db_->Checkpoint().ok());
  db_.reset();
  auto file = fs_->OpenFile(std::string("/db/") + kDataFileName, OpenFileOptions{});
  ASSERT_TRUE(file.ok());
  const uint32_t page_bytes = options_.page_bytes;
  int rewritten = 0;
  for (uint64_t slot = 0; slot < 2; ++slot) {
    std::string page(page_bytes, '\0');
    ASSERT_EQ(*(*file)->Read(slot * page_bytes, page_bytes, page.data()), page_bytes);
    if (!DecodeHeaderSlot(page.data(), page_bytes, slot, "t").ok()) continue;
    EncodeFixed32(page.data() + kHeaderFormatVersionOffset, 3);
    btree::SealPage(page.data(), page_bytes, btree::PageType::kHeader,
                    btree::PageCountOf(page.data()), slot, btree::PageSequenceOf(page.data()));
    ASSERT_TRUE((*file)->Write(slot * page_bytes, page).ok());
    ++rewritten;
  }
  ASSERT_GE(rewritten, 1);
  ASSERT_TRUE((*file)->Sync().ok());
  file->reset();
  auto db = DB::Open(options_, "/db");
  ASSERT_FALSE(db.ok());
  const Status& status = db.status();
  EXPECT_EQ(status.code(), StatusCode::kNotSupported) << status.ToString();
  EXPECT_NE(status.message().find("format version 3"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("version " + std::to_string(kFormatVersion)), std::string::npos)
      << status.message();
  EXPECT_EQ(kFormatVersion, 4u);
}

}  // namespace
}  // namespace manifold
