// The commit pipeline: the log buffer, group commit (one leader writes and syncs for the
// group), publication in commit order, rollback after NoSpace, and writer backpressure.

#include <algorithm>
#include <cassert>

#include "engine/db/db_impl.h"
#include "engine/util/check.h"
#include "engine/util/crc32c.h"
#include "engine/util/fault_point.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_payload.h"

namespace manifold {

namespace {

// No-sync records are written (without a sync) once this many bytes are buffered.
constexpr uint64_t kLogBufferBytesMax = 1ull << 20;

// Most capacity the leader keeps between groups in its read-back buffer and in the spare chunk
// (DBImpl::spare_chunk_bytes_): a few ordinary groups' worth, not a huge one's.
constexpr size_t kKeptScratchBytesMax = 4u << 20;
// Most payload buffers kept for reuse (DBImpl::payload_pool_).
constexpr size_t kPayloadPoolMax = 8;

}  // namespace

// --- Commit pipeline ---------------------------------------------------------------------------

VersionPtr DBImpl::latest() {
  port::MutexLock lock(&log_mu_);
  return latest_;
}

VersionPtr DBImpl::current() {
  port::MutexLock lock(&state_mu_);
  return current_;
}

Status DBImpl::CheckRecordFits(size_t payload_bytes) const {
  // batch_bytes_max bounds keys and values; this bounds the encoding around them.
  if (payload_bytes > wal::kRecordPayloadBytesMax) {
    return Status::InvalidArgument("commit of " + std::to_string(payload_bytes) +
                                   " log bytes exceeds the log record limit of " +
                                   std::to_string(wal::kRecordPayloadBytesMax) + " bytes");
  }
  return Status::OK();
}

std::string DBImpl::TakePayloadBuffer() {
  port::MutexLock lock(&payload_pool_mu_);
  if (payload_pool_.empty()) return std::string();
  std::string buffer = std::move(payload_pool_.back());
  payload_pool_.pop_back();
  return buffer;
}

void DBImpl::RecyclePayload(std::string payload) {
  // A few ordinary commits' worth: one per writer that commits at once, none for huge batches.
  if (payload.capacity() > kKeptScratchBytesMax) return;
  port::MutexLock lock(&payload_pool_mu_);
  if (payload_pool_.size() < kPayloadPoolMax) payload_pool_.push_back(std::move(payload));
}

Status DBImpl::Commit(CommitRequest request) {
  // Counted while on its way to the log, however it leaves (a return, or, scheduler only, a
  // failing run unwinding it from a wait).
  struct Counted {
    port::Atomic<uint64_t>& committers;
    explicit Counted(port::Atomic<uint64_t>& c) : committers(c) {
      committers.fetch_add(1, std::memory_order_relaxed);
    }
    ~Counted() { committers.fetch_sub(1, std::memory_order_relaxed); }
  } counted(committers_);
  return CommitCounted(std::move(request));
}

Status DBImpl::CommitCounted(CommitRequest request) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  MANIFOLD_RETURN_IF_ERROR(CheckRecordFits(request.payload.size()));
  MANIFOLD_RETURN_IF_ERROR(ThrottleWriter());
  if (MANIFOLD_PLANTED_BUG(planted_bug::kLogPagesNotContents))
    request.payload = wal::PayloadBuilder().Finish();
  // Checksummed here, not under log_mu_ (a catalog edit rewrites its payload there, and its
  // checksum with it).
  uint32_t payload_crc = crc32c::Value(request.payload.data(), request.payload.size());
  Status status;
  uint64_t rollbacks = 0;
  {
    port::MutexLock lock(&log_mu_);
    // The catalog is shared with the previous version, not copied (a pointer): a commit that
    // changes only buffered data costs the same however many column families there are.
    auto next = std::make_shared<Version>(registry_, last_sequence_ + 1);
    next->column_families = latest_->column_families;
    next->next_cf_id = latest_->next_cf_id;
    if (request.edit) {
      MANIFOLD_RETURN_IF_ERROR(request.edit(next.get(), &request.payload));
      payload_crc = crc32c::Value(request.payload.data(), request.payload.size());
    }
    const uint64_t sequence = next->sequence;
    for (const BufferUpdate& update : request.updates) {
      // I7: a held column family cannot be dropped, but the commit that created it can be rolled
      // back after this writer read it (I26).
      if (next->Find(update.column_family) == nullptr) {
        return Status::NotFound("column family '" + update.column_family +
                                "' no longer exists: the commit that created it was rolled back");
      }
    }
    // No tree node is copied: the changes go into the active buffers, under log_mu_ so that a
    // checkpoint freezing the buffers at this sequence number finds every entry at or below it.
    InsertIntoBuffers(next.get(), request.updates);
    last_sequence_ = sequence;
    latest_ = next;
    if (request.assigned_sequence != nullptr) *request.assigned_sequence = sequence;
    AppendRecord(sequence, request.payload, payload_crc);
    dirty_by_sequence_.push_back(DirtyEntry{sequence, wal::RecordBytes(request.payload.size())});
    auto rolled_back = std::make_shared<Status>();
    unpublished_.push_back(Unpublished{sequence, std::move(next), request.sync, rolled_back});
    if (request.sync) {
      status = WaitDurable(sequence, *rolled_back);
    } else {
      PublishReady();
      if (log_buffer_bytes_ >= kLogBufferBytesMax && !leader_active_) status = LeadGroup(false);
    }
    if (status.ok()) status = WaitPublished(sequence, *rolled_back);
    if (status.ok()) stats_.AddCommit();
    rollbacks = log_rollbacks_;
  }
  RecyclePayload(std::move(request.payload));  // Copied into the log buffer (or never used).
  if (status.ok()) AfterCommit();
  if (!status.ok()) ReportCommitFailure(status, rollbacks);
  return status;
}

