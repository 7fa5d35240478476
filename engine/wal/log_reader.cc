#include "engine/wal/log_reader.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <optional>
#include <utility>

#include "engine/util/coding.h"
#include "engine/util/fault_point.h"
#include "engine/wal/log_format.h"

namespace manifold::wal {
namespace {

// Files are read whole, in chunks this big: few calls per segment, and (for a POSIX file system)
// reads large enough to run at the device's sequential rate.
constexpr size_t kReadChunkBytes = size_t{8} << 20;

// Byte offset of the segment-number field in a record header (log_format.h).
constexpr size_t kSegmentFieldOffset = 8;

struct Segment {
  uint64_t number = 0;
  std::string path;
};

std::string Where(const Segment& segment, uint64_t offset) {
  return segment.path + " offset " + std::to_string(offset);
}

// Reads the whole file at `path` into `*buffer` (grown as needed, never shrunk, so that one
// allocation serves every segment) and points `*data` at the bytes read.
Status ReadOnce(File* file, const std::string& path, uint64_t size, std::string* buffer,
                std::string_view* data) {
  if (size > buffer->max_size()) {
    return Status::Corruption(path + ": log segment of " + std::to_string(size) +
                              " bytes does not fit in memory");
  }
  if (buffer->size() < size) buffer->resize(static_cast<size_t>(size));
  uint64_t done = 0;
  while (done < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunkBytes, size - done));
    MANIFOLD_ASSIGN_OR_RETURN(size_t got, file->Read(done, want, buffer->data() + done));
    assert(got <= want);
    done += got;
    // A short read means end of file: the file shrank since Size(). What was read is the file.
    if (got < want) break;
  }
  assert(done <= buffer->size());
  *data = std::string_view(buffer->data(), static_cast<size_t>(done));
  return Status::OK();
}

// Reads a segment until two reads in a row agree. A record that fails its checksum ends the log
// (a torn tail), so a bit flipped on the way from the device (not on it) would otherwise make
// recovery drop acknowledged commits without a word (found by the simulator: seed 163).
constexpr int kSegmentReadAttempts = 4;

Status ReadWholeFile(FileSystem* fs, const std::string& path, std::string* buffer,
                     std::string_view* data) {
  OpenFileOptions read_only;
  read_only.read_only = true;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs->OpenFile(path, read_only));
  MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  MANIFOLD_RETURN_IF_ERROR(ReadOnce(file.get(), path, size, buffer, data));
  std::string check_buffer;
  for (int attempt = 1; attempt < kSegmentReadAttempts; ++attempt) {
    std::string_view check;
    MANIFOLD_RETURN_IF_ERROR(ReadOnce(file.get(), path, size, &check_buffer, &check));
    if (check == *data) return Status::OK();
    buffer->swap(check_buffer);
    *data = std::string_view(buffer->data(), check.size());
  }
  return Status::IOError(path + ": " + std::to_string(kSegmentReadAttempts) +
                         " reads of the log segment gave different bytes each time");
}

// True if the bytes at `offset` look like the start of a record of `segment` that did not reach
// the disk whole (a torn write), rather than a clean end of the segment's records: end of data,
// zeros (preallocated or never written) or a stale record carrying an older segment number.
bool LooksTorn(std::string_view data, uint64_t offset, uint64_t segment) {
  if (offset >= data.size()) return false;
  const std::string_view head = data.substr(offset, kRecordHeaderBytes);
  if (std::all_of(head.begin(), head.end(), [](char c) { return c == 0; })) return false;
  // A header that holds its segment-number field says whose record it was. One cut short
  // before that field by the end of the file (nonzero, so something was written) was most likely
  // being appended when the crash came; a preallocated segment ends in zeros or stale bytes.
  if (head.size() < kSegmentFieldOffset + 8) return true;
  return DecodeFixed64(head.data() + kSegmentFieldOffset) == segment;
}

// A valid record found outside the chain by the evidence scan.
struct Found {
  size_t segment_index = 0;
  uint64_t offset = 0;
  uint64_t lsn = 0;
  uint64_t synced_lsn = 0;
};

// What lies beyond the point where the chain stopped: the valid records (right segment number,
// right checksum) that the chain would still have needed, i.e. with lsn >= `need`.
class Evidence {
 public:
  Evidence() = default;

