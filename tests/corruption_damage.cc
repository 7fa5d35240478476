#include "tests/corruption_damage.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <utility>

#include "engine/db/db_impl.h"
#include "engine/db/info_log.h"
#include "engine/wal/log_format.h"
#include "manifold/db.h"
#include "manifold/options.h"
#include "manifold/write_batch.h"

namespace manifold::corruption {
namespace {

constexpr uint32_t kPageBytes = 1024;
constexpr uint64_t kSegmentBytes = 64 << 10;  // The smallest segment Options allows.

// ---- Building the bases ---------------------------------------------------------------------

// Options every base is written with: deterministic (checkpoints on the writer thread, no time
// trigger) and small (pages, file growth and segments), so images stay small and many pages and
// several segments are in use.
Options BaseOptions(FileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.page_bytes = kPageBytes;
  options.file_growth_bytes = 64 << 10;
  options.wal_segment_bytes = kSegmentBytes;
  options.background_checkpoints = false;
  options.checkpoint_interval_us = 0;
  return options;
}

// Writes through a database and mirrors every acknowledged commit in `expected`.
class Writer {
 public:
  Writer(DB* db, Contents* expected) : db_(db), expected_(expected) {}

  Status CreateCf(const std::string& cf) {
    MANIFOLD_RETURN_IF_ERROR(db_->CreateColumnFamily(cf));
    (*expected_)[cf];
    return Status::OK();
  }
  Status DropCf(const std::string& cf) {
    MANIFOLD_RETURN_IF_ERROR(db_->DropColumnFamily(cf));
    expected_->erase(cf);
    return Status::OK();
  }
  // `count` commits of one put or delete each, in `cf`, over `keys` keys; values of
  // [value_min, value_max] bytes (some empty when value_min is 0).
  Status Churn(sim::Rng* rng, const std::string& cf, int count, uint32_t keys, uint32_t value_min,
               uint32_t value_max) {
    for (int i = 0; i < count; ++i) {
      const std::string key = Key(rng->Uniform(keys));
      if (rng->OneIn(5)) {
        MANIFOLD_RETURN_IF_ERROR(db_->Delete({}, cf, key));
        (*expected_)[cf].erase(key);
        continue;
      }
      const std::string value = Value(rng, value_min, value_max);
      MANIFOLD_RETURN_IF_ERROR(db_->Put({}, cf, key, value));
      (*expected_)[cf][key] = value;
    }
    return Status::OK();
  }
  // `count` batches, each with writes to several of `cfs`.
  Status Batches(sim::Rng* rng, const std::vector<std::string>& cfs, int count) {
    for (int i = 0; i < count; ++i) {
      WriteBatch batch;
      Contents after = *expected_;
      const int writes = 1 + static_cast<int>(rng->Uniform(12));
      for (int w = 0; w < writes; ++w) {
        const std::string& cf = cfs[rng->Uniform(cfs.size())];
        const std::string key = Key(rng->Uniform(60));
        if (rng->OneIn(4)) {
          batch.Delete(cf, key);
          after[cf].erase(key);
        } else {
          const std::string value = Value(rng, 0, 200);
          batch.Put(cf, key, value);
          after[cf][key] = value;
        }
      }
      MANIFOLD_RETURN_IF_ERROR(db_->Write({}, batch));
      *expected_ = std::move(after);
    }
    return Status::OK();
  }

 private:
  static std::string Key(uint64_t i) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "key%05u", static_cast<unsigned>(i));
    return buf;
  }
  static std::string Value(sim::Rng* rng, uint32_t min, uint32_t max) {
    std::string value(min + rng->Uniform(max - min + 1), '\0');
    for (char& c : value) c = static_cast<char>('a' + rng->Uniform(26));
    return value;
  }

  DB* db_;
  Contents* expected_;
};