// One line per rolled-back group (not per commit: a full disk fails many), and the first error
// that makes the database refuse writes.
void DBImpl::ReportCommitFailure(const Status& status, uint64_t rollbacks) {
  uint64_t reported = log_rollbacks_reported_.load();
  while (status.IsNoSpace() && reported < rollbacks &&
         !log_rollbacks_reported_.compare_exchange_weak(reported, rollbacks)) {
  }
  if (status.IsNoSpace() && reported < rollbacks) {
    Log(LogLevel::kWarn,
        "log out of space, commits refused and undone (I26): " + status.ToString());
  }
  ReportBackgroundError();
}

void DBImpl::AppendRecord(uint64_t sequence, std::string_view payload, uint32_t payload_crc) {
  assert(sequence == buffered_lsn_ + 1);  // I17: records are appended in commit order.
  const uint64_t bytes = wal::RecordBytes(payload.size());
  // Every segment keeps room after its data records for a sync marker and a roll record.
  if (segment_offset_ > 0 &&
      segment_offset_ + bytes + wal::kSegmentReserveBytes > options_.wal_segment_bytes) {
    // I20: the record does not fit, so this segment ends with a roll record naming the next one
    // (the leader prepares that file before writing the roll record).
    LogChunk& chunk = BufferChunk();
    wal::AppendRollRecord(&chunk.bytes, segment_, sequence, synced_lsn_, segment_ + 1);
    chunk.rolls_to = segment_ + 1;
    log_buffer_bytes_ += wal::kRollRecordBytes;
    // The roll record is this segment's last write: until the record it names is written (and
    // checkpointed), a checkpoint must not retire the segment, or the leader's write of the roll
    // record lands in a file already recycled under another name (I20, I21; found by the
    // concurrent simulator under PCT, seeds 50 and 162 with --faults none: "log bytes ... do not
    // read back as written").
    segment_last_lsn_[segment_] = sequence;
    ++segment_;
    segment_offset_ = 0;
  }
  // A record larger than a segment gets a segment of its own, longer than the others.
  wal::AppendRecord(&BufferChunk().bytes, segment_, sequence, synced_lsn_, payload, payload_crc);
  segment_offset_ += bytes;
  segment_last_lsn_[segment_] = sequence;
  buffered_lsn_ = sequence;
  log_buffer_bytes_ += bytes;
  log_bytes_uncovered_ += bytes;
  stats_.AddRecord();
}

