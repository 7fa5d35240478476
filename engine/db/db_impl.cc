#include "engine/db/db_impl.h"

#include <algorithm>
#include <cassert>
#include <map>

#include "engine/db/iterator_impl.h"
#include "engine/db/transaction_impl.h"
#include "engine/util/coding.h"
#include "engine/util/fault_point.h"

namespace manifold {
namespace {

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status ValidateOptions(const Options& options) {
  if (!IsPowerOfTwo(options.page_bytes) || options.page_bytes < Limits::kPageBytesMin ||
      options.page_bytes > Limits::kPageBytesMax) {
    return Status::InvalidArgument(
        "page_bytes " + std::to_string(options.page_bytes) + " must be a power of two in [" +
        std::to_string(Limits::kPageBytesMin) + ", " + std::to_string(Limits::kPageBytesMax) + "]");
  }
  if (options.batch_ops_max == 0 || options.batch_bytes_max == 0) {
    return Status::InvalidArgument("batch_ops_max and batch_bytes_max must be positive");
  }
  if (options.file_bytes_max < 16ull * options.page_bytes) {
    return Status::InvalidArgument("file_bytes_max must allow at least 16 pages");
  }
  return Status::OK();
}

// Writes a new data file holding an empty "default" column family (sequence 0) under a temporary
// name, syncs it, and renames it into place, so that a data file that exists always has a valid
// header (a crash mid-creation leaves only the temporary file, removed at the next open).
Status CreateDataFile(FileSystem* fs, const std::string& dir, uint32_t page_bytes) {
  const std::string data_path = dir + "/" + kDataFileName;
  const std::string tmp_path = data_path + ".tmp";
  MANIFOLD_ASSIGN_OR_RETURN(bool tmp_exists, fs->Exists(tmp_path));
  if (tmp_exists) MANIFOLD_RETURN_IF_ERROR(fs->Remove(tmp_path));
  OpenFileOptions open_options;
  open_options.create = true;
  open_options.exclusive = true;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->OpenFile(tmp_path, open_options));
  Pager pager(std::move(file), tmp_path, page_bytes, 0, false);
  PageAllocator allocator(btree::kFirstDataPage, UINT64_MAX);
  CommitWriter writer(&allocator, pager.layout(), 0);
  btree::WriteTree catalog(&pager, btree::PageRef{});
  MANIFOLD_RETURN_IF_ERROR(
      catalog.Put(kDefaultColumnFamily, EncodeColumnFamilyRecord(ColumnFamilyState{0, {}})));
  HeaderSlot slot;
  slot.page_bytes = page_bytes;
  MANIFOLD_ASSIGN_OR_RETURN(slot.catalog, catalog.Flush(&writer));
  slot.page_count = allocator.page_count();
  std::map<uint64_t, std::string> pages = writer.pages();
  pages[0] = EncodeHeaderSlot(slot, HeaderSlotPage(slot.sequence));
  pages[1] = std::string(page_bytes, '\0');  // Slot 1 stays invalid until sequence 1.
  MANIFOLD_RETURN_IF_ERROR(pager.WritePages(pages));
  MANIFOLD_RETURN_IF_ERROR(pager.Sync());
  if (MANIFOLD_FAULT(fault_point::kCreateRenameFail)) {
    return Status::IOError("injected fault: rename " + tmp_path + " to " + data_path + " failed");
  }
  MANIFOLD_RETURN_IF_ERROR(fs->Rename(tmp_path, data_path));
  if (MANIFOLD_FAULT(planted_bug::kSkipDirSync)) return Status::OK();
  return fs->SyncDir(dir);
}

// A header slot that fails its checks is read this many times before it is given up: a slot
// wrongly given up makes recovery fall back to the older slot and lose the newest commit, so a
// transient error must not do it (the simulator's chaos profile caught two flipped reads in a row).
constexpr int kHeaderReadAttempts = 4;

// Finds the newest valid header slot. The page size is not known yet, so every legal page size
// is tried; a slot is valid only if its checksum, magic and own page-size field all agree.
// Reads and checks header slot `slot_index` for pages of `page_bytes`, retrying a slot that
// fails its checks (see kHeaderReadAttempts).
StatusOr<HeaderSlot> ReadHeaderSlot(File* file, const std::string& path, uint32_t page_bytes,
                                    uint64_t slot_index, bool* foreign) {
  std::string page(page_bytes, '\0');
  StatusOr<HeaderSlot> slot = Status::Corruption("unread");
  for (int attempt = 0; attempt < kHeaderReadAttempts && slot.status().IsCorruption(); ++attempt) {
    if (MANIFOLD_FAULT(fault_point::kOpenHeaderReadFail)) {
      return Status::IOError("injected fault: reading header slot " + std::to_string(slot_index) +
                             " of " + path + " failed");
    }
    MANIFOLD_ASSIGN_OR_RETURN(size_t got,
                              file->Read(slot_index * page_bytes, page_bytes, page.data()));
    slot = got == page_bytes ? DecodeHeaderSlot(page.data(), page_bytes, slot_index, path)
                             : StatusOr<HeaderSlot>(Status::Corruption("short read"));
    *foreign = got == page_bytes && HoldsForeignPage(page.data(), page_bytes, slot_index);
  }
  return slot;
}

// The page sizes to try, most likely first: the one slot 0 claims, then every legal size (the
// claim itself may be damaged).
StatusOr<std::vector<uint32_t>> PageSizeCandidates(File* file) {
  std::vector<uint32_t> candidates;
  char field[4];
  MANIFOLD_ASSIGN_OR_RETURN(size_t got, file->Read(kHeaderPageBytesOffset, sizeof(field), field));
  const uint32_t claimed = got == sizeof(field) ? DecodeFixed32(field) : 0;
  if (claimed >= Limits::kPageBytesMin && claimed <= Limits::kPageBytesMax &&
      (claimed & (claimed - 1)) == 0) {
    candidates.push_back(claimed);
  }
  for (uint32_t size = Limits::kPageBytesMin; size <= Limits::kPageBytesMax; size *= 2) {
    if (size != claimed) candidates.push_back(size);
  }
  return candidates;
}

// Finds the newest valid header slot. The page size is not known yet: a size is right when a
// slot read with it has a valid checksum, magic and matching page-size field, and the first such
// size is used.
StatusOr<HeaderSlot> ReadNewestHeader(File* file, const std::string& path,
                                      bool ignore_damaged_slot) {
  MANIFOLD_ASSIGN_OR_RETURN(uint64_t file_bytes, file->Size());
  MANIFOLD_ASSIGN_OR_RETURN(std::vector<uint32_t> candidates, PageSizeCandidates(file));
  std::optional<HeaderSlot> best;
  std::string first_error;
  std::optional<uint64_t> damaged_slot;
  for (uint32_t page_bytes : candidates) {
    for (uint64_t slot_index = 0; slot_index < 2; ++slot_index) {
      if ((slot_index + 1) * page_bytes > file_bytes) continue;
      bool foreign = false;
      StatusOr<HeaderSlot> slot = ReadHeaderSlot(file, path, page_bytes, slot_index, &foreign);
      if (!slot.ok() && foreign) damaged_slot = slot_index;
      if (slot.status().IsIOError() || slot.status().code() == StatusCode::kNotSupported) {
        return slot.status();
      }
      if (!slot.ok()) {
        if (first_error.empty()) first_error = slot.status().message();
        continue;
      }
      if (!best.has_value() || slot->sequence > best->sequence) best = *slot;
    }
    if (best.has_value()) break;
    damaged_slot.reset();  // Evidence only counts at the page size the database uses.
  }
  // A slot holding another page was overwritten by a misdirected write after it was last
  // written: it may have held the newest commit, and opening at the other slot would lose that
  // commit without a word (found by the simulator's long chaos sweep).
  if (best.has_value() && damaged_slot.has_value() && !ignore_damaged_slot) {
    return Status::Corruption("header slot " + std::to_string(*damaged_slot) + " of " + path +
                              " holds another page (a misdirected write); the newest commit may "
                              "be lost. The other slot holds commit " +
                              std::to_string(best->sequence) +
                              "; set Options::ignore_damaged_header_slot to open at it");
  }
  if (!best.has_value()) {
    return Status::Corruption("no valid header slot in " + path + " (" + first_error + ")");
  }
  if (file_bytes < best->page_count * best->page_bytes) {
    return Status::Corruption(path + " is " + std::to_string(file_bytes) +
                              " bytes but its header counts " + std::to_string(best->page_count) +
                              " pages of " + std::to_string(best->page_bytes) + " bytes");
  }
  return *best;
}

}  // namespace

