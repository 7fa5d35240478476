// Recovery's scan of the write-ahead log: finds the chain of records that continues the last
// checkpoint, hands each record to the caller in LSN order, and decides whether the point where
// the chain ends is a legal crash state (a torn tail: writes that were never synced) or damage to
// durable records (Corruption). docs/wal_format.md, "Reading the log", gives the rules and why.
#ifndef MANIFOLD_WAL_LOG_READER_H_
#define MANIFOLD_WAL_LOG_READER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold::wal {

struct ReplayOptions {
  // Where the segment files are. Not owned; must outlive the call.
  FileSystem* fs = nullptr;
  std::string dir;
  // The LSN the durable checkpoint (the data file) already contains; replay applies the records
  // after it.
  uint64_t checkpoint_lsn = 0;
  // The log head the checkpoint header names (I21): the segment holding (or receiving) record
  // checkpoint_lsn + 1. Segments below it hold only checkpointed records and are not read; the
  // head itself must exist. 0: no header names one (the chain starts at the lowest segment;
  // only for tests of the reader alone).
  uint64_t head_segment = 0;
  // Options::wal_salvage: when the log is damaged where later records say it was durable, keep
  // the records before the damage and report the rest as dropped instead of failing.
  bool salvage = false;
};

struct ReplayResult {
  uint64_t last_lsn = 0;         // Last LSN applied, or checkpoint_lsn when none.
  uint64_t records_applied = 0;  // Records with lsn > checkpoint_lsn passed to apply.
  uint64_t records_skipped = 0;  // Valid chain records below the next LSN needed (checkpointed).
  // The log ended at a damaged or missing record that no later durable record vouches for:
  // a crash lost writes that were never synced (legal; nothing acknowledged was lost).
  bool torn_tail = false;
  // Times the chain passed over bytes that do not decode because the record it needed next lay
  // intact after them in the same segment (damage to checkpointed or control records only).
  uint64_t damage_passed_over = 0;
  // Salvage mode only: valid records found after vouched-for damage, not applied.
  uint64_t salvage_dropped = 0;
  std::vector<uint64_t> segments;  // Segment numbers found, ascending (below the head too).
  // Where the chain ended: the segment and the offset after its last record (for a writer that
  // continues a cleanly ended log in place). 0, 0 when no segment was read.
  uint64_t end_segment = 0;
  uint64_t end_offset = 0;
  std::string end_note;  // Where and why the log ended (segment, offset, LSN).
};

// Called once per record to redo, in LSN order: checkpoint_lsn + 1, + 2, ... `payload` is valid
// only during the call. A non-OK return stops the replay and ReplayLog returns it unchanged.
using ReplayApplyFunction = std::function<Status(uint64_t lsn, std::string_view payload)>;

// Scans the segment files in `options.dir` in segment-number order and calls `apply` for every
// record continuing the chain after options.checkpoint_lsn. Returns OK for a clean log or a
// torn tail, Corruption (naming file, offset and LSNs) when a record later records vouch for is
// damaged or missing, when the head segment or a segment a roll record names is missing (I20,
// I21), or when the segment the chain ends in was shortened (I22) (unless options.salvage), an I/O
// error from the file system unchanged, or the first error `apply` returns. `*result` is reset
// first and filled as far as the scan got.
[[nodiscard]] Status ReplayLog(const ReplayOptions& options, const ReplayApplyFunction& apply,
                               ReplayResult* result);

}  // namespace manifold::wal

#endif  // MANIFOLD_WAL_LOG_READER_H_