// The buffered chunk for the current segment, started at its current offset if needed.
DBImpl::LogChunk& DBImpl::BufferChunk() {
  if (log_buffer_.empty() || log_buffer_.back().segment != segment_) {
    log_buffer_.push_back(LogChunk{segment_, segment_offset_, std::move(spare_chunk_bytes_)});
    log_buffer_.back().bytes.clear();
    // Room for a no-sync group up front: growing by doubling would copy the records again and
    // touch fresh pages at each step. Only what is written is ever touched.
    log_buffer_.back().bytes.reserve(kLogBufferBytesMax);
    spare_chunk_bytes_ = std::string();
  }
  return log_buffer_.back();
}

// I23: once a group is durable and nothing was appended after it, a sync marker right after it
// carries synced_lsn = target, so the group's newest record has a record after it that vouches
// for it (a bit flipped in it on disk is then Corruption, not a torn tail). Written, not synced,
// by the leader while it still leads, so no other write races it for the offset.
void DBImpl::WriteSyncMarker(uint64_t target) {
  if (buffered_lsn_ != target || !log_buffer_.empty()) return;
  LogChunk chunk{segment_, segment_offset_, {}};
  wal::AppendSyncMarker(&chunk.bytes, segment_, target + 1, synced_lsn_);
  // segment_offset_ stays where the marker starts: the next group is written over it (its
  // records vouch for this group themselves). The marker is not read back, so if its write was
  // lost or landed elsewhere, leaving room for it would leave a hole in front of the next
  // group's acknowledged records, and recovery would stop at the hole (chaos seed 219).
  port::MutexUnlock unlocked(&log_mu_);
  Status status = log_files_->Write(chunk.segment, chunk.offset, chunk.bytes);
  unlocked.Relock();
  if (!status.ok()) FailLog(status);
}

Status DBImpl::WaitDurable(uint64_t sequence, const Status& rolled_back) {
  for (;;) {
    // First: after a rollback a later commit reuses this sequence number (I26).
    if (!rolled_back.ok()) return rolled_back;
    if (synced_lsn_ >= sequence) return Status::OK();
    if (!log_error_.ok()) {
      return Status::IOError("commit " + std::to_string(sequence) +
                             " is not known to be durable: the log failed (" +
                             log_error_.ToString() + "); reopen the database");
    }
    if (!leader_active_) {
      MANIFOLD_RETURN_IF_ERROR(LeadGroup(/*sync=*/true));
      continue;
    }
    if (MANIFOLD_PLANTED_BUG(planted_bug::kLostWakeup)) {
      // The planted bug: the lock is dropped between the check above and the wait (the info log
      // is never written under it, I16), so the leader's signal can fall in between and is lost.
      log_mu_.Unlock();
      Log(LogLevel::kInfo, "commit " + std::to_string(sequence) + " waits for its group's sync");
      log_mu_.Lock();
    }
    log_cv_.Wait();
  }
}

Status DBImpl::WaitPublished(uint64_t sequence, const Status& rolled_back) {
  for (;;) {
    if (!rolled_back.ok()) return rolled_back;  // Checked first, as in WaitDurable.
    if (published_sequence_ >= sequence) break;
    if (!log_error_.ok()) {
      return Status::IOError("commit " + std::to_string(sequence) +
                             " waits behind a commit whose log write failed (" +
                             log_error_.ToString() + "); reopen the database");
    }
    if (!leader_active_) {
      // An earlier sync commit is waiting for a leader that is this thread's turn to be.
      MANIFOLD_RETURN_IF_ERROR(LeadGroup(/*sync=*/true));
      continue;
    }
    log_cv_.Wait();
  }
  return Status::OK();
}

