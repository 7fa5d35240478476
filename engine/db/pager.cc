#include "engine/db/pager.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "engine/btree/node_page.h"
#include "engine/util/check.h"
#include "engine/util/coding.h"
#include "engine/util/crc32c.h"
#include "engine/util/fault_point.h"

namespace manifold {
namespace {

using btree::kPageHeaderBytes;
using btree::PageRef;
using btree::PageRun;
using btree::PageType;

// Header slot body offsets (after the 24-byte page header).
constexpr size_t kMagicOffset = 24;
constexpr size_t kVersionOffset = kHeaderFormatVersionOffset;
constexpr size_t kPageBytesOffset = kHeaderPageBytesOffset;
constexpr size_t kPageCountOffset = 40;
constexpr size_t kCatalogOffset = 48;
constexpr size_t kFreeListOffset = 60;
constexpr size_t kFreeListPagesOffset = 72;
constexpr size_t kNextCfIdOffset = 80;
constexpr size_t kCheckpointCountOffset = 84;
constexpr size_t kLogHeadOffset = 92;

// Free-list page body: next page (u64), next crc (u32), then runs of (u64 first, u32 count).
constexpr size_t kFreeListNextOffset = 24;
constexpr size_t kFreeListRunsOffset = 36;
constexpr size_t kFreeListRunBytes = 12;
constexpr uint64_t kRunCountMax = UINT32_MAX;

std::string Where(const std::string& path, uint64_t page_id, uint32_t page_bytes) {
  return "page " + std::to_string(page_id) + " at offset " + std::to_string(page_id * page_bytes) +
         " in " + path;
}

}  // namespace

std::string EncodeHeaderSlot(const HeaderSlot& slot, uint64_t slot_page) {
  std::string page(slot.page_bytes, '\0');
  char* p = page.data();
  std::memcpy(p + kMagicOffset, kHeaderMagic, sizeof(kHeaderMagic));
  EncodeFixed32(p + kVersionOffset, kFormatVersion);
  EncodeFixed32(p + kPageBytesOffset, slot.page_bytes);
  EncodeFixed64(p + kPageCountOffset, slot.page_count);
  EncodeFixed64(p + kCatalogOffset, slot.catalog.page_id);
  EncodeFixed32(p + kCatalogOffset + 8, slot.catalog.crc);
  EncodeFixed64(p + kFreeListOffset, slot.free_list.page_id);
  EncodeFixed32(p + kFreeListOffset + 8, slot.free_list.crc);
  EncodeFixed64(p + kFreeListPagesOffset, slot.free_list_pages);
  EncodeFixed32(p + kNextCfIdOffset, slot.next_cf_id);
  EncodeFixed64(p + kCheckpointCountOffset, slot.checkpoint_count);
  EncodeFixed64(p + kLogHeadOffset, slot.log_head);
  btree::SealPage(p, slot.page_bytes, PageType::kHeader, 0, slot_page, slot.sequence);
  return page;
}

bool HoldsForeignPage(const char* page, uint32_t page_bytes, uint64_t slot_index) {
  const PageType type = btree::PageTypeOf(page);
  // A whole page with a valid checksum that is not this slot: another page's write landed here.
  if (btree::PageCrcOf(page) == btree::MaskCrc(crc32c::Value(page + 4, page_bytes - 4))) {
    return DecodeFixed64(page + 8) != slot_index || type != PageType::kHeader;
  }
  // A torn one: the slot's own writes (and a never-written slot, all zeros) only ever put a
  // header type or zero in the type byte, so a tree, overflow or free-list type came from
  // another page's write.
  const bool foreign_type = type == PageType::kLeaf || type == PageType::kInternal ||
                            type == PageType::kOverflow || type == PageType::kFreeList;
  if (!foreign_type) return false;
  // Unless the type byte itself is what was damaged: a power cut may garble an unsynced sector of
  // the slot's own write, its other sectors lost or garbled too (a flipped bit turns kHeader into
  // kInternal or kFreeList; storage seed 480 in the simulator). Its first sector still names this
  // slot and carries the header magic and page size, which another page's sector, landed whole,
  // never does (its page id is its own, its body starts at byte 24). So it is the slot's own
  // unacknowledged write, passed over like any torn slot (I12). A foreign write torn before its
  // page id (under 16 bytes landed) would read the same way: sectors land whole or not at all on
  // most devices, and the simulator never tears a misdirected write.
  const bool own_write =
      DecodeFixed64(page + 8) == slot_index &&
      std::memcmp(page + kMagicOffset, kHeaderMagic, sizeof(kHeaderMagic)) == 0 &&
      DecodeFixed32(page + kPageBytesOffset) == page_bytes;
  return !own_write;
}

StatusOr<HeaderSlot> DecodeHeaderSlot(const char* page, uint32_t page_bytes, uint64_t slot_index,
                                      std::string_view where) {
  std::string at = "header slot " + std::to_string(slot_index) + " of " + std::string(where);
  if (std::memcmp(page + kMagicOffset, kHeaderMagic, sizeof(kHeaderMagic)) != 0) {
    return Status::Corruption(at + ": bad magic (not a Manifold data file?)");
  }
  if (DecodeFixed32(page + kPageBytesOffset) != page_bytes) {
    return Status::Corruption(at + ": page size field does not match");
  }
  MANIFOLD_RETURN_IF_ERROR(
      btree::VerifyPage(page, page_bytes, slot_index, PageType::kHeader, nullptr, where));
  if (DecodeFixed32(page + kVersionOffset) != kFormatVersion) {
    return Status::NotSupported(
        at + ": format version " + std::to_string(DecodeFixed32(page + kVersionOffset)) +
        ", but this build reads only version " + std::to_string(kFormatVersion) +
        " (open it with the build that wrote it)");
  }
  HeaderSlot slot;
  slot.sequence = btree::PageSequenceOf(page);
  slot.page_bytes = page_bytes;
  slot.page_count = DecodeFixed64(page + kPageCountOffset);
  slot.catalog =
      PageRef{DecodeFixed64(page + kCatalogOffset), DecodeFixed32(page + kCatalogOffset + 8)};
  slot.free_list =
      PageRef{DecodeFixed64(page + kFreeListOffset), DecodeFixed32(page + kFreeListOffset + 8)};
  slot.free_list_pages = DecodeFixed64(page + kFreeListPagesOffset);
  slot.next_cf_id = DecodeFixed32(page + kNextCfIdOffset);
  slot.checkpoint_count = DecodeFixed64(page + kCheckpointCountOffset);
  slot.log_head = DecodeFixed64(page + kLogHeadOffset);
  if (HeaderSlotPage(slot.checkpoint_count) != slot_index &&
      !MANIFOLD_PLANTED_BUG(planted_bug::kHeaderInPlace)) {
    return Status::Corruption(at + ": checkpoint " + std::to_string(slot.checkpoint_count) +
                              " does not belong in this slot");
  }
  if (slot.page_count < btree::kFirstDataPage) {
    return Status::Corruption(at + ": page count " + std::to_string(slot.page_count));
  }
  if (slot.log_head == 0) {
    return Status::Corruption(at + ": log head segment 0 (segments are numbered from 1)");
  }
  return slot;
}

// --- PageAllocator -------------------------------------------------------------------------

void PageAllocator::Insert(std::map<uint64_t, uint64_t>* runs, PageRun run) {
  assert(run.count > 0);
  auto next = runs->lower_bound(run.first);
  if (next != runs->begin()) {
    auto prev = std::prev(next);
    MANIFOLD_CHECK(prev->first + prev->second <= run.first, "I5: a page is never freed twice");
    if (prev->first + prev->second == run.first) {
      run.first = prev->first;
      run.count += prev->second;
      runs->erase(prev);
    }
  }
  if (next != runs->end()) {
    MANIFOLD_CHECK(run.first + run.count <= next->first, "I5: a page is never freed twice");
    if (run.first + run.count == next->first) {
      run.count += next->second;
      runs->erase(next);
    }
  }
  (*runs)[run.first] = run.count;
}

void PageAllocator::AddFree(const PageRun& run) { Insert(&free_, run); }

void PageAllocator::FreeAt(uint64_t sequence, const PageRun& run) {
  MANIFOLD_CHECK(run.first >= btree::kFirstDataPage && run.first + run.count <= page_count_,
                 "I5: only data pages below the high-water mark are freed");
  pending_[sequence].push_back(run);
  commit_freed_.push_back(sequence);
}

void PageAllocator::Defer(uint64_t from, uint64_t to) {
  auto it = pending_.find(from);
  if (it == pending_.end()) return;
  std::vector<PageRun> runs = std::move(it->second);
  pending_.erase(it);
  std::vector<PageRun>& into = pending_[to];
  into.insert(into.end(), runs.begin(), runs.end());
}

void PageAllocator::Release(uint64_t oldest_live_sequence) {
  while (!pending_.empty() && pending_.begin()->first <= oldest_live_sequence) {
    for (const PageRun& run : pending_.begin()->second) Insert(&free_, run);
    pending_.erase(pending_.begin());
  }
}

StatusOr<uint64_t> PageAllocator::Allocate(uint64_t count) {
  assert(count > 0);
  if (MANIFOLD_FAULT(fault_point::kAllocatorNoSpace)) {
    return Status::NoSpace("injected fault: page allocation of " + std::to_string(count) +
                           " pages failed");
  }
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    if (it->second < count) continue;
    uint64_t first = it->first;
    uint64_t rest = it->second - count;
    free_.erase(it);
    if (rest > 0) free_[first + count] = rest;  // Taking the front never splits a run in two.
    commit_taken_.push_back(PageRun{first, count});
    return first;
  }
  if (page_count_ + count > page_count_max_) {
    return Status::NoSpace("data file would exceed file_bytes_max (" +
                           std::to_string(page_count_max_) + " pages)");
  }
  uint64_t first = page_count_;
  page_count_ += count;
  return first;
}