  // Starts over, looking for records with lsn >= `need`.
  void Reset(uint64_t need) { *this = Evidence(need); }

  // Tries every 8-byte-aligned offset of `data` from `from` on. A record that decodes is skipped
  // whole, so a record embedded in a valid record's payload is not mistaken for one.
  void Scan(std::string_view data, size_t segment_index, uint64_t segment_number, uint64_t from) {
    uint64_t offset = (from + kRecordAlignBytes - 1) & ~uint64_t{kRecordAlignBytes - 1};
    RecordView record;
    while (offset + kRecordHeaderBytes <= data.size()) {
      if (!DecodeRecord(data.substr(offset), segment_number, &record)) {
        offset += kRecordAlignBytes;
        continue;
      }
      assert(record.segment == segment_number);
      if (record.lsn >= need_) {
        const Found found{segment_index, offset, record.lsn, record.synced_lsn};
        if (records_ == 0) first_ = found;
        ++records_;
        uint64_t named = 0;
        if (ClassifyRecord(record, &named) == RecordKind::kData) ++data_records_;
        // synced_lsn >= need: when this record was appended, the writer knew record `need` was
        // durable, so its absence now is damage, not a lost unsynced write.
        if (!has_voucher_ && record.synced_lsn >= need_) {
          voucher_ = found;
          has_voucher_ = true;
        }
      }
      offset += record.bytes;
    }
  }

  uint64_t need() const { return need_; }
  // Valid records found with lsn >= need (control records included: they vouch too).
  uint64_t records() const { return records_; }
  // The data records among them: the commits a salvage drops.
  uint64_t data_records() const { return data_records_; }
  // The first of them; requires records() > 0.
  const Found& first() const {
    assert(records_ > 0);
    return first_;
  }
  // The first of them whose synced_lsn >= need (it vouches that record `need` was durable).
  bool has_voucher() const { return has_voucher_; }
  const Found& voucher() const {
    assert(has_voucher_);
    return voucher_;
  }

 private:
  explicit Evidence(uint64_t need) : need_(need) {}

  uint64_t need_ = 0;
  uint64_t records_ = 0;
  uint64_t data_records_ = 0;
  Found first_;
  bool has_voucher_ = false;
  Found voucher_;
};

// Why the chain of records stopped.
enum class EndKind {
  kExhausted,    // The newest segment's records just stop.
  kGap,          // A record decoded with an LSN beyond the one needed.
  kDamage,       // A segment stopped decoding, and valid records it still needed lie after that.
  kNoRoll,       // A segment that is not the newest stops without a roll record (I20).
  kRollMissing,  // A roll record names a segment that is not the next one found (I20).
  kHeadMissing,  // The head segment the checkpoint header names does not exist (I21).
};

// True if the bytes at `offset` start a record of `segment` whose header or payload the end of
// the data cuts off (only meaningful for a file whose length the writer never leaves: a torn
// header's length field can point anywhere).
bool CutByEndOfFile(std::string_view data, uint64_t offset, uint64_t segment) {
  const uint64_t left = data.size() - offset;
  if (left < kSegmentFieldOffset + 8) return false;
  if (DecodeFixed64(data.data() + offset + kSegmentFieldOffset) != segment) return false;
  if (left < kRecordHeaderBytes) return true;
  return kRecordHeaderBytes + DecodeFixed32(data.data() + offset + 4) > left;
}

// Damage the segment the chain ended in shows by its length alone (I22), or "".
std::string ShortenedSegment(std::string_view data, const std::string& path, uint64_t offset,
                             uint64_t segment) {
  // At a legal length, a header running past the end is a torn write (its length field torn
  // across a sector boundary), not proof of truncation.
  if (data.size() % kSegmentGranuleBytes == 0) return "";
  if (CutByEndOfFile(data, offset, segment)) {
    return path + " offset " + std::to_string(offset) +
           " starts a record that the end of the file at " + std::to_string(data.size()) +
           " cuts off; a segment's length is durable before records are written into it (I22), "
           "so the file was truncated";
  }
  return path + " is " + std::to_string(data.size()) + " bytes long, not a multiple of the " +
         std::to_string(kSegmentGranuleBytes) +
         "-byte preallocation granule every segment length is (I22), so the file was truncated";
}

}  // namespace

