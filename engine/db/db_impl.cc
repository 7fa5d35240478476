#include "engine/db/db_impl.h"

#include <algorithm>
#include <cassert>
#include <map>

#include "engine/db/iterator_impl.h"
#include "engine/db/transaction_impl.h"
#include "engine/util/check.h"
#include "engine/util/coding.h"
#include "engine/util/fault_point.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_payload.h"
#include "engine/wal/log_reader.h"

namespace manifold {
namespace {

constexpr uint64_t kGroupCommitWindowUsMax = 100'000;
constexpr uint64_t kSegmentBytesMin = 64ull << 10;
constexpr uint64_t kSegmentBytesMax = 1ull << 30;
constexpr uint64_t kWriteBufferBytesMin = 64ull << 10;
// No-sync records are written (without a sync) once this many bytes are buffered.
constexpr uint64_t kLogBufferBytesMax = 1ull << 20;

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
  if (options.group_commit_window_us > kGroupCommitWindowUsMax) {
    return Status::InvalidArgument(
        "group_commit_window_us " + std::to_string(options.group_commit_window_us) +
        " exceeds the limit of " + std::to_string(kGroupCommitWindowUsMax));
  }
  if (options.wal_segment_bytes < kSegmentBytesMin ||
      options.wal_segment_bytes > kSegmentBytesMax || options.wal_segment_bytes % 8 != 0) {
    return Status::InvalidArgument("wal_segment_bytes must be a multiple of 8 in [" +
                                   std::to_string(kSegmentBytesMin) + ", " +
                                   std::to_string(kSegmentBytesMax) + "]");
  }
  if (options.write_buffer_bytes_max < kWriteBufferBytesMin) {
    return Status::InvalidArgument("write_buffer_bytes_max must be at least " +
                                   std::to_string(kWriteBufferBytesMin));
  }
  if (options.checkpoint_dirty_bytes > options.write_buffer_bytes_max) {
    return Status::InvalidArgument("checkpoint_dirty_bytes must not exceed write_buffer_bytes_max");
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
  MANIFOLD_RETURN_IF_ERROR(catalog.Put(
      kDefaultColumnFamily, EncodeColumnFamilyRecord(ColumnFamilyState{0, {}, nullptr})));
  HeaderSlot slot;
  slot.page_bytes = page_bytes;
  slot.log_head = 1;
  MANIFOLD_ASSIGN_OR_RETURN(slot.catalog, catalog.Flush(&writer));
  slot.page_count = allocator.page_count();
  std::map<uint64_t, std::string> pages = writer.pages();
  pages[0] = EncodeHeaderSlot(slot, HeaderSlotPage(slot.checkpoint_count));
  pages[1] = std::string(page_bytes, '\0');  // Slot 1 stays invalid until sequence 1.
  MANIFOLD_RETURN_IF_ERROR(pager.WritePages(pages));
  MANIFOLD_RETURN_IF_ERROR(pager.Sync());
  // I21: the log head the header names exists before the data file does.
  MANIFOLD_RETURN_IF_ERROR(CreateFirstSegment(fs, dir, slot.log_head));
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
      if (!best.has_value() || slot->checkpoint_count > best->checkpoint_count) best = *slot;
    }
    if (best.has_value()) break;
    damaged_slot.reset();  // Evidence only counts at the page size the database uses.
  }
  // I12: a slot holding another page was overwritten by a misdirected write after it was last
  // written: it may have held the newest commit, and opening at the other slot would lose that
  // commit without a word (found by the simulator's long chaos sweep).
  if (best.has_value() && damaged_slot.has_value() && !ignore_damaged_slot) {
    return Status::Corruption("header slot " + std::to_string(*damaged_slot) + " of " + path +
                              " holds another page (a misdirected write): it may have held the "
                              "newest checkpoint. The other slot holds commit " +
                              std::to_string(best->sequence) +
                              "; Options::ignore_damaged_header_slot opens at it, which drops "
                              "every commit after " +
                              std::to_string(best->sequence) +
                              " whose log records that newer checkpoint retired (a gap in the "
                              "log is then reported as Corruption)");
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

// Why an open that found no database did not create one.
std::string CreateIfMissingNote(const Options& options) {
  return options.read_only ? "create_if_missing does not apply to a read-only open"
                           : "create_if_missing is off";
}

// What a directory holds, as far as opening a database there is concerned.
struct DirectoryContents {
  bool data_file = false;                 // MANIFOLD
  bool tmp_data_file = false;             // MANIFOLD.tmp, left by an unfinished creation
  std::vector<std::string> log_segments;  // wal-<16 digits>.log, in order
  size_t other_entries = 0;               // anything else (LOCK included)
  bool unwritten_first_segment = false;   // only an empty segment 1: see CheckDirectory
};

StatusOr<DirectoryContents> ListDirectory(FileSystem* fs, const std::string& path) {
  StatusOr<std::vector<std::string>> names = fs->ListDir(path);
  if (!names.ok()) {
    // A path that opens as a file is not a directory at all; say so rather than "list dir".
    OpenFileOptions read_only;
    read_only.read_only = true;
    if (!fs->OpenFile(path, read_only).ok()) return names.status();
    return Status::NotFound("no database at " + path +
                            ", and none can be created there: it is a file, not a directory");
  }
  DirectoryContents contents;
  const std::string tmp_name = std::string(kDataFileName) + ".tmp";
  for (const std::string& name : *names) {
    uint64_t number = 0;
    if (name == kDataFileName) {
      contents.data_file = true;
    } else if (name == tmp_name) {
      contents.tmp_data_file = true;
    } else if (wal::ParseSegmentFileName(name, &number)) {
      contents.log_segments.push_back(name);
    } else {
      ++contents.other_entries;
    }
  }
  return contents;
}

// "wal-...1.log" or "3 log segments (wal-...1.log to wal-...3.log)".
std::string DescribeSegments(const std::vector<std::string>& names) {
  if (names.size() == 1) return "log segment " + names.front();
  return std::to_string(names.size()) + " log segments (" + names.front() + " to " + names.back() +
         ")";
}

// I24: opening a directory never destroys, creates or litters. Returns whether there is a data
// file when the open may go on: there is one, or there is none and the open may create one over
// nothing that belongs to a database (a MANIFOLD.tmp alone is an unfinished creation, which a
// new creation replaces).
// True when the only log segment is segment 1 and it holds no byte (see CheckDirectory).
StatusOr<bool> IsUnwrittenFirstSegment(FileSystem* fs, const std::string& path,
                                       const DirectoryContents& contents) {
  if (contents.log_segments.size() != 1 || contents.log_segments[0] != wal::SegmentFileName(1)) {
    return false;
  }
  return SegmentIsEmpty(fs, path, 1);
}

StatusOr<bool> CheckDirectory(FileSystem* fs, const std::string& path, const Options& options) {
  MANIFOLD_ASSIGN_OR_RETURN(DirectoryContents contents, ListDirectory(fs, path));
  if (contents.data_file) return true;
  MANIFOLD_ASSIGN_OR_RETURN(const bool first_segment_only,
                            IsUnwrittenFirstSegment(fs, path, contents));
  if (first_segment_only) {
    // I21/I24: a creation writes the empty log head wal-...1 before it renames MANIFOLD.tmp, so a
    // crash in between (with or without the tmp file's directory entry) leaves just that empty
    // segment. No commit was ever made in a database whose only segment is an empty segment 1,
    // so this is an unfinished creation, not a lost data file.
    contents.log_segments.clear();
    contents.unwritten_first_segment = true;
  }
  if (!contents.log_segments.empty()) {
    // The log holds only the commits after the last checkpoint, and that checkpoint was in the
    // data file: replaying it onto a new, empty data file would build a state that never
    // existed, and the next checkpoint would then retire the segments. So nothing opens this,
    // wal_salvage included.
    return Status::Corruption(
        "the data file " + path + "/" + kDataFileName + " is missing, but " + path + " holds " +
        DescribeSegments(contents.log_segments) +
        (contents.tmp_data_file ? " and " + std::string(kDataFileName) + ".tmp" : "") +
        ": the data file was removed or lost. Nothing was created or changed. The log alone "
        "cannot be opened (it holds only the commits after the last checkpoint, which was in "
        "the data file), with or without Options::wal_salvage or create_if_missing: restore " +
        kDataFileName +
        " from a backup, or move the segments away to create a new database "
        "here");
  }
  if (options.create_if_missing && !options.read_only) return false;
  std::string what = "no data file " + std::string(kDataFileName);
  if (contents.tmp_data_file) {
    what += "; " + std::string(kDataFileName) + ".tmp is left from a creation that did not finish";
  } else if (contents.unwritten_first_segment) {
    what +=
        "; an empty " + wal::SegmentFileName(1) + " is left from a creation that did not finish";
  } else if (contents.other_entries == 0) {
    what += "; the directory is empty";
  } else {
    what += " and no log segment; the directory holds " + std::to_string(contents.other_entries) +
            " other entries";
  }
  return Status::NotFound("no database in " + path + " (" + what + "; " +
                          CreateIfMissingNote(options) + "). Nothing was changed");
}

// I25: writable opens hold LOCK exclusively; read-only opens share it, never create it, and work
// on read-only media (see docs/design.md, "Locking").
StatusOr<std::unique_ptr<FileLock>> LockDatabase(FileSystem* fs, const std::string& path,
                                                 bool read_only) {
  const std::string lock_path = path + "/" + kLockFileName;
  StatusOr<std::unique_ptr<FileLock>> lock =
      read_only ? fs->LockFileShared(lock_path) : fs->LockFile(lock_path);
  if (lock.ok()) return lock;
  const Status& status = lock.status();
  if (status.IsBusy() && read_only) {
    return Status::Busy(std::string(status.message()) +
                        ". A read-only open cannot share the database with a writer (its "
                        "checkpoints reuse pages and retire log segments under the reader): "
                        "retry once the process that has it open has closed it");
  }
  if (status.IsBusy()) {
    return Status::Busy(std::string(status.message()) +
                        ". One process at a time may open a database for writing: close the "
                        "other user first");
  }
  if (status.IsNotFound() && read_only) {
    return Status::NotFound("database " + path + " has no " + kLockFileName +
                            " file, and a read-only open creates nothing; without it a writer "
                            "could open the database while this open reads it. Open it writable "
                            "once (that recreates " +
                            kLockFileName + "), or read it from read-only media");
  }
  if (!read_only && status.IsIOError()) {
    return Status::IOError(std::string(status.message()) +
                           ". On read-only media, or without write permission, a read-only open "
                           "(Options::read_only) can still read the database");
  }
  return status;
}

}  // namespace

StatusOr<std::unique_ptr<DB>> DB::Open(const Options& options, const std::string& path) {
  return DBImpl::Open(options, path);
}

// A read-only open writes nothing, not even its log; with no LOG budget there is no log at all.
static std::unique_ptr<FileLogger> DefaultInfoLog(const Options& options, const std::string& path) {
  if (options.info_log != nullptr || options.read_only || options.info_log_bytes_max == 0) {
    return nullptr;
  }
  return std::make_unique<FileLogger>(options.file_system, options.clock, path,
                                      options.info_log_bytes_max);
}

DBImpl::DBImpl(const Options& options, std::string path, std::unique_ptr<FileLock> lock)
    : options_(options),
      path_(std::move(path)),
      fs_(options.file_system),
      clock_(options.clock),
      file_log_(DefaultInfoLog(options, path_)),
      info_log_(options.info_log != nullptr ? options.info_log : file_log_.get()),
      lock_(std::move(lock)) {}

DBImpl::~DBImpl() {
  Status closed = Close();
  if (!closed.ok()) {
    Log(LogLevel::kError, "close (from the destructor) failed: " + closed.ToString());
  }
  port::MutexLock lock(&state_mu_);
  // Transactions and iterators hold a pointer to the database: they must be gone by now.
  assert(busy_column_families_.empty());
}

Status DBImpl::Close() {
  if (closed_.exchange(true)) return Status::OK();
  {
    port::MutexLock lock(&log_mu_);
    shutting_down_ = true;
    log_cv_.SignalAll();
  }
  if (checkpoint_thread_ != nullptr) checkpoint_thread_->Join();
  if (pager_ == nullptr || log_files_ == nullptr || options_.read_only) return Status::OK();
  Status status = FinishClose();
  ReportBackgroundError();
  if (status.ok()) Log(LogLevel::kInfo, "closed " + path_);
  return status;
}

Status DBImpl::FinishClose() {
  // A clean close makes every acknowledged commit durable, no-sync ones included. If the
  // checkpoint cannot run, at least the log is synced.
  Status checkpointed = RunCheckpoint(/*forced=*/false);
  if (checkpointed.ok()) return Status::OK();
  port::MutexLock lock(&log_mu_);
  Status synced;
  if (log_error_.ok() && written_lsn_ < buffered_lsn_ && !leader_active_) {
    synced = LeadGroup(/*sync=*/true);
  }
  if (!synced.ok() || !log_error_.ok()) {
    return Status::IOError("close: the final checkpoint failed (" + checkpointed.ToString() +
                           ") and the log could not be synced (" +
                           (synced.ok() ? log_error_ : synced).ToString() +
                           "); acknowledged no-sync commits may be lost");
  }
  return checkpointed.WithContext(
      "close: the final checkpoint failed; the log holds every acknowledged commit and the next "
      "open replays it");
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
      return Status::NotFound("database directory " + path + " does not exist (" +
                              CreateIfMissingNote(options) + ")");
    }
    MANIFOLD_RETURN_IF_ERROR(fs->CreateDir(path));
    if (!MANIFOLD_FAULT(planted_bug::kSkipDirSync)) {
      MANIFOLD_RETURN_IF_ERROR(fs->SyncDir(ParentDir(path)));
    }
  }
  // I24: look before touching anything. A directory that holds no database, or the remains of
  // one, is reported without creating the lock file (or anything else) in it.
  MANIFOLD_RETURN_IF_ERROR(CheckDirectory(fs, path, options).status());
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<FileLock> lock,
                            LockDatabase(fs, path, options.read_only));
  // Again under the lock: another process may have finished creating the database meanwhile.
  MANIFOLD_ASSIGN_OR_RETURN(const bool data_exists, CheckDirectory(fs, path, options));
  const std::string data_path = path + "/" + kDataFileName;
  if (data_exists && options.error_if_exists) {
    return Status::AlreadyExists("database " + path + " already exists (error_if_exists is on)");
  }
  if (!data_exists) {
    // I24: CheckDirectory lets a missing data file through only to an open that may create one,
    // and only where no log segment is left of an earlier database.
    assert(may_create);
    MANIFOLD_RETURN_IF_ERROR(CreateDataFile(fs, path, options.page_bytes));
  }
  OpenFileOptions open_options;
  open_options.read_only = options.read_only;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->OpenFile(data_path, open_options));
  if (!options.read_only) {  // I25: a read-only open writes and syncs nothing.
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
  Status recovered = db->Recover(std::move(file), slot);
  if (!recovered.ok()) {
    db->Log(LogLevel::kError, "open of " + path + " failed: " + recovered.ToString());
    return recovered;
  }
  db->LogOpened();
  return std::unique_ptr<DB>(std::move(db));
}