void PageAllocator::BeginCommit() {
  commit_page_count_ = page_count_;
  commit_taken_.clear();
  commit_freed_.clear();
}

void PageAllocator::Rollback(uint64_t sequence) {
  for (const PageRun& run : commit_taken_) Insert(&free_, run);
  commit_taken_.clear();
  page_count_ = commit_page_count_;
  // Forgets exactly what was freed since BeginCommit (at `sequence` or a placeholder such as a
  // merge's, I37), not runs an earlier checkpoint deferred to the same sequence number.
  (void)sequence;
  for (auto it = commit_freed_.rbegin(); it != commit_freed_.rend(); ++it) {
    auto runs = pending_.find(*it);
    MANIFOLD_CHECK(runs != pending_.end() && !runs->second.empty(),
                   "I5: a rolled-back commit's frees are still pending");
    runs->second.pop_back();
    if (runs->second.empty()) pending_.erase(runs);
  }
  commit_freed_.clear();
}

std::vector<PageRun> PageAllocator::PersistableRuns() const {
  // A linear merge of the (sorted, coalesced) free runs with the sorted pending ones: this runs
  // once per free-list page a checkpoint allocates, and copying the map each time dominated
  // checkpoints of fragmented files (the bulk-load profile in bench/README.md).
  std::vector<PageRun> pending;
  for (const auto& [sequence, runs] : pending_)
    pending.insert(pending.end(), runs.begin(), runs.end());
  std::sort(pending.begin(), pending.end(),
            [](const PageRun& a, const PageRun& b) { return a.first < b.first; });
  std::vector<PageRun> merged;
  merged.reserve(free_.size() + pending.size());
  auto append = [&merged](PageRun run) {
    if (!merged.empty()) {
      PageRun& last = merged.back();
      MANIFOLD_CHECK(last.first + last.count <= run.first, "I5: a page is never freed twice");
      if (last.first + last.count == run.first) {
        last.count += run.count;
        return;
      }
    }
    merged.push_back(run);
  };
  auto free_it = free_.begin();
  auto pending_it = pending.begin();
  while (free_it != free_.end() || pending_it != pending.end()) {
    if (pending_it == pending.end() ||
        (free_it != free_.end() && free_it->first < pending_it->first)) {
      append(PageRun{free_it->first, free_it->second});
      ++free_it;
    } else {
      append(*pending_it++);
    }
  }
  std::vector<PageRun> out;
  out.reserve(merged.size());
  for (const PageRun& run : merged) {
    // Runs longer than a u32 are stored in pieces.
    for (uint64_t done = 0; done < run.count; done += kRunCountMax) {
      out.push_back(PageRun{run.first + done, std::min(run.count - done, kRunCountMax)});
    }
  }
  return out;
}

