// The write-ahead log's segment files: creating (preallocated) or recycling a segment before its
// first write, writing records at the offsets the commit path chose, syncing, and retiring
// segments a durable checkpoint covers. Only the group-commit leader writes and syncs; a
// checkpoint retires. docs/design.md, "Write-ahead log", gives the protocol.
#ifndef MANIFOLD_DB_LOG_FILES_H_
#define MANIFOLD_DB_LOG_FILES_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/port/atomic.h"
#include "engine/port/sync.h"
#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold {

class LogFiles {
 public:
  // Retired segment files kept for reuse; more are removed.
  static constexpr size_t kRecyclePoolMax = 4;
  // A segment file is preallocated in steps of this much (not beyond the segment size rounded up
  // to the granule), so a sync never has to extend the file, and recovery reads little more than
  // what was written. Every length is a multiple of wal::kSegmentGranuleBytes (I22).
  static constexpr uint64_t kPreallocateStepBytes = 1ull << 20;

  LogFiles(FileSystem* fs, std::string dir, uint64_t segment_bytes);

  // Makes sure segment `number`'s file exists (creating it, or renaming a retired one to it) and
  // that its directory entry is durable (I15). A roll record naming the segment (I20) and a
  // checkpoint header naming it as the log head (I21) are written only after this returned OK.
  [[nodiscard]] Status Create(uint64_t number);
  // Makes segment `number` ready to take records up to `end_offset`: Create, then preallocate
  // ahead of the writes in whole granules and sync the new length (I22). Writes no record bytes,
  // so a NoSpace from here leaves the log's records as they were and a retry after space is freed
  // starts over cleanly (I26).
  [[nodiscard]] Status Prepare(uint64_t number, uint64_t end_offset);
  // True once Create(number) returned OK (until the segment is retired or removed).
  bool IsPrepared(uint64_t number);
  // True if segment `number`'s file exists and holds no byte at all (created for a roll or as a
  // log head, never written).
  [[nodiscard]] StatusOr<bool> IsEmpty(uint64_t number);

  // Writes `data` at `offset` of segment `number` (after Prepare, which it calls if needed).
  [[nodiscard]] Status Write(uint64_t number, uint64_t offset, std::string_view data);
  // Syncs every segment written since its last sync (fdatasync). Writes and syncs run without
  // the lock (only the group-commit leader calls them), so a checkpoint retiring old segments
  // never waits for a log sync.
  [[nodiscard]] Status SyncWritten();
  // Reads `data` back from `offset` of segment `number` (after its sync) and compares it: the log's
  // counterpart of I11. A write that was lost or landed elsewhere must fail the commits it
  // carries, not be acknowledged and then cut off at recovery as if it were a torn tail.
  // `scratch` holds the bytes read back; the caller keeps it from one call to the next, so a
  // group's read-back allocates (and zero-fills) nothing once it has grown.
  [[nodiscard]] Status VerifyWritten(uint64_t number, uint64_t offset, std::string_view data,
                                     std::string* scratch);
  // Closes segments a durable checkpoint covers; keeps up to kRecyclePoolMax for reuse (their
  // stale records carry their old number, which no reader accepts under the new name) and removes
  // the rest, then syncs the directory.
  [[nodiscard]] Status Retire(const std::vector<uint64_t>& numbers);
  // Removes segment files (recovery, once a durable checkpoint covers every record in them), then
  // syncs the directory.
  [[nodiscard]] Status Remove(const std::vector<uint64_t>& numbers);

  uint64_t segments_created() const { return created_; }
  uint64_t segments_recycled() const { return recycled_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t syncs() const { return syncs_; }

 private:
  std::string PathOf(uint64_t number) const;
  [[nodiscard]] StatusOr<std::shared_ptr<File>> OpenSegment(uint64_t number, uint64_t recycled);

  [[nodiscard]] Status Preallocate(File* file, uint64_t number, uint64_t from, uint64_t bytes);

  FileSystem* const fs_;
  const std::string dir_;
  const uint64_t segment_bytes_;
  // Serializes creating segment files (the leader rolling, a checkpoint preparing the log head).
  // Taken before mu_.
  port::Mutex create_mu_;
  port::Mutex mu_;
  std::map<uint64_t, std::shared_ptr<File>> open_ MANIFOLD_GUARDED_BY(mu_);
  std::map<uint64_t, uint64_t> allocated_bytes_ MANIFOLD_GUARDED_BY(mu_);
  std::set<uint64_t> unsynced_ MANIFOLD_GUARDED_BY(mu_);
  std::deque<uint64_t> pool_ MANIFOLD_GUARDED_BY(mu_);
  // Statistics (read without the lock: approximate while writes run).
  port::Atomic<uint64_t> created_{0};
  port::Atomic<uint64_t> recycled_{0};
  port::Atomic<uint64_t> bytes_written_{0};
  port::Atomic<uint64_t> syncs_{0};
};

// True if segment `number`'s file in `dir` exists and holds no byte at all (read-only: usable
// before a database is opened or locked).
[[nodiscard]] StatusOr<bool> SegmentIsEmpty(FileSystem* fs, const std::string& dir,
                                            uint64_t number);

// Creates the empty first segment of a new database (the log head its creation header names,
// I21) and syncs the directory.
[[nodiscard]] Status CreateFirstSegment(FileSystem* fs, const std::string& dir, uint64_t number);

}  // namespace manifold

#endif  // MANIFOLD_DB_LOG_FILES_H_