Status DBImpl::Recover(std::unique_ptr<File> file, const HeaderSlot& slot) {
  MANIFOLD_RETURN_IF_ERROR(LoadCheckpoint(std::move(file), slot));
  log_files_ = std::make_unique<LogFiles>(fs_, path_, options_.wal_segment_bytes);
  if (!options_.read_only) MANIFOLD_RETURN_IF_ERROR(SyncLogSegments());
  wal::ReplayResult replayed;
  MANIFOLD_RETURN_IF_ERROR(ReplayLog(slot.log_head, &replayed));
  if (options_.read_only) return Status::OK();
  std::vector<uint64_t> old_segments = replayed.segments;
  // A log that ended cleanly in its newest segment can be continued in place, after the end of
  // its chain (the header still names its head, I21). With nothing replayed, that is all an open
  // needs.
  const bool clean = !replay_torn_tail_ && records_salvage_dropped_ == 0 &&
                     replayed.end_segment != 0 && replayed.end_segment == old_segments.back();
  Status checkpointed = Status::OK();
  bool keep_log = clean && replayed.last_lsn == slot.sequence;
  if (!keep_log) {
    // The recovery checkpoint names the segment after the old ones as the log head (I21), or the
    // newest one if it was never written (an earlier open that failed after creating its head
    // must not make the next one create another).
    uint64_t head = old_segments.empty() ? 1 : old_segments.back() + 1;
    if (!old_segments.empty()) {
      MANIFOLD_ASSIGN_OR_RETURN(bool empty, log_files_->IsEmpty(old_segments.back()));
      if (empty) {
        head = old_segments.back();
        old_segments.pop_back();
      }
    }
    {
      port::MutexLock lock(&log_mu_);
      segment_ = head;
      segment_offset_ = 0;
    }
    // I18: before the first new record, a durable checkpoint covers everything replayed and the
    // old segments are gone, so a torn tail the replay stopped at can never be mistaken for
    // damage in front of newer records (nor its stale records for new ones).
    {
      port::MutexLock checkpoint_lock(&checkpoint_mu_);
      move_log_head_ = true;
    }
    checkpointed = RunCheckpoint(/*forced=*/false);
    {
      port::MutexLock checkpoint_lock(&checkpoint_mu_);
      move_log_head_ = false;
    }
    // Without room for the checkpoint (file_bytes_max), a log that ended cleanly can stay and a
    // later checkpoint retires it. A log that ended at a torn tail or was salvaged cannot (I18),
    // so that open fails and says why.
    bool wrote_nothing;
    {
      port::MutexLock lock(&state_mu_);
      wrote_nothing = background_error_.ok();  // A failure once writing began sets it (I8).
    }
    keep_log = checkpointed.IsNoSpace() && wrote_nothing && clean;
    if (!checkpointed.ok() && !keep_log) return checkpointed;
    if (checkpointed.ok()) MANIFOLD_RETURN_IF_ERROR(log_files_->Remove(old_segments));
  }
  {
    port::MutexLock lock(&log_mu_);
    segment_last_lsn_.clear();
    if (keep_log) {
      segment_ = replayed.end_segment;
      segment_offset_ = replayed.end_offset;
      for (uint64_t number : old_segments) segment_last_lsn_[number] = last_sequence_;
    }
  }
  if (options_.background_checkpoints) {
    checkpoint_thread_ =
        std::make_unique<port::Thread>("checkpoint", [this] { CheckpointThread(); });
  }
  return Status::OK();
}

// I10 for the log: a record replayed from a segment whose last sync failed (or never ran) may be
// only in the page cache; building on it (a new record vouching for it, or keeping the segment)
// would let a later power cut turn it into a hole. (Found by the simulator: seed 96.)
Status DBImpl::SyncLogSegments() {
  MANIFOLD_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(path_));
  for (const std::string& name : names) {
    uint64_t number = 0;
    if (!wal::ParseSegmentFileName(name, &number)) continue;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              fs_->OpenFile(path_ + "/" + name, OpenFileOptions{}));
    MANIFOLD_RETURN_IF_ERROR(file->Sync());
  }
  return Status::OK();
}