uint64_t PageAllocator::free_pages() const {
  uint64_t total = 0;
  for (const auto& [first, count] : free_) total += count;
  return total;
}

uint64_t PageAllocator::pending_pages() const {
  uint64_t total = 0;
  for (const auto& [sequence, runs] : pending_) {
    for (const PageRun& run : runs) total += run.count;
  }
  return total;
}

size_t FreeListRunsPerPage(uint32_t page_bytes) {
  return (page_bytes - kFreeListRunsOffset) / kFreeListRunBytes;
}

// --- Pager ---------------------------------------------------------------------------------

Pager::Pager(std::unique_ptr<File> file, std::string path, uint32_t page_bytes,
             uint64_t cache_bytes_max, bool use_cache)
    : file_(std::move(file)), path_(std::move(path)) {
  layout_.page_bytes = page_bytes;
  if (use_cache) cache_ = std::make_unique<PageCache>(cache_bytes_max);
}

Status Pager::ReadPages(uint64_t first, uint64_t count, std::string* out) {
  out->resize(count * layout_.page_bytes);
  return ReadPagesInto(first, count, out->data());
}

Status Pager::ReadPagesInto(uint64_t first, uint64_t count, char* out) {
  const uint64_t bytes = count * layout_.page_bytes;
  MANIFOLD_ASSIGN_OR_RETURN(size_t got, file_->Read(first * layout_.page_bytes, bytes, out));
  if (MANIFOLD_FAULT(fault_point::kPagerShortRead)) got /= 2;
  stats_.pages_read += count;
  stats_.bytes_read += got;
  if (got != bytes) {
    return Status::Corruption(Where(path_, first, layout_.page_bytes) + ": short read of " +
                              std::to_string(count) + " pages (" + std::to_string(got) + " of " +
                              std::to_string(bytes) + " bytes; file truncated?)");
  }
  return Status::OK();
}