// The workload of each base. Every commit is durable (WriteOptions::sync defaults to true).
Status WriteBase(BaseKind kind, DB* db, Contents* expected) {
  sim::Rng rng(0xC0FFEEull + static_cast<uint64_t>(kind));
  Writer writer(db, expected);
  switch (kind) {
    case BaseKind::kCleanClose:
      MANIFOLD_RETURN_IF_ERROR(writer.Churn(&rng, "default", 150, 120, 0, 60));
      MANIFOLD_RETURN_IF_ERROR(db->Checkpoint());
      return writer.Churn(&rng, "default", 60, 120, 0, 60);
    case BaseKind::kLiveLog:
      MANIFOLD_RETURN_IF_ERROR(writer.Churn(&rng, "default", 120, 100, 0, 80));
      MANIFOLD_RETURN_IF_ERROR(db->Checkpoint());
      return writer.Churn(&rng, "default", 80, 100, 0, 80);
    case BaseKind::kOverflowValues:
      MANIFOLD_RETURN_IF_ERROR(writer.Churn(&rng, "default", 50, 40, 300, 3000));
      MANIFOLD_RETURN_IF_ERROR(db->Checkpoint());
      return writer.Churn(&rng, "default", 25, 40, 0, 3000);
    case BaseKind::kManyCheckpoints:
      // About 200 KiB of log: the checkpoints retire the older segments, so the log no longer
      // starts at the first commit.
      return writer.Churn(&rng, "default", 400, 150, 0, 700);
    case BaseKind::kColumnFamilies: {
      const std::vector<std::string> cfs = {"default", "alpha", "beta", "gamma"};
      for (size_t i = 1; i < cfs.size(); ++i) MANIFOLD_RETURN_IF_ERROR(writer.CreateCf(cfs[i]));
      MANIFOLD_RETURN_IF_ERROR(writer.Batches(&rng, cfs, 60));
      MANIFOLD_RETURN_IF_ERROR(db->Checkpoint());
      MANIFOLD_RETURN_IF_ERROR(writer.DropCf("gamma"));
      return writer.Batches(&rng, {"default", "alpha", "beta"}, 40);
    }
    case BaseKind::kManySegments:
      return writer.Churn(&rng, "default", 260, 200, 600, 1000);
  }
  return Status::InvalidArgument("unknown base kind");
}

// Whether the base ends with a clean close or with a power cut while open.
bool ClosesCleanly(BaseKind kind) { return kind == BaseKind::kCleanClose; }

// ---- Damage helpers ---------------------------------------------------------------------------

struct RecordAt {
  std::string file;
  size_t offset = 0;
  size_t bytes = 0;  // Header and payload (the padding is not checksummed).
  uint64_t lsn = 0;
};

// Every data record that decodes, walking each segment from offset 0 as recovery does.
std::vector<RecordAt> Records(const DirImage& image) {
  std::vector<RecordAt> records;
  for (const std::string& name : SegmentNames(image)) {
    uint64_t number = 0;
    wal::ParseSegmentFileName(name, &number);
    const std::string& data = image.at(name);
    size_t offset = 0;
    wal::RecordView record;
    while (offset < data.size() &&
           wal::DecodeRecord(std::string_view(data).substr(offset), number, &record)) {
      // Control records (roll, sync marker: I20, I23) carry no commit; their lsn field is the
      // next data record's, so counting them would make a sync marker "the newest record".
      uint64_t next_segment = 0;
      if (wal::ClassifyRecord(record, &next_segment) == wal::RecordKind::kData) {
        records.push_back(
            {name, offset, wal::kRecordHeaderBytes + record.payload.size(), record.lsn});
      }
      offset += record.bytes;
    }
  }
  return records;
}

std::string RandomBytes(sim::Rng* rng, size_t n) {
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng->Uniform(256));
  return bytes;
}

std::string FlipBit(sim::Rng* rng, std::string* file, size_t begin, size_t end,
                    const std::string& name) {
  const size_t offset = begin + rng->Uniform(end - begin);
  const int bit = static_cast<int>(rng->Uniform(8));
  (*file)[offset] = static_cast<char>((*file)[offset] ^ (1 << bit));
  return "flipped bit " + std::to_string(bit) + " of byte " + std::to_string(offset) + " of " +
         name;
}