Status DBImpl::LoadCheckpoint(std::unique_ptr<File> file, const HeaderSlot& slot) {
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
  port::MutexLock checkpoint_lock(&checkpoint_mu_);
  allocator_ = PageAllocator(slot.page_count, options_.file_bytes_max / slot.page_bytes);
  uint64_t end = btree::kFirstDataPage;
  for (const btree::PageRun& run : runs) {
    if (run.count == 0 || run.first < end || run.first + run.count > slot.page_count) {
      return Status::Corruption(data_path + ": free-list run at page " + std::to_string(run.first) +
                                " of " + std::to_string(run.count) +
                                " pages overlaps or is out of range");
    }
    allocator_.AddFree(run);
    end = run.first + run.count;
  }
  free_list_chain_ = chain;

  btree::Cursor cursor(pager_.get(), btree::TreeRoot::OnDisk(slot.catalog));
  MANIFOLD_RETURN_IF_ERROR(cursor.SeekToFirst());
  while (cursor.Valid()) {
    MANIFOLD_ASSIGN_OR_RETURN(std::string record, MaterializeValue(pager_.get(), cursor.value()));
    MANIFOLD_ASSIGN_OR_RETURN(ColumnFamilyState state, DecodeColumnFamilyRecord(record));
    version->column_families.Set(cursor.key(), state);
    MANIFOLD_RETURN_IF_ERROR(cursor.Next());
  }
  on_disk_cfs_.clear();
  for (const auto& [name, state] : version->column_families) on_disk_cfs_[name] = state;
  checkpoint_ = CheckpointState{slot.sequence, slot.checkpoint_count, slot.log_head, version};
  port::MutexLock lock(&log_mu_);
  latest_ = version;
  last_sequence_ = buffered_lsn_ = written_lsn_ = synced_lsn_ = slot.sequence;
  published_sequence_ = checkpoint_sequence_ = slot.sequence;
  port::MutexLock state_lock(&state_mu_);
  current_ = version;
  return Status::OK();
}

namespace {

// The state replay builds: column families and one write tree per column family it changed.
class ReplayState {
 public:
  ReplayState(Pager* pager, const Version& base) : pager_(pager), next_cf_id_(base.next_cf_id) {
    for (const auto& [name, state] : base.column_families) cfs_[name] = state;
  }

  Status Apply(uint64_t lsn, std::string_view payload) {
    ops_.clear();
    MANIFOLD_RETURN_IF_ERROR(wal::DecodePayload(payload, &ops_));
    for (const wal::LogOpView& op : ops_) MANIFOLD_RETURN_IF_ERROR(ApplyOp(lsn, op));
    return Status::OK();
  }

  // Publishes the replayed trees into `next`, and returns the pages their copies replaced.
  void Finish(Version* next, std::vector<btree::PageRun>* freed_runs,
              std::map<uint32_t, std::vector<btree::PageRun>>* freed, uint64_t* dirty_bytes) {
    (void)freed_runs;
    next->next_cf_id = next_cf_id_;
    next->column_families.Clear();
    for (auto& [name, state] : cfs_) {
      auto tree = trees_.find(name);
      if (tree != trees_.end() && tree->second->modified()) {
        btree::TreeRoot root = tree->second->Publish();
        state.root = root.node ? btree::PageRef{} : root.page;
        state.memory_root = root.node;
        (*freed)[state.id] = tree->second->freed();
        *dirty_bytes += tree->second->dirty_bytes();
      }
      next->column_families.Set(name, state);
    }
  }

 private:
  Status ApplyOp(uint64_t lsn, const wal::LogOpView& op) {
    const std::string where = "log record " + std::to_string(lsn);
    std::string cf(op.column_family);
    auto it = cfs_.find(cf);
    switch (op.type) {
      case wal::LogOpType::kCreateColumnFamily:
        if (it != cfs_.end() || op.cf_id != next_cf_id_) {
          return Status::Corruption(where + " creates column family '" + cf + "' (id " +
                                    std::to_string(op.cf_id) + ") which does not fit the state");
        }
        cfs_[cf] = ColumnFamilyState{next_cf_id_++, {}, nullptr};
        return Status::OK();
      case wal::LogOpType::kDropColumnFamily:
        if (it == cfs_.end()) {
          return Status::Corruption(where + " drops missing column family '" + cf + "'");
        }
        trees_.erase(cf);  // Its pages are freed by the checkpoint (the whole old tree).
        cfs_.erase(it);
        return Status::OK();
      case wal::LogOpType::kPut:
      case wal::LogOpType::kDelete:
        break;
    }
    if (it == cfs_.end()) {
      return Status::Corruption(where + " writes to missing column family '" + cf + "'");
    }
    auto tree = trees_.find(cf);
    if (tree == trees_.end()) {
      tree =
          trees_.emplace(cf, std::make_unique<btree::WriteTree>(pager_, it->second.tree())).first;
    }
    if (op.type == wal::LogOpType::kPut) return tree->second->Put(op.key, op.value);
    return tree->second->Delete(op.key).status();
  }

  Pager* pager_;
  uint32_t next_cf_id_;
  std::map<std::string, ColumnFamilyState> cfs_;
  std::map<std::string, std::unique_ptr<btree::WriteTree>> trees_;
  std::vector<wal::LogOpView> ops_;
};

}  // namespace