// Writes every buffered record with one write per segment and, for `sync`, one data sync per
// segment, with log_mu_ released meanwhile. I17: only records buffered when the leader took the
// buffer count as synced; records appended during the write or sync wait for the next leader.
Status DBImpl::LeadGroup(bool sync) {
  assert(!leader_active_);
  leader_active_ = true;
  // A leader unwound part way (scheduler only: a failing run) took the buffered records with it:
  // the log has a hole now, so it fails as after a failed write (I8), and nobody waits for this
  // leader any more. Runs with log_mu_ held again (the MutexUnlocks below end first).
  // (Not analyzed by clang: OnUnwind calls it from its destructor, where the analysis cannot
  // tell that log_mu_ is held again.)
  port::OnUnwind abandoned([this]() MANIFOLD_NO_THREAD_SAFETY_ANALYSIS {
    leader_active_ = false;
    FailLog(Status::IOError("log group abandoned: its leader stopped part way"));
  });
  // The window only helps when another committer is on its way to the log: a lone writer never
  // waits for company that cannot come.
  const uint64_t waiting = buffered_lsn_ - synced_lsn_;  // Appended, not yet synced.
  if (sync && options_.group_commit_window_us > 0 &&
      committers_.load(std::memory_order_relaxed) > waiting) {
    port::MutexUnlock window(&log_mu_);
    clock_->SleepForMicros(options_.group_commit_window_us);
    window.Relock();
  }
  std::deque<LogChunk> chunks;
  chunks.swap(log_buffer_);
  log_buffer_bytes_ = 0;
  const uint64_t target = buffered_lsn_;
  // I23: records buffered while the previous leader synced carry the synced_lsn of before that
  // sync, so when no sync marker followed that group (these records were already buffered), none
  // of the records written after it would vouch for it: a misdirected write of this group over
  // the durable group's records was then read as a torn tail, a silent loss (chaos seed 124 with
  // --ops 1500). Each chunk's first record is restamped with what is durable now.
  // (Restamped after log_mu_ is released: the chunks are this leader's alone now, and only a
  // leader moves synced_lsn_, so its value cannot change meanwhile.)
  const uint64_t durable_now = synced_lsn_;
  port::MutexUnlock unlocked(&log_mu_);
  for (LogChunk& chunk : chunks) wal::RaiseSyncedLsn(&chunk.bytes, durable_now);
  // I26: the space for the whole group is taken before its first byte is written, so running
  // out of it fails the group cleanly instead of making the database refuse writes.
  Status status = PrepareChunks(chunks);
  if (status.IsNoSpace()) {
    unlocked.Relock();
    leader_active_ = false;
    log_cv_.SignalAll();
    return FailUnwritten(chunks.front(), status);
  }
  for (const LogChunk& chunk : chunks) {
    if (!status.ok()) break;
    status = log_files_->Write(chunk.segment, chunk.offset, chunk.bytes);
  }
  if (status.ok() && sync && MANIFOLD_PLANTED_BUG(planted_bug::kFollowerReleasedBeforeSync)) {
    // The planted bug: "the group is written, let the followers go while the leader syncs".
    log_mu_.Lock();
    synced_lsn_ = std::max(synced_lsn_, target);
    PublishReady();
    log_mu_.Unlock();
  }
  if (status.ok() && sync) status = log_files_->SyncWritten();
  // The log's I11: a record is acknowledged (or vouched for by a later sync) only once its bytes
  // read back where they were written.
  for (const LogChunk& chunk : chunks) {
    if (!status.ok()) break;
    status =
        log_files_->VerifyWritten(chunk.segment, chunk.offset, chunk.bytes, &leader_read_back_);
  }
  // Scratch kept for the next leader only up to a bound: a rare huge group does not pin memory.
  if (leader_read_back_.size() > kKeptScratchBytesMax) leader_read_back_ = std::string();
  unlocked.Relock();
  if (!chunks.empty() && chunks.front().bytes.capacity() <= kKeptScratchBytesMax &&
      chunks.front().bytes.capacity() > spare_chunk_bytes_.capacity()) {
    spare_chunk_bytes_ = std::move(chunks.front().bytes);
  }
  if (!status.ok()) {
    leader_active_ = false;
    FailLog(status);
    return status;
  }
  // I17: the leader vouches only for what it took from the buffer, and never moves backwards.
  MANIFOLD_CHECK(synced_lsn_ <= target && written_lsn_ <= target && target <= buffered_lsn_,
                 "I17: a group's target lies between the durable and the buffered LSN");
  written_lsn_ = target;
  const uint64_t covered = target - synced_lsn_;
  if (sync) {
    synced_lsn_ =
        MANIFOLD_PLANTED_BUG(planted_bug::kSyncCoversLateRecords) ? buffered_lsn_ : target;
    stats_.AddSync(covered);
  }
  PublishReady();
  // The group is durable and published: a failed marker write fails the log for later commits
  // (WriteSyncMarker calls FailLog) but not this group's, which readers may already have seen
  // (I19: an error means not visible). Found by the concurrent simulator (seeds 4 and 14: a power
  // cut on the marker failed the leader's commit while its follower was acknowledged after it).
  if (sync && covered > 0) WriteSyncMarker(target);
  leader_active_ = false;
  log_cv_.SignalAll();
  return status;
}