namespace {

// The outcome once the chain has ended (docs/wal_format.md, "End of log"): Corruption for damage
// the log proves (`proven`, or a record vouching for the one needed), salvage, or a clean end or
// torn tail.
Status DecideEnd(const ReplayOptions& options, const std::vector<Segment>& segments,
                 EndKind end_kind, size_t end_index, uint64_t end_offset,
                 const std::optional<std::pair<size_t, uint64_t>>& handed_over,
                 bool torn_looking_stop, const Evidence& evidence, const std::string& proven,
                 ReplayResult* result) {
  const uint64_t next = evidence.need();
  const std::string needing = "lsn " + std::to_string(next);
  std::string where = end_kind == EndKind::kHeadMissing ? "the head of the log"
                                                        : Where(segments[end_index], end_offset);
  switch (end_kind) {
    case EndKind::kGap:
      assert(evidence.first().offset == end_offset);
      where += " (which holds lsn " + std::to_string(evidence.first().lsn) + ")";
      break;
    case EndKind::kDamage:
      where += " (bytes that do not decode as a record of this segment)";
      break;
    case EndKind::kNoRoll:
      where += " (a segment that is not the newest ends without a roll record)";
      break;
    case EndKind::kExhausted:
    case EndKind::kRollMissing:
    case EndKind::kHeadMissing:
      break;
  }
  if (end_offset == 0 && handed_over && handed_over->first + 1 == end_index) {
    where += " (the previous segment's records stop at " +
             Where(segments[handed_over->first], handed_over->second) + ")";
  }

  std::string damage;
  if (!proven.empty()) {
    damage = proven + "; the log ends there needing " + needing + ", and " +
             std::to_string(evidence.data_records()) +
             " valid records with lsn >= " + std::to_string(next) + " follow";
  } else if (evidence.has_voucher()) {
    const Found& v = evidence.voucher();
    damage = "log record " + needing + " is damaged or missing at " + where +
             ", but the record at " + Where(segments[v.segment_index], v.offset) + " (lsn " +
             std::to_string(v.lsn) + ") was appended when lsns up to " +
             std::to_string(v.synced_lsn) + " were durable; " +
             std::to_string(evidence.data_records()) +
             " valid records with lsn >= " + std::to_string(next) + " follow the damage";
  }
  if (!damage.empty()) {
    if (!options.salvage) {
      result->end_note = damage;
      return Status::Corruption(damage + ". Options::wal_salvage opens with the records up to " +
                                "lsn " + std::to_string(result->last_lsn) + " and drops those " +
                                std::to_string(evidence.data_records()) + " records for good");
    }
    result->salvage_dropped = evidence.data_records();
    result->end_note = "salvage: " + damage + "; kept records up to lsn " +
                       std::to_string(result->last_lsn) + ", dropped " +
                       std::to_string(evidence.data_records());
    return Status::OK();
  }

  result->torn_tail = evidence.records() > 0 || torn_looking_stop;
  if (evidence.records() > 0) {
    const Found& f = evidence.first();
    result->end_note = "torn tail: log ends needing " + needing + " at " + where + "; " +
                       std::to_string(evidence.records()) + " later records (first: lsn " +
                       std::to_string(f.lsn) + " at " + Where(segments[f.segment_index], f.offset) +
                       ") were never durable and are dropped";
  } else if (torn_looking_stop) {
    result->end_note = "torn tail: log ends at " + where + " after lsn " +
                       std::to_string(result->last_lsn) + ", at a partially written record";
  } else {
    result->end_note = "log ends at " + where + " after lsn " + std::to_string(result->last_lsn);
  }
  return Status::OK();
}

}  // namespace

