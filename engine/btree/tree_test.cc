#include "engine/btree/tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>

#include "engine/btree/node_page.h"
#include "engine/util/crc32c.h"

namespace manifold::btree {
namespace {

// Pages kept in memory as encoded images: every committed node goes through the real codec and
// checksum, and every page id allocated is tracked so leaks and double frees show up.
class MemPages : public NodeSource, public PageSink {
 public:
  explicit MemPages(uint32_t page_bytes) { layout_.page_bytes = page_bytes; }

  StatusOr<SharedBytes> LoadPage(const PageRef& ref) override {
    auto it = pages_.find(ref.page_id);
    if (it == pages_.end()) return Status::Corruption("missing page");
    const char* page = it->second.data();
    PageType type = PageTypeOf(page) == PageType::kInternal ? PageType::kInternal : PageType::kLeaf;
    MANIFOLD_RETURN_IF_ERROR(
        VerifyPage(page, layout_.page_bytes, ref.page_id, type, &ref.crc, "mem"));
    MANIFOLD_RETURN_IF_ERROR(ValidateNodePage(page, layout_, ref.page_id, "mem"));
    return SharedBytes(it->second);
  }
  StatusOr<std::string> LoadLargeValue(const LeafValue& value) override {
    std::string out;
    for (uint64_t i = 0; i < layout_.OverflowPages(value.value_bytes); ++i) {
      const std::string& page = pages_.at(value.overflow.page_id + i);
      MANIFOLD_RETURN_IF_ERROR(VerifyPage(page.data(), layout_.page_bytes,
                                          value.overflow.page_id + i, PageType::kOverflow, nullptr,
                                          "mem"));
      out.append(page.data() + kPageHeaderBytes, PageCountOf(page.data()));
    }
    if (MaskCrc(crc32c::Value(out.data(), out.size())) != value.overflow.crc) {
      return Status::Corruption("large value checksum");
    }
    return out;
  }
  const Layout& layout() const override { return layout_; }

  StatusOr<uint64_t> AllocatePages(uint64_t count) override {
    uint64_t first = next_page_;
    next_page_ += count;
    for (uint64_t i = 0; i < count; ++i) live_.insert(first + i);
    return first;
  }
  StatusOr<uint32_t> WriteNode(uint64_t page_id, NodePtr node) override {
    std::string page(layout_.page_bytes, '\0');
    EncodeNodePage(*node, layout_, page.data());
    uint16_t count = node->leaf ? node->keys.size() : node->children.size();
    uint32_t crc = SealPage(page.data(), layout_.page_bytes,
                            node->leaf ? PageType::kLeaf : PageType::kInternal, count, page_id, 1);
    pages_[page_id] = std::move(page);
    return crc;
  }
  Status WriteLargeValue(uint64_t first_page, std::string_view value) override {
    size_t per_page = layout_.overflow_payload_bytes();
    for (uint64_t i = 0; i < layout_.OverflowPages(value.size()); ++i) {
      std::string page(layout_.page_bytes, '\0');
      std::string_view chunk = value.substr(std::min(value.size(), i * per_page), per_page);
      std::memcpy(page.data() + kPageHeaderBytes, chunk.data(), chunk.size());
      SealPage(page.data(), layout_.page_bytes, PageType::kOverflow, chunk.size(), first_page + i,
               1);
      pages_[first_page + i] = std::move(page);
    }
    return Status::OK();
  }

  void Free(const std::vector<PageRun>& runs) {
    for (const PageRun& run : runs) {
      for (uint64_t p = run.first; p < run.first + run.count; ++p) {
        ASSERT_EQ(live_.erase(p), 1u) << "page " << p << " freed but not live";
      }
    }
  }
  const std::set<uint64_t>& live() const { return live_; }
  std::map<uint64_t, std::string>& pages() { return pages_; }