// Makes visible, in commit order, every commit whose record is durable or that did not ask for
// durability (I19: readers never see a sync commit before it is durable, nor anything after it).
void DBImpl::PublishReady() {
  VersionPtr newest;
  if (MANIFOLD_PLANTED_BUG(planted_bug::kPublicationOutOfOrder)) {
    // The planted bug: "a commit that is ready need not wait for one that is not".
    for (auto it = unpublished_.begin(); it != unpublished_.end();) {
      if (it->sync && it->sequence > synced_lsn_) {
        ++it;
        continue;
      }
      newest = it->version;
      published_sequence_ = it->sequence;
      it = unpublished_.erase(it);
    }
  }
  while (!unpublished_.empty()) {
    const Unpublished& front = unpublished_.front();
    if (front.sync && front.sequence > synced_lsn_) break;
    MANIFOLD_CHECK(front.sequence > published_sequence_,
                   "I19: publication never goes back to an older sequence number");
    newest = front.version;
    published_sequence_ = front.sequence;
    unpublished_.pop_front();
  }
  if (newest == nullptr) return;
  {
    port::MutexLock lock(&state_mu_);
    current_ = std::move(newest);
  }
  log_cv_.SignalAll();
}

Status DBImpl::PrepareChunks(const std::deque<LogChunk>& chunks) {
  for (const LogChunk& chunk : chunks) {
    uint64_t end_offset = chunk.offset + chunk.bytes.size();
    // The sync marker after the group (I23) goes where the last chunk ends, in the room every
    // segment keeps for it: its space is taken here too, so writing it never runs out (I26).
    if (&chunk == &chunks.back()) end_offset += wal::kSyncMarkerRecordBytes;
    MANIFOLD_RETURN_IF_ERROR(log_files_->Prepare(chunk.segment, end_offset));
    // I20: a surviving roll record proves the segment it names existed, so that segment's file
    // and directory entry are durable before the roll record is written.
    if (chunk.rolls_to != 0) MANIFOLD_RETURN_IF_ERROR(log_files_->Create(chunk.rolls_to));
  }
  return Status::OK();
}

// I26: a commit whose record never reached the log can be undone as if it had not been made, as
// long as nothing depends on it yet: no reader saw it (nor a version built on it), no earlier
// written record still waits for a sync (its waiter would be left behind), and no checkpoint took
// it. Then every commit after the last written record fails with NoSpace, and the next commit
// takes the next sequence number, so the log's LSNs stay consecutive.
Status DBImpl::FailUnwritten(const LogChunk& first, const Status& status) {
  if (!CanRollBack()) {
    Status failed = status.WithContext(
        "the log could not make room, and commits not yet written "
        "are visible or checkpointed, so they cannot be undone");
    FailLog(failed);
    return failed;
  }
  const uint64_t from = written_lsn_ + 1;
  const std::string range = std::to_string(from) + ".." + std::to_string(buffered_lsn_);
  Status error = Status::NoSpace("commits " + range + " were not applied: " + status.message() +
                                 "; nothing of them was written, retry once space is freed");
  RollBackUnwritten(first, error);
  return error;
}

bool DBImpl::CanRollBack() {
  if (!log_error_.ok() || published_sequence_ > written_lsn_) return false;
  if (checkpoint_target_sequence_ > written_lsn_) return false;
  if (!unpublished_.empty() && unpublished_.front().sequence <= written_lsn_) return false;
  port::MutexLock lock(&state_mu_);
  // The newest visible version is the one the rollback returns to (nothing else was published).
  return background_error_.ok() && current_->sequence == written_lsn_;
}