StatusOr<std::unique_ptr<DB>> DB::Open(const Options& options, const std::string& path) {
  return DBImpl::Open(options, path);
}

DBImpl::DBImpl(const Options& options, std::string path, std::unique_ptr<FileLock> lock)
    : options_(options), path_(std::move(path)), fs_(options.file_system), lock_(std::move(lock)) {}

DBImpl::~DBImpl() {
  port::MutexLock lock(&state_mu_);
  // Transactions and iterators hold a pointer to the database: they must be gone by now.
  assert(busy_column_families_.empty());
}

StatusOr<std::unique_ptr<DB>> DBImpl::Open(const Options& options_in, const std::string& path) {
  Options options = options_in;
  if (options.file_system == nullptr) options.file_system = PosixFileSystem();
  if (options.clock == nullptr) options.clock = SystemClock();
  MANIFOLD_RETURN_IF_ERROR(ValidateOptions(options));
  FileSystem* fs = options.file_system;
  const bool may_create = options.create_if_missing && !options.read_only;

  MANIFOLD_ASSIGN_OR_RETURN(bool dir_exists, fs->Exists(path));
  if (!dir_exists) {
    if (!may_create) {
      return Status::NotFound("database directory " + path +
                              " does not exist (create_if_missing is off)");
    }
    MANIFOLD_RETURN_IF_ERROR(fs->CreateDir(path));
    if (!MANIFOLD_FAULT(planted_bug::kSkipDirSync)) {
      MANIFOLD_RETURN_IF_ERROR(fs->SyncDir(ParentDir(path)));
    }
  }
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock,
                            fs->LockFile(path + "/" + kLockFileName));
  const std::string data_path = path + "/" + kDataFileName;
  MANIFOLD_ASSIGN_OR_RETURN(bool data_exists, fs->Exists(data_path));
  if (data_exists && options.error_if_exists) {
    return Status::AlreadyExists("database " + path + " already exists (error_if_exists is on)");
  }
  if (!data_exists) {
    if (!may_create) {
      return Status::NotFound("no database in " + path + " (missing " + kDataFileName + ")");
    }
    MANIFOLD_RETURN_IF_ERROR(CreateDataFile(fs, path, options.page_bytes));
  }
  OpenFileOptions open_options;
  open_options.read_only = options.read_only;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->OpenFile(data_path, open_options));
  if (!options.read_only) {
    // I10: make what recovery is about to read durable before building on it. An earlier
    // process may have died (or seen a failed sync) with writes still only in the page cache; a
    // commit on top of a non-durable header could reuse pages the durable state still needs, and
    // a directory created by an earlier failed open may not be durable yet.
    if (!MANIFOLD_FAULT(planted_bug::kSkipDirSync)) {
      MANIFOLD_RETURN_IF_ERROR(fs->SyncDir(ParentDir(path)));
      MANIFOLD_RETURN_IF_ERROR(fs->SyncDir(path));
    }
    MANIFOLD_RETURN_IF_ERROR(file->Sync());
  }
  MANIFOLD_ASSIGN_OR_RETURN(
      HeaderSlot slot, ReadNewestHeader(file.get(), data_path, options.ignore_damaged_header_slot));
  std::unique_ptr<DBImpl> db(new DBImpl(options, path, std::move(lock)));
  MANIFOLD_RETURN_IF_ERROR(db->Recover(std::move(file), slot));
  return std::unique_ptr<DB>(std::move(db));
}