Status DBImpl::ReplayLog(uint64_t head_segment, wal::ReplayResult* replayed) {
  VersionPtr base = latest();
  ReplayState state(pager_.get(), *base);
  wal::ReplayOptions replay_options;
  replay_options.fs = fs_;
  replay_options.dir = path_;
  replay_options.checkpoint_lsn = base->sequence;
  replay_options.head_segment = head_segment;
  replay_options.salvage = options_.wal_salvage;
  wal::ReplayResult& result = *replayed;
  MANIFOLD_RETURN_IF_ERROR(wal::ReplayLog(
      replay_options,
      [&](uint64_t lsn, std::string_view payload) { return state.Apply(lsn, payload); }, &result));
  replay_torn_tail_ = result.torn_tail;
  records_replayed_ = result.records_applied;
  records_salvage_dropped_ = result.salvage_dropped;
  if (result.last_lsn == base->sequence) return Status::OK();
  auto next = std::make_shared<Version>(registry_, result.last_lsn);
  std::vector<btree::PageRun> unused;
  std::map<uint32_t, std::vector<btree::PageRun>> freed;
  uint64_t dirty_bytes = 0;
  state.Finish(next.get(), &unused, &freed, &dirty_bytes);
  port::MutexLock lock(&log_mu_);
  for (auto& [cf_id, runs] : freed) {
    pending_frees_.push_back(PendingFree{result.last_lsn, cf_id, std::move(runs), {}});
  }
  dirty_by_sequence_.push_back(DirtyEntry{result.last_lsn, dirty_bytes, 0, clock_->NowMicros()});
  dirty_bytes_ += dirty_bytes;
  latest_ = next;
  last_sequence_ = buffered_lsn_ = written_lsn_ = synced_lsn_ = result.last_lsn;
  published_sequence_ = result.last_lsn;
  port::MutexLock state_lock(&state_mu_);
  current_ = next;
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
  if (closed_) return Status::InvalidArgument("database " + path_ + " is closed");
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

// --- Info log --------------------------------------------------------------------------------

void DBImpl::Log(LogLevel level, const std::string& message) {
  if (info_log_ != nullptr) info_log_->Log(level, message);
}

void DBImpl::ReportBackgroundError() {
  Status error;
  {
    port::MutexLock lock(&state_mu_);
    if (background_error_.ok() || background_error_reported_) return;
    background_error_reported_ = true;
    error = background_error_;
  }
  Log(LogLevel::kError,
      "database " + path_ + " refuses writes until it is reopened (I8): " + error.ToString());
}

void DBImpl::LogOpened() {
  uint64_t sequence;
  {
    port::MutexLock lock(&log_mu_);
    sequence = published_sequence_;
  }
  // Replayed records have consecutive sequence numbers right after the checkpoint's.
  std::string message = "opened " + path_ + (options_.read_only ? " read-only" : "") +
                        ": page_bytes " + std::to_string(pager_->layout().page_bytes) +
                        ", replayed " + std::to_string(records_replayed_) +
                        " log records after the checkpoint at sequence " +
                        std::to_string(sequence - records_replayed_) +
                        (replay_torn_tail_ ? " (the log ended at a torn tail)" : "") +
                        ", sequence " + std::to_string(sequence);
  if (records_salvage_dropped_ > 0) {
    message += "; wal_salvage dropped " + std::to_string(records_salvage_dropped_) + " records";
  }
  Log(records_salvage_dropped_ > 0 ? LogLevel::kWarn : LogLevel::kInfo, message);
}

// --- Column family ownership ---------------------------------------------------------------

Status DBImpl::AcquireColumnFamilies(const std::vector<std::string>& names) {
  port::MutexLock lock(&state_mu_);
  // Taking all names at once, never one by one, rules out deadlock between batches (I7).
  // The first of `names` another writer holds, or null. (A loop, not std::find_if: clang's lock
  // analysis cannot see state_mu_ held inside a lambda passed to a library algorithm.)
  auto first_busy = [&]() MANIFOLD_REQUIRES(state_mu_) -> const std::string* {
    for (const std::string& name : names) {
      if (busy_column_families_.count(name) > 0) return &name;
    }
    return nullptr;
  };
  auto any_busy = [&]() MANIFOLD_REQUIRES(state_mu_) { return first_busy() != nullptr; };
  const uint64_t now_us = clock_->NowMicros();
  const uint64_t wait_us_max = options_.writer_wait_us_max;
  const uint64_t deadline_us =
      wait_us_max > UINT64_MAX - now_us ? UINT64_MAX : now_us + wait_us_max;
  assert(deadline_us >= now_us);  // I27: every wait for a writer slot has a deadline.
  while (any_busy()) {
    if (column_family_released_.WaitUntil(clock_, deadline_us) || !any_busy()) continue;
    // I27: thread ids cannot tell this thread's own Transaction from another's (nor may they
    // drive engine decisions), so a bounded wait is what turns a self-deadlock into an error.
    const std::string* busy = first_busy();
    return Status::Busy("column family '" + *busy + "' is still held by another writer after " +
                        std::to_string(wait_us_max) +
                        " us (writer_wait_us_max); an open Transaction holds its column family "
                        "until Commit or Abort, so write to it through the Transaction");
  }
  for (const std::string& name : names) busy_column_families_.insert(name);
  return Status::OK();
}

void DBImpl::ReleaseColumnFamilies(const std::vector<std::string>& names) {
  port::MutexLock lock(&state_mu_);
  for (const std::string& name : names) busy_column_families_.erase(name);
  column_family_released_.SignalAll();
}

namespace {

// Gives held column families back when the scope ends, however it ends: a return, or (scheduler
// only) a failing run unwinding the thread from a wait inside the commit (I7).
class ReleaseOnExit {
 public:
  ReleaseOnExit(DBImpl* db, const std::vector<std::string>& names) : db_(db), names_(names) {}
  ~ReleaseOnExit() { db_->ReleaseColumnFamilies(names_); }
  ReleaseOnExit(const ReleaseOnExit&) = delete;
  ReleaseOnExit& operator=(const ReleaseOnExit&) = delete;

 private:
  DBImpl* const db_;
  const std::vector<std::string>& names_;
};

}  // namespace

// --- Commit pipeline ---------------------------------------------------------------------------

VersionPtr DBImpl::latest() {
  port::MutexLock lock(&log_mu_);
  return latest_;
}

VersionPtr DBImpl::current() {
  port::MutexLock lock(&state_mu_);
  return current_;
}

Status DBImpl::CheckRecordFits(size_t payload_bytes) const {
  // batch_bytes_max bounds keys and values; this bounds the encoding around them.
  if (payload_bytes > wal::kRecordPayloadBytesMax) {
    return Status::InvalidArgument("commit of " + std::to_string(payload_bytes) +
                                   " log bytes exceeds the log record limit of " +
                                   std::to_string(wal::kRecordPayloadBytesMax) + " bytes");
  }
  return Status::OK();
}

Status DBImpl::Commit(CommitRequest request) {
  // Counted while on its way to the log, however it leaves (a return, or, scheduler only, a
  // failing run unwinding it from a wait).
  struct Counted {
    port::Atomic<uint64_t>& committers;
    explicit Counted(port::Atomic<uint64_t>& c) : committers(c) {
      committers.fetch_add(1, std::memory_order_relaxed);
    }
    ~Counted() { committers.fetch_sub(1, std::memory_order_relaxed); }
  } counted(committers_);
  return CommitCounted(std::move(request));
}

Status DBImpl::CommitCounted(CommitRequest request) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  MANIFOLD_RETURN_IF_ERROR(CheckRecordFits(request.payload.size()));
  MANIFOLD_RETURN_IF_ERROR(ThrottleWriter());
  if (MANIFOLD_FAULT(planted_bug::kLogPagesNotContents))
    request.payload = wal::PayloadBuilder().Finish();
  // The trees are final: from here on their nodes are shared with readers (I1).
  struct Published {
    std::string name;
    btree::TreeRoot root;
    btree::WriteTree* tree;
  };
  std::vector<Published> published;
  uint64_t dirty_bytes = 0;
  for (const TreeUpdate& update : request.updates) {
    if (!update.tree->modified()) continue;
    published.push_back(Published{update.column_family, update.tree->Publish(), update.tree});
    dirty_bytes += update.tree->dirty_bytes();
  }
  Status status;
  uint64_t rollbacks = 0;
  {
    port::MutexLock lock(&log_mu_);
    auto next = std::make_shared<Version>(registry_, last_sequence_ + 1);
    next->column_families = latest_->column_families;
    next->next_cf_id = latest_->next_cf_id;
    if (request.edit) MANIFOLD_RETURN_IF_ERROR(request.edit(next.get(), &request.payload));
    const uint64_t sequence = next->sequence;
    for (const Published& p : published) {
      // I7: a held column family cannot be dropped, but the commit that created it can be rolled
      // back after this writer read it (I26).
      if (next->Find(p.name) == nullptr) {
        return Status::NotFound("column family '" + p.name +
                                "' no longer exists: the commit that created it was rolled back");
      }
    }
    for (const Published& p : published) {
      // O(log n) in the number of column families: the catalog is shared, not copied.
      ColumnFamilyState state = *next->Find(p.name);
      state.root = p.root.node ? btree::PageRef{} : p.root.page;
      state.memory_root = p.root.node;
      pending_frees_.push_back(
          PendingFree{sequence, state.id, p.tree->freed(), p.tree->freed_cells()});
      next->column_families.Set(p.name, state);
    }
    last_sequence_ = sequence;
    latest_ = next;
    if (request.assigned_sequence != nullptr) *request.assigned_sequence = sequence;
    AppendRecord(sequence, request.payload);
    if (dirty_bytes_ == 0) oldest_dirty_us_ = clock_->NowMicros();
    dirty_bytes_ += dirty_bytes;
    dirty_by_sequence_.push_back(
        DirtyEntry{sequence, dirty_bytes, wal::RecordBytes(request.payload.size()), 0});
    auto rolled_back = std::make_shared<Status>();
    unpublished_.push_back(Unpublished{sequence, std::move(next), request.sync, rolled_back});
    if (request.sync) {
      status = WaitDurable(sequence, *rolled_back);
    } else {
      PublishReady();
      if (log_buffer_bytes_ >= kLogBufferBytesMax && !leader_active_) status = LeadGroup(false);
    }
    if (status.ok()) status = WaitPublished(sequence, *rolled_back);
    if (status.ok()) ++commits_;
    rollbacks = log_rollbacks_;
  }
  if (status.ok()) AfterCommit();
  if (!status.ok()) ReportCommitFailure(status, rollbacks);
  return status;
}

// One line per rolled-back group (not per commit: a full disk fails many), and the first error
// that makes the database refuse writes.
void DBImpl::ReportCommitFailure(const Status& status, uint64_t rollbacks) {
  uint64_t reported = log_rollbacks_reported_.load();
  while (status.IsNoSpace() && reported < rollbacks &&
         !log_rollbacks_reported_.compare_exchange_weak(reported, rollbacks)) {
  }
  if (status.IsNoSpace() && reported < rollbacks) {
    Log(LogLevel::kWarn,
        "log out of space, commits refused and undone (I26): " + status.ToString());
  }
  ReportBackgroundError();
}

void DBImpl::AppendRecord(uint64_t sequence, std::string_view payload) {
  assert(sequence == buffered_lsn_ + 1);  // I17: records are appended in commit order.
  const uint64_t bytes = wal::RecordBytes(payload.size());
  // Every segment keeps room after its data records for a sync marker and a roll record.
  if (segment_offset_ > 0 &&
      segment_offset_ + bytes + wal::kSegmentReserveBytes > options_.wal_segment_bytes) {
    // I20: the record does not fit, so this segment ends with a roll record naming the next one
    // (the leader prepares that file before writing the roll record).
    LogChunk& chunk = BufferChunk();
    wal::AppendRollRecord(&chunk.bytes, segment_, sequence, synced_lsn_, segment_ + 1);
    chunk.rolls_to = segment_ + 1;
    log_buffer_bytes_ += wal::kRollRecordBytes;
    // The roll record is this segment's last write: until the record it names is written (and
    // checkpointed), a checkpoint must not retire the segment, or the leader's write of the roll
    // record lands in a file already recycled under another name (I20, I21; found by the
    // concurrent simulator under PCT, seeds 50 and 162 with --faults none: "log bytes ... do not
    // read back as written").
    segment_last_lsn_[segment_] = sequence;
    ++segment_;
    segment_offset_ = 0;
  }
  // A record larger than a segment gets a segment of its own, longer than the others.
  wal::AppendRecord(&BufferChunk().bytes, segment_, sequence, synced_lsn_, payload);
  segment_offset_ += bytes;
  segment_last_lsn_[segment_] = sequence;
  buffered_lsn_ = sequence;
  log_buffer_bytes_ += bytes;
  log_bytes_uncovered_ += bytes;
  ++log_records_;
}

// The buffered chunk for the current segment, started at its current offset if needed.
DBImpl::LogChunk& DBImpl::BufferChunk() {
  if (log_buffer_.empty() || log_buffer_.back().segment != segment_) {
    log_buffer_.push_back(LogChunk{segment_, segment_offset_, {}});
  }
  return log_buffer_.back();
}

// I23: once a group is durable and nothing was appended after it, a sync marker right after it
// carries synced_lsn = target, so the group's newest record has a record after it that vouches
// for it (a bit flipped in it on disk is then Corruption, not a torn tail). Written, not synced,
// by the leader while it still leads, so no other write races it for the offset.
void DBImpl::WriteSyncMarker(uint64_t target) {
  if (buffered_lsn_ != target || !log_buffer_.empty()) return;
  LogChunk chunk{segment_, segment_offset_, {}};
  wal::AppendSyncMarker(&chunk.bytes, segment_, target + 1, synced_lsn_);
  // segment_offset_ stays where the marker starts: the next group is written over it (its
  // records vouch for this group themselves). The marker is not read back, so if its write was
  // lost or landed elsewhere, leaving room for it would leave a hole in front of the next
  // group's acknowledged records, and recovery would stop at the hole (chaos seed 219).
  port::MutexUnlock unlocked(&log_mu_);
  Status status = log_files_->Write(chunk.segment, chunk.offset, chunk.bytes);
  unlocked.Relock();
  if (!status.ok()) FailLog(status);
}

