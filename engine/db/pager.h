// The data file: page I/O with checksums, the two header slots, the persisted free list, and the
// page allocator. docs/design.md gives the byte layout of each.
#ifndef MANIFOLD_DB_PAGER_H_
#define MANIFOLD_DB_PAGER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/btree/page.h"
#include "engine/btree/tree.h"
#include "engine/db/page_cache.h"
#include "engine/port/atomic.h"
#include "engine/util/shared_bytes.h"
#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold {

// The contents of one header slot (pages 0 and 1). The valid slot with the highest
// checkpoint_count is the database's committed state (invariant I2); the sequence number is not
// the tie-breaker, because a checkpoint that moves only the log head keeps the sequence.
struct HeaderSlot {
  uint64_t sequence = 0;          // Sequence number of the last commit the checkpoint holds.
  uint32_t page_bytes = 0;        // Page size, fixed at creation.
  uint64_t page_count = 0;        // Pages in use or free: [0, page_count). The file may be larger.
  btree::PageRef catalog;         // Root of the catalog tree (column family name -> record).
  btree::PageRef free_list;       // First page of the free-list chain, or none.
  uint64_t free_list_pages = 0;   // Pages in the free-list chain.
  uint32_t next_cf_id = 1;        // Id for the next column family created.
  uint64_t checkpoint_count = 0;  // Checkpoints written so far; slot = checkpoint_count % 2.
  // The log head (I21): the segment that holds, or will receive, record sequence + 1. Its file
  // exists and is durable before the slot is written.
  uint64_t log_head = 0;
};

inline constexpr char kHeaderMagic[8] = {'M', 'N', 'F', 'L', 'D', 'B', '0', '1'};
// Byte offset of the page-size field in a header slot (see docs/design.md).
inline constexpr size_t kHeaderPageBytesOffset = 36;
// Byte offset of the format-version field in a header slot.
inline constexpr size_t kHeaderFormatVersionOffset = 32;
// 3: control records in the log and the log head in the header slot (I20-I23). 4: slotted leaf
// and internal pages searched in place (I40, I41). Earlier versions are refused with NotSupported.
inline constexpr uint32_t kFormatVersion = 4;

// The header page (0 or 1) that holds the commit with `sequence` (I2: slots alternate).
inline uint64_t HeaderSlotPage(uint64_t sequence) { return sequence % 2; }

// Encodes `slot` as a sealed header page of slot.page_bytes bytes, for page `slot_page`.
std::string EncodeHeaderSlot(const HeaderSlot& slot, uint64_t slot_page);
// True when `page`, read from header slot `slot_index`, shows another page's write: a valid
// page that is not this slot, or a torn page whose type byte is a tree, overflow or free-list
// type. A never-written slot (zeros) or a torn write of the slot itself does not count, nor does
// the slot's own write with a garbled type byte (its first sector still holds this slot's page
// id, the header magic and the page size).
bool HoldsForeignPage(const char* page, uint32_t page_bytes, uint64_t slot_index);

// Decodes the header page stored at `slot_index` (0 or 1) of a file with pages of `page_bytes`.
[[nodiscard]] StatusOr<HeaderSlot> DecodeHeaderSlot(const char* page, uint32_t page_bytes,
                                                    uint64_t slot_index, std::string_view where);

// Free pages, pages freed by commits that snapshots may still read, and the high-water mark.
// Guarded by the database's commit lock.
class PageAllocator {
 public:
  PageAllocator() = default;
  PageAllocator(uint64_t page_count, uint64_t page_count_max)
      : page_count_(page_count), page_count_max_(page_count_max) {}

  // Marks a run free now (used when loading the persisted list).
  void AddFree(const btree::PageRun& run);
  // Records that commit `sequence` stopped using `run`; reusable once no snapshot older than
  // `sequence` exists (invariant I4).
  void FreeAt(uint64_t sequence, const btree::PageRun& run);
  // Moves what was freed at `from` to `to` (a checkpoint's merge frees at a placeholder
  // sequence until it knows the newest version still reading the old tree, I37).
  void Defer(uint64_t from, uint64_t to);
  // Makes reusable every run freed by commits <= `oldest_live_sequence`.
  void Release(uint64_t oldest_live_sequence);
  // `count` contiguous pages: the first free run that fits, else new pages at the end.
  [[nodiscard]] StatusOr<uint64_t> Allocate(uint64_t count);