Status Pager::ReadChecked(uint64_t first, uint64_t count,
                          const std::function<Status(const std::string&)>& check,
                          std::string* out) {
  Status status = ReadPages(first, count, out);
  if (status.ok()) status = check(*out);
  if (status.ok() || status.code() != StatusCode::kCorruption) return status;
  ++stats_.read_retries;
  MANIFOLD_RETURN_IF_ERROR(ReadPages(first, count, out));
  return check(*out);
}

StatusOr<SharedBytes> Pager::LoadPage(const PageRef& ref) {
  if (cache_ != nullptr) {
    SharedBytes hit = cache_->Lookup(ref);  // The cache counts hits and misses.
    if (!hit.empty()) return hit;
  }
  // Read straight into the buffer the cache and the readers share: no copy of the page.
  char* data = nullptr;
  SharedBytes image = SharedBytes::Allocate(layout_.page_bytes, &data, /*zero=*/false);
  auto check = [&]() -> Status {
    PageType type = btree::PageTypeOf(data);
    if (type != PageType::kInternal) type = PageType::kLeaf;  // VerifyPage reports others.
    // I40: checksum, page id, type and the parent's record (I3), then the slotted structure,
    // once per read from disk; a cached image is trusted from here on.
    MANIFOLD_RETURN_IF_ERROR(
        btree::VerifyPage(data, layout_.page_bytes, ref.page_id, type, &ref.crc, path_));
    return btree::ValidateNodePage(data, layout_, ref.page_id, path_);
  };
  // As ReadChecked: a failed check is retried once with a fresh read.
  Status status = ReadPagesInto(ref.page_id, 1, data);
  if (status.ok()) status = check();
  if (!status.ok() && status.code() == StatusCode::kCorruption) {
    ++stats_.read_retries;
    MANIFOLD_RETURN_IF_ERROR(ReadPagesInto(ref.page_id, 1, data));
    status = check();
  }
  MANIFOLD_RETURN_IF_ERROR(status);
  if (cache_ != nullptr) cache_->Insert(ref, image);
  return image;
}