// Pages of the data file up to its last written byte (at least the two header slots).
size_t WrittenPages(const std::string& data, uint32_t page_bytes) {
  return std::max<size_t>(2, (WrittenBytes(data) + page_bytes - 1) / page_bytes);
}

// Two distinct written pages.
std::pair<size_t, size_t> TwoPages(sim::Rng* rng, size_t pages) {
  const size_t a = rng->Uniform(pages);
  const size_t b = (a + 1 + rng->Uniform(pages - 1)) % pages;
  return {a, b};
}

StatusOr<std::string> DamageDataFile(Damage damage, uint32_t page_bytes, sim::Rng* rng,
                                     std::string* data) {
  const size_t pages = WrittenPages(*data, page_bytes);
  if (data->size() < pages * page_bytes) data->resize(pages * page_bytes, '\0');
  auto page = [&](size_t i) { return data->data() + i * page_bytes; };
  switch (damage) {
    case Damage::kFlipDataBit:
      return FlipBit(rng, data, 0, std::max<size_t>(1, WrittenBytes(*data)), kDataFileName);
    case Damage::kZeroPage: {
      const size_t i = rng->Uniform(pages);
      std::fill(page(i), page(i) + page_bytes, '\0');
      return "zeroed page " + std::to_string(i) + " of " + kDataFileName;
    }
    case Damage::kSwapPages: {
      auto [a, b] = TwoPages(rng, pages);
      std::swap_ranges(page(a), page(a) + page_bytes, page(b));
      return "swapped pages " + std::to_string(a) + " and " + std::to_string(b);
    }
    case Damage::kDuplicatePage: {
      auto [a, b] = TwoPages(rng, pages);
      std::copy(page(a), page(a) + page_bytes, page(b));
      return "copied page " + std::to_string(a) + " over page " + std::to_string(b);
    }
    case Damage::kAppendDataGarbage: {
      const size_t n = 1 + rng->Uniform(3 * page_bytes);
      data->append(RandomBytes(rng, n));
      return "appended " + std::to_string(n) + " random bytes to " + kDataFileName;
    }
    case Damage::kTruncateDataFile: {
      size_t size = rng->Uniform(std::max<size_t>(1, WrittenBytes(*data)));
      if (rng->OneIn(2)) size -= size % page_bytes;
      data->resize(size);
      return "truncated " + std::string(kDataFileName) + " to " + std::to_string(size) + " bytes";
    }
    default:
      return Status::InvalidArgument("not a data-file damage");
  }
}

StatusOr<std::string> DeleteSegment(Damage damage, sim::Rng* rng, DirImage* image) {
  const std::vector<std::string> segments = SegmentNames(*image);
  if (segments.empty()) return Status::NotFound("no log segment");
  std::string name;
  if (damage == Damage::kDeleteNewestSegment) name = segments.back();
  if (damage == Damage::kDeleteOldestSegment) name = segments.front();
  if (damage == Damage::kDeleteMiddleSegment) {
    if (segments.size() < 3) return Status::NotFound("no middle segment");
    name = segments[1 + rng->Uniform(segments.size() - 2)];
  }
  image->erase(name);
  return "deleted " + name + " (of " + std::to_string(segments.size()) + " segments)";
}

