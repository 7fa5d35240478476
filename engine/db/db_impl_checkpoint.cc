// Checkpoints: the background checkpointer, writing dirty trees and the catalog, the header
// slot, freeing replaced pages and retiring covered log segments.

#include <algorithm>
#include <map>

#include "engine/db/db_impl.h"
#include "engine/port/memory.h"
#include "engine/util/check.h"
#include "engine/util/fault_point.h"

namespace manifold {

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
      if (!CheckpointWanted()) continue;
    }
    (void)RunCheckpoint(/*forced=*/false);  // Failures are recorded for stalled writers.
  }
}

// I57: a request made while a checkpoint ran (a writer slowed down or stalled meanwhile) may have
// been answered by that checkpoint's install. Starting another at once would merge only what the
// writers added during the last one, and a merge rewrites every leaf it touches however little it
// brings (I48): the random-key bulk load alternated merges of ~220 and ~70 commits. So a request
// counts only while a checkpoint is due. Every stalled writer makes one due (its buffers' bytes
// are at the limit, past checkpoint_dirty_bytes, or its stack is over the cap), so no stall is
// left without a checkpoint to end it (I38).
bool DBImpl::CheckpointWanted() {
  if (CheckpointDue()) return true;
  MANIFOLD_CHECK(dirty_bytes_ < options_.write_buffer_bytes_max && !StackOverCap(),
                 "I57: a request is dropped only while no writer can be stalled");
  return false;
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
    checkpoints_before = stats_.checkpoints();
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
      checkpoints = stats_.checkpoints();
      sequence = checkpoint_sequence_;
    }
    if (checkpoints != checkpoints_before) {
      // The merged buffers and the versions, jobs and images that held them are gone now
      // (CheckpointOnce has returned): hand the freed memory back, or the allocator keeps it
      // (issue 12: RSS within the cache and write buffer bounds + 64 MiB).
      port::ReleaseFreeMemory();
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
    RecordCheckpointFailure(failed);
  });
  Status earlier;
  {
    port::MutexLock state_lock(&state_mu_);
    earlier = background_error_;
  }
  if (!earlier.ok()) {
    const Status refused =
        Status::ReadOnly("no checkpoint after an earlier failure (" + earlier.ToString() + ")");
    port::MutexLock lock(&log_mu_);
    RecordCheckpointFailure(refused);  // A stalled writer must not wait for it.
    return refused;
  }
  const uint64_t start_us = clock_->NowMicros();
  VersionPtr target;
  std::vector<MergeJob> jobs;
  uint64_t log_head;
  // The planted bug: the version is read without log_mu_ (a data race with Commit), the sequence
  // that goes with it under log_mu_, later.
  const bool unlocked = MANIFOLD_PLANTED_BUG(planted_bug::kCheckpointReadsVersionUnlocked);
  if (unlocked) target = latest_;
  {
    port::MutexLock lock(&log_mu_);
    if (!unlocked) target = latest_;
    const uint64_t covered = unlocked ? last_sequence_ : target->sequence;
    log_head = LogHead(covered);
    // Nothing new (a recovery that ended at a torn tail still moves the head past the old
    // segments, even when it replayed nothing). Buffers may still hold the entries of rolled-back
    // commits (I30): they go now, or their bytes would keep writers stalled with no checkpoint
    // ever finding anything to do.
    if (target->sequence == checkpoint_.sequence && !move_log_head_) {
      ReleaseAbortedBuffers();
      ++checkpoint_attempts_;  // An attempt that ended: stalled writers ask again (I38).
      log_cv_.SignalAll();
      return Status::OK();
    }
    checkpoint_target_sequence_ = target->sequence;  // I26: no rollback below this now.
    jobs = FreezeBuffers();
  }
  const uint64_t sequence = target->sequence;
  allocator_.Release(
      MANIFOLD_PLANTED_BUG(planted_bug::kReusePinnedPages) ? sequence : registry_->OldestLive());
  allocator_.BeginCommit();
  CommitWriter writer(pager_.get(), &allocator_, sequence, CheckpointHeldBytesMax(),
                      options_.file_growth_bytes);
  HeaderSlot slot;
  std::vector<uint64_t> chain;
  std::map<std::string, ColumnFamilyState> on_disk;
  Status status = WriteCheckpoint(target, &jobs, &writer, &slot, &chain, &on_disk);
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
  if (!status.ok() && !writer.write_failed()) {
    // No write failed: undo, stay writable. What the writer wrote so far (I49) went into pages
    // this checkpoint allocated, which no durable state refers to and which the rollback frees
    // again. The frozen buffers stay immutable and readable; the next attempt merges them (I34).
    allocator_.Rollback(sequence);
    port::MutexLock lock(&log_mu_);
    checkpoint_target_sequence_ = checkpoint_sequence_;  // Took nothing after all.
    RecountWaiting();
    RecordCheckpointFailure(status);
    return status;
  }
  if (status.ok()) status = writer.WriteHeld();
  if (status.ok() && !MANIFOLD_PLANTED_BUG(planted_bug::kSkipPageSync)) status = pager_->Sync();
  if (status.ok() && MANIFOLD_FAULT(fault_point::kCommitBeforeHeader)) {
    status = Status::IOError("injected fault: checkpoint " + std::to_string(sequence) +
                             " failed before writing its header slot");
  }
  // I28 retires after the header is durable. The planted bug retires here, before it (to have the
  // covered segments back in the reuse pool sooner): a writer rolling over meanwhile renames one
  // to its new segment, and a crash before the header is durable leaves the old header's log
  // head (I21) gone.
  const bool recycle_early = MANIFOLD_PLANTED_BUG(planted_bug::kRecycleBeforeCheckpoint);
  if (status.ok() && recycle_early) status = RetireCoveredSegments(sequence, log_head);
  if (status.ok()) status = WriteHeader(slot);
  if (!status.ok()) {
    // A page write, the sync or the header failed: the file may hold part of this checkpoint;
    // only a reopen is safe (I8). The log is intact:
    // it still takes the records a clean close writes.
    SetBackgroundError(status);
    port::MutexLock lock(&log_mu_);
    RecordCheckpointFailure(status);
    return status;
  }
  FinishCheckpoint(*target, slot, jobs, std::move(chain), std::move(on_disk));
  const uint64_t elapsed_us = clock_->NowMicros() - start_us;
  {
    port::MutexLock lock(&log_mu_);
    stats_.AddCheckpoint(elapsed_us);
    checkpoint_error_ = Status::OK();
    ++checkpoint_attempts_;
    log_cv_.SignalAll();
  }
  // I28: every checkpoint retires what it covers. The planted bug: DB::Checkpoint's caller does
  // not wait for the retiring; the next automatic checkpoint was meant to do it.
  if (forced && MANIFOLD_PLANTED_BUG(planted_bug::kForcedCheckpointKeepsLog)) return Status::OK();
  if (recycle_early) return Status::OK();  // Retired before the header already.
  return RetireCoveredSegments(sequence, log_head);
}

