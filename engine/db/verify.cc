// The integrity checker behind DB::VerifyIntegrity. It re-reads every reachable page from the
// file, checks the invariants of docs/design.md, and accounts for every page below the
// high-water mark: each is used exactly once or free (I5).
#include <optional>
#include <string>
#include <vector>

#include "engine/db/db_impl.h"

namespace manifold {
namespace {

constexpr size_t kProblemsMax = 100;

class Checker {
 public:
  Checker(Pager* pager, const Version& version, IntegrityReport* report)
      : pager_(pager), version_(version), report_(report), owners_(version.page_count, kNobody) {}

  void Run() {
    std::vector<std::pair<std::string, std::string>> catalog_entries;
    CheckTree("catalog", version_.catalog, &catalog_entries);
    CheckCatalog(catalog_entries);
    for (const auto& [name, state] : version_.column_families) {
      CheckTree("column family '" + name + "'", state.root, nullptr);
    }
    report_->column_families = version_.column_families.size() + 1;
    CheckFreeList();
    CheckEveryPageAccounted();
  }

 private:
  struct Bounds {
    std::optional<std::string> lower;  // Inclusive.
    std::optional<std::string> upper;  // Exclusive.
  };

  void Problem(std::string text) {
    if (report_->problems.size() < kProblemsMax) report_->problems.push_back(std::move(text));
    ++problems_;
  }

  // Records that `run` belongs to `owner`; each page may belong to one owner only.
  void Claim(const btree::PageRun& run, const std::string& owner) {
    for (uint64_t page = run.first; page < run.first + run.count; ++page) {
      if (page < btree::kFirstDataPage || page >= version_.page_count) {
        Problem(owner + " uses page " + std::to_string(page) + " outside [2, " +
                std::to_string(version_.page_count) + ")");
        return;
      }
      if (owners_[page] != kNobody) {
        Problem("page " + std::to_string(page) + " is used by " + owner + " and by " +
                owner_names_[owners_[page]]);
        continue;
      }
      owners_[page] = OwnerId(owner);
    }
  }

  void CheckTree(const std::string& owner, const btree::PageRef& root,
                 std::vector<std::pair<std::string, std::string>>* entries) {
    if (root.empty()) return;
    leaf_depth_.reset();
    CheckNode(owner, root, Bounds{}, 0, entries);
  }

  void CheckNode(const std::string& owner, const btree::PageRef& ref, const Bounds& bounds,
                 int depth, std::vector<std::pair<std::string, std::string>>* entries) {
    const std::string where = owner + ", page " + std::to_string(ref.page_id);
    Claim(btree::PageRun{ref.page_id, 1}, owner);
    StatusOr<btree::MutableNodePtr> loaded = pager_->LoadNode(ref);
    ++report_->pages_checked;
    if (!loaded.ok()) return Problem(loaded.status().ToString());
    const btree::Node& node = **loaded;
    if (node.EncodedBodyBytes() > pager_->layout().body_bytes()) {
      Problem(where + ": node body exceeds the page (I6)");
    }
    CheckKeyOrder(where, node, bounds);
    if (node.leaf) return CheckLeaf(owner, where, node, depth, entries);
    if (node.children.size() < 2) Problem(where + ": internal node with fewer than 2 children");
    for (size_t i = 0; i < node.children.size(); ++i) {
      Bounds child_bounds;
      child_bounds.lower =
          i == 0 ? bounds.lower : std::optional<std::string>(node.keys[i - 1].ToString());
      child_bounds.upper = i + 1 == node.children.size()
                               ? bounds.upper
                               : std::optional<std::string>(node.keys[i].ToString());
      CheckNode(owner, node.children[i].page, child_bounds, depth + 1, entries);
    }
  }

  void CheckKeyOrder(const std::string& where, const btree::Node& node, const Bounds& bounds) {
    for (size_t i = 0; i < node.keys.size(); ++i) {
      if (i > 0 && !(node.keys[i - 1] < node.keys[i])) {
        Problem(where + ": keys out of order at entry " + std::to_string(i));
      }
      if ((bounds.lower && node.keys[i].view() < *bounds.lower) ||
          (bounds.upper && node.keys[i].view() >= *bounds.upper)) {
        Problem(where + ": key at entry " + std::to_string(i) +
                " lies outside the range its parent assigns");
      }
    }
  }