StatusOr<std::string> DamageRecords(Damage damage, sim::Rng* rng, DirImage* image) {
  std::vector<RecordAt> records = Records(*image);
  if (records.empty()) return Status::NotFound("no log record");
  std::sort(records.begin(), records.end(),
            [](const RecordAt& a, const RecordAt& b) { return a.lsn < b.lsn; });
  const RecordAt newest = records.back();
  const RecordAt& any = records[rng->Uniform(records.size())];
  std::string& file = (*image)[any.file];
  const std::string at = " (lsn " + std::to_string(any.lsn) + " at offset " +
                         std::to_string(any.offset) + " of " + any.file + ")";
  switch (damage) {
    case Damage::kTruncateSegmentMidRecord: {
      const size_t size = any.offset + 1 + rng->Uniform(any.bytes - 1);
      file.resize(size);
      return "truncated inside a record to " + std::to_string(size) + " bytes" + at;
    }
    case Damage::kTruncateSegmentAtRecordBoundary:
      file.resize(any.offset);
      return "truncated at the start of a record" + at;
    case Damage::kFlipNewestLogRecord:
      return FlipBit(rng, &(*image)[newest.file], newest.offset, newest.offset + newest.bytes,
                     newest.file) +
             " (newest record, lsn " + std::to_string(newest.lsn) + ")";
    case Damage::kFlipOlderLogRecord: {
      if (records.size() < 2) return Status::NotFound("no record older than the newest");
      const RecordAt& older = records[rng->Uniform(records.size() - 1)];
      return FlipBit(rng, &(*image)[older.file], older.offset, older.offset + older.bytes,
                     older.file) +
             " (lsn " + std::to_string(older.lsn) + " of " + std::to_string(newest.lsn) + ")";
    }
    default:
      return Status::InvalidArgument("not a record damage");
  }
}

// ---- Checking ---------------------------------------------------------------------------------

// The case ends at a failed call: it passes when the failure says what went wrong.
CheckResult EndedInError(const std::string& call, const Status& status) {
  CheckResult result;
  result.ended_in_error = true;
  result.passed = !status.message().empty();
  result.detail = call + ": " + status.ToString();
  if (!result.passed) result.detail += " (an error without a message)";
  return result;
}

CheckResult Failed(std::string detail) {
  CheckResult result;
  result.detail = std::move(detail);
  return result;
}

std::string Describe(const std::string& bytes) {
  std::string out = bytes.substr(0, 24);
  if (bytes.size() > 24) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return "'" + out + "'";
}

// First difference between two column families' entries, or "".
std::string FirstDifference(const std::map<std::string, std::string>& got,
                            const std::map<std::string, std::string>& want) {
  for (const auto& [key, value] : want) {
    auto it = got.find(key);
    if (it == got.end()) return "key " + Describe(key) + " is missing";
    if (it->second != value) {
      return "key " + Describe(key) + " is " + Describe(it->second) + ", not " + Describe(value);
    }
  }
  for (const auto& [key, value] : got) {
    if (!want.count(key)) return "key " + Describe(key) + " should not exist";
  }
  return "";
}

// Scans `cf`: an error ends the case; entries that differ from `want` fail it.
std::optional<CheckResult> CheckScan(DB* db, const std::string& cf,
                                     const std::map<std::string, std::string>& want) {
  auto it = db->NewIterator({}, cf);
  if (!it.ok()) return EndedInError("NewIterator(" + cf + ")", it.status());
  std::map<std::string, std::string> got;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    got.emplace(std::string((*it)->key()), std::string((*it)->value()));
  }
  if (!(*it)->status().ok()) return EndedInError("scan of " + cf, (*it)->status());
  const std::string difference = FirstDifference(got, want);
  if (!difference.empty()) {
    return Failed("scan of " + cf + " returned OK with " + std::to_string(got.size()) +
                  " entries, expected " + std::to_string(want.size()) + ": " + difference);
  }
  return std::nullopt;
}

std::optional<CheckResult> CheckGets(DB* db, const std::string& cf,
                                     const std::map<std::string, std::string>& want, sim::Rng* rng,
                                     size_t sample_keys) {
  std::vector<std::string> keys = {"absent-key", ""};
  for (size_t i = 0; i < sample_keys && !want.empty(); ++i) {
    keys.push_back(std::next(want.begin(), rng->Uniform(want.size()))->first);
  }
  for (const std::string& key : keys) {
    auto got = db->Get({}, cf, key);
    auto it = want.find(key);
    if (got.status().IsNotFound() && it == want.end()) continue;
    if (got.status().IsNotFound()) return Failed("Get(" + cf + ", " + Describe(key) + ") missing");
    if (!got.ok()) return EndedInError("Get(" + cf + ", " + Describe(key) + ")", got.status());
    if (it == want.end() || *got != it->second) {
      return Failed("Get(" + cf + ", " + Describe(key) + ") returned " + Describe(*got));
    }
  }
  return std::nullopt;
}