Status DBImpl::Recover(std::unique_ptr<File> file, const HeaderSlot& slot) {
  const std::string data_path = path_ + "/" + kDataFileName;
  pager_ = std::make_unique<Pager>(std::move(file), data_path, slot.page_bytes,
                                   options_.cache_bytes_max, true);
  auto version = std::make_shared<Version>(registry_, slot.sequence);
  version->page_count = slot.page_count;
  version->catalog = slot.catalog;
  version->free_list = slot.free_list;
  version->next_cf_id = slot.next_cf_id;

  std::vector<btree::PageRun> runs;
  std::vector<uint64_t> chain;
  MANIFOLD_RETURN_IF_ERROR(pager_->ReadFreeList(slot.free_list, &runs, &chain));
  if (chain.size() != slot.free_list_pages) {
    return Status::Corruption(data_path + ": free list has " + std::to_string(chain.size()) +
                              " pages, header says " + std::to_string(slot.free_list_pages));
  }
  std::sort(runs.begin(), runs.end(),
            [](const btree::PageRun& a, const btree::PageRun& b) { return a.first < b.first; });
  {
    port::MutexLock lock(&commit_mu_);
    allocator_ = PageAllocator(slot.page_count, options_.file_bytes_max / slot.page_bytes);
    uint64_t end = btree::kFirstDataPage;
    for (const btree::PageRun& run : runs) {
      if (run.count == 0 || run.first < end || run.first + run.count > slot.page_count) {
        return Status::Corruption(data_path + ": free-list run at page " +
                                  std::to_string(run.first) + " of " + std::to_string(run.count) +
                                  " pages overlaps or is out of range");
      }
      allocator_.AddFree(run);
      end = run.first + run.count;
    }
    free_list_chain_ = chain;
  }

  btree::Cursor cursor(pager_.get(), slot.catalog);
  MANIFOLD_RETURN_IF_ERROR(cursor.SeekToFirst());
  while (cursor.Valid()) {
    MANIFOLD_ASSIGN_OR_RETURN(std::string record, MaterializeValue(pager_.get(), cursor.value()));
    MANIFOLD_ASSIGN_OR_RETURN(ColumnFamilyState state, DecodeColumnFamilyRecord(record));
    version->column_families.emplace(std::string(cursor.key()), state);
    MANIFOLD_RETURN_IF_ERROR(cursor.Next());
  }
  port::MutexLock lock(&state_mu_);
  current_ = std::move(version);
  return Status::OK();
}