 private:
  Layout layout_;
  std::map<uint64_t, std::string> pages_;
  std::set<uint64_t> live_;
  uint64_t next_page_ = kFirstDataPage;
};

// Checks the structural invariants of a committed tree and returns its pages.
void CheckTree(MemPages* pages, const PageRef& root, std::set<uint64_t>* reachable) {
  int leaf_depth = -1;
  ASSERT_TRUE(VisitTreePages(pages, root, [&](const PageRun& run, const Node* node, int depth) {
                for (uint64_t p = run.first; p < run.first + run.count; ++p) {
                  EXPECT_TRUE(reachable->insert(p).second) << "page twice " << p;
                }
                if (node == nullptr) return Status::OK();
                EXPECT_LE(node->EncodedBodyBytes(), pages->layout().body_bytes());
                for (size_t i = 1; i < node->keys.size(); ++i) {
                  EXPECT_LT(node->keys[i - 1], node->keys[i]);
                }
                if (node->leaf) {
                  if (leaf_depth < 0) leaf_depth = depth;
                  EXPECT_EQ(leaf_depth, depth) << "leaves at different depths";
                  EXPECT_FALSE(node->keys.empty());
                } else {
                  EXPECT_GE(node->children.size(), 2u);
                }
                return Status::OK();
              }).ok());
}

int TreeDepth(MemPages* pages, const PageRef& root) {
  int depth = 0;
  EXPECT_TRUE(VisitTreePages(pages, root, [&](const PageRun&, const Node* node, int d) {
                if (node != nullptr) depth = std::max(depth, d + 1);
                return Status::OK();
              }).ok());
  return depth;
}

std::map<std::string, std::string> ScanForward(MemPages* pages, const PageRef& root) {
  std::map<std::string, std::string> out;
  Cursor cursor(pages, TreeRoot::OnDisk(root));
  EXPECT_TRUE(cursor.SeekToFirst().ok());
  std::string previous;
  while (cursor.Valid()) {
    std::string key(cursor.key());
    if (!out.empty()) {
      EXPECT_LT(previous, key);
    }
    previous = key;
    out[key] = *MaterializeValue(pages, cursor.value());
    EXPECT_TRUE(cursor.Next().ok());
  }
  return out;
}

std::vector<std::string> ScanBackward(MemPages* pages, const PageRef& root) {
  std::vector<std::string> keys;
  Cursor cursor(pages, TreeRoot::OnDisk(root));
  EXPECT_TRUE(cursor.SeekToLast().ok());
  while (cursor.Valid()) {
    keys.emplace_back(cursor.key());
    EXPECT_TRUE(cursor.Prev().ok());
  }
  return keys;
}

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "key%06d", i);
  return buf;
}

// Commits `tree`, frees what it released, and checks the page accounting: the committed tree's
// pages are exactly the live ones.
PageRef Commit(MemPages* pages, WriteTree* tree) {
  pages->Free(tree->freed());
  StatusOr<PageRef> root = tree->Flush(pages);
  EXPECT_TRUE(root.ok()) << root.status().ToString();
  std::set<uint64_t> reachable;
  CheckTree(pages, *root, &reachable);
  EXPECT_EQ(reachable, pages->live());
  return *root;
}

TEST(TreeTest, EmptyTree) {
  MemPages pages(1024);
  WriteTree tree(&pages, PageRef{});
  EXPECT_FALSE(tree.Get("a")->has_value());
  EXPECT_FALSE(*tree.Delete("a"));
  EXPECT_FALSE(tree.modified());
  PageRef root = Commit(&pages, &tree);
  EXPECT_TRUE(root.empty());
  Cursor cursor(&pages, TreeRoot::OnDisk(root));
  ASSERT_TRUE(cursor.SeekToFirst().ok());
  EXPECT_FALSE(cursor.Valid());
}