  // Brackets one commit's allocations and frees, so that a commit that fails before writing can
  // be undone without copying the allocator: Rollback returns every page allocated since
  // BeginCommit and forgets what `sequence` freed. (Release is never undone: what it made
  // reusable stays reusable.)
  void BeginCommit();
  void Rollback(uint64_t sequence);

  // Everything that is free once the current commit is durable and no snapshot remains: the free
  // runs and the pending ones, merged. This is what the free list persists.
  std::vector<btree::PageRun> PersistableRuns() const;
  uint64_t page_count() const { return page_count_; }
  uint64_t free_pages() const;
  uint64_t pending_pages() const;

 private:
  static void Insert(std::map<uint64_t, uint64_t>* runs, btree::PageRun run);

  std::map<uint64_t, uint64_t> free_;                        // first page -> count, coalesced.
  std::map<uint64_t, std::vector<btree::PageRun>> pending_;  // sequence -> runs it freed.
  uint64_t page_count_ = btree::kFirstDataPage;
  uint64_t page_count_max_ = UINT64_MAX;
  // Since BeginCommit: the page count then, and the runs taken from free_.
  uint64_t commit_page_count_ = 0;
  std::vector<btree::PageRun> commit_taken_;
  std::vector<uint64_t> commit_freed_;  // The sequence of each FreeAt since BeginCommit.
};

// Runs stored per free-list page, for a page size.
size_t FreeListRunsPerPage(uint32_t page_bytes);

struct PagerStats {
  port::Atomic<uint64_t> pages_read{0};
  port::Atomic<uint64_t> pages_written{0};
  port::Atomic<uint64_t> bytes_read{0};
  port::Atomic<uint64_t> bytes_written{0};
  port::Atomic<uint64_t> syncs{0};
  port::Atomic<uint64_t> read_retries{0};
};

// Reads and writes pages of the data file. Thread-safe for reads; writes come from the commit
// path only.
class Pager : public btree::NodeSource {
 public:
  Pager(std::unique_ptr<File> file, std::string path, uint32_t page_bytes, uint64_t cache_bytes_max,
        bool use_cache);

  // Cache hit, or one read from disk checked in full (I40) and then cached.
  StatusOr<SharedBytes> LoadPage(const btree::PageRef& ref) override;
  StatusOr<std::string> LoadLargeValue(const btree::LeafValue& value) override;
  const btree::Layout& layout() const override { return layout_; }

  // Reads `count` pages starting at `first` into `out`, without checking them.
  [[nodiscard]] Status ReadPages(uint64_t first, uint64_t count, std::string* out);
  [[nodiscard]] Status ReadPagesInto(uint64_t first, uint64_t count, char* out);
  // Reads pages and runs `check` on them. A failed check is retried once with a fresh read, so a
  // transient error on the way from the device (a flipped bit in transit) is not reported as
  // corruption; damage that is really on disk fails both times and is reported.
  [[nodiscard]] Status ReadChecked(uint64_t first, uint64_t count,
                                   const std::function<Status(const std::string&)>& check,
                                   std::string* out);
  // Writes page images (each page_bytes long) keyed by page id, coalescing adjacent pages.
  [[nodiscard]] Status WritePages(const std::map<uint64_t, SharedBytes>& pages);
  // The same for a few pages built as strings (header slots).
  [[nodiscard]] Status WritePages(const std::map<uint64_t, std::string>& pages);
  // Makes sure the file has room for `page_count` pages, growing by `growth_bytes` steps.
  [[nodiscard]] Status Reserve(uint64_t page_count, uint64_t growth_bytes);
  [[nodiscard]] Status Sync();
  // Reads the free-list chain starting at `head`.
  [[nodiscard]] Status ReadFreeList(const btree::PageRef& head, std::vector<btree::PageRun>* runs,
                                    std::vector<uint64_t>* chain_pages);

