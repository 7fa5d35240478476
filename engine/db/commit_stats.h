// The commit pipeline's and the checkpointer's counters, for DB::GetStats.
#ifndef MANIFOLD_DB_COMMIT_STATS_H_
#define MANIFOLD_DB_COMMIT_STATS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "manifold/db.h"

namespace manifold {

// Not synchronized itself: DBImpl holds one as a field guarded by its commit lock, log_mu_, and
// every update is a line of a critical section that already holds that lock (I16: one lock per
// commit). A lock of its own would be a second lock per commit and, in the simulator's scheduler
// build, new scheduling points in every commit, so every recorded replay would change.
class CommitStats {
 public:
  // The histogram's last bucket also counts syncs covering more commits.
  static constexpr size_t kSyncBuckets = 32;

  // A commit returned OK.
  void AddCommit() { ++commits_; }
  // A log record was appended; RemoveRecords takes back `count` appends a NoSpace rollback
  // undid (I26).
  void AddRecord() { ++log_records_; }
  void RemoveRecords(uint64_t count) { log_records_ -= count; }
  // One log sync made `commits` commits durable (I17). Bucket b of the histogram counts syncs
  // covering [2^b, 2^(b+1)) commits; bucket 0 also those covering none.
  void AddSync(uint64_t commits);
  // A checkpoint became durable after `elapsed_us` (Options::clock).
  void AddCheckpoint(uint64_t elapsed_us);
  uint64_t checkpoints() const { return checkpoints_; }
  // A writer was slowed down (delayed) because the write buffers are nearly full (I38).
  void AddSlowdown() { ++slowdowns_; }
  // A writer starts waiting for room in the write buffer.
  void AddStall() { ++stalls_; }
  // That writer waited `stalled_us`. True for the first stall to end since the latest
  // checkpoint: the info log gets one stall line per checkpoint at most.
  [[nodiscard]] bool EndStall(uint64_t stalled_us);
  // Fills the fields of `stats` these counters own.
  void CopyTo(Stats* stats) const;

 private:
  uint64_t commits_ = 0;
  uint64_t log_records_ = 0;
  uint64_t log_syncs_ = 0;
  uint64_t log_sync_commits_ = 0;
  std::vector<uint64_t> sync_histogram_;  // Grows to the highest bucket used.
  uint64_t checkpoints_ = 0;
  uint64_t checkpoint_us_total_ = 0;
  uint64_t checkpoint_us_max_ = 0;
  uint64_t stall_us_ = 0;
  uint64_t stalls_ = 0;
  uint64_t slowdowns_ = 0;
  uint64_t stall_logged_at_checkpoint_ = 0;  // checkpoints_ + 1 when the last line was logged.
};

}  // namespace manifold

#endif  // MANIFOLD_DB_COMMIT_STATS_H_