TEST(TreeTest, SplitsAtEveryBoundaryAndCollapsesBack) {
  MemPages pages(1024);
  PageRef root;
  std::map<std::string, std::string> model;
  int last_depth = 0;
  std::vector<int> depth_changes_at;
  // One insert per commit so that every boundary (first split, each new level) is crossed in a
  // commit of its own and checked.
  // Ascending inserts fill leaves (append splits), so 3 levels need more keys than random ones.
  constexpr int kKeys = 1200;
  for (int i = 0; i < kKeys; ++i) {
    WriteTree tree(&pages, root);
    std::string value(40, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(tree.Put(Key(i), value).ok());
    model[Key(i)] = value;
    root = Commit(&pages, &tree);
    int depth = TreeDepth(&pages, root);
    if (depth != last_depth) depth_changes_at.push_back(i);
    last_depth = depth;
  }
  EXPECT_GE(depth_changes_at.size(), 3u) << "expected at least three levels";
  EXPECT_EQ(ScanForward(&pages, root), model);
  // Delete in an interleaved order so merges and redistributions happen on both sides.
  for (int i = 0; i < kKeys; ++i) {
    int k = (i * 7) % kKeys;
    WriteTree tree(&pages, root);
    ASSERT_TRUE(*tree.Delete(Key(k)));
    model.erase(Key(k));
    root = Commit(&pages, &tree);
    ASSERT_EQ(ScanForward(&pages, root).size(), model.size());
  }
  EXPECT_TRUE(root.empty());
  EXPECT_TRUE(pages.live().empty());
}

// Counts leaves and their encoded body bytes.
std::pair<size_t, size_t> LeafCountAndBytes(MemPages* pages, const PageRef& root) {
  size_t leaves = 0, bytes = 0;
  EXPECT_TRUE(VisitTreePages(pages, root, [&](const PageRun&, const Node* node, int) {
                if (node != nullptr && node->leaf) ++leaves, bytes += node->EncodedBodyBytes();
                return Status::OK();
              }).ok());
  return {leaves, bytes};
}

TEST(TreeTest, AscendingInsertsFillLeaves) {
  // Keys appended after every existing key leave full leaves behind (a balanced split would
  // leave each half empty forever); a random order still splits evenly and stays correct.
  for (bool ascending : {true, false}) {
    MemPages pages(1024);
    PageRef root;
    std::vector<int> order(3000);
    for (int i = 0; i < 3000; ++i) order[i] = i;
    if (!ascending) std::shuffle(order.begin(), order.end(), std::mt19937(7));
    std::map<std::string, std::string> model;
    for (size_t first = 0; first < order.size(); first += 100) {
      WriteTree tree(&pages, root);
      for (size_t i = first; i < first + 100; ++i) {
        ASSERT_TRUE(tree.Put(Key(order[i]), std::string(40, 'v')).ok());
        model[Key(order[i])] = std::string(40, 'v');
      }
      root = Commit(&pages, &tree);
    }
    EXPECT_EQ(ScanForward(&pages, root), model);
    auto [leaves, bytes] = LeafCountAndBytes(&pages, root);
    const double fill = static_cast<double>(bytes) / (leaves * pages.layout().body_bytes());
    if (ascending) {
      EXPECT_GT(fill, 0.9) << leaves << " leaves";
    } else {
      EXPECT_GT(fill, 0.5) << leaves << " leaves";
    }
  }
}

TEST(TreeTest, RandomOperationsMatchModel) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    MemPages pages(1024);
    PageRef root;
    std::map<std::string, std::string> model;
    for (int commit = 0; commit < 30; ++commit) {
      WriteTree tree(&pages, root);
      std::map<std::string, std::string> pending = model;
      int ops = 1 + rng() % 40;
      for (int op = 0; op < ops; ++op) {
        std::string key = Key(rng() % 300);
        if (rng() % 10 < 6) {
          size_t size = rng() % 10 == 0 ? 1 + rng() % 5000 : rng() % 120;
          std::string value(size, static_cast<char>('a' + rng() % 26));
          ASSERT_TRUE(tree.Put(key, value).ok());
          pending[key] = value;
        } else {
          ASSERT_EQ(*tree.Delete(key), pending.erase(key) == 1);
        }
        std::string probe = Key(rng() % 300);
        auto got = tree.Get(probe);
        ASSERT_TRUE(got.ok());
        auto it = pending.find(probe);
        ASSERT_EQ(got->has_value(), it != pending.end());
        if (it != pending.end()) {
          ASSERT_EQ(**got, it->second);
        }
      }
      if (rng() % 4 == 0) continue;  // Abort: the committed tree must be untouched.
      model = pending;
      root = Commit(&pages, &tree);
      ASSERT_EQ(ScanForward(&pages, root), model) << "seed " << seed;
      std::vector<std::string> backward = ScanBackward(&pages, root);
      ASSERT_EQ(backward.size(), model.size());
      ASSERT_TRUE(std::equal(backward.begin(), backward.end(), model.rbegin(),
                             [](const std::string& a, const auto& kv) { return a == kv.first; }));
    }
  }
}