void DBImpl::RecordCheckpointFailure(const Status& status) {
  checkpoint_error_ = status;
  ++checkpoint_failures_;
  ++checkpoint_attempts_;
  log_cv_.SignalAll();  // Stalled writers (ThrottleWriterHeld) give up on it.
}

Status DBImpl::WriteCheckpoint(const VersionPtr& target, std::vector<MergeJob>* jobs,
                               CommitWriter* writer, HeaderSlot* slot, std::vector<uint64_t>* chain,
                               std::map<std::string, ColumnFamilyState>* on_disk) {
  const uint64_t sequence = target->sequence;
  const btree::Layout& layout = pager_->layout();
  MANIFOLD_RETURN_IF_ERROR(MergeBuffers(*target, jobs, writer, on_disk));
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

// A sixteenth of the write buffers' bound (4 MiB by default): held beside full buffers and a full
// cache it stays well inside the 64 MiB issue 12 allows on top of them, and each chunk of a merge
// still rewrites thousands of leaves per rewrite of its path to the root. At least 64 pages:
// small configurations (the simulator's) still flush their larger merges in chunks, without
// splitting every checkpoint into so many writes that an open's recovery checkpoint under the
// chaos profile's faults rarely gets through (chaos seeds 675 and 797 at 16 pages).
uint64_t DBImpl::CheckpointHeldBytesMax() const {
  if (options_.checkpoint_chunk_bytes != 0) return options_.checkpoint_chunk_bytes;
  const uint64_t page_bytes = pager_->layout().page_bytes;
  return std::max<uint64_t>(options_.write_buffer_bytes_max / 16, 64 * page_bytes);
}

Status DBImpl::WriteHeader(const HeaderSlot& slot) {
  const uint64_t slot_page =
      MANIFOLD_PLANTED_BUG(planted_bug::kHeaderInPlace) ? 0 : HeaderSlotPage(slot.checkpoint_count);
  std::map<uint64_t, std::string> header;
  header[slot_page] = EncodeHeaderSlot(slot, slot_page);
  MANIFOLD_RETURN_IF_ERROR(pager_->WritePages(header));
  if (!MANIFOLD_PLANTED_BUG(planted_bug::kAckBeforeHeaderSync))
    MANIFOLD_RETURN_IF_ERROR(pager_->Sync());
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
                              const std::vector<MergeJob>& jobs, std::vector<uint64_t> chain,
                              std::map<std::string, ColumnFamilyState> on_disk) {
  // I14: only now may later checkpoints refer to these pages (the cache has had their images
  // since they were written, I49, unreachable until the versions below name them).
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
    log_bytes_uncovered_ -= dirty_by_sequence_.front().log_bytes;
    dirty_by_sequence_.pop_front();
  }
  oldest_dirty_us_ = clock_->NowMicros();
  InstallCheckpoint(target, jobs);
  // I37: the pages the merges replaced stay until no version made before the install (all at or
  // below last_sequence_) is alive; every version made from now on reads the new trees.
  allocator_.Defer(kMergeFreedPending, last_sequence_ + 1);
  log_cv_.SignalAll();
  on_disk_cfs_ = std::move(on_disk);
  PublishPageCounts();
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
  Status status = log_files_->Retire(retire);
  if (!status.ok()) SetBackgroundError(status);
  return status;
}

}  // namespace manifold