// --- Checks --------------------------------------------------------------------------------

Status DBImpl::CheckKey(std::string_view key) const {
  const uint32_t key_max = pager_->layout().key_bytes_max();
  if (key.size() > key_max) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes exceeds the limit of " + std::to_string(key_max) +
                                   " bytes (page_bytes / 8)");
  }
  return Status::OK();
}

Status DBImpl::CheckPut(std::string_view key, std::string_view value) const {
  MANIFOLD_RETURN_IF_ERROR(CheckKey(key));
  if (value.size() > Limits::kValueBytesMax) {
    return Status::InvalidArgument("value of " + std::to_string(value.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(Limits::kValueBytesMax) + " bytes");
  }
  return Status::OK();
}

Status DBImpl::CheckWriteOptions(const WriteOptions& options) const {
  if (!options.sync) {
    return Status::NotSupported(
        "WriteOptions.sync = false needs the write-ahead log; every commit is durable for now");
  }
  return Status::OK();
}

Status DBImpl::CheckColumnFamilyName(std::string_view name) const {
  if (name.empty() || name.size() > Limits::kColumnFamilyNameBytesMax) {
    return Status::InvalidArgument("column family name must be 1 to " +
                                   std::to_string(Limits::kColumnFamilyNameBytesMax) +
                                   " bytes, got " + std::to_string(name.size()));
  }
  return Status::OK();
}

Status DBImpl::CheckWritable() {
  if (options_.read_only) return Status::ReadOnly("database " + path_ + " was opened read-only");
  port::MutexLock lock(&state_mu_);
  if (!background_error_.ok()) {
    return Status::ReadOnly("database " + path_ +
                            " refuses writes after an earlier failure; reopen it to recover (" +
                            background_error_.ToString() + ")");
  }
  return Status::OK();
}

void DBImpl::SetBackgroundError(const Status& status) {
  port::MutexLock lock(&state_mu_);
  if (background_error_.ok()) background_error_ = status;
}

// --- Column family ownership ---------------------------------------------------------------

Status DBImpl::AcquireColumnFamilies(const std::vector<std::string>& names) {
  port::MutexLock lock(&state_mu_);
  // Taking all names at once, never one by one, rules out deadlock between batches (I7).
  auto any_busy = [&]() MANIFOLD_REQUIRES(state_mu_) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& name) {
      return busy_column_families_.count(name) > 0;
    });
  };
  while (any_busy()) column_family_released_.Wait();
  for (const std::string& name : names) busy_column_families_.insert(name);
  return Status::OK();
}