Status DBImpl::WaitDurable(uint64_t sequence, const Status& rolled_back) {
  for (;;) {
    // First: after a rollback a later commit reuses this sequence number (I26).
    if (!rolled_back.ok()) return rolled_back;
    if (synced_lsn_ >= sequence) return Status::OK();
    if (!log_error_.ok()) {
      return Status::IOError("commit " + std::to_string(sequence) +
                             " is not known to be durable: the log failed (" +
                             log_error_.ToString() + "); reopen the database");
    }
    if (!leader_active_) {
      MANIFOLD_RETURN_IF_ERROR(LeadGroup(/*sync=*/true));
      continue;
    }
    if (MANIFOLD_FAULT(planted_bug::kLostWakeup)) {
      // The planted bug: the lock is dropped between the check above and the wait (the info log
      // is never written under it, I16), so the leader's signal can fall in between and is lost.
      log_mu_.Unlock();
      Log(LogLevel::kInfo, "commit " + std::to_string(sequence) + " waits for its group's sync");
      log_mu_.Lock();
    }
    log_cv_.Wait();
  }
}

Status DBImpl::WaitPublished(uint64_t sequence, const Status& rolled_back) {
  for (;;) {
    if (!rolled_back.ok()) return rolled_back;  // Checked first, as in WaitDurable.
    if (published_sequence_ >= sequence) break;
    if (!log_error_.ok()) {
      return Status::IOError("commit " + std::to_string(sequence) +
                             " waits behind a commit whose log write failed (" +
                             log_error_.ToString() + "); reopen the database");
    }
    if (!leader_active_) {
      // An earlier sync commit is waiting for a leader that is this thread's turn to be.
      MANIFOLD_RETURN_IF_ERROR(LeadGroup(/*sync=*/true));
      continue;
    }
    log_cv_.Wait();
  }
  return Status::OK();
}

// Writes every buffered record with one write per segment and, for `sync`, one data sync per
// segment, with log_mu_ released meanwhile. I17: only records buffered when the leader took the
// buffer count as synced; records appended during the write or sync wait for the next leader.
Status DBImpl::LeadGroup(bool sync) {
  assert(!leader_active_);
  leader_active_ = true;
  // A leader unwound part way (scheduler only: a failing run) took the buffered records with it:
  // the log has a hole now, so it fails as after a failed write (I8), and nobody waits for this
  // leader any more. Runs with log_mu_ held again (the MutexUnlocks below end first).
  // (Not analyzed by clang: OnUnwind calls it from its destructor, where the analysis cannot
  // tell that log_mu_ is held again.)
  port::OnUnwind abandoned([this]() MANIFOLD_NO_THREAD_SAFETY_ANALYSIS {
    leader_active_ = false;
    FailLog(Status::IOError("log group abandoned: its leader stopped part way"));
  });
  // The window only helps when another committer is on its way to the log: a lone writer never
  // waits for company that cannot come.
  const uint64_t waiting = buffered_lsn_ - synced_lsn_;  // Appended, not yet synced.
  if (sync && options_.group_commit_window_us > 0 &&
      committers_.load(std::memory_order_relaxed) > waiting) {
    port::MutexUnlock window(&log_mu_);
    clock_->SleepForMicros(options_.group_commit_window_us);
    window.Relock();
  }
  std::deque<LogChunk> chunks;
  chunks.swap(log_buffer_);
  log_buffer_bytes_ = 0;
  const uint64_t target = buffered_lsn_;
  port::MutexUnlock unlocked(&log_mu_);
  // I26: the space for the whole group is taken before its first byte is written, so running
  // out of it fails the group cleanly instead of making the database refuse writes.
  Status status = PrepareChunks(chunks);
  if (status.IsNoSpace()) {
    unlocked.Relock();
    leader_active_ = false;
    log_cv_.SignalAll();
    return FailUnwritten(chunks.front(), status);
  }
  for (const LogChunk& chunk : chunks) {
    if (!status.ok()) break;
    status = log_files_->Write(chunk.segment, chunk.offset, chunk.bytes);
  }
  if (status.ok() && sync && MANIFOLD_FAULT(planted_bug::kFollowerReleasedBeforeSync)) {
    // The planted bug: "the group is written, let the followers go while the leader syncs".
    log_mu_.Lock();
    synced_lsn_ = std::max(synced_lsn_, target);
    PublishReady();
    log_mu_.Unlock();
  }
  if (status.ok() && sync) status = log_files_->SyncWritten();
  // The log's I11: a record is acknowledged (or vouched for by a later sync) only once its bytes
  // read back where they were written.
  for (const LogChunk& chunk : chunks) {
    if (!status.ok()) break;
    status = log_files_->VerifyWritten(chunk.segment, chunk.offset, chunk.bytes);
  }
  unlocked.Relock();
  if (!status.ok()) {
    leader_active_ = false;
    FailLog(status);
    return status;
  }
  // I17: the leader vouches only for what it took from the buffer, and never moves backwards.
  MANIFOLD_CHECK(synced_lsn_ <= target && written_lsn_ <= target && target <= buffered_lsn_,
                 "I17: a group's target lies between the durable and the buffered LSN");
  written_lsn_ = target;
  const uint64_t covered = target - synced_lsn_;
  if (sync) {
    synced_lsn_ = MANIFOLD_FAULT(planted_bug::kSyncCoversLateRecords) ? buffered_lsn_ : target;
    ++log_syncs_;
    log_sync_commits_ += covered;
    size_t bucket = 0;
    while (bucket + 1 < 32 && (covered >> (bucket + 1)) != 0) ++bucket;
    if (sync_histogram_.size() <= bucket) sync_histogram_.resize(bucket + 1);
    ++sync_histogram_[bucket];
  }
  PublishReady();
  // The group is durable and published: a failed marker write fails the log for later commits
  // (WriteSyncMarker calls FailLog) but not this group's, which readers may already have seen
  // (I19: an error means not visible). Found by the concurrent simulator (seeds 4 and 14: a power
  // cut on the marker failed the leader's commit while its follower was acknowledged after it).
  if (sync && covered > 0) WriteSyncMarker(target);
  leader_active_ = false;
  log_cv_.SignalAll();
  return status;
}

// Makes visible, in commit order, every commit whose record is durable or that did not ask for
// durability (I19: readers never see a sync commit before it is durable, nor anything after it).
void DBImpl::PublishReady() {
  VersionPtr newest;
  if (MANIFOLD_FAULT(planted_bug::kPublicationOutOfOrder)) {
    // The planted bug: "a commit that is ready need not wait for one that is not".
    for (auto it = unpublished_.begin(); it != unpublished_.end();) {
      if (it->sync && it->sequence > synced_lsn_) {
        ++it;
        continue;
      }
      newest = it->version;
      published_sequence_ = it->sequence;
      it = unpublished_.erase(it);
    }
  }
  while (!unpublished_.empty()) {
    const Unpublished& front = unpublished_.front();
    if (front.sync && front.sequence > synced_lsn_) break;
    MANIFOLD_CHECK(front.sequence > published_sequence_,
                   "I19: publication never goes back to an older sequence number");
    newest = front.version;
    published_sequence_ = front.sequence;
    unpublished_.pop_front();
  }
  if (newest == nullptr) return;
  {
    port::MutexLock lock(&state_mu_);
    current_ = std::move(newest);
  }
  log_cv_.SignalAll();
}

Status DBImpl::PrepareChunks(const std::deque<LogChunk>& chunks) {
  for (const LogChunk& chunk : chunks) {
    uint64_t end_offset = chunk.offset + chunk.bytes.size();
    // The sync marker after the group (I23) goes where the last chunk ends, in the room every
    // segment keeps for it: its space is taken here too, so writing it never runs out (I26).
    if (&chunk == &chunks.back()) end_offset += wal::kSyncMarkerRecordBytes;
    MANIFOLD_RETURN_IF_ERROR(log_files_->Prepare(chunk.segment, end_offset));
    // I20: a surviving roll record proves the segment it names existed, so that segment's file
    // and directory entry are durable before the roll record is written.
    if (chunk.rolls_to != 0) MANIFOLD_RETURN_IF_ERROR(log_files_->Create(chunk.rolls_to));
  }
  return Status::OK();
}

// I26: a commit whose record never reached the log can be undone as if it had not been made, as
// long as nothing depends on it yet: no reader saw it (nor a version built on it), no earlier
// written record still waits for a sync (its waiter would be left behind), and no checkpoint took
// it. Then every commit after the last written record fails with NoSpace, and the next commit
// takes the next sequence number, so the log's LSNs stay consecutive.
Status DBImpl::FailUnwritten(const LogChunk& first, const Status& status) {
  if (!CanRollBack()) {
    Status failed = status.WithContext(
        "the log could not make room, and commits not yet written "
        "are visible or checkpointed, so they cannot be undone");
    FailLog(failed);
    return failed;
  }
  const uint64_t from = written_lsn_ + 1;
  const std::string range = std::to_string(from) + ".." + std::to_string(buffered_lsn_);
  Status error = Status::NoSpace("commits " + range + " were not applied: " + status.message() +
                                 "; nothing of them was written, retry once space is freed");
  RollBackUnwritten(first, error);
  return error;
}

