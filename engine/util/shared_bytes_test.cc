#include "engine/util/shared_bytes.h"

#include <memory>
#include <string>
#include <vector>

#include "engine/port/sync.h"
#include "gtest/gtest.h"

namespace manifold {
namespace {

TEST(SharedBytesTest, EmptyByDefaultAndFromEmptyView) {
  SharedBytes none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.view(), "");
  EXPECT_EQ(none.MemoryBytes(), 0u);
  SharedBytes from_empty{std::string_view()};
  EXPECT_TRUE(from_empty.empty());
  EXPECT_EQ(none, from_empty);
}

TEST(SharedBytesTest, HoldsACopyOfTheBytes) {
  std::string source(150, 'v');
  source[7] = '\0';  // Binary bytes survive.
  SharedBytes bytes(source);
  source[0] = 'x';  // The SharedBytes owns its own copy.
  EXPECT_EQ(bytes.size(), 150u);
  EXPECT_EQ(bytes.view()[0], 'v');
  EXPECT_EQ(bytes.view()[7], '\0');
  EXPECT_GE(bytes.MemoryBytes(), 150u);
}

TEST(SharedBytesTest, CopiesShareAndOutliveTheOriginal) {
  SharedBytes copy;
  {
    SharedBytes original(std::string_view("value"));
    copy = original;
    EXPECT_EQ(copy.data(), original.data());  // One buffer, not two.
  }
  EXPECT_EQ(copy.view(), "value");
  SharedBytes moved(std::move(copy));
  EXPECT_EQ(moved.view(), "value");
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from string is empty.
  moved.reset();
  EXPECT_TRUE(moved.empty());
}

TEST(SharedBytesTest, SlicesShareTheBufferAndKeepItAlive) {
  SharedBytes middle;
  SharedBytes empty;
  {
    SharedBytes whole(std::string_view("header:value-one:value-two"));
    middle = SharedBytes::Slice(whole, 7, 9);
    empty = SharedBytes::Slice(whole, 3, 0);
    EXPECT_EQ(middle.buffer_id(), whole.buffer_id());
    EXPECT_EQ(middle.MemoryBytes(), whole.MemoryBytes());
    SharedBytes nested = SharedBytes::Slice(middle, 6, 3);  // A slice of a slice.
    EXPECT_EQ(nested.view(), "one");
  }
  EXPECT_EQ(middle.view(), "value-one");
  EXPECT_EQ(middle.size(), 9u);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.buffer_id(), nullptr);  // An empty slice pins nothing.
  SharedBytes moved = std::move(middle);
  EXPECT_EQ(moved.view(), "value-one");
  EXPECT_TRUE(middle.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(middle.view(), "");
}

TEST(SharedBytesTest, SelfAssignmentKeepsTheBytes) {
  SharedBytes bytes(std::string_view("abc"));
  SharedBytes& alias = bytes;
  bytes = alias;
  EXPECT_EQ(bytes.view(), "abc");
}

TEST(SharedBytesTest, ThreadsDroppingCopiesFreeOnce) {
  // Run under ASan/TSan: a double free or a racy count shows up there.
  SharedBytes shared(std::string(1000, 'z'));
  std::vector<std::unique_ptr<port::Thread>> threads;
  for (int t = 0; t < 4; ++t) {
    threads.push_back(std::make_unique<port::Thread>([copy = shared] {
      for (int i = 0; i < 10000; ++i) {
        SharedBytes again = copy;
        ASSERT_EQ(again.size(), 1000u);
      }
    }));
  }
  for (auto& thread : threads) thread->Join();
  EXPECT_EQ(shared.view(), std::string(1000, 'z'));
}

}  // namespace
}  // namespace manifold