void DBImpl::RollBackUnwritten(const LogChunk& first, const Status& error) {
  const uint64_t keep = written_lsn_;
  for (Unpublished& commit : unpublished_) *commit.rolled_back = error;
  unpublished_.clear();
  while (!dirty_by_sequence_.empty() && dirty_by_sequence_.back().sequence > keep) {
    log_bytes_uncovered_ -= dirty_by_sequence_.back().log_bytes;
    dirty_by_sequence_.pop_back();
  }
  stats_.RemoveRecords(buffered_lsn_ - keep);
  // I30: the undone commits' buffered entries are hidden; their bytes stay counted (the arenas
  // keep them) until a checkpoint drops their buffers, which it does even with nothing new.
  if (buffered_lsn_ > keep) {
    for (auto& [id, list] : buffer_lists_) {
      const Status marked = list->MarkAborted(keep + 1, buffered_lsn_);
      MANIFOLD_CHECK(marked.ok(), "I30: a rolled-back group's entries are the newest buffered");
    }
  }
  log_buffer_.clear();
  log_buffer_bytes_ = 0;
  // The next record goes where the first undone one was to go.
  segment_ = first.segment;
  segment_offset_ = first.offset;
  segment_last_lsn_.erase(
      segment_last_lsn_.lower_bound(first.offset > 0 ? first.segment + 1 : first.segment),
      segment_last_lsn_.end());
  if (first.offset > 0) segment_last_lsn_[first.segment] = keep;
  if (!MANIFOLD_PLANTED_BUG(planted_bug::kRollbackKeepsSequence))
    last_sequence_ = buffered_lsn_ = keep;
  ++log_rollbacks_;
  {
    port::MutexLock lock(&state_mu_);
    latest_ = current_;
  }
  assert(latest_->sequence == keep);  // I26: the rollback returns to the visible version.
  log_cv_.SignalAll();
}

// I8: a failed log write or sync is never retried as if nothing happened (the kernel may have
// dropped the dirty pages): every waiting commit fails and the database refuses writes.
void DBImpl::FailLog(const Status& status) {
  if (log_error_.ok()) log_error_ = status;
  SetBackgroundError(status);
  log_cv_.SignalAll();
}

bool DBImpl::CheckpointDue() {
  const uint64_t dirty_trigger = options_.checkpoint_dirty_bytes != 0
                                     ? options_.checkpoint_dirty_bytes
                                     : options_.write_buffer_bytes_max / 4 * 3;
  if (dirty_bytes_ >= dirty_trigger) return true;
  // I48: a buffer filling up is no trigger by itself; a column family's stack reaching its cap
  // is (I47), so that one merge takes several buffers and rewrites each touched page once.
  if (StackAtCap()) return true;
  if (log_bytes_uncovered_ >= options_.checkpoint_log_bytes) return true;
  return options_.checkpoint_interval_us != 0 && dirty_bytes_ != 0 &&
         clock_->NowMicros() - oldest_dirty_us_ >= options_.checkpoint_interval_us;
}

void DBImpl::AfterCommit() {
  {
    port::MutexLock lock(&log_mu_);
    if (!CheckpointDue()) {
      MANIFOLD_CHECK(!StackAtCap(), "I48: a buffer stack at its cap makes a checkpoint due");
      return;
    }
    if (options_.background_checkpoints) {
      checkpoint_requested_ = true;
      log_cv_.SignalAll();
      return;
    }
  }
  // Inline checkpoint: its failure is recorded (and, after writing, makes the database
  // read-only); the commit that triggered it is already acknowledged.
  (void)RunCheckpoint(/*forced=*/false);
}

Status DBImpl::ThrottleWriter() {
  std::string stall;
  Status status = ThrottleWriterHeld(&stall);
  if (!stall.empty()) Log(status.ok() ? LogLevel::kWarn : LogLevel::kError, stall);
  return status;
}

// While checkpoints fail (say NoSpace) the cap is not enforced: waiting for the next attempt
// would only slow every commit down, and the byte bound (I38) still holds.
bool DBImpl::StackAtCap() const {
  return checkpoint_error_.ok() && waiting_max_ >= options_.write_buffer_immutables_per_cf_max;
}

bool DBImpl::StackOverCap() const {
  return checkpoint_error_.ok() && waiting_max_ > options_.write_buffer_immutables_per_cf_max;
}