bool DBImpl::CanRollBack() {
  if (!log_error_.ok() || published_sequence_ > written_lsn_) return false;
  if (checkpoint_target_sequence_ > written_lsn_) return false;
  if (!unpublished_.empty() && unpublished_.front().sequence <= written_lsn_) return false;
  port::MutexLock lock(&state_mu_);
  // The newest visible version is the one the rollback returns to (nothing else was published).
  return background_error_.ok() && current_->sequence == written_lsn_;
}

void DBImpl::RollBackUnwritten(const LogChunk& first, const Status& error) {
  const uint64_t keep = written_lsn_;
  for (Unpublished& commit : unpublished_) *commit.rolled_back = error;
  unpublished_.clear();
  while (!pending_frees_.empty() && pending_frees_.back().sequence > keep)
    pending_frees_.pop_back();
  while (!dirty_by_sequence_.empty() && dirty_by_sequence_.back().sequence > keep) {
    dirty_bytes_ -= dirty_by_sequence_.back().dirty_bytes;
    log_bytes_uncovered_ -= dirty_by_sequence_.back().log_bytes;
    dirty_by_sequence_.pop_back();
  }
  log_records_ -= buffered_lsn_ - keep;
  log_buffer_.clear();
  log_buffer_bytes_ = 0;
  // The next record goes where the first undone one was to go.
  segment_ = first.segment;
  segment_offset_ = first.offset;
  segment_last_lsn_.erase(
      segment_last_lsn_.lower_bound(first.offset > 0 ? first.segment + 1 : first.segment),
      segment_last_lsn_.end());
  if (first.offset > 0) segment_last_lsn_[first.segment] = keep;
  if (!MANIFOLD_FAULT(planted_bug::kRollbackKeepsSequence)) last_sequence_ = buffered_lsn_ = keep;
  ++log_rollbacks_;
  {
    port::MutexLock lock(&state_mu_);
    latest_ = current_;
  }
  assert(latest_->sequence == keep);  // I26: the rollback returns to the visible version.
  log_cv_.SignalAll();
}

// I8: a failed log write or sync is never retried as if nothing happened (the kernel may have
// dropped the dirty pages): every waiting commit fails and the database refuses writes.
void DBImpl::FailLog(const Status& status) {
  if (log_error_.ok()) log_error_ = status;
  SetBackgroundError(status);
  log_cv_.SignalAll();
}

bool DBImpl::CheckpointDue() {
  const uint64_t dirty_trigger = options_.checkpoint_dirty_bytes != 0
                                     ? options_.checkpoint_dirty_bytes
                                     : options_.write_buffer_bytes_max / 4;
  if (dirty_bytes_ >= dirty_trigger) return true;
  if (log_bytes_uncovered_ >= options_.checkpoint_log_bytes) return true;
  return options_.checkpoint_interval_us != 0 && dirty_bytes_ != 0 &&
         clock_->NowMicros() - oldest_dirty_us_ >= options_.checkpoint_interval_us;
}

void DBImpl::AfterCommit() {
  {
    port::MutexLock lock(&log_mu_);
    if (!CheckpointDue()) return;
    if (options_.background_checkpoints) {
      checkpoint_requested_ = true;
      log_cv_.SignalAll();
      return;
    }
  }
  // Inline checkpoint: its failure is recorded (and, after writing, makes the database
  // read-only); the commit that triggered it is already acknowledged.
  (void)RunCheckpoint(/*forced=*/false);
}

Status DBImpl::ThrottleWriter() {
  std::string stall;
  Status status = ThrottleWriterHeld(&stall);
  if (!stall.empty()) Log(status.ok() ? LogLevel::kWarn : LogLevel::kError, stall);
  return status;
}

// Backpressure: while the write buffer is full, writers wait for a checkpoint (or run it).
Status DBImpl::ThrottleWriterHeld(std::string* stall) {
  port::MutexLock lock(&log_mu_);
  if (dirty_bytes_ < options_.write_buffer_bytes_max) return Status::OK();
  const uint64_t start_us = clock_->NowMicros();
  ++stalls_;
  Status status;
  if (!options_.background_checkpoints) {
    port::MutexUnlock unlocked(&log_mu_);
    status = RunCheckpoint(/*forced=*/false);
    unlocked.Relock();
  } else {
    checkpoint_requested_ = true;
    log_cv_.SignalAll();
    while (dirty_bytes_ >= options_.write_buffer_bytes_max && checkpoint_error_.ok() &&
           log_error_.ok()) {
      log_cv_.Wait();
    }
    if (dirty_bytes_ >= options_.write_buffer_bytes_max) {
      status = !checkpoint_error_.ok() ? checkpoint_error_ : log_error_;
    }
  }
  const uint64_t stalled_us = clock_->NowMicros() - start_us;
  stall_us_ += stalled_us;
  // One line per checkpoint at most: under sustained load every writer stalls.
  if (stall_logged_at_checkpoint_ != checkpoints_ + 1) {
    stall_logged_at_checkpoint_ = checkpoints_ + 1;
    *stall = "writer stalled " + std::to_string(stalled_us) + " us: write buffer full (" +
             std::to_string(dirty_bytes_) + " dirty bytes, write_buffer_bytes_max " +
             std::to_string(options_.write_buffer_bytes_max) + ")" +
             (status.ok() ? "" : "; checkpoint failed: " + status.ToString());
  }
  // With checkpoints failing (say for file_bytes_max), commits still go through up to twice the
  // limit, so that the deletes that would make the checkpoint fit are not refused with the rest.
  if (!status.ok() && log_error_.ok() && dirty_bytes_ < 2 * options_.write_buffer_bytes_max) {
    return Status::OK();
  }
  if (!status.ok()) {
    return status.WithContext("the write buffer is full (write_buffer_bytes_max " +
                              std::to_string(options_.write_buffer_bytes_max) +
                              ") and a checkpoint failed");
  }
  return Status::OK();
}

// --- Checkpoints ---------------------------------------------------------------------------

Status DBImpl::Checkpoint() {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  return RunCheckpoint(/*forced=*/true);
}

void DBImpl::CheckpointThread() {
  for (;;) {
    {
      port::MutexLock lock(&log_mu_);
      while (!checkpoint_requested_ && !shutting_down_) log_cv_.Wait();
      if (shutting_down_) return;
      checkpoint_requested_ = false;
    }
    (void)RunCheckpoint(/*forced=*/false);  // Failures are recorded for stalled writers.
  }
}

Status DBImpl::RunCheckpoint(bool forced) {
  bool refused_before;
  {
    port::MutexLock lock(&state_mu_);
    refused_before = !background_error_.ok();
  }
  uint64_t checkpoints_before;
  {
    port::MutexLock lock(&log_mu_);
    checkpoints_before = checkpoints_;
  }
  const uint64_t start_us = clock_->NowMicros();
  Status status = CheckpointOnce(forced);
  if (!status.ok() && !refused_before) {
    bool writable;
    bool repeated;
    {
      port::MutexLock lock(&state_mu_);
      writable = background_error_.ok();
      // A full device fails every attempt the same way: one line until the error changes.
      repeated = status.ToString() == last_checkpoint_failure_;
      last_checkpoint_failure_ = status.ToString();
    }
    if (!repeated) {
      Log(writable ? LogLevel::kWarn : LogLevel::kError,
          "checkpoint failed: " + status.ToString() +
              (writable ? "; nothing was written, the database stays writable and retries later"
                        : ""));
    }
  } else if (status.ok()) {
    {
      port::MutexLock lock(&state_mu_);
      last_checkpoint_failure_.clear();
    }
    uint64_t checkpoints, sequence;
    {
      port::MutexLock lock(&log_mu_);
      checkpoints = checkpoints_;
      sequence = checkpoint_sequence_;
    }
    if (checkpoints != checkpoints_before) {
      Log(LogLevel::kInfo, "checkpoint at sequence " + std::to_string(sequence) + " in " +
                               std::to_string(clock_->NowMicros() - start_us) + " us");
    }
  }
  ReportBackgroundError();
  return status;
}