StatusOr<std::string> Pager::LoadLargeValue(const btree::LeafValue& value) {
  const uint64_t count = layout_.OverflowPages(value.value_bytes);
  std::string pages;
  std::string out;
  MANIFOLD_RETURN_IF_ERROR(ReadChecked(
      value.overflow.page_id, count,
      [&](const std::string& images) { return AssembleLargeValue(value, images, &out); }, &pages));
  return out;
}

Status Pager::AssembleLargeValue(const btree::LeafValue& value, const std::string& pages,
                                 std::string* value_out) const {
  const uint64_t count = layout_.OverflowPages(value.value_bytes);
  std::string& out = *value_out;
  out.clear();
  out.reserve(value.value_bytes);
  for (uint64_t i = 0; i < count; ++i) {
    const char* page = pages.data() + i * layout_.page_bytes;
    const uint64_t page_id = value.overflow.page_id + i;
    MANIFOLD_RETURN_IF_ERROR(
        btree::VerifyPage(page, layout_.page_bytes, page_id, PageType::kOverflow, nullptr, path_));
    size_t payload = btree::PageCountOf(page);
    if (payload > layout_.overflow_payload_bytes()) {
      return Status::Corruption(Where(path_, page_id, layout_.page_bytes) +
                                ": overflow payload length " + std::to_string(payload));
    }
    out.append(page + kPageHeaderBytes, payload);
  }
  const uint32_t crc = btree::MaskCrc(crc32c::Value(out.data(), out.size()));
  if (out.size() != value.value_bytes || crc != value.overflow.crc) {
    return Status::Corruption(Where(path_, value.overflow.page_id, layout_.page_bytes) +
                              ": large value of " + std::to_string(value.value_bytes) +
                              " bytes does not match its leaf's length and checksum");
  }
  return Status::OK();
}

Status Pager::WritePages(const std::map<uint64_t, std::string>& pages) {
  std::map<uint64_t, SharedBytes> shared;
  for (const auto& [page_id, image] : pages) shared.emplace(page_id, SharedBytes(image));
  return WritePages(shared);
}

Status Pager::WritePages(const std::map<uint64_t, SharedBytes>& pages) {
  // Adjacent pages go out as one write of at most kWriteRunBytesMax, assembled in one buffer
  // reserved up front: growing it page by page copied and page-faulted the whole checkpoint
  // again (the checkpoint profile in bench/README.md).
  constexpr size_t kWriteRunBytesMax = size_t{1} << 20;
  std::string run;
  run.reserve(std::min(kWriteRunBytesMax, pages.size() * layout_.page_bytes));
  uint64_t run_first = 0;
  auto flush = [&]() -> Status {
    if (run.empty()) return Status::OK();
    MANIFOLD_RETURN_IF_ERROR(file_->Write(run_first * layout_.page_bytes, run));
    stats_.pages_written += run.size() / layout_.page_bytes;
    stats_.bytes_written += run.size();
    run.clear();
    return Status::OK();
  };
  for (const auto& [page_id, image] : pages) {
    assert(image.size() == layout_.page_bytes);
    // I3, paired with the checksum check on every read: a page leaves memory sealed, with its
    // own id, so damage found later was done on the way to or on the disk, not before. The one
    // exception is header slot 1 of a new database, written as zeros (invalid until used).
    const bool zero_slot =
        page_id == 1 && image.view().find_first_not_of('\0') == std::string_view::npos;
    MANIFOLD_CHECK(
        zero_slot || (btree::PageCrcOf(image.data()) ==
                          btree::MaskCrc(crc32c::Value(image.data() + 4, image.size() - 4)) &&
                      DecodeFixed64(image.data() + 8) == page_id),
        "I3: every page written is sealed and carries its own page id");
    if (!run.empty() && (page_id != run_first + run.size() / layout_.page_bytes ||
                         run.size() + image.size() > kWriteRunBytesMax)) {
      MANIFOLD_RETURN_IF_ERROR(flush());
    }
    if (run.empty()) run_first = page_id;
    run += image.view();
  }
  return flush();
}