std::optional<CheckResult> CheckContents(DB* db, const Contents& expected, sim::Rng* rng,
                                         size_t sample_keys) {
  std::vector<std::string> want_cfs;
  for (const auto& [cf, entries] : expected) want_cfs.push_back(cf);
  const std::vector<std::string> cfs = db->ListColumnFamilies();
  if (cfs != want_cfs) {
    std::string listed;
    for (const std::string& cf : cfs) listed += " " + cf;
    return Failed("ListColumnFamilies returned" + listed + " (" + std::to_string(cfs.size()) +
                  " of " + std::to_string(want_cfs.size()) + " expected)");
  }
  for (const auto& [cf, entries] : expected) {
    if (auto end = CheckScan(db, cf, entries)) return end;
    if (auto end = CheckGets(db, cf, entries, rng, sample_keys)) return end;
  }
  return std::nullopt;
}

}  // namespace

const char* BaseKindName(BaseKind kind) {
  // In the order of the enumerators.
  static constexpr const char* kNames[] = {"clean-close",      "live-log",        "overflow-values",
                                           "many-checkpoints", "column-families", "many-segments"};
  return kNames[static_cast<size_t>(kind)];
}

StatusOr<BaseDb> BuildBase(BaseKind kind) {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  Options options = BaseOptions(fs.get());
  if (kind == BaseKind::kManyCheckpoints) options.checkpoint_dirty_bytes = 4 << 10;
  BaseDb base;
  base.kind = kind;
  base.page_bytes = kPageBytes;
  base.expected["default"];
  {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<DB> db, DB::Open(options, kDbDir));
    MANIFOLD_RETURN_IF_ERROR(WriteBase(kind, db.get(), &base.expected));
    const Stats stats = db->GetStats();
    base.checkpoints = stats.checkpoints;
    base.checkpoint_sequence = stats.checkpoint_sequence;
    base.sequence = stats.sequence;
    if (!ClosesCleanly(kind)) {
      MANIFOLD_ASSIGN_OR_RETURN(base.process_crash_image, Capture(fs.get()));
      // The power cut: what the disk holds while the database is still open.
      fs->DropUnsyncedData();
      MANIFOLD_ASSIGN_OR_RETURN(base.image, Capture(fs.get()));
    }
  }
  if (ClosesCleanly(kind)) {
    MANIFOLD_ASSIGN_OR_RETURN(base.image, Capture(fs.get()));
  }
  return base;
}

const std::vector<BaseDb>& Bases() {
  static const std::vector<BaseDb>* bases = [] {
    auto* built = new std::vector<BaseDb>;
    for (BaseKind kind : kBaseKinds) {
      StatusOr<BaseDb> base = BuildBase(kind);
      if (!base.ok()) {
        std::fprintf(stderr, "cannot build base %s: %s\n", BaseKindName(kind),
                     base.status().ToString().c_str());
        std::abort();
      }
      built->push_back(std::move(base).value());
    }
    return built;
  }();
  return *bases;
}

const char* DamageName(Damage damage) {
  // In the order of the enumerators.
  static constexpr const char* kNames[] = {"flip-data-bit",
                                           "zero-page",
                                           "swap-pages",
                                           "duplicate-page",
                                           "append-data-garbage",
                                           "truncate-data-file",
                                           "append-segment-garbage",
                                           "flip-older-log-record",
                                           "delete-newest-segment",
                                           "delete-middle-segment",
                                           "delete-oldest-segment",
                                           "truncate-segment-mid-record",
                                           "truncate-segment-at-record-boundary",
                                           "flip-newest-log-record",
                                           "delete-data-file"};
  return kNames[static_cast<size_t>(damage)];
}

