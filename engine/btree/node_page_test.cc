#include "engine/btree/node_page.h"

#include <gtest/gtest.h>

#include <string>

namespace manifold::btree {
namespace {

SharedBytes Seal(const Node& node, const Layout& layout, uint64_t page_id, uint32_t* crc) {
  char* page = nullptr;
  SharedBytes image = SharedBytes::Allocate(layout.page_bytes, &page);
  EncodeNodePage(node, layout, page);
  const size_t count = node.leaf ? node.keys.size() : node.children.size();
  *crc = SealPage(page, layout.page_bytes, node.leaf ? PageType::kLeaf : PageType::kInternal,
                  static_cast<uint16_t>(count), page_id, 7);
  return image;
}

Node SampleLeaf(const Layout& layout) {
  Node node;
  node.keys = {"", "a", std::string(layout.key_bytes_max(), 'k')};
  node.values = {LeafValue::Inline("x"), LeafValue::Inline(""), LeafValue::Inline("yz")};
  LeafValue large;
  large.large = true;
  large.value_bytes = 5000;
  large.overflow = PageRef{42, 0xdeadbeef};
  node.keys.push_back("zz");
  node.values.push_back(large);
  return node;
}

Node SampleInternal() {
  Node node;
  node.leaf = false;
  node.keys = {"m", "t"};
  node.children = {ChildRef{PageRef{2, 11}, nullptr}, ChildRef{PageRef{3, 12}, nullptr},
                   ChildRef{PageRef{4, 13}, nullptr}};
  return node;
}

TEST(NodePageTest, LeafIsSearchedInPlace) {
  Layout layout{1024};
  const Node node = SampleLeaf(layout);
  uint32_t crc = 0;
  SharedBytes image = Seal(node, layout, 9, &crc);
  ASSERT_TRUE(VerifyPage(image.data(), layout.page_bytes, 9, PageType::kLeaf, &crc, "t").ok());
  ASSERT_TRUE(ValidateNodePage(image.data(), layout, 9, "t").ok());
  const NodePage view(image.data());
  ASSERT_TRUE(view.leaf());
  ASSERT_EQ(view.count(), 4u);
  for (size_t i = 0; i < node.keys.size(); ++i) {
    EXPECT_EQ(view.key(i), node.keys[i].view());
    EXPECT_EQ(view.LowerBound(node.keys[i]), i);
    const PageValue value = view.value(i);
    EXPECT_EQ(value.large, node.values[i].large);
    EXPECT_EQ(value.value_bytes, node.values[i].value_bytes);
    if (value.large) {
      EXPECT_EQ(value.overflow, node.values[i].overflow);
    } else {
      EXPECT_EQ(value.inline_bytes, node.values[i].bytes.view());
    }
  }
  EXPECT_EQ(view.LowerBound("0"), 1u);  // Between "" and "a".
  EXPECT_EQ(view.LowerBound("zzz"), 4u);
  // A value read from the page shares the image (GetPinned's handle keeps it alive).
  const LeafValue pinned = PageLeafValue(image, 2);
  EXPECT_EQ(pinned.bytes.view(), "yz");
  EXPECT_EQ(pinned.bytes.buffer_id(), image.buffer_id());
}

TEST(NodePageTest, DecodeGivesTheEncodedNode) {
  Layout layout{1024};
  const Node node = SampleLeaf(layout);
  uint32_t crc = 0;
  SharedBytes image = Seal(node, layout, 9, &crc);
  MutableNodePtr decoded = DecodeNodePage(image);
  EXPECT_TRUE(decoded->leaf);
  EXPECT_EQ(decoded->keys, node.keys);
  for (size_t i = 0; i < node.values.size(); ++i) {
    EXPECT_EQ(decoded->values[i].bytes, node.values[i].bytes);
    EXPECT_EQ(decoded->values[i].large, node.values[i].large);
    EXPECT_EQ(decoded->values[i].value_bytes, node.values[i].value_bytes);
    EXPECT_EQ(decoded->values[i].overflow, node.values[i].overflow);
  }
  EXPECT_EQ(decoded->EncodedBodyBytes(), node.EncodedBodyBytes());
  // Re-encoding the decoded node gives the same bytes.
  uint32_t again = 0;
  EXPECT_EQ(Seal(*decoded, layout, 9, &again).view(), image.view());
  EXPECT_EQ(again, crc);
}

TEST(NodePageTest, InternalChildIndexSendsEqualKeysRight) {
  Layout layout{4096};
  const Node node = SampleInternal();
  uint32_t crc = 0;
  SharedBytes image = Seal(node, layout, 5, &crc);
  ASSERT_TRUE(ValidateNodePage(image.data(), layout, 5, "t").ok());
  const NodePage view(image.data());
  ASSERT_FALSE(view.leaf());
  ASSERT_EQ(view.count(), 3u);
  EXPECT_EQ(view.key(1), "m");
  EXPECT_EQ(view.key(2), "t");
  EXPECT_EQ(view.child(2), (PageRef{4, 13}));
  EXPECT_EQ(view.ChildIndex(""), 0u);
  EXPECT_EQ(view.ChildIndex("l"), 0u);
  EXPECT_EQ(view.ChildIndex("m"), 1u);  // I41: equal to a separator goes right.
  EXPECT_EQ(view.ChildIndex("s"), 1u);
  EXPECT_EQ(view.ChildIndex("t"), 2u);
  EXPECT_EQ(view.ChildIndex("z"), 2u);
  MutableNodePtr decoded = DecodeNodePage(image);
  EXPECT_EQ(decoded->keys, node.keys);
  ASSERT_EQ(decoded->children.size(), 3u);
  EXPECT_EQ(decoded->children[1].page, (PageRef{3, 12}));
  EXPECT_EQ(decoded->EncodedBodyBytes(), node.EncodedBodyBytes());
}

TEST(NodePageTest, BinarySearchOverManyEntries) {
  Layout layout{4096};
  Node node;
  for (int i = 0; i < 200; i += 2) {
    char key[8];
    std::snprintf(key, sizeof(key), "k%04d", i);
    node.keys.emplace_back(key);
    node.values.push_back(LeafValue::Inline("v"));
  }
  uint32_t crc = 0;
  SharedBytes image = Seal(node, layout, 3, &crc);
  const NodePage view(image.data());
  for (int i = -1; i < 201; ++i) {
    char key[8];
    std::snprintf(key, sizeof(key), "k%04d", i < 0 ? 0 : i);
    const std::string probe = i < 0 ? "a" : key;
    size_t expected = 0;
    while (expected < node.keys.size() && node.keys[expected].view() < probe) ++expected;
    EXPECT_EQ(view.LowerBound(probe), expected) << probe;
  }
}

// Damage that keeps a valid checksum (a bug that sealed a bad page) is still refused before any
// search trusts the offsets: each case below is re-sealed after the change.
TEST(NodePageTest, ValidateRejectsMalformedPages) {
  Layout layout{1024};
  uint32_t crc = 0;
  auto damaged = [&](const Node& node, auto change) {
    SharedBytes image = Seal(node, layout, 9, &crc);
    std::string page(image.view());
    change(page.data());
    return ValidateNodePage(page.data(), layout, 9, "t");
  };
  const Node leaf = SampleLeaf(layout);
  const Node internal = SampleInternal();
  EXPECT_TRUE(damaged(leaf, [](char*) {}).ok());
  EXPECT_TRUE(damaged(internal, [](char*) {}).ok());
  // Claims 400 entries: the offset array alone overruns the page.
  EXPECT_TRUE(damaged(leaf, [](char* p) { EncodeFixed16(p + 6, 400); }).IsCorruption());
  // An offset inside the offset array, and one past the page.
  EXPECT_TRUE(
      damaged(leaf, [](char* p) { EncodeFixed16(p + kPageHeaderBytes, 25); }).IsCorruption());
  EXPECT_TRUE(
      damaged(leaf, [](char* p) { EncodeFixed16(p + kPageHeaderBytes, 1020); }).IsCorruption());
  // Keys out of order: swap the first two slots.
  EXPECT_TRUE(damaged(leaf, [](char* p) {
                uint16_t a = DecodeFixed16(p + kPageHeaderBytes);
                uint16_t b = DecodeFixed16(p + kPageHeaderBytes + 2);
                EncodeFixed16(p + kPageHeaderBytes, b);
                EncodeFixed16(p + kPageHeaderBytes + 2, a);
              }).IsCorruption());
  // An unknown value kind, and an inline length past the page.
  EXPECT_TRUE(damaged(leaf, [](char* p) {
                p[DecodeFixed16(p + kPageHeaderBytes) + 2] = 9;
              }).IsCorruption());
  EXPECT_TRUE(damaged(leaf, [](char* p) {
                EncodeFixed32(p + DecodeFixed16(p + kPageHeaderBytes) + 3, 5000);
              }).IsCorruption());
  // A child pointer at a header slot.
  EXPECT_TRUE(damaged(internal, [](char* p) {
                EncodeFixed64(p + DecodeFixed16(p + kPageHeaderBytes) + 2, 1);
              }).IsCorruption());
  // An internal node without children.
  EXPECT_TRUE(damaged(internal, [](char* p) { EncodeFixed16(p + 6, 0); }).IsCorruption());
}

}  // namespace
}  // namespace manifold::btree