// Backpressure (I38): past three quarters of write_buffer_bytes_max, or with a column family's
// waiting immutable buffers at write_buffer_immutables_per_cf_max (I47), a writer is slowed down
// by write_slowdown_delay_us (injected clock) and asks for a checkpoint; at the byte limit, or
// past the cap, it stalls until a checkpoint releases buffers (the bytes) or takes them (the
// cap), or runs one itself without a background thread.
Status DBImpl::ThrottleWriterHeld(std::string* stall) {
  port::MutexLock lock(&log_mu_);
  const uint64_t limit = options_.write_buffer_bytes_max;
  auto over = [&]() MANIFOLD_REQUIRES(log_mu_) { return dirty_bytes_ >= limit || StackOverCap(); };
  if (dirty_bytes_ < limit - limit / 4 && !StackAtCap()) return Status::OK();
  if (!over()) {
    stats_.AddSlowdown();
    if (options_.background_checkpoints) {
      checkpoint_requested_ = true;
      log_cv_.SignalAll();
    }
    if (options_.write_slowdown_delay_us > 0) {
      port::MutexUnlock unlocked(&log_mu_);
      clock_->SleepForMicros(options_.write_slowdown_delay_us);
    }
    return Status::OK();
  }
  const uint64_t start_us = clock_->NowMicros();
  stats_.AddStall();
  Status status;
  if (!options_.background_checkpoints) {
    port::MutexUnlock unlocked(&log_mu_);
    status = RunCheckpoint(/*forced=*/false);
    unlocked.Relock();
  } else {
    checkpoint_requested_ = true;
    log_cv_.SignalAll();
    // Only an attempt made after this request can say the checkpoint fails: checkpoint_error_ may
    // be left from an earlier one (the checkpoint at open on a disk that had no room then), and a
    // retry may well succeed (concurrent PCT seed 133: a writer failed at once with the open's
    // ENOSPC while no fault had been injected since).
    const uint64_t failures_before = checkpoint_failures_;
    uint64_t attempts_seen = checkpoint_attempts_;
    while (over() && checkpoint_failures_ == failures_before && log_error_.ok()) {
      // I38: every wait has a thread that will end it. An attempt that ended without relieving
      // this writer (it started before the buffers were full, or found nothing new while only
      // rolled-back entries held the bytes) consumed the request: ask again.
      if (checkpoint_attempts_ != attempts_seen) {
        attempts_seen = checkpoint_attempts_;
        checkpoint_requested_ = true;
        log_cv_.SignalAll();
      }
      log_cv_.Wait();
    }
    // I47: a writer goes on past the cap only when a checkpoint attempt made after it stalled
    // failed, or the log did. (Without a background thread the writer ran the checkpoint itself,
    // unlocked, and others may have filled buffers since: no such check there.)
    MANIFOLD_CHECK(!StackOverCap() || checkpoint_failures_ != failures_before || !log_error_.ok(),
                   "I47: writers wait while a column family's waiting buffers are over the cap");
    if (over()) {
      status = checkpoint_failures_ != failures_before ? checkpoint_error_ : log_error_;
    }
  }
  const uint64_t stalled_us = clock_->NowMicros() - start_us;
  // One line per checkpoint at most: under sustained load every writer stalls.
  if (stats_.EndStall(stalled_us)) {
    *stall = "writer stalled " + std::to_string(stalled_us) + " us: write buffers full (" +
             std::to_string(dirty_bytes_) + " bytes, write_buffer_bytes_max " +
             std::to_string(limit) + "; up to " + std::to_string(waiting_max_) +
             " immutable buffers of a column family waiting, " +
             "write_buffer_immutables_per_cf_max " +
             std::to_string(options_.write_buffer_immutables_per_cf_max) + ")" +
             (status.ok() ? "" : "; checkpoint failed: " + status.ToString());
  }
  // With checkpoints failing (say for file_bytes_max), commits still go through up to twice the
  // limit, so that the deletes that would make the checkpoint fit are not refused with the rest.
  if (!status.ok() && log_error_.ok() && dirty_bytes_ < 2 * limit) return Status::OK();
  if (!status.ok()) {
    return status.WithContext("the write buffers are full (write_buffer_bytes_max " +
                              std::to_string(limit) + ") and a checkpoint failed");
  }
  return Status::OK();
}

}  // namespace manifold
