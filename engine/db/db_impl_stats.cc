// DB::GetStats: the pager's, the log files' and the commit pipeline's counters, and the page
// counts the latest checkpoint published (never checkpoint_mu_: a checkpoint holds it for seconds).

#include "engine/db/db_impl.h"

namespace manifold {

Stats DBImpl::GetStats() {
  Stats stats;
  PagerStats& io = pager_->stats();
  stats.pages_read = io.pages_read;
  stats.pages_written = io.pages_written;
  stats.bytes_read = io.bytes_read;
  stats.bytes_written = io.bytes_written;  // The data file's alone: log_bytes counts the log's.
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
  // Published by the open and by each checkpoint as it finishes: never wait for checkpoint_mu_.
  stats.pages_total = published_pages_total_;
  stats.pages_free = published_pages_free_;
  port::MutexLock lock(&log_mu_);
  stats_.CopyTo(&stats);
  stats.sequence = published_sequence_;
  stats.checkpoint_sequence = checkpoint_sequence_;
  stats.dirty_bytes = dirty_bytes_;
  return stats;
}

void DBImpl::PublishPageCounts() {
  published_pages_total_ = allocator_.page_count();
  published_pages_free_ = allocator_.free_pages() + allocator_.pending_pages();
}

}  // namespace manifold