void DBImpl::ReleaseColumnFamilies(const std::vector<std::string>& names) {
  port::MutexLock lock(&state_mu_);
  for (const std::string& name : names) busy_column_families_.erase(name);
  column_family_released_.SignalAll();
}

VersionPtr DBImpl::current() {
  port::MutexLock lock(&state_mu_);
  return current_;
}

// --- Commit --------------------------------------------------------------------------------

Status DBImpl::CommitTrees(std::vector<TreeUpdate> updates) {
  return Commit(std::move(updates), nullptr);
}

Status DBImpl::Commit(std::vector<TreeUpdate> updates, const CatalogEdit& edit) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  port::MutexLock commit_lock(&commit_mu_);
  VersionPtr base = current();
  const uint64_t sequence = base->sequence + 1;
  auto next = std::make_shared<Version>(registry_, sequence);
  next->column_families = base->column_families;
  next->next_cf_id = base->next_cf_id;
  next->catalog = base->catalog;

  // Until the first byte is written a failure leaves the file untouched: roll the allocator back
  // and report the error with the database still writable.
  allocator_.Release(MANIFOLD_FAULT(planted_bug::kReusePinnedPages) ? sequence - 1
                                                                    : registry_->OldestLive());
  allocator_.BeginCommit();
  CommitWriter writer(&allocator_, pager_->layout(), sequence);
  std::vector<uint64_t> chain;
  Status status = BuildCommit(updates, edit, &writer, next.get(), &chain);
  if (status.ok()) status = pager_->Reserve(next->page_count, options_.file_growth_bytes);
  if (!status.ok()) {
    allocator_.Rollback(sequence);
    return status;
  }
  status = WriteCommit(writer, *next, chain.size());
  if (!status.ok()) {
    // The file may hold part of this commit and, after a failed sync, the kernel may have
    // dropped dirty pages: only a reopen (which re-reads the durable header) is safe (I8).
    SetBackgroundError(status);
    return status;
  }
  for (const auto& [ref, node] : writer.nodes()) pager_->cache()->Insert(ref, node);
  free_list_chain_ = std::move(chain);
  port::MutexLock lock(&state_mu_);
  current_ = std::move(next);
  ++commits_;
  return Status::OK();
}

Status DBImpl::BuildCommit(const std::vector<TreeUpdate>& updates, const CatalogEdit& edit,
                           CommitWriter* writer, Version* next,
                           std::vector<uint64_t>* free_list_chain) {
  btree::WriteTree catalog(pager_.get(), next->catalog);
  for (const TreeUpdate& update : updates) {
    auto it = next->column_families.find(update.column_family);
    assert(it != next->column_families.end());    // Held column families cannot be dropped.
    assert(it->second.root == update.base_root);  // I7: one writer per column family.
    (void)update.base_root;
    if (!update.tree->modified()) continue;
    for (const btree::PageRun& run : update.tree->freed()) allocator_.FreeAt(next->sequence, run);
    MANIFOLD_ASSIGN_OR_RETURN(it->second.root, update.tree->Flush(writer));
    MANIFOLD_RETURN_IF_ERROR(
        catalog.Put(update.column_family, EncodeColumnFamilyRecord(it->second)));
  }
  if (edit) {
    CommitContext context{next, &catalog, next->sequence};
    MANIFOLD_RETURN_IF_ERROR(edit(context));
  }
  for (const btree::PageRun& run : catalog.freed()) allocator_.FreeAt(next->sequence, run);
  MANIFOLD_ASSIGN_OR_RETURN(next->catalog, catalog.Flush(writer));
  MANIFOLD_ASSIGN_OR_RETURN(next->free_list,
                            writer->WriteFreeList(free_list_chain_, free_list_chain));
  next->page_count = allocator_.page_count();
  return Status::OK();
}

