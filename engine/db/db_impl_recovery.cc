// Recovery: the checkpoint the header names, then the log replayed over it (docs/design.md,
// "Recovery").

#include <algorithm>
#include <map>

#include "engine/db/db_impl.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_payload.h"
#include "engine/wal/log_reader.h"

namespace manifold {

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
  PublishPageCounts();

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

// The state replay builds: column families and the write buffers of the ones it changed, each
// entry at its record's sequence number, as the commit that wrote it inserted it (I32).
class ReplayState {
 public:
  ReplayState(const Options& options, const Version& base)
      : options_(options), next_cf_id_(base.next_cf_id) {
    for (const auto& [name, state] : base.column_families) cfs_[name] = state;
  }

  Status Apply(uint64_t lsn, std::string_view payload) {
    ops_.clear();
    MANIFOLD_RETURN_IF_ERROR(wal::DecodePayload(payload, &ops_));
    for (const wal::LogOpView& op : ops_) MANIFOLD_RETURN_IF_ERROR(ApplyOp(lsn, op));
    return Status::OK();
  }

  // Publishes the replayed column families into `next` and hands over their buffer lists.
  void Finish(Version* next, std::map<uint32_t, std::unique_ptr<BufferList>>* lists) {
    next->next_cf_id = next_cf_id_;
    next->column_families.Clear();
    for (auto& [name, state] : cfs_) {
      auto list = lists_.find(state.id);
      if (list != lists_.end()) state.buffers = list->second->stack();
      next->column_families.Set(name, state);
    }
    *lists = std::move(lists_);
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
        // Its buffers stay until the recovery checkpoint, which frees its whole old tree.
        cfs_.erase(it);
        return Status::OK();
      case wal::LogOpType::kPut:
      case wal::LogOpType::kDelete:
        break;
    }
    if (it == cfs_.end()) {
      return Status::Corruption(where + " writes to missing column family '" + cf + "'");
    }
    auto list = lists_.find(it->second.id);
    if (list == lists_.end()) {
      list = lists_
                 .emplace(it->second.id,
                          std::make_unique<BufferList>(BufferOptionsFor(options_, it->second.id),
                                                       it->second.root))
                 .first;
    }
    if (op.type == wal::LogOpType::kPut) {
      return list->second->Add(lsn, EntryType::kPut, op.key, op.value);
    }
    return list->second->Add(lsn, EntryType::kTombstone, op.key, "");
  }

  const Options& options_;
  uint32_t next_cf_id_;
  std::map<std::string, ColumnFamilyState> cfs_;
  std::map<uint32_t, std::unique_ptr<BufferList>> lists_;
  std::vector<wal::LogOpView> ops_;
};

}  // namespace

Status DBImpl::ReplayLog(uint64_t head_segment, wal::ReplayResult* replayed) {
  VersionPtr base = latest();
  ReplayState state(options_, *base);
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
  std::map<uint32_t, std::unique_ptr<BufferList>> lists;
  state.Finish(next.get(), &lists);
  port::MutexLock lock(&log_mu_);
  buffer_lists_ = std::move(lists);
  for (const auto& [id, list] : buffer_lists_) {
    dirty_bytes_ += list->MemoryBytes();
    waiting_max_ = std::max(waiting_max_, list->WaitingCount());
  }
  oldest_dirty_us_ = clock_->NowMicros();
  dirty_by_sequence_.push_back(DirtyEntry{result.last_lsn, 0});
  latest_ = next;
  last_sequence_ = buffered_lsn_ = written_lsn_ = synced_lsn_ = result.last_lsn;
  published_sequence_ = result.last_lsn;
  port::MutexLock state_lock(&state_mu_);
  current_ = next;
  return Status::OK();
}

}  // namespace manifold