std::vector<Damage> DamagesIn(DamageGroup group) {
  switch (group) {
    case DamageGroup::kData:
      return {Damage::kFlipDataBit,          Damage::kZeroPage,          Damage::kSwapPages,
              Damage::kDuplicatePage,        Damage::kAppendDataGarbage, Damage::kTruncateDataFile,
              Damage::kAppendSegmentGarbage, Damage::kFlipOlderLogRecord};
    case DamageGroup::kLogSegment:
      return {Damage::kDeleteNewestSegment,
              Damage::kDeleteMiddleSegment,
              Damage::kDeleteOldestSegment,
              Damage::kTruncateSegmentMidRecord,
              Damage::kTruncateSegmentAtRecordBoundary,
              Damage::kFlipNewestLogRecord};
    case DamageGroup::kMissingDataFile:
      return {Damage::kDeleteDataFile};
  }
  return {};
}

StatusOr<std::string> ApplyDamage(Damage damage, uint32_t page_bytes, sim::Rng* rng,
                                  DirImage* image) {
  switch (damage) {
    case Damage::kFlipDataBit:
    case Damage::kZeroPage:
    case Damage::kSwapPages:
    case Damage::kDuplicatePage:
    case Damage::kAppendDataGarbage:
    case Damage::kTruncateDataFile: {
      auto data = image->find(kDataFileName);
      if (data == image->end()) return Status::NotFound("no data file");
      return DamageDataFile(damage, page_bytes, rng, &data->second);
    }
    case Damage::kAppendSegmentGarbage: {
      const std::vector<std::string> segments = SegmentNames(*image);
      if (segments.empty()) return Status::NotFound("no log segment");
      const std::string& name = segments[rng->Uniform(segments.size())];
      const size_t n = 1 + rng->Uniform(4096);
      (*image)[name].append(RandomBytes(rng, n));
      return "appended " + std::to_string(n) + " random bytes to " + name;
    }
    case Damage::kDeleteNewestSegment:
    case Damage::kDeleteMiddleSegment:
    case Damage::kDeleteOldestSegment:
      return DeleteSegment(damage, rng, image);
    case Damage::kTruncateSegmentMidRecord:
    case Damage::kTruncateSegmentAtRecordBoundary:
    case Damage::kFlipNewestLogRecord:
    case Damage::kFlipOlderLogRecord:
      return DamageRecords(damage, rng, image);
    case Damage::kDeleteDataFile:
      if (image->erase(kDataFileName) == 0) return Status::NotFound("no data file");
      return std::string("deleted ") + kDataFileName;
  }
  return Status::InvalidArgument("unknown damage");
}

size_t WrittenBytes(const std::string& file) {
  const size_t last = file.find_last_not_of('\0');
  return last == std::string::npos ? 0 : last + 1;
}

std::vector<std::string> SegmentNames(const DirImage& image) {
  std::vector<std::pair<uint64_t, std::string>> numbered;
  for (const auto& [name, bytes] : image) {
    uint64_t number = 0;
    if (wal::ParseSegmentFileName(name, &number)) numbered.emplace_back(number, name);
  }
  std::sort(numbered.begin(), numbered.end());
  std::vector<std::string> names;
  for (auto& [number, name] : numbered) names.push_back(std::move(name));
  return names;
}

std::unique_ptr<MemFileSystem> Restore(const DirImage& image) {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  // A fresh in-memory file system accepts all of these; a failure here is a broken test setup.
  auto check = [](const Status& status) {
    if (!status.ok()) {
      std::fprintf(stderr, "Restore: %s\n", status.ToString().c_str());
      std::abort();
    }
  };
  check(fs->CreateDir(kDbDir));
  for (const auto& [name, bytes] : image) {
    auto file = fs->OpenFile(std::string(kDbDir) + "/" + name, OpenFileOptions{.create = true});
    check(file.status());
    check((*file)->Write(0, bytes));
    check((*file)->Sync());
  }
  check(fs->SyncDir(kDbDir));
  check(fs->SyncDir("/"));
  return fs;
}

