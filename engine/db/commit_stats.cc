#include "engine/db/commit_stats.h"

#include <algorithm>

namespace manifold {

void CommitStats::AddSync(uint64_t commits) {
  ++log_syncs_;
  log_sync_commits_ += commits;
  size_t bucket = 0;
  while (bucket + 1 < kSyncBuckets && (commits >> (bucket + 1)) != 0) ++bucket;
  if (sync_histogram_.size() <= bucket) sync_histogram_.resize(bucket + 1);
  ++sync_histogram_[bucket];
}

void CommitStats::AddCheckpoint(uint64_t elapsed_us) {
  ++checkpoints_;
  checkpoint_us_total_ += elapsed_us;
  checkpoint_us_max_ = std::max(checkpoint_us_max_, elapsed_us);
}

bool CommitStats::EndStall(uint64_t stalled_us) {
  stall_us_ += stalled_us;
  if (stall_logged_at_checkpoint_ == checkpoints_ + 1) return false;
  stall_logged_at_checkpoint_ = checkpoints_ + 1;
  return true;
}

void CommitStats::CopyTo(Stats* stats) const {
  stats->commits = commits_;
  stats->log_records = log_records_;
  stats->log_syncs = log_syncs_;
  stats->log_sync_commits = log_sync_commits_;
  stats->commits_per_sync_histogram = sync_histogram_;
  stats->checkpoints = checkpoints_;
  stats->checkpoint_us_total = checkpoint_us_total_;
  stats->checkpoint_us_max = checkpoint_us_max_;
  stats->writer_stall_us = stall_us_;
  stats->writer_stalls = stalls_;
  stats->writer_slowdowns = slowdowns_;
}

}  // namespace manifold
