#include "engine/util/small_bytes.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace manifold {
namespace {

// Lengths around the inline limit, including binary bytes.
std::vector<std::string> Samples() {
  std::vector<std::string> out;
  for (size_t n : {size_t{0}, size_t{1}, size_t{8}, size_t{15}, size_t{16}, size_t{24},
                   SmallBytes::kInlineBytesMax, SmallBytes::kInlineBytesMax + 1, size_t{512}}) {
    std::string s(n, 'k');
    if (n > 3) s[3] = '\0';
    out.push_back(s);
  }
  return out;
}

TEST(SmallBytesTest, HoldsBytesInlineOrOnTheHeap) {
  for (const std::string& s : Samples()) {
    SmallBytes bytes(s);
    EXPECT_EQ(bytes.view(), s);
    EXPECT_EQ(bytes.size(), s.size());
    EXPECT_EQ(bytes.HeapBytes(), s.size() <= SmallBytes::kInlineBytesMax ? 0 : s.size());
    EXPECT_EQ(bytes.ToString(), s);
  }
}

TEST(SmallBytesTest, CopiesAndMovesAreIndependent) {
  for (const std::string& s : Samples()) {
    SmallBytes original(s);
    SmallBytes copy = original;
    EXPECT_EQ(copy, original);
    if (!s.empty()) {
      EXPECT_NE(copy.data(), original.data());  // Its own bytes.
    }
    SmallBytes moved = std::move(copy);
    EXPECT_EQ(moved.view(), s);
    EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty.
    SmallBytes assigned("x");
    assigned = original;
    EXPECT_EQ(assigned.view(), s);
    assigned = std::move(moved);
    EXPECT_EQ(assigned.view(), s);
    SmallBytes& alias = assigned;
    assigned = alias;  // Self-assignment keeps the bytes.
    EXPECT_EQ(assigned.view(), s);
  }
}

TEST(SmallBytesTest, OrdersLikeStrings) {
  std::vector<std::string> strings = Samples();
  strings.push_back("a");
  strings.push_back("b");
  strings.push_back(std::string(40, 'a'));
  std::vector<SmallBytes> bytes(strings.begin(), strings.end());
  std::sort(strings.begin(), strings.end());
  std::sort(bytes.begin(), bytes.end());
  for (size_t i = 0; i < strings.size(); ++i) {
    EXPECT_EQ(bytes[i].view(), strings[i]);
    EXPECT_TRUE(bytes[i] == std::string_view(strings[i]));
    if (i > 0) {
      EXPECT_EQ(bytes[i - 1] < bytes[i], strings[i - 1] < strings[i]);
    }
  }
}

}  // namespace
}  // namespace manifold