Status ReplayLog(const ReplayOptions& options, const ReplayApplyFunction& apply,
                 ReplayResult* result) {
  assert(options.fs != nullptr);
  assert(options.checkpoint_lsn < UINT64_MAX && "no LSN can follow the checkpoint");
  *result = ReplayResult();
  result->last_lsn = options.checkpoint_lsn;

  MANIFOLD_ASSIGN_OR_RETURN(std::vector<std::string> names, options.fs->ListDir(options.dir));
  std::vector<Segment> all;
  for (const std::string& name : names) {
    uint64_t number = 0;
    if (ParseSegmentFileName(name, &number)) all.push_back({number, options.dir + "/" + name});
  }
  std::sort(all.begin(), all.end(),
            [](const Segment& a, const Segment& b) { return a.number < b.number; });
  for (const Segment& segment : all) result->segments.push_back(segment.number);
  assert(std::adjacent_find(result->segments.begin(), result->segments.end()) ==
             result->segments.end() &&
         "strict names give one file per number");

  // I20/I21: the chain of custody runs from the head segment the checkpoint header names through
  // the roll record at the end of each segment. Segments below the head hold only checkpointed
  // records (files kept for recycling keep their old numbers) and are not read.
  const bool custody = !MANIFOLD_PLANTED_BUG(planted_bug::kSkipRollRecordCheck);
  const uint64_t head = custody ? options.head_segment : 0;
  std::vector<Segment> segments;
  for (const Segment& segment : all) {
    if (segment.number >= head) segments.push_back(segment);
  }
  if (segments.empty() && head == 0) {
    result->end_note = "no log segments in " + options.dir + "; nothing to replay after lsn " +
                       std::to_string(options.checkpoint_lsn);
    return Status::OK();
  }

  // The walk. `next` is the LSN the chain needs next (E in docs/wal_format.md).
  uint64_t next = options.checkpoint_lsn + 1;
  std::string buffer;
  std::string_view data;
  EndKind end_kind = EndKind::kExhausted;
  size_t end_index = 0;
  uint64_t end_offset = 0;
  // Where the previous segment's records stopped when it handed over (for messages).
  std::optional<std::pair<size_t, uint64_t>> handed_over;
  // Set when a segment's records stop at something that looks like a torn record of that
  // segment; cleared when the chain makes progress after it (then it was a harmless leftover).
  bool torn_looking_stop = false;
  // What lies beyond the point where the current segment's records stopped.
  Evidence evidence;
  evidence.Reset(next);
  // Damage that is Corruption whatever vouches (a missing segment, a shortened one), or "".
  std::string proven;
  size_t scanned_through = 0;  // Segments [0, scanned_through) are read or scanned.

  if (head != 0 && (segments.empty() || segments[0].number != head)) {
    end_kind = EndKind::kHeadMissing;
    proven = "the checkpoint header names " + options.dir + "/" + SegmentFileName(head) +
             " as the log head (the segment holding or receiving lsn " + std::to_string(next) +
             "), but it is missing (I21)";
  }
  for (size_t i = 0; end_kind != EndKind::kHeadMissing && i < segments.size(); ++i) {
    const Segment& segment = segments[i];
    MANIFOLD_RETURN_IF_ERROR(ReadWholeFile(options.fs, segment.path, &buffer, &data));
    scanned_through = i + 1;
    uint64_t offset = 0;
    RecordView record;
    bool gap = false;
    // Whether the chain's last record in this segment so far was a roll record, naming
    // `roll_to`. A flag and a plain value, not std::optional: with the `goto walk` back into the
    // loop, GCC -O2 could not prove the optional's payload set before `*roll_to` (a false
    // -Wmaybe-uninitialized, an error under --config=ci).
    bool rolled = false;
    uint64_t roll_to = 0;
    uint64_t roll_offset = 0;
  walk:
    while (DecodeRecord(data.substr(offset), segment.number, &record)) {
      assert(offset % kRecordAlignBytes == 0);
      uint64_t named = 0;
      const RecordKind kind = ClassifyRecord(record, &named);
      if (kind == RecordKind::kRoll && record.lsn <= next) {
        // The chain continues in the segment it names (even when the checkpoint covers every
        // record around it).
        rolled = true;
        roll_to = named;
        roll_offset = offset;
        torn_looking_stop = false;
      } else if (record.lsn < next) {
        // Covered by the checkpoint (recycling keeps a segment until a checkpoint covers it all).
        if (kind == RecordKind::kData) ++result->records_skipped;
      } else if (record.lsn == next) {
        // A control record takes no LSN: the chain passes over it.
        if (kind == RecordKind::kData) {
          MANIFOLD_RETURN_IF_ERROR(apply(record.lsn, record.payload));
          ++result->records_applied;
          result->last_lsn = record.lsn;
          ++next;
          rolled = false;
        }
        torn_looking_stop = false;
      } else {
        gap = true;
        break;
      }
      // The data may end inside the last record's padding; the padding carries nothing.
      offset += std::min<uint64_t>(record.bytes, data.size() - offset);
    }
    assert(offset <= data.size());
    end_index = i;
    end_offset = offset;
    // The rest of this segment must not hold a record the chain still needs. If it does, the
    // records stopped at damage inside the segment, and the chain ends here: a later segment
    // that happens to start at `next` must not paper over it. (After a gap the scan finds at
    // least the record that made the gap.)
    evidence.Reset(next);
    evidence.Scan(data, i, segment.number, offset);
    if (!gap && evidence.records() > 0 && evidence.first().lsn == next) {
      // The record the chain needs next lies intact past bytes that do not decode, so the damage
      // hit only records the checkpoint covers or control records (a sync marker misdirected onto
      // older records of the head segment: chaos seed 1733). It is a record of this incarnation
      // of the segment (I13: stale ones carry the old number) written after any torn tail an
      // earlier recovery stopped at (I18). Every record with lsn >= next lies at or after it (the
      // scan found none before), so resuming there skips nothing the chain needs and makes no
      // hole; ending here would drop a synced group whenever a power cut took its own marker.
      assert(evidence.first().segment_index == i && evidence.first().offset > offset);
      offset = evidence.first().offset;
      ++result->damage_passed_over;
      goto walk;
    }
    if (gap) {
      assert(evidence.records() > 0);
      end_kind = EndKind::kGap;
      break;
    }
    if (LooksTorn(data, offset, segment.number)) torn_looking_stop = true;
    if (evidence.records() > 0) {
      end_kind = EndKind::kDamage;
      break;
    }
    const bool newest = i + 1 == segments.size();
    if (!custody || (rolled && !newest && segments[i + 1].number == roll_to)) {
      if (!newest) handed_over = std::make_pair(i, offset);
      continue;
    }
    if (rolled) {
      // I20: the segment a roll record names was durable before the roll record was written.
      end_kind = EndKind::kRollMissing;
      proven = Where(segment, roll_offset) + " is a roll record naming " + options.dir + "/" +
               SegmentFileName(roll_to) + " as the next segment, but " +
               (newest ? std::string("no later segment exists")
                       : "the next segment found is " + segments[i + 1].path) +
               " (I20)";
      break;
    }
    if (!newest) {
      end_kind = EndKind::kNoRoll;
      break;
    }
  }
  if (custody && proven.empty()) {
    proven =
        ShortenedSegment(data, segments[end_index].path, end_offset, segments[end_index].number);
  }
  if (custody && proven.empty() && data.empty() && handed_over &&
      handed_over->first + 1 == end_index) {
    // I20 + I22: the writer preallocates a segment and syncs its length before it writes the roll
    // record naming it (both in one group), so a segment a surviving roll record leads to is never
    // empty: this one was truncated to nothing.
    proven = segments[end_index].path +
             " is empty, but the roll record before it names it, and a segment's length is durable "
             "before the roll record naming it is written (I20, I22), so the file was truncated";
  }
  assert(next == result->last_lsn + 1);
  assert(result->records_applied == result->last_lsn - options.checkpoint_lsn);

  // End of log: everything after the stop is evidence. The rest of segment `end_index` was
  // scanned above; every later segment is scanned whole.
  for (size_t j = scanned_through; j < segments.size(); ++j) {
    MANIFOLD_RETURN_IF_ERROR(ReadWholeFile(options.fs, segments[j].path, &buffer, &data));
    evidence.Scan(data, j, segments[j].number, 0);
  }
  assert(evidence.need() == next);
  if (!segments.empty() && end_kind != EndKind::kHeadMissing) {
    result->end_segment = segments[end_index].number;
    result->end_offset = end_offset;
  }
  return DecideEnd(options, segments, end_kind, end_index, end_offset, handed_over,
                   torn_looking_stop, evidence, proven, result);
}

}  // namespace manifold::wal