Status Pager::Reserve(uint64_t page_count, uint64_t growth_bytes) {
  const uint64_t needed = page_count * layout_.page_bytes;
  if (reserved_bytes_ == 0) {
    MANIFOLD_ASSIGN_OR_RETURN(reserved_bytes_, file_->Size());
  }
  if (needed <= reserved_bytes_) return Status::OK();
  if (MANIFOLD_FAULT(fault_point::kPagerReserveFail)) {
    return Status::NoSpace("injected fault: growing " + path_ + " to " + std::to_string(needed) +
                           " bytes failed");
  }
  const uint64_t step = std::max<uint64_t>(growth_bytes, layout_.page_bytes);
  const uint64_t target = (needed + step - 1) / step * step;
  MANIFOLD_RETURN_IF_ERROR(file_->Preallocate(reserved_bytes_, target - reserved_bytes_));
  reserved_bytes_ = target;
  return Status::OK();
}

Status Pager::Sync() {
  MANIFOLD_RETURN_IF_ERROR(file_->Sync());
  ++stats_.syncs;
  return Status::OK();
}

Status Pager::ReadFreeList(const PageRef& head, std::vector<PageRun>* runs,
                           std::vector<uint64_t>* chain_pages) {
  PageRef ref = head;
  std::string page;
  while (!ref.empty()) {
    if (chain_pages->size() > (UINT32_MAX / 2)) {
      return Status::Corruption(path_ + ": free-list chain does not end");
    }
    MANIFOLD_RETURN_IF_ERROR(ReadChecked(
        ref.page_id, 1,
        [&](const std::string& image) {
          return btree::VerifyPage(image.data(), layout_.page_bytes, ref.page_id,
                                   PageType::kFreeList, &ref.crc, path_);
        },
        &page));
    chain_pages->push_back(ref.page_id);
    const size_t count = btree::PageCountOf(page.data());
    if (count > FreeListRunsPerPage(layout_.page_bytes)) {
      return Status::Corruption(Where(path_, ref.page_id, layout_.page_bytes) +
                                ": free-list page claims " + std::to_string(count) + " runs");
    }
    const char* p = page.data() + kFreeListRunsOffset;
    for (size_t i = 0; i < count; ++i, p += kFreeListRunBytes) {
      runs->push_back(PageRun{DecodeFixed64(p), DecodeFixed32(p + 8)});
    }
    ref = PageRef{DecodeFixed64(page.data() + kFreeListNextOffset),
                  DecodeFixed32(page.data() + kFreeListNextOffset + 8)};
  }
  return Status::OK();
}

// --- CommitWriter --------------------------------------------------------------------------

StatusOr<uint64_t> CommitWriter::AllocatePages(uint64_t count) {
  return allocator_->Allocate(count);
}

StatusOr<char*> CommitWriter::NewPage(uint64_t page_id) {
  if (held_bytes() >= held_bytes_max_) MANIFOLD_RETURN_IF_ERROR(WriteHeld());
  MANIFOLD_CHECK(held_bytes() < held_bytes_max_,
                 "I49: a checkpoint holds at most held_bytes_max of its page images");
  SharedBytes& page = pages_[page_id];
  MANIFOLD_CHECK(page.empty() && written_.count(page_id) == 0,
                 "I5: one commit writes each page once");
  char* data = nullptr;
  page = SharedBytes::Allocate(layout_.page_bytes, &data);
  return data;
}