  PageCache* cache() { return cache_.get(); }
  // Checks the overflow pages of `value` (read into `pages`) and concatenates their payload.
  [[nodiscard]] Status AssembleLargeValue(const btree::LeafValue& value, const std::string& pages,
                                          std::string* out) const;
  PagerStats& stats() { return stats_; }
  const std::string& path() const { return path_; }
  File* file() { return file_.get(); }
  [[nodiscard]] StatusOr<uint64_t> FileBytes() const { return file_->Size(); }

 private:
  std::unique_ptr<File> file_;
  std::string path_;
  btree::Layout layout_;
  std::unique_ptr<PageCache> cache_;  // Null when reads must bypass the cache (verification).
  PagerStats stats_;
  uint64_t reserved_bytes_ = 0;  // Commit path only.
};

// Collects one commit's page images; implements the tree's PageSink. A checkpoint's writer also
// writes them out itself (I49): whenever it holds held_bytes_max bytes of images, before it
// makes another, and on WriteHeld. Once written, a tree page's image goes to the page cache,
// which admits it within its bound (I42), and the writer drops it: it never holds more than
// held_bytes_max of its output, however much the checkpoint writes.
class CommitWriter : public btree::PageSink {
 public:
  // Holds every image until the caller writes pages() itself (a new database's first pages).
  CommitWriter(PageAllocator* allocator, const btree::Layout& layout, uint64_t sequence)
      : allocator_(allocator), layout_(layout), sequence_(sequence) {}
  // Writes through `pager` (growing its file in growth_bytes steps) once it holds held_bytes_max
  // bytes of images; at least one page.
  CommitWriter(Pager* pager, PageAllocator* allocator, uint64_t sequence, uint64_t held_bytes_max,
               uint64_t growth_bytes)
      : pager_(pager),
        allocator_(allocator),
        layout_(pager->layout()),
        sequence_(sequence),
        held_bytes_max_(std::max<uint64_t>(held_bytes_max, pager->layout().page_bytes)),
        growth_bytes_(growth_bytes) {}

  StatusOr<uint64_t> AllocatePages(uint64_t count) override;
  StatusOr<uint32_t> WriteNode(uint64_t page_id, btree::NodePtr node) override;
  Status WriteLargeValue(uint64_t first_page, std::string_view value) override;

  // Allocates and encodes the free-list chain for what the allocator will persist, after freeing
  // the previous chain. Returns the new head.
  [[nodiscard]] StatusOr<btree::PageRef> WriteFreeList(const std::vector<uint64_t>& old_chain,
                                                       std::vector<uint64_t>* new_chain);

  // Writes every image held (growing the file first), hands the tree pages' images to the page
  // cache and drops them (a writer made with a pager only). After it, every page this writer
  // made can be read back through the pager, from the cache or the file.
  [[nodiscard]] Status WriteHeld();
  // The images held (not written yet).
  const std::map<uint64_t, SharedBytes>& pages() const { return pages_; }
  uint64_t held_bytes() const { return pages_.size() * uint64_t{layout_.page_bytes}; }
  uint64_t held_bytes_max() const { return held_bytes_max_; }
  // True once one of this writer's page writes failed: the file may hold part of them (I8).
  bool write_failed() const { return write_failed_; }

 private:
  // A zero-filled page image for `page_id`, to be filled and sealed in place; first writes out
  // what is held if that reached held_bytes_max.
  StatusOr<char*> NewPage(uint64_t page_id);

  Pager* pager_ = nullptr;
  PageAllocator* allocator_;
  btree::Layout layout_;
  uint64_t sequence_;
  uint64_t held_bytes_max_ = UINT64_MAX;
  uint64_t growth_bytes_ = 0;
  bool write_failed_ = false;
  std::map<uint64_t, SharedBytes> pages_;
  // The tree pages among pages_ (their refs, for the cache).
  std::vector<btree::PageRef> nodes_;
  // Pages written out already (I5: one commit writes each page once).
  std::set<uint64_t> written_;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_PAGER_H_