// I13/I14: write the dirty trees of the latest version and the catalog, sync, write the other
// header slot, sync; only then publish where nodes went, free what the covered commits replaced,
// and retire the log segments the checkpoint covers. Writers keep committing meanwhile.
Status DBImpl::CheckpointOnce(bool forced) {
  port::MutexLock checkpoint_lock(&checkpoint_mu_);
  // A checkpoint unwound part way (scheduler only: a failing run) may have written some pages and
  // left its frees and allocations half done: as after a failed write, only a reopen is safe (I8).
  port::OnUnwind abandoned([this] {
    const Status failed = Status::IOError("checkpoint abandoned: its thread stopped part way");
    SetBackgroundError(failed);
    port::MutexLock lock(&log_mu_);
    checkpoint_error_ = failed;
    log_cv_.SignalAll();
  });
  {
    port::MutexLock state_lock(&state_mu_);
    if (!background_error_.ok()) {
      return Status::ReadOnly("no checkpoint after an earlier failure (" +
                              background_error_.ToString() + ")");
    }
  }
  const uint64_t start_us = clock_->NowMicros();
  VersionPtr target;
  std::vector<PendingFree> frees;
  uint64_t log_head;
  // The planted bug: the version is read without log_mu_ (a data race with Commit), the sequence
  // that goes with it under log_mu_, later.
  const bool unlocked = MANIFOLD_FAULT(planted_bug::kCheckpointReadsVersionUnlocked);
  if (unlocked) target = latest_;
  {
    port::MutexLock lock(&log_mu_);
    if (!unlocked) target = latest_;
    const uint64_t covered = unlocked ? last_sequence_ : target->sequence;
    log_head = LogHead(covered);
    // Nothing new (a recovery that ended at a torn tail still moves the head past the old
    // segments, even when it replayed nothing).
    if (target->sequence == checkpoint_.sequence && !move_log_head_) {
      return Status::OK();
    }
    checkpoint_target_sequence_ = target->sequence;  // I26: no rollback below this now.
    while (!pending_frees_.empty() && pending_frees_.front().sequence <= covered) {
      frees.push_back(std::move(pending_frees_.front()));
      pending_frees_.pop_front();
    }
  }
  const uint64_t sequence = target->sequence;
  allocator_.Release(MANIFOLD_FAULT(planted_bug::kReusePinnedPages) ? sequence
                                                                    : registry_->OldestLive());
  allocator_.BeginCommit();
  CommitWriter writer(&allocator_, pager_->layout(), sequence);
  std::vector<btree::PendingFlush> flushed;
  HeaderSlot slot;
  std::vector<uint64_t> chain;
  std::map<std::string, ColumnFamilyState> on_disk;
  Status status = WriteCheckpoint(target, frees, &flushed, &writer, &slot, &chain, &on_disk);
  // I21: the head must be durable before the header names it. While the group-commit leader is
  // still creating the segment the head's record goes to, the segment before it (whose roll
  // record will name it) is an equally good head, and waiting for the leader's file creation here
  // could stall a checkpoint running on the committing thread behind it.
  if (!log_files_->IsPrepared(log_head) && log_head > 1 && log_files_->IsPrepared(log_head - 1)) {
    --log_head;
  }
  slot.log_head = log_head;
  if (status.ok()) status = pager_->Reserve(slot.page_count, options_.file_growth_bytes);
  // I21: the head segment's file is durable before a header names it.
  if (status.ok()) status = log_files_->Create(log_head);
  if (!status.ok()) {
    // Nothing written: undo, keep the frees for the next attempt, stay writable.
    allocator_.Rollback(sequence);
    port::MutexLock lock(&log_mu_);
    for (auto it = frees.rbegin(); it != frees.rend(); ++it) {
      pending_frees_.push_front(std::move(*it));
    }
    checkpoint_error_ = status;
    checkpoint_target_sequence_ = checkpoint_sequence_;  // Took nothing after all.
    log_cv_.SignalAll();
    return status;
  }
  status = pager_->WritePages(writer.pages());
  if (status.ok() && !MANIFOLD_FAULT(planted_bug::kSkipPageSync)) status = pager_->Sync();
  if (status.ok() && MANIFOLD_FAULT(fault_point::kCommitBeforeHeader)) {
    status = Status::IOError("injected fault: checkpoint " + std::to_string(sequence) +
                             " failed before writing its header slot");
  }
  if (status.ok() && MANIFOLD_FAULT(planted_bug::kRecycleBeforeCheckpoint)) {
    status = RetireCoveredSegments(sequence, log_head);
  }
  if (status.ok()) status = WriteHeader(slot);
  if (!status.ok()) {
    // The file may hold part of this checkpoint; only a reopen is safe (I8). The log is intact:
    // it still takes the records a clean close writes.
    SetBackgroundError(status);
    port::MutexLock lock(&log_mu_);
    checkpoint_error_ = status;
    log_cv_.SignalAll();
    return status;
  }
  FinishCheckpoint(*target, slot, std::move(flushed), writer, std::move(chain), std::move(on_disk));
  const uint64_t elapsed_us = clock_->NowMicros() - start_us;
  {
    port::MutexLock lock(&log_mu_);
    ++checkpoints_;
    checkpoint_us_total_ += elapsed_us;
    checkpoint_us_max_ = std::max(checkpoint_us_max_, elapsed_us);
    checkpoint_error_ = Status::OK();
  }
  // I28: every checkpoint retires what it covers. The planted bug: DB::Checkpoint's caller does
  // not wait for the retiring; the next automatic checkpoint was meant to do it.
  if (forced && MANIFOLD_FAULT(planted_bug::kForcedCheckpointKeepsLog)) return Status::OK();
  return RetireCoveredSegments(sequence, log_head);
}

Status DBImpl::WriteCheckpoint(const VersionPtr& target, std::vector<PendingFree> frees,
                               std::vector<btree::PendingFlush>* flushed, CommitWriter* writer,
                               HeaderSlot* slot, std::vector<uint64_t>* chain,
                               std::map<std::string, ColumnFamilyState>* on_disk) {
  const uint64_t sequence = target->sequence;
  const btree::Layout& layout = pager_->layout();
  std::set<uint32_t> live_ids;
  for (const auto& [name, state] : target->column_families) {
    MANIFOLD_ASSIGN_OR_RETURN(btree::PageRef root,
                              btree::WriteBackTree(state.tree(), layout, writer, flushed));
    (*on_disk)[name] = ColumnFamilyState{state.id, root, nullptr};
    live_ids.insert(state.id);
  }
  btree::WriteTree catalog(pager_.get(), checkpoint_.version->catalog);
  for (const auto& [name, old] : on_disk_cfs_) {
    auto now = on_disk->find(name);
    if (now != on_disk->end() && now->second.id == old.id) continue;
    // Dropped (perhaps re-created under the same name): its whole old tree is free.
    MANIFOLD_RETURN_IF_ERROR(btree::VisitTreePages(
        pager_.get(), old.root,
        [&](const btree::PageRun& run, const btree::Node*, int) MANIFOLD_REQUIRES(checkpoint_mu_) {
          allocator_.FreeAt(sequence, run);
          return Status::OK();
        }));
    if (now == on_disk->end()) MANIFOLD_RETURN_IF_ERROR(catalog.Delete(name).status());
  }
  for (const auto& [name, state] : *on_disk) {
    auto old = on_disk_cfs_.find(name);
    if (old != on_disk_cfs_.end() && old->second.id == state.id && old->second.root == state.root) {
      continue;
    }
    MANIFOLD_RETURN_IF_ERROR(catalog.Put(name, EncodeColumnFamilyRecord(state)));
  }
  for (const PendingFree& free : frees) {
    // A dropped column family's pages were all freed with its old tree above.
    if (live_ids.count(free.cf_id) == 0) continue;
    for (const btree::PageRun& run : free.runs) allocator_.FreeAt(sequence, run);
    for (const auto& cell : free.cells) {
      const btree::FlushInfo* info = cell->get();
      if (info == nullptr) continue;  // Never written: nothing on disk to free.
      allocator_.FreeAt(sequence, btree::PageRun{info->page.page_id, 1});
      for (const btree::PageRun& run : info->written_runs) allocator_.FreeAt(sequence, run);
    }
  }
  for (const btree::PageRun& run : catalog.freed()) allocator_.FreeAt(sequence, run);
  MANIFOLD_ASSIGN_OR_RETURN(slot->catalog, catalog.Flush(writer));
  MANIFOLD_ASSIGN_OR_RETURN(slot->free_list, writer->WriteFreeList(free_list_chain_, chain));
  slot->sequence = sequence;
  slot->page_bytes = layout.page_bytes;
  slot->page_count = allocator_.page_count();
  slot->free_list_pages = chain->size();
  slot->next_cf_id = target->next_cf_id;
  slot->checkpoint_count = checkpoint_.count + 1;
  return Status::OK();
}

Status DBImpl::WriteHeader(const HeaderSlot& slot) {
  const uint64_t slot_page =
      MANIFOLD_FAULT(planted_bug::kHeaderInPlace) ? 0 : HeaderSlotPage(slot.checkpoint_count);
  std::map<uint64_t, std::string> header;
  header[slot_page] = EncodeHeaderSlot(slot, slot_page);
  MANIFOLD_RETURN_IF_ERROR(pager_->WritePages(header));
  if (!MANIFOLD_FAULT(planted_bug::kAckBeforeHeaderSync)) MANIFOLD_RETURN_IF_ERROR(pager_->Sync());
  // I11: the header slot is the one write no checksum can vouch for (nothing refers to it), so
  // read it back: a write that was lost or landed elsewhere must fail the checkpoint, not be
  // trusted (and the log recycled) and then silently replaced by the older slot at the next open.
  std::string read_back;
  MANIFOLD_RETURN_IF_ERROR(pager_->ReadPages(slot_page, 1, &read_back));
  if (read_back != header[slot_page]) {
    return Status::IOError("header slot " + std::to_string(slot_page) + " of " + pager_->path() +
                           " does not read back as written for checkpoint " +
                           std::to_string(slot.sequence) + " (lost or misdirected write)");
  }
  return Status::OK();
}

void DBImpl::FinishCheckpoint(const Version& target, const HeaderSlot& slot,
                              std::vector<btree::PendingFlush> flushed, const CommitWriter& writer,
                              std::vector<uint64_t> chain,
                              std::map<std::string, ColumnFamilyState> on_disk) {
  // I14: only now may writers free these pages or later checkpoints refer to them.
  for (btree::PendingFlush& flush : flushed) flush.cell->Publish(std::move(flush.info));
  for (const auto& [ref, node] : writer.nodes()) pager_->cache()->Insert(ref, node);
  free_list_chain_ = std::move(chain);
  auto version = std::make_shared<Version>(registry_, slot.sequence);
  version->page_count = slot.page_count;
  version->catalog = slot.catalog;
  version->free_list = slot.free_list;
  version->next_cf_id = slot.next_cf_id;
  for (const auto& [name, state] : on_disk) version->column_families.Set(name, state);
  checkpoint_ = CheckpointState{slot.sequence, slot.checkpoint_count, slot.log_head, version};

  port::MutexLock lock(&log_mu_);
  checkpoint_sequence_ = slot.sequence;
  while (!dirty_by_sequence_.empty() && dirty_by_sequence_.front().sequence <= slot.sequence) {
    dirty_bytes_ -= dirty_by_sequence_.front().dirty_bytes;
    log_bytes_uncovered_ -= dirty_by_sequence_.front().log_bytes;
    dirty_by_sequence_.pop_front();
  }
  oldest_dirty_us_ = clock_->NowMicros();
  ShedCheckpointedTrees(target, on_disk);
  log_cv_.SignalAll();
  on_disk_cfs_ = std::move(on_disk);
}