Status DBImpl::WriteCommit(const CommitWriter& writer, const Version& next,
                           uint64_t free_list_pages) {
  // I2: pages first, sync, then the other header slot, sync. The slot being written is never the
  // newest valid one, so a torn header write leaves the previous commit intact.
  MANIFOLD_RETURN_IF_ERROR(pager_->WritePages(writer.pages()));
  if (!MANIFOLD_FAULT(planted_bug::kSkipPageSync)) MANIFOLD_RETURN_IF_ERROR(pager_->Sync());
  if (MANIFOLD_FAULT(fault_point::kCommitBeforeHeader)) {
    return Status::IOError("injected fault: commit " + std::to_string(next.sequence) +
                           " failed before writing its header slot");
  }
  HeaderSlot slot;
  slot.sequence = next.sequence;
  slot.page_bytes = pager_->layout().page_bytes;
  slot.page_count = next.page_count;
  slot.catalog = next.catalog;
  slot.free_list = next.free_list;
  slot.free_list_pages = free_list_pages;
  slot.next_cf_id = next.next_cf_id;
  const uint64_t slot_page =
      MANIFOLD_FAULT(planted_bug::kHeaderInPlace) ? 0 : HeaderSlotPage(next.sequence);
  std::map<uint64_t, std::string> header;
  header[slot_page] = EncodeHeaderSlot(slot, slot_page);
  MANIFOLD_RETURN_IF_ERROR(pager_->WritePages(header));
  if (!MANIFOLD_FAULT(planted_bug::kAckBeforeHeaderSync)) {
    MANIFOLD_RETURN_IF_ERROR(pager_->Sync());
  }
  // I11: the header slot is the one write no checksum can vouch for (nothing refers to it), so
  // read it back: a write that was lost or landed elsewhere must fail the commit, not be
  // acknowledged and then silently replaced by the older slot at the next open.
  std::string read_back;
  MANIFOLD_RETURN_IF_ERROR(pager_->ReadPages(slot_page, 1, &read_back));
  if (read_back != header[slot_page]) {
    return Status::IOError("header slot " + std::to_string(slot_page) + " of " + pager_->path() +
                           " does not read back as written for commit " +
                           std::to_string(next.sequence) + " (lost or misdirected write)");
  }
  return Status::OK();
}

// --- Column families -----------------------------------------------------------------------

Status DBImpl::CreateColumnFamily(std::string_view name) {
  MANIFOLD_RETURN_IF_ERROR(CheckColumnFamilyName(name));
  return Commit({}, [&](CommitContext& context) -> Status {
    Version* next = context.next;
    if (next->Find(name) != nullptr) {
      return Status::AlreadyExists("column family '" + std::string(name) + "' already exists");
    }
    if (next->column_families.size() >= Limits::kColumnFamiliesMax) {
      return Status::InvalidArgument("a database holds at most " +
                                     std::to_string(Limits::kColumnFamiliesMax) +
                                     " column families");
    }
    ColumnFamilyState state{next->next_cf_id++, {}};
    next->column_families.emplace(std::string(name), state);
    return context.catalog->Put(name, EncodeColumnFamilyRecord(state));
  });
}