StatusOr<DirImage> Capture(FileSystem* fs) {
  MANIFOLD_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(kDbDir));
  DirImage image;
  for (const std::string& name : names) {
    // LOCK, and the info log where a failed open reports why (a report, not state).
    if (name == kLockFileName || name == kInfoLogFileName || name == kOldInfoLogFileName) continue;
    MANIFOLD_ASSIGN_OR_RETURN(
        std::unique_ptr<File> file,
        fs->OpenFile(std::string(kDbDir) + "/" + name, OpenFileOptions{.read_only = true}));
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    std::string bytes(size, '\0');
    MANIFOLD_ASSIGN_OR_RETURN(size_t got, file->Read(0, size, bytes.data()));
    bytes.resize(got);
    image[name] = std::move(bytes);
  }
  return image;
}

CheckResult OpenAndCheck(const DirImage& image, const Contents& expected, sim::Rng* rng,
                         size_t sample_keys) {
  std::unique_ptr<MemFileSystem> fs = Restore(image);
  Options options;  // Defaults: what a user opening the damaged copy would use.
  options.file_system = fs.get();
  auto db = DB::Open(options, kDbDir);
  if (!db.ok()) {
    CheckResult result = EndedInError("Open", db.status());
    StatusOr<DirImage> after = Capture(fs.get());
    if (!after.ok() || *after != image) {
      result.passed = false;
      result.detail += "; the failed open changed the directory";
    }
    return result;
  }
  if (auto end = CheckContents(db->get(), expected, rng, sample_keys)) return *end;
  IntegrityReport report;
  Status verified = (*db)->VerifyIntegrity(&report);
  if (!verified.ok()) return EndedInError("VerifyIntegrity", verified);
  if (!report.problems.empty()) {
    return Failed("VerifyIntegrity returned OK with problems: " + report.problems.front());
  }
  CheckResult result;
  result.passed = true;
  result.detail = "exact data (" + std::to_string(report.entries_checked) + " entries verified)";
  return result;
}

CaseResult RunCase(uint64_t seed, DamageGroup group) {
  sim::Rng rng(seed);
  const std::vector<BaseDb>& bases = Bases();
  const BaseDb& base = bases[rng.Uniform(bases.size())];
  const std::vector<Damage> damages = DamagesIn(group);
  const Damage damage = damages[rng.Uniform(damages.size())];
  CaseResult result;
  result.seed = seed;
  result.base = base.kind;
  result.damage = damage;
  result.description =
      std::string("base ") + BaseKindName(base.kind) + ", damage " + DamageName(damage);
  // A bit flipped on disk in the newest durable record is detected through the sync marker the
  // leader writes after the group (I23). After a power cut that marker may be gone with the other
  // unsynced bytes: that case is undetectable by design (docs/design.md, "Damage to the log:
  // what is detected and what cannot be"), so this damage is applied to what a process crash (or a
  // clean close) leaves.
  const bool use_process_crash =
      damage == Damage::kFlipNewestLogRecord && !base.process_crash_image.empty();
  DirImage image = use_process_crash ? base.process_crash_image : base.image;
  if (use_process_crash) result.description += " (process-crash image)";
  StatusOr<std::string> applied = ApplyDamage(damage, base.page_bytes, &rng, &image);
  if (!applied.ok()) {
    result.skipped = true;
    result.description += ": not applicable (" + applied.status().message() + ")";
    return result;
  }
  result.description += ": " + *applied;
  result.check = OpenAndCheck(image, base.expected, &rng);
  if (!result.check.passed && damage == Damage::kTruncateSegmentAtRecordBoundary) {
    const std::vector<std::string> segments = SegmentNames(image);
    const std::string& newest = segments.back();
    result.undetectable_by_design = image.at(newest).size() != base.image.at(newest).size() &&
                                    image.at(newest).size() % wal::kSegmentGranuleBytes == 0;
  }
  if (damage == Damage::kDeleteDataFile && !result.check.ended_in_error) {
    // Even a log that goes back to the first commit does not make a new data file right: the
    // directory held a database that lost a file (issue 11 item 2).
    result.check.passed = false;
    result.check.detail += "; log segments without a data file must be Corruption";
  }
  return result;
}

}  // namespace manifold::corruption