TEST(TreeTest, SeekAndSeekForPrev) {
  MemPages pages(1024);
  WriteTree tree(&pages, PageRef{});
  for (int i = 0; i < 400; i += 2) ASSERT_TRUE(tree.Put(Key(i), "v").ok());
  PageRef root = Commit(&pages, &tree);
  Cursor cursor(&pages, TreeRoot::OnDisk(root));
  for (int i = -1; i < 402; ++i) {
    std::string target = i < 0 ? "" : Key(i);
    ASSERT_TRUE(cursor.Seek(target).ok());
    int expected = i < 0 ? 0 : (i % 2 == 0 ? i : i + 1);
    if (expected >= 400) {
      EXPECT_FALSE(cursor.Valid()) << i;
    } else {
      ASSERT_TRUE(cursor.Valid()) << i;
      EXPECT_EQ(cursor.key(), Key(expected));
    }
    ASSERT_TRUE(cursor.SeekForPrev(target).ok());
    int expected_prev = i < 0 ? -1 : (i % 2 == 0 ? i : i - 1);
    if (expected_prev >= 400) expected_prev = 398;
    if (expected_prev < 0) {
      EXPECT_FALSE(cursor.Valid()) << i;
    } else {
      ASSERT_TRUE(cursor.Valid()) << i;
      EXPECT_EQ(cursor.key(), Key(expected_prev));
    }
  }
}

TEST(TreeTest, CommittedPagesAreNeverModified) {
  MemPages pages(1024);
  WriteTree first(&pages, PageRef{});
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(first.Put(Key(i), std::string(30, 'x')).ok());
  PageRef root = Commit(&pages, &first);
  std::map<uint64_t, std::string> before = pages.pages();
  WriteTree second(&pages, root);
  for (int i = 0; i < 200; i += 3) ASSERT_TRUE(second.Put(Key(i), "changed").ok());
  for (int i = 1; i < 200; i += 3) ASSERT_TRUE(*second.Delete(Key(i)));
  ASSERT_TRUE(second.Flush(&pages).ok());
  for (const auto& [id, image] : before) EXPECT_EQ(pages.pages().at(id), image) << "page " << id;
  // The old root still reads the old contents (a snapshot).
  EXPECT_EQ(**TreeGet(&pages, TreeRoot::OnDisk(root), Key(1)), std::string(30, 'x'));
}

TEST(TreeTest, DetectsStaleAndCorruptPages) {
  MemPages pages(1024);
  WriteTree tree(&pages, PageRef{});
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(tree.Put(Key(i), "value").ok());
  PageRef root = Commit(&pages, &tree);
  PageRef stale = root;
  stale.crc ^= 1;
  EXPECT_TRUE(TreeGet(&pages, TreeRoot::OnDisk(stale), Key(1)).status().IsCorruption());
  pages.pages()[root.page_id][100] ^= 0x40;
  Status status = TreeGet(&pages, TreeRoot::OnDisk(root), Key(1)).status();
  EXPECT_TRUE(status.IsCorruption());
  EXPECT_NE(status.message().find("checksum"), std::string::npos) << status.message();
}

TEST(TreeTest, LargeValuesUseOverflowPagesAndAreFreed) {
  MemPages pages(1024);
  WriteTree tree(&pages, PageRef{});
  std::string big(10000, 'b');
  ASSERT_TRUE(tree.Put("big", big).ok());
  EXPECT_EQ(**tree.Get("big"), big);  // Readable before it is written.
  PageRef root = Commit(&pages, &tree);
  EXPECT_GE(pages.live().size(), 11u);
  EXPECT_EQ(**TreeGet(&pages, TreeRoot::OnDisk(root), "big"), big);
  WriteTree replace(&pages, root);
  ASSERT_TRUE(replace.Put("big", "small").ok());
  root = Commit(&pages, &replace);
  EXPECT_EQ(pages.live().size(), 1u);
  EXPECT_EQ(**TreeGet(&pages, TreeRoot::OnDisk(root), "big"), "small");
}

}  // namespace
}  // namespace manifold::btree