  void CheckLeaf(const std::string& owner, const std::string& where, const btree::Node& node,
                 int depth, std::vector<std::pair<std::string, std::string>>* entries) {
    if (!leaf_depth_.has_value()) leaf_depth_ = depth;
    if (*leaf_depth_ != depth)
      Problem(where + ": leaf at depth " + std::to_string(depth) + ", other leaves at " +
              std::to_string(*leaf_depth_));
    if (node.keys.empty()) Problem(where + ": empty leaf");
    for (size_t i = 0; i < node.keys.size(); ++i) {
      ++report_->entries_checked;
      const btree::LeafValue& value = node.values[i];
      std::string bytes = value.bytes.ToString();
      if (value.large) {
        const uint64_t pages = pager_->layout().OverflowPages(value.value_bytes);
        Claim(btree::PageRun{value.overflow.page_id, pages}, owner + " (large value)");
        report_->pages_checked += pages;
        StatusOr<std::string> loaded = pager_->LoadLargeValue(value);
        if (!loaded.ok()) {
          Problem(loaded.status().ToString());
          continue;
        }
        bytes = std::move(loaded).value();
      }
      if (entries != nullptr) entries->emplace_back(node.keys[i], std::move(bytes));
    }
  }

  void CheckCatalog(const std::vector<std::pair<std::string, std::string>>& entries) {
    if (entries.size() != version_.column_families.size()) {
      Problem("catalog holds " + std::to_string(entries.size()) + " column families, expected " +
              std::to_string(version_.column_families.size()));
    }
    for (const auto& [name, record] : entries) {
      StatusOr<ColumnFamilyState> state = DecodeColumnFamilyRecord(record);
      const ColumnFamilyState* expected = version_.Find(name);
      if (!state.ok()) {
        Problem("catalog entry '" + name + "': " + state.status().ToString());
      } else if (expected == nullptr || expected->root != state->root ||
                 expected->id != state->id) {
        Problem("catalog entry '" + name + "' differs from the open database's view");
      }
    }
    if (version_.Find(kDefaultColumnFamily) == nullptr) {
      Problem("the default column family is missing");
    }
  }

  void CheckFreeList() {
    std::vector<btree::PageRun> runs;
    std::vector<uint64_t> chain;
    Status status = pager_->ReadFreeList(version_.free_list, &runs, &chain);
    report_->pages_checked += chain.size();
    if (!status.ok()) return Problem(status.ToString());
    for (uint64_t page : chain) Claim(btree::PageRun{page, 1}, "the free-list chain");
    for (const btree::PageRun& run : runs) Claim(run, "the free list");
  }

  void CheckEveryPageAccounted() {
    uint64_t leaked = 0;
    for (uint64_t page = btree::kFirstDataPage; page < version_.page_count; ++page) {
      if (owners_[page] != kNobody) continue;
      if (leaked++ < 10) Problem("page " + std::to_string(page) + " is neither used nor free");
    }
    if (leaked > 10) Problem(std::to_string(leaked) + " pages in all are neither used nor free");
  }

  Pager* pager_;
  const Version& version_;
  IntegrityReport* report_;
  uint32_t OwnerId(const std::string& owner) {
    if (owner_names_.empty() || owner_names_.back() != owner) owner_names_.push_back(owner);
    return static_cast<uint32_t>(owner_names_.size() - 1);
  }

  static constexpr uint32_t kNobody = UINT32_MAX;
  std::vector<uint32_t> owners_;          // Page id -> index into owner_names_, or kNobody.
  std::vector<std::string> owner_names_;  // Who uses pages: a tree, the free list...
  std::optional<int> leaf_depth_;
  uint64_t problems_ = 0;
};

}  // namespace

Status VerifyVersion(Pager* uncached, const Version& version, IntegrityReport* report) {
  Checker checker(uncached, version, report);
  checker.Run();
  if (report->problems.empty()) return Status::OK();
  return Status::Corruption(report->problems.front() + " (" +
                            std::to_string(report->problems.size()) + " problem(s) found)");
}

}  // namespace manifold
