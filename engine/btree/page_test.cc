#include "engine/btree/page.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/btree/node_page.h"

namespace manifold::btree {
namespace {

std::string Seal(const Node& node, const Layout& layout, uint64_t page_id, uint32_t* crc) {
  std::string page(layout.page_bytes, '\0');
  EncodeNodePage(node, layout, page.data());
  uint16_t count = node.leaf ? node.keys.size() : node.children.size();
  *crc = SealPage(page.data(), layout.page_bytes, node.leaf ? PageType::kLeaf : PageType::kInternal,
                  count, page_id, 7);
  return page;
}

TEST(PageTest, VerifyCatchesEveryKindOfDamage) {
  Layout layout{1024};
  Node node;
  node.keys = {"a"};
  node.values = {LeafValue::Inline("b")};
  uint32_t crc = 0;
  std::string page = Seal(node, layout, 9, &crc);
  // Every single bit flip anywhere in the page is caught.
  for (size_t byte = 0; byte < page.size(); byte += 37) {
    std::string damaged = page;
    damaged[byte] ^= 0x10;
    EXPECT_TRUE(VerifyPage(damaged.data(), layout.page_bytes, 9, PageType::kLeaf, nullptr, "t")
                    .IsCorruption())
        << "byte " << byte;
  }
  // Misdirected: the right bytes at the wrong place.
  Status misdirected =
      VerifyPage(page.data(), layout.page_bytes, 10, PageType::kLeaf, nullptr, "f");
  EXPECT_TRUE(misdirected.IsCorruption());
  EXPECT_NE(misdirected.message().find("misdirected"), std::string::npos);
  // Stale: a valid page that is not the one the parent recorded.
  uint32_t other = crc + 1;
  EXPECT_TRUE(
      VerifyPage(page.data(), layout.page_bytes, 9, PageType::kLeaf, &other, "f").IsCorruption());
  EXPECT_TRUE(VerifyPage(page.data(), layout.page_bytes, 9, PageType::kInternal, nullptr, "f")
                  .IsCorruption());
  // An all-zero page (never written) is not valid.
  std::string zeros(layout.page_bytes, '\0');
  EXPECT_TRUE(
      VerifyPage(zeros.data(), layout.page_bytes, 0, PageType::kLeaf, nullptr, "f").IsCorruption());
}

TEST(PageTest, LimitsKeepEveryEntryWithinAQuarterPage) {
  // I6 for every page size: the largest key with the largest inline value, and the largest key
  // with an overflow value, and the largest separator, each fit in a quarter of the body.
  for (uint32_t page_bytes = 1024; page_bytes <= 65536; page_bytes *= 2) {
    Layout layout{page_bytes};
    const size_t k = layout.key_bytes_max();
    std::string key(k, 'k');
    LeafValue inline_value = LeafValue::Inline(std::string(layout.inline_value_bytes_max(k), 'v'));
    EXPECT_LE(LeafEntryBytes(key, inline_value), layout.entry_bytes_max()) << page_bytes;
    LeafValue large;
    large.large = true;
    EXPECT_LE(LeafEntryBytes(key, large), layout.entry_bytes_max()) << page_bytes;
    EXPECT_LE(InternalEntryBytes(key), layout.entry_bytes_max()) << page_bytes;
    EXPECT_GT(layout.inline_value_bytes_max(k), 0u) << page_bytes;
  }
}

}  // namespace
}  // namespace manifold::btree