Status DBImpl::DropColumnFamily(std::string_view name) {
  MANIFOLD_RETURN_IF_ERROR(CheckColumnFamilyName(name));
  if (name == kDefaultColumnFamily) {
    return Status::InvalidArgument("the default column family cannot be dropped");
  }
  std::vector<std::string> held = {std::string(name)};
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(held));
  Status status = Commit({}, [&](CommitContext& context) -> Status {
    Version* next = context.next;
    const ColumnFamilyState* state = next->Find(name);
    if (state == nullptr) {
      return Status::NotFound("column family '" + std::string(name) + "' does not exist");
    }
    MANIFOLD_RETURN_IF_ERROR(btree::VisitTreePages(
        pager_.get(), state->root, [&](const btree::PageRun& run, const btree::Node*, int) {
          allocator_.FreeAt(context.sequence, run);
          return Status::OK();
        }));
    next->column_families.erase(next->column_families.find(name));
    return context.catalog->Delete(name).status();
  });
  ReleaseColumnFamilies(held);
  return status;
}

std::vector<std::string> DBImpl::ListColumnFamilies() {
  VersionPtr version = current();
  std::vector<std::string> names;
  for (const auto& [name, state] : version->column_families) names.push_back(name);
  return names;
}

// --- Writes --------------------------------------------------------------------------------

StatusOr<std::unique_ptr<Transaction>> DBImpl::BeginTransaction(std::string_view column_family) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  std::vector<std::string> held = {std::string(column_family)};
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(held));
  VersionPtr base = current();
  const ColumnFamilyState* state = base->Find(column_family);
  if (state == nullptr) {
    ReleaseColumnFamilies(held);
    return Status::NotFound("column family '" + std::string(column_family) + "' does not exist");
  }
  return std::unique_ptr<Transaction>(
      new TransactionImpl(this, std::string(column_family), base, state->root));
}

Status DBImpl::Put(const WriteOptions& options, std::string_view column_family,
                   std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(column_family, key, value);
  return Write(options, batch);
}

Status DBImpl::Delete(const WriteOptions& options, std::string_view column_family,
                      std::string_view key) {
  WriteBatch batch;
  batch.Delete(column_family, key);
  return Write(options, batch);
}

Status DBImpl::Write(const WriteOptions& options, const WriteBatch& batch) {
  MANIFOLD_RETURN_IF_ERROR(CheckWriteOptions(options));
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  if (batch.Count() > options_.batch_ops_max || batch.bytes() > options_.batch_bytes_max) {
    return Status::InvalidArgument("batch of " + std::to_string(batch.Count()) + " ops and " +
                                   std::to_string(batch.bytes()) + " bytes exceeds batch_ops_max " +
                                   std::to_string(options_.batch_ops_max) + " or batch_bytes_max " +
                                   std::to_string(options_.batch_bytes_max));
  }
  std::vector<std::string> names;
  for (const WriteBatch::Op& op : batch.ops()) {
    MANIFOLD_RETURN_IF_ERROR(op.type == WriteBatch::OpType::kPut ? CheckPut(op.key, op.value)
                                                                 : CheckKey(op.key));
    names.push_back(op.column_family);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty()) return Status::OK();
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(names));
  Status status = WriteBatchHeld(batch, names, current());
  ReleaseColumnFamilies(names);
  return status;
}

Status DBImpl::WriteBatchHeld(const WriteBatch& batch, const std::vector<std::string>& names,
                              const VersionPtr& base) {
  std::map<std::string, std::unique_ptr<btree::WriteTree>, std::less<>> trees;
  std::vector<TreeUpdate> updates;
  for (const std::string& name : names) {
    const ColumnFamilyState* state = base->Find(name);
    if (state == nullptr) {
      return Status::NotFound("column family '" + name + "' does not exist");
    }
    auto tree = std::make_unique<btree::WriteTree>(pager_.get(), state->root);
    updates.push_back(TreeUpdate{name, state->root, tree.get()});
    trees.emplace(name, std::move(tree));
  }
  for (const WriteBatch::Op& op : batch.ops()) {
    btree::WriteTree* tree = trees.find(op.column_family)->second.get();
    if (op.type == WriteBatch::OpType::kPut) {
      MANIFOLD_RETURN_IF_ERROR(tree->Put(op.key, op.value));
    } else {
      MANIFOLD_RETURN_IF_ERROR(tree->Delete(op.key).status());
    }
  }
  if (MANIFOLD_FAULT(planted_bug::kSplitBatch) && updates.size() > 1) {
    for (TreeUpdate& update : updates) MANIFOLD_RETURN_IF_ERROR(CommitTrees({update}));
    return Status::OK();
  }
  return CommitTrees(std::move(updates));
}