// Column families unchanged since the checkpoint's version read from their pages from now on,
// which lets their in-memory nodes go (the write buffer bounds only unwritten changes).
void DBImpl::ShedCheckpointedTrees(const Version& target,
                                   const std::map<std::string, ColumnFamilyState>& on_disk) {
  if (!unpublished_.empty()) return;  // Rare; a later checkpoint sheds them.
  std::shared_ptr<Version> shed;
  for (const auto& [name, state] : latest_->column_families) {
    if (state.memory_root == nullptr) continue;
    const ColumnFamilyState* then = target.Find(name);
    if (then == nullptr || then->id != state.id || then->memory_root != state.memory_root) continue;
    if (shed == nullptr) {
      shed = std::make_shared<Version>(registry_, latest_->sequence);
      shed->column_families = latest_->column_families;
      shed->next_cf_id = latest_->next_cf_id;
    }
    ColumnFamilyState replaced = state;
    replaced.root = on_disk.at(name).root;
    replaced.memory_root = nullptr;
    shed->column_families.Set(name, replaced);
  }
  if (shed == nullptr) return;
  latest_ = shed;
  port::MutexLock state_lock(&state_mu_);
  current_ = std::move(shed);
}

// I21: the segment holding record sequence + 1, or, when it is not appended yet, the segment it
// will go to (or the one whose roll record will name it).
uint64_t DBImpl::LogHead(uint64_t sequence) {
  for (const auto& [number, last_lsn] : segment_last_lsn_) {
    if (last_lsn > sequence) return number;
  }
  return segment_;
}

// Never the log head the header just named (I21), nor anything after it.
Status DBImpl::RetireCoveredSegments(uint64_t sequence, uint64_t log_head) {
  std::vector<uint64_t> retire;
  {
    port::MutexLock lock(&log_mu_);
    const uint64_t covered = std::min(sequence, written_lsn_);
    for (auto it = segment_last_lsn_.begin(); it != segment_last_lsn_.end();) {
      if (it->first == segment_ || it->first >= log_head || it->second > covered) break;
      retire.push_back(it->first);
      it = segment_last_lsn_.erase(it);
    }
  }
  // The planted bug retires by removing (the recycling that would overwrite the segments is then
  // immediate), before the checkpoint that covers them is durable.
  Status status = MANIFOLD_FAULT(planted_bug::kRecycleBeforeCheckpoint)
                      ? log_files_->Remove(retire)
                      : log_files_->Retire(retire);
  if (!status.ok()) SetBackgroundError(status);
  return status;
}

// --- Column families -----------------------------------------------------------------------

Status DBImpl::CreateColumnFamily(std::string_view name) {
  MANIFOLD_RETURN_IF_ERROR(CheckColumnFamilyName(name));
  CommitRequest request;
  request.edit = [&](Version* next, std::string* payload) -> Status {
    if (next->Find(name) != nullptr) {
      return Status::AlreadyExists("column family '" + std::string(name) + "' already exists");
    }
    if (next->column_families.size() >= Limits::kColumnFamiliesMax) {
      return Status::InvalidArgument("a database holds at most " +
                                     std::to_string(Limits::kColumnFamiliesMax) +
                                     " column families");
    }
    ColumnFamilyState state{next->next_cf_id++, {}, nullptr};
    next->column_families.Set(name, state);
    wal::PayloadBuilder builder;
    builder.Add(wal::LogOpType::kCreateColumnFamily, name, "", "", state.id);
    *payload = builder.Finish();
    return Status::OK();
  };
  return Commit(std::move(request));
}

Status DBImpl::DropColumnFamily(std::string_view name) {
  MANIFOLD_RETURN_IF_ERROR(CheckColumnFamilyName(name));
  if (name == kDefaultColumnFamily) {
    return Status::InvalidArgument("the default column family cannot be dropped");
  }
  std::vector<std::string> held = {std::string(name)};
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(held));
  ReleaseOnExit release(this, held);
  CommitRequest request;
  request.edit = [&](Version* next, std::string* payload) -> Status {
    if (!next->column_families.Erase(name)) {
      return Status::NotFound("column family '" + std::string(name) + "' does not exist");
    }
    wal::PayloadBuilder builder;
    builder.Add(wal::LogOpType::kDropColumnFamily, name, "", "");
    *payload = builder.Finish();
    return Status::OK();
  };
  return Commit(std::move(request));
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
  // The newest version in commit order: with the writer slot held, this column family's tree in
  // it is final until this transaction commits (I7).
  VersionPtr base = latest();
  const ColumnFamilyState* state = base->Find(column_family);
  if (state == nullptr) {
    ReleaseColumnFamilies(held);
    return Status::NotFound("column family '" + std::string(column_family) + "' does not exist");
  }
  const btree::TreeRoot root = state->tree();
  return std::unique_ptr<Transaction>(
      new TransactionImpl(this, std::string(column_family), std::move(base), root));
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
  ReleaseOnExit release(this, names);
  return WriteBatchHeld(options, batch, names);
}

namespace {
wal::LogOpType LogTypeOf(WriteBatch::OpType type) {
  return type == WriteBatch::OpType::kPut ? wal::LogOpType::kPut : wal::LogOpType::kDelete;
}
}  // namespace

Status DBImpl::WriteBatchHeld(const WriteOptions& options, const WriteBatch& batch,
                              const std::vector<std::string>& names) {
  VersionPtr base = latest();
  std::map<std::string, std::unique_ptr<btree::WriteTree>, std::less<>> trees;
  CommitRequest request;
  request.sync = options.sync;
  request.assigned_sequence = options.assigned_sequence;
  for (const std::string& name : names) {
    const ColumnFamilyState* state = base->Find(name);
    if (state == nullptr) {
      return Status::NotFound("column family '" + name + "' does not exist");
    }
    auto tree = std::make_unique<btree::WriteTree>(pager_.get(), state->tree());
    request.updates.push_back(TreeUpdate{name, tree.get()});
    trees.emplace(name, std::move(tree));
  }
  wal::PayloadBuilder payload;
  for (const WriteBatch::Op& op : batch.ops()) {
    btree::WriteTree* tree = trees.find(op.column_family)->second.get();
    if (op.type == WriteBatch::OpType::kPut) {
      MANIFOLD_RETURN_IF_ERROR(tree->Put(op.key, op.value));
    } else {
      MANIFOLD_RETURN_IF_ERROR(tree->Delete(op.key).status());
    }
    payload.Add(LogTypeOf(op.type), op.column_family, op.key, op.value);
  }
  if (MANIFOLD_FAULT(planted_bug::kSplitBatch) && request.updates.size() > 1) {
    for (TreeUpdate& update : request.updates) {
      CommitRequest part;
      part.sync = options.sync;
      part.assigned_sequence = options.assigned_sequence;
      part.updates = {update};
      wal::PayloadBuilder part_payload;
      for (const WriteBatch::Op& op : batch.ops()) {
        if (op.column_family != update.column_family) continue;
        part_payload.Add(LogTypeOf(op.type), op.column_family, op.key, op.value);
      }
      part.payload = part_payload.Finish();
      MANIFOLD_RETURN_IF_ERROR(Commit(std::move(part)));
    }
    return Status::OK();
  }
  request.payload = payload.Finish();
  return Commit(std::move(request));
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
                            btree::TreeGet(pager_.get(), state->tree(), key));
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
  const btree::TreeRoot root = state->tree();
  // The planted bug: "the iterator has its root, it needs no version".
  if (MANIFOLD_FAULT(planted_bug::kCheckpointFreesReaderPages)) version = nullptr;
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
  // The data file as of the latest durable checkpoint (later commits are in the log).
  port::MutexLock checkpoint_lock(&checkpoint_mu_);
  VersionPtr version = checkpoint_.version;
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
  stats.bytes_written = io.bytes_written + log_files_->bytes_written();
  stats.syncs = io.syncs + log_files_->syncs();
  stats.cache_hits = pager_->cache()->hits();
  stats.cache_misses = pager_->cache()->misses();
  stats.read_retries = io.read_retries;
  stats.cache_bytes = pager_->cache()->usage_bytes();
  StatusOr<uint64_t> file_bytes = pager_->FileBytes();
  stats.file_bytes = file_bytes.ok() ? *file_bytes : 0;
  stats.log_bytes = log_files_->bytes_written();
  stats.log_segments_created = log_files_->segments_created();
  stats.log_segments_recycled = log_files_->segments_recycled();
  stats.log_records_replayed = records_replayed_;
  stats.log_records_salvage_dropped = records_salvage_dropped_;
  {
    port::MutexLock lock(&checkpoint_mu_);
    stats.pages_total = allocator_.page_count();
    stats.pages_free = allocator_.free_pages() + allocator_.pending_pages();
  }
  port::MutexLock lock(&log_mu_);
  stats.commits = commits_;
  stats.sequence = published_sequence_;
  stats.log_records = log_records_;
  stats.log_syncs = log_syncs_;
  stats.log_sync_commits = log_sync_commits_;
  stats.commits_per_sync_histogram = sync_histogram_;
  stats.checkpoints = checkpoints_;
  stats.checkpoint_us_total = checkpoint_us_total_;
  stats.checkpoint_us_max = checkpoint_us_max_;
  stats.checkpoint_sequence = checkpoint_sequence_;
  stats.dirty_bytes = dirty_bytes_;
  stats.writer_stall_us = stall_us_;
  stats.writer_stalls = stalls_;
  return stats;
}

}  // namespace manifold