Status CommitWriter::WriteHeld() {
  MANIFOLD_CHECK(pager_ != nullptr, "only a checkpoint's writer writes its pages itself");
  if (pages_.empty()) return Status::OK();
  // The pages allocated so far may lie past the file's end.
  MANIFOLD_RETURN_IF_ERROR(pager_->Reserve(allocator_->page_count(), growth_bytes_));
  if (Status status = pager_->WritePages(pages_); !status.ok()) {
    write_failed_ = true;
    return status;
  }
  // I49: the cache gets the very buffers that went to the file, sealed and never changed again
  // (I40), counted against its bound (I42); no reader reaches them before the install (I14).
  if (PageCache* cache = pager_->cache(); cache != nullptr) {
    for (const PageRef& ref : nodes_) cache->Insert(ref, pages_.at(ref.page_id));
  }
  for (const auto& [page_id, image] : pages_) written_.insert(page_id);
  pages_.clear();
  nodes_.clear();
  return Status::OK();
}

StatusOr<uint32_t> CommitWriter::WriteNode(uint64_t page_id, btree::NodePtr node) {
  MANIFOLD_ASSIGN_OR_RETURN(char* page, NewPage(page_id));
  btree::EncodeNodePage(*node, layout_, page);
  const size_t count = node->leaf ? node->keys.size() : node->children.size();
  assert(count <= UINT16_MAX);
  const uint32_t crc = btree::SealPage(
      page, layout_.page_bytes, node->leaf ? btree::PageType::kLeaf : btree::PageType::kInternal,
      static_cast<uint16_t>(count), page_id, sequence_);
  nodes_.push_back(PageRef{page_id, crc});
  return crc;
}

Status CommitWriter::WriteLargeValue(uint64_t first_page, std::string_view value) {
  const size_t per_page = layout_.overflow_payload_bytes();
  const uint64_t count = layout_.OverflowPages(value.size());
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view chunk = value.substr(std::min<size_t>(i * per_page, value.size()), per_page);
    MANIFOLD_ASSIGN_OR_RETURN(char* page, NewPage(first_page + i));
    CopyBytes(page + kPageHeaderBytes, chunk);
    btree::SealPage(page, layout_.page_bytes, btree::PageType::kOverflow,
                    static_cast<uint16_t>(chunk.size()), first_page + i, sequence_);
  }
  return Status::OK();
}

StatusOr<PageRef> CommitWriter::WriteFreeList(const std::vector<uint64_t>& old_chain,
                                              std::vector<uint64_t>* new_chain) {
  for (uint64_t page_id : old_chain) allocator_->FreeAt(sequence_, PageRun{page_id, 1});
  const size_t per_page = FreeListRunsPerPage(layout_.page_bytes);
  // Allocating a chain page can only shrink the list (pages come off the front of runs), so
  // allocate until the chain can hold what remains.
  std::vector<PageRun> runs = allocator_->PersistableRuns();
  new_chain->clear();
  while (new_chain->size() * per_page < runs.size()) {
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t page_id, allocator_->Allocate(1));
    new_chain->push_back(page_id);
    runs = allocator_->PersistableRuns();
  }
  PageRef next;
  for (size_t i = new_chain->size(); i-- > 0;) {
    const uint64_t page_id = (*new_chain)[i];
    MANIFOLD_ASSIGN_OR_RETURN(char* page, NewPage(page_id));
    const size_t begin = std::min(i * per_page, runs.size());
    const size_t end = std::min(begin + per_page, runs.size());
    EncodeFixed64(page + kFreeListNextOffset, next.page_id);
    EncodeFixed32(page + kFreeListNextOffset + 8, next.crc);
    char* p = page + kFreeListRunsOffset;
    for (size_t r = begin; r < end; ++r, p += kFreeListRunBytes) {
      EncodeFixed64(p, runs[r].first);
      EncodeFixed32(p + 8, static_cast<uint32_t>(runs[r].count));
    }
    const uint32_t crc = btree::SealPage(page, layout_.page_bytes, btree::PageType::kFreeList,
                                         static_cast<uint16_t>(end - begin), page_id, sequence_);
    next = PageRef{page_id, crc};
  }
  return next;
}

}  // namespace manifold