// --- Reads ---------------------------------------------------------------------------------

StatusOr<VersionPtr> DBImpl::ReadVersion(const ReadOptions& options) {
  if (options.snapshot == nullptr) return current();
  auto* snapshot = dynamic_cast<const SnapshotImpl*>(options.snapshot);
  if (snapshot == nullptr || snapshot->version()->registry != registry_) {
    return Status::InvalidArgument("ReadOptions.snapshot belongs to another database");
  }
  return snapshot->version();
}

StatusOr<std::string> DBImpl::Get(const ReadOptions& options, std::string_view column_family,
                                  std::string_view key) {
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  const ColumnFamilyState* state = version->Find(column_family);
  if (state == nullptr) {
    return Status::NotFound("column family '" + std::string(column_family) + "' does not exist");
  }
  MANIFOLD_RETURN_IF_ERROR(CheckKey(key));
  MANIFOLD_ASSIGN_OR_RETURN(std::optional<std::string> value,
                            btree::TreeGet(pager_.get(), state->root, key));
  if (!value.has_value()) return Status::NotFound("key not found");
  return std::move(*value);
}

StatusOr<std::unique_ptr<Iterator>> DBImpl::NewIterator(const ReadOptions& options,
                                                        std::string_view column_family) {
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  const ColumnFamilyState* state = version->Find(column_family);
  if (state == nullptr) {
    return Status::NotFound("column family '" + std::string(column_family) + "' does not exist");
  }
  const btree::PageRef root = state->root;
  return std::unique_ptr<Iterator>(new IteratorImpl(pager_.get(), std::move(version), root,
                                                    options.lower_bound, options.upper_bound));
}

std::shared_ptr<const Snapshot> DBImpl::GetSnapshot() {
  return std::make_shared<SnapshotImpl>(current());
}

// --- Maintenance ---------------------------------------------------------------------------

Status DBImpl::VerifyIntegrity(IntegrityReport* report) {
  IntegrityReport local;
  if (report == nullptr) report = &local;
  *report = IntegrityReport{};
  VersionPtr version = current();
  OpenFileOptions open_options;
  open_options.read_only = true;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                            fs_->OpenFile(pager_->path(), open_options));
  // A separate, uncached reader: verification must look at the bytes in the file.
  Pager uncached(std::move(file), pager_->path(), pager_->layout().page_bytes, 0, false);
  return VerifyVersion(&uncached, *version, report);
}

Stats DBImpl::GetStats() {
  Stats stats;
  PagerStats& io = pager_->stats();
  stats.pages_read = io.pages_read;
  stats.pages_written = io.pages_written;
  stats.bytes_read = io.bytes_read;
  stats.bytes_written = io.bytes_written;
  stats.syncs = io.syncs;
  stats.cache_hits = io.cache_hits;
  stats.cache_misses = io.cache_misses;
  stats.read_retries = io.read_retries;
  stats.cache_bytes = pager_->cache()->usage_bytes();
  StatusOr<uint64_t> file_bytes = pager_->FileBytes();
  stats.file_bytes = file_bytes.ok() ? *file_bytes : 0;
  {
    port::MutexLock lock(&commit_mu_);
    stats.pages_total = allocator_.page_count();
    stats.pages_free = allocator_.free_pages() + allocator_.pending_pages();
  }
  port::MutexLock lock(&state_mu_);
  stats.commits = commits_;
  stats.sequence = current_->sequence;
  return stats;
}

}  // namespace manifold
