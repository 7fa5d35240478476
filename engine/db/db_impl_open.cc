// Opening a database: option checks, the directory checks (I24), the lock (I25), creating the
// data file and finding the newest header slot. Recovery itself is in db_impl_recovery.cc.

#include <cassert>
#include <map>

#include "engine/db/db_impl.h"
#include "engine/util/coding.h"
#include "engine/util/fault_point.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_payload.h"

namespace manifold {

namespace {

constexpr uint64_t kGroupCommitWindowUsMax = 100'000;
constexpr uint64_t kSegmentBytesMin = 64ull << 10;
constexpr uint64_t kSegmentBytesMax = 1ull << 30;
constexpr uint64_t kWriteBufferBytesMin = 64ull << 10;
// One column family's buffer may be smaller than the whole bound: an entry larger than it gets a
// buffer of its own (the simulator's small-buffer seeds swap buffers this way).
constexpr uint64_t kWriteBufferPerCfBytesMin = 16ull << 10;
constexpr uint64_t kWriteSlowdownDelayUsMax = 1000000;
constexpr uint64_t kWriteBufferImmutablesPerCfMax = 64;

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
  if (options.write_buffer_bytes_per_cf_max != 0 &&
      (options.write_buffer_bytes_per_cf_max < kWriteBufferPerCfBytesMin ||
       options.write_buffer_bytes_per_cf_max > options.write_buffer_bytes_max)) {
    return Status::InvalidArgument(
        "write_buffer_bytes_per_cf_max " + std::to_string(options.write_buffer_bytes_per_cf_max) +
        " must be at least " + std::to_string(kWriteBufferPerCfBytesMin) +
        " and at most write_buffer_bytes_max " + std::to_string(options.write_buffer_bytes_max));
  }
  if (options.write_buffer_immutables_per_cf_max < 1 ||
      options.write_buffer_immutables_per_cf_max > kWriteBufferImmutablesPerCfMax) {
    return Status::InvalidArgument("write_buffer_immutables_per_cf_max " +
                                   std::to_string(options.write_buffer_immutables_per_cf_max) +
                                   " must be between 1 and " +
                                   std::to_string(kWriteBufferImmutablesPerCfMax));
  }
  if (options.write_slowdown_delay_us > kWriteSlowdownDelayUsMax) {
    return Status::InvalidArgument(
        "write_slowdown_delay_us " + std::to_string(options.write_slowdown_delay_us) +
        " exceeds the limit of " + std::to_string(kWriteSlowdownDelayUsMax));
  }
  if (options.checkpoint_dirty_bytes > options.write_buffer_bytes_max) {
    return Status::InvalidArgument("checkpoint_dirty_bytes must not exceed write_buffer_bytes_max");
  }
  if (options.checkpoint_chunk_bytes != 0 &&
      options.checkpoint_chunk_bytes < 8ull * options.page_bytes) {
    return Status::InvalidArgument(
        "checkpoint_chunk_bytes " + std::to_string(options.checkpoint_chunk_bytes) +
        " must be 0 or at least 8 pages (" + std::to_string(8ull * options.page_bytes) + " bytes)");
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
  std::map<uint64_t, SharedBytes> pages = writer.pages();
  pages[0] = SharedBytes(EncodeHeaderSlot(slot, HeaderSlotPage(slot.checkpoint_count)));
  pages[1] = SharedBytes(std::string(page_bytes, '\0'));  // Slot 1 stays invalid until sequence 1.
  MANIFOLD_RETURN_IF_ERROR(pager.WritePages(pages));
  MANIFOLD_RETURN_IF_ERROR(pager.Sync());
  // I21: the log head the header names exists before the data file does.
  MANIFOLD_RETURN_IF_ERROR(CreateFirstSegment(fs, dir, slot.log_head));
  if (MANIFOLD_FAULT(fault_point::kCreateRenameFail)) {
    return Status::IOError("injected fault: rename " + tmp_path + " to " + data_path + " failed");
  }
  MANIFOLD_RETURN_IF_ERROR(fs->Rename(tmp_path, data_path));
  if (MANIFOLD_PLANTED_BUG(planted_bug::kSkipDirSync)) return Status::OK();
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
  // A slot that holds another page, if `slot_damaged`. A flag and a plain value, not
  // std::optional: GCC -O2 flagged the optional's payload maybe-uninitialized below (a false
  // positive, an error under --config=ci).
  bool slot_damaged = false;
  uint64_t damaged_slot = 0;
  for (uint32_t page_bytes : candidates) {
    for (uint64_t slot_index = 0; slot_index < 2; ++slot_index) {
      if ((slot_index + 1) * page_bytes > file_bytes) continue;
      bool foreign = false;
      StatusOr<HeaderSlot> slot = ReadHeaderSlot(file, path, page_bytes, slot_index, &foreign);
      if (!slot.ok() && foreign) {
        slot_damaged = true;
        damaged_slot = slot_index;
      }
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
    slot_damaged = false;  // Evidence only counts at the page size the database uses.
  }
  // I12: a slot holding another page was overwritten by a misdirected write after it was last
  // written: it may have held the newest commit, and opening at the other slot would lose that
  // commit without a word (found by the simulator's long chaos sweep).
  if (best.has_value() && slot_damaged && !ignore_damaged_slot) {
    return Status::Corruption("header slot " + std::to_string(damaged_slot) + " of " + path +
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
    if (!MANIFOLD_PLANTED_BUG(planted_bug::kSkipDirSync)) {
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
    if (!MANIFOLD_PLANTED_BUG(planted_bug::kSkipDirSync)) {
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

}  // namespace manifold
