// The database: recovery (checkpoint + log replay), the commit pipeline (in-memory apply, log
// record, group commit), checkpoints, column families, transactions and reads.
// docs/design.md describes the protocols and the invariants cited here.
#ifndef MANIFOLD_DB_DB_IMPL_H_
#define MANIFOLD_DB_DB_IMPL_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/btree/tree.h"
#include "engine/db/buffer_list.h"
#include "engine/db/commit_stats.h"
#include "engine/db/info_log.h"
#include "engine/db/log_files.h"
#include "engine/db/pager.h"
#include "engine/db/version.h"
#include "engine/db/write_buffer.h"
#include "engine/port/atomic.h"
#include "engine/port/sync.h"
#include "engine/wal/log_reader.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/logger.h"

namespace manifold {

// Names of the files in a database directory.
inline constexpr char kDataFileName[] = "MANIFOLD";
inline constexpr char kLockFileName[] = "LOCK";

class DBImpl : public DB {
 public:
  // Pages a checkpoint's merge frees wait under this placeholder sequence until the checkpoint
  // is installed and the newest version that can still read the old trees is known (I37).
  static constexpr uint64_t kMergeFreedPending = UINT64_MAX;

  static StatusOr<std::unique_ptr<DB>> Open(const Options& options, const std::string& path);
  ~DBImpl() override;

  Status CreateColumnFamily(std::string_view name) override;
  Status DropColumnFamily(std::string_view name) override;
  std::vector<std::string> ListColumnFamilies() override;
  StatusOr<ColumnFamilyHandle> GetColumnFamily(std::string_view name) override;
  Status Put(const WriteOptions& options, std::string_view column_family, std::string_view key,
             std::string_view value) override;
  Status Delete(const WriteOptions& options, std::string_view column_family,
                std::string_view key) override;
  Status Write(const WriteOptions& options, const WriteBatch& batch) override;
  StatusOr<std::unique_ptr<Transaction>> BeginTransaction(std::string_view column_family) override;
  StatusOr<std::string> Get(const ReadOptions& options, std::string_view column_family,
                            std::string_view key) override;
  Status GetPinned(const ReadOptions& options, std::string_view column_family, std::string_view key,
                   PinnableValue* value) override;
  StatusOr<std::unique_ptr<Iterator>> NewIterator(const ReadOptions& options,
                                                  std::string_view column_family) override;
  // By handle (db_impl_handles.cc): found by id, never by name (I46).
  Status Put(const WriteOptions& options, const ColumnFamilyHandle& column_family,
             std::string_view key, std::string_view value) override;
  Status Delete(const WriteOptions& options, const ColumnFamilyHandle& column_family,
                std::string_view key) override;
  StatusOr<std::unique_ptr<Transaction>> BeginTransaction(
      const ColumnFamilyHandle& column_family) override;
  StatusOr<std::string> Get(const ReadOptions& options, const ColumnFamilyHandle& column_family,
                            std::string_view key) override;
  StatusOr<std::unique_ptr<Iterator>> NewIterator(const ReadOptions& options,
                                                  const ColumnFamilyHandle& column_family) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override;
  Status VerifyIntegrity(IntegrityReport* report) override;
  Stats GetStats() override;
  Status Checkpoint() override;
  Status Close() override;
  uint32_t page_bytes() const override { return pager_->layout().page_bytes; }

  // --- Used by transactions -------------------------------------------------------------------
  // One change of a commit, for its column family's write buffer; the strings belong to the
  // caller and live until Commit returns.
  struct BufferOp {
    EntryType type;
    std::string_view key;
    std::string_view value;  // Empty for a tombstone.
  };
  struct BufferUpdate {
    std::string column_family;
    std::vector<BufferOp> ops;  // In order: a later op of a key shadows an earlier one.
  };
  // One commit: its log record and what it changes.
  struct CommitRequest {
    std::string payload;                // Logical contents (engine/wal/log_payload.h).
    std::vector<BufferUpdate> updates;  // Per column family held by the caller.
    // Catalog change applied to the next version in commit order (create/drop); it also writes
    // the payload. A failure leaves no trace (no sequence number is taken).
    std::function<Status(Version* next, std::string* payload)> edit;
    bool sync = true;
    uint64_t* assigned_sequence = nullptr;  // WriteOptions::assigned_sequence.
  };
  [[nodiscard]] Status CheckPut(std::string_view key, std::string_view value) const;
  [[nodiscard]] Status CheckKey(std::string_view key) const;
  // ReadOnly when opened read-only or after a failed log or checkpoint write (I8).
  [[nodiscard]] Status CheckWritable();
  // Waits until no other writer holds any of `names`, then holds them all; Busy after
  // Options::writer_wait_us_max on the injected clock.
  [[nodiscard]] Status AcquireColumnFamilies(const std::vector<std::string>& names);
  void ReleaseColumnFamilies(const std::vector<std::string>& names);
  [[nodiscard]] Status Commit(CommitRequest request);
  // The newest version in commit order (what the next writer of a held column family builds on).
  VersionPtr latest();
  VersionPtr current();
  Pager* pager() { return pager_.get(); }
  const Options& options() const { return options_; }

 private:
  // A commit appended to the log but not yet visible to readers.
  struct Unpublished {
    uint64_t sequence;
    VersionPtr version;
    bool sync;
    // Set (NoSpace) when the commit is rolled back before any of its bytes reached the log (I26);
    // the committer waits on it, since its sequence number is then reused by a later commit.
    std::shared_ptr<Status> rolled_back;
  };
  // Per commit: the log bytes a checkpoint covering it releases.
  struct DirtyEntry {
    uint64_t sequence;
    uint64_t log_bytes;
  };
  // One column family's share of a checkpoint: the immutable buffers it froze (oldest first)
  // and, once merged, the new tree root (db_impl_merge.cc).
  struct MergeJob {
    uint32_t cf_id;
    std::vector<std::shared_ptr<const WriteBuffer>> buffers;
    std::string name;  // Set by MergeBuffers for a column family the target version holds.
    btree::PageRef root;
    bool merged = false;
  };
  // A buffered, not yet written run of records for one segment.
  struct LogChunk {
    uint64_t segment;
    uint64_t offset;
    std::string bytes;
    uint64_t rolls_to = 0;  // The segment its closing roll record names (I20), or 0.
  };
  // The on-disk state of the latest durable checkpoint.
  struct CheckpointState {
    uint64_t sequence = 0;
    uint64_t count = 0;
    uint64_t log_head = 0;  // I21.
    VersionPtr version;     // Roots on disk only (for VerifyIntegrity).
  };

  DBImpl(const Options& options, std::string path, std::unique_ptr<FileLock> lock);

  // Recovery (db_impl_recovery.cc; Open itself is in db_impl_open.cc).
  [[nodiscard]] Status Recover(std::unique_ptr<File> file, const HeaderSlot& slot);
  [[nodiscard]] Status LoadCheckpoint(std::unique_ptr<File> file, const HeaderSlot& slot);
  [[nodiscard]] Status ReplayLog(uint64_t head_segment, wal::ReplayResult* result);
  [[nodiscard]] Status SyncLogSegments();
  // Writes (db_impl_write.cc).
  [[nodiscard]] Status WriteBatchHeld(const WriteOptions& options, const WriteBatch& batch,
                                      const std::vector<std::string>& names);

  // Commit pipeline (db_impl_commit.cc; LogHead is in db_impl_checkpoint.cc).
  [[nodiscard]] Status CheckRecordFits(size_t payload_bytes) const;
  std::string TakePayloadBuffer();
  void RecyclePayload(std::string payload);
  [[nodiscard]] Status CommitCounted(CommitRequest request);
  // payload_crc: crc32c::Value(payload), taken by the committer before it took log_mu_.
  void AppendRecord(uint64_t sequence, std::string_view payload, uint32_t payload_crc)
      MANIFOLD_REQUIRES(log_mu_);
  LogChunk& BufferChunk() MANIFOLD_REQUIRES(log_mu_);
  // A failed write fails the log (FailLog) for later commits; the group before it is durable.
  void WriteSyncMarker(uint64_t target) MANIFOLD_REQUIRES(log_mu_);
  uint64_t LogHead(uint64_t sequence) MANIFOLD_REQUIRES(log_mu_);
  [[nodiscard]] Status WaitDurable(uint64_t sequence, const Status& rolled_back)
      MANIFOLD_REQUIRES(log_mu_);
  [[nodiscard]] Status LeadGroup(bool sync) MANIFOLD_REQUIRES(log_mu_);
  // Makes room in the log for every chunk before writing any (I26).
  [[nodiscard]] Status PrepareChunks(const std::deque<LogChunk>& chunks);
  void PublishReady() MANIFOLD_REQUIRES(log_mu_);
  void FailLog(const Status& status) MANIFOLD_REQUIRES(log_mu_);
  // After a NoSpace that wrote nothing: undoes every commit not yet written, if none of them is
  // visible or captured by a checkpoint, and returns the error for them; otherwise fails the log.
  [[nodiscard]] Status FailUnwritten(const LogChunk& first, const Status& status)
      MANIFOLD_REQUIRES(log_mu_);
  [[nodiscard]] bool CanRollBack() MANIFOLD_REQUIRES(log_mu_);
  void RollBackUnwritten(const LogChunk& first, const Status& error) MANIFOLD_REQUIRES(log_mu_);
  [[nodiscard]] Status WaitPublished(uint64_t sequence, const Status& rolled_back)
      MANIFOLD_REQUIRES(log_mu_);
  [[nodiscard]] Status ThrottleWriter();
  [[nodiscard]] Status ThrottleWriterHeld(std::string* stall);
  void ReportCommitFailure(const Status& status, uint64_t rollbacks);
  void AfterCommit();
  bool CheckpointDue() MANIFOLD_REQUIRES(log_mu_);
  // I57: whether the checkpointer acts on a request (a checkpoint is due or writers are held).
  bool CheckpointWanted() MANIFOLD_REQUIRES(log_mu_);
  // I47: the buffer stack is over its cap (a writer must wait for the next checkpoint to take
  // the waiting buffers), at it (slow down), or neither.
  bool StackOverCap() const MANIFOLD_REQUIRES(log_mu_);
  bool StackAtCap() const MANIFOLD_REQUIRES(log_mu_);
  // A checkpoint failed after FreezeBuffers: its buffers wait again (I47).
  void RecountWaiting() MANIFOLD_REQUIRES(log_mu_);

  // Checkpoints (db_impl_checkpoint.cc). RunCheckpoint reports to the info log what
  // CheckpointOnce did.
  [[nodiscard]] Status RunCheckpoint(bool forced);
  [[nodiscard]] Status CheckpointOnce(bool forced);
  // Records a failed checkpoint attempt for stalled writers.
  void RecordCheckpointFailure(const Status& status) MANIFOLD_REQUIRES(log_mu_);
  [[nodiscard]] Status WriteCheckpoint(const VersionPtr& target, std::vector<MergeJob>* jobs,
                                       CommitWriter* writer, HeaderSlot* slot,
                                       std::vector<uint64_t>* chain,
                                       std::map<std::string, ColumnFamilyState>* on_disk)
      MANIFOLD_REQUIRES(checkpoint_mu_);
  [[nodiscard]] Status WriteHeader(const HeaderSlot& slot) MANIFOLD_REQUIRES(checkpoint_mu_);
  // The most a checkpoint holds of its own output (I49): of its merge's dirty tree nodes, and of
  // its page images before it writes them out.
  uint64_t CheckpointHeldBytesMax() const;
  void FinishCheckpoint(const Version& target, const HeaderSlot& slot,
                        const std::vector<MergeJob>& jobs, std::vector<uint64_t> chain,
                        std::map<std::string, ColumnFamilyState> on_disk)
      MANIFOLD_REQUIRES(checkpoint_mu_);
  // Copies the allocator's page counts to the published_pages_* atomics (db_impl_stats.cc).
  void PublishPageCounts() MANIFOLD_REQUIRES(checkpoint_mu_);
  // Write buffers (db_impl_merge.cc). The buffer list of a column family, created on first use.
  BufferList* ListFor(const ColumnFamilyState& state) MANIFOLD_REQUIRES(log_mu_);
  // Inserts one commit's changes into its column families' active buffers (I32, I33).
  void InsertIntoBuffers(Version* next, const std::vector<BufferUpdate>& updates)
      MANIFOLD_REQUIRES(log_mu_);
  // Every active buffer becomes immutable; returns what the checkpoint merges (I33).
  std::vector<MergeJob> FreezeBuffers() MANIFOLD_REQUIRES(log_mu_);
  // With nothing new to checkpoint, drops buffers holding only rolled-back entries (I30).
  void ReleaseAbortedBuffers() MANIFOLD_REQUIRES(log_mu_);
  // Merges each job's buffers into its column family's tree, in key order (I36).
  [[nodiscard]] Status MergeBuffers(const Version& target, std::vector<MergeJob>* jobs,
                                    CommitWriter* writer,
                                    std::map<std::string, ColumnFamilyState>* on_disk)
      MANIFOLD_REQUIRES(checkpoint_mu_);
  // After the header is durable: the merged buffers go, readers move to the new roots (I34).
  void InstallCheckpoint(const Version& target, const std::vector<MergeJob>& jobs)
      MANIFOLD_REQUIRES(log_mu_);
  // `version` reading the merged roots, if it is at or above the checkpoint's sequence number.
  VersionPtr WithMergedRoots(const VersionPtr& version, const std::vector<MergeJob>& jobs,
                             uint64_t merged_sequence);
  [[nodiscard]] Status RetireCoveredSegments(uint64_t sequence, uint64_t log_head);
  void CheckpointThread();

  // Background error, info log, Close (db_impl.cc).
  void SetBackgroundError(const Status& status);
  // Info log (Options::info_log). Never called with log_mu_ or state_mu_ held (I16: no I/O
  // under the commit lock); errors found under a lock are reported by ReportBackgroundError.
  void Log(LogLevel level, const std::string& message);
  void ReportBackgroundError();
  void LogOpened();
  // What Close reports: the final checkpoint, or else the log sync that must replace it.
  [[nodiscard]] Status FinishClose();
  [[nodiscard]] Status CheckColumnFamilyName(std::string_view name) const;
  // Reads (db_impl_read.cc): the name and the handle forms find the column family's state in
  // `version`, then share these.
  [[nodiscard]] StatusOr<VersionPtr> ReadVersion(const ReadOptions& options);
  // The state of column family `name` in `version`, or NotFound naming it.
  [[nodiscard]] static StatusOr<const ColumnFamilyState*> FindColumnFamily(const Version& version,
                                                                           std::string_view name);
  [[nodiscard]] StatusOr<std::string> GetFrom(const Version& version,
                                              const ColumnFamilyState& state, std::string_view key);
  [[nodiscard]] StatusOr<std::unique_ptr<Iterator>> NewIteratorOn(const ReadOptions& options,
                                                                  VersionPtr version,
                                                                  const ColumnFamilyState& state);
  // Handles (db_impl_handles.cc). InvalidArgument for an empty handle or one from another
  // database; NotFound when `version` does not hold the handle's column family (I46).
  [[nodiscard]] Status CheckHandle(const ColumnFamilyHandle& handle) const;
  [[nodiscard]] StatusOr<const ColumnFamilyState*> ResolveHandle(
      const Version& version, const ColumnFamilyHandle& handle) const;
  // After the writer slots of a batch are held: every handle op's column family is the one in
  // the newest version under that name (I46), so the by-name apply reaches exactly it.
  [[nodiscard]] Status CheckBatchHandles(const WriteBatch& batch);

  // Fields by concern, each group with the lock that guards it. Where locks nest, the order is
  // checkpoint_mu_, then log_mu_, then state_mu_. log_mu_ is never held across I/O (I16);
  // checkpoint_mu_ is, for one checkpoint's writes and VerifyIntegrity's reads. The declaration
  // order of the locks, condition variables and owned resources is also their construction and
  // destruction order; keep it.

  // --- Configuration and resources: set by the constructor and Open, then read-only -----------
  // (pager_ and log_files_ synchronize themselves; closed_ is atomic.)
  const Options options_;
  const std::string path_;
  FileSystem* const fs_;
  Clock* const clock_;
  std::unique_ptr<FileLogger> file_log_;  // The default LOG file, if used.
  Logger* const info_log_;                // Options::info_log, file_log_ or null.
  port::Atomic<bool> closed_{false};      // Close() ran: writes are refused.
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<Pager> pager_;
  std::unique_ptr<LogFiles> log_files_;
  std::shared_ptr<VersionRegistry> registry_ = std::make_shared<VersionRegistry>();

  // --- Commit pipeline, guarded by log_mu_ (I16: one lock per commit, held for bookkeeping
  // only, never for I/O); db_impl_commit.cc. log_cv_ wakes group-commit followers, publication
  // waiters, stalled writers and the checkpointer.
  port::Mutex log_mu_{"log"};
  // Payload buffers of finished commits, for the next commits to build theirs in
  // (TakePayloadBuffer, RecyclePayload). A leaf lock: nothing else is taken while it is held.
  port::Mutex payload_pool_mu_{"payload_pool"};
  std::vector<std::string> payload_pool_ MANIFOLD_GUARDED_BY(payload_pool_mu_);
  port::CondVar log_cv_{&log_mu_, "log"};
  // Commit order: the newest version, its sequence number, the commits appended but not yet
  // visible (I19), and the newest visible one.
  VersionPtr latest_ MANIFOLD_GUARDED_BY(log_mu_);
  uint64_t last_sequence_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  std::deque<Unpublished> unpublished_ MANIFOLD_GUARDED_BY(log_mu_);
  uint64_t published_sequence_ MANIFOLD_GUARDED_BY(log_mu_) = 0;  // Newest visible commit.
  // Log writer and group commit: buffered records, the LSNs appended, written and synced (I17),
  // the one leader at a time, and where the next record goes.
  std::deque<LogChunk> log_buffer_ MANIFOLD_GUARDED_BY(log_mu_);
  uint64_t log_buffer_bytes_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  uint64_t buffered_lsn_ MANIFOLD_GUARDED_BY(log_mu_) = 0;  // Highest LSN appended.
  uint64_t written_lsn_ MANIFOLD_GUARDED_BY(log_mu_) = 0;   // Highest LSN written to a file.
  uint64_t synced_lsn_ MANIFOLD_GUARDED_BY(log_mu_) = 0;    // Highest LSN durable (I17).
  bool leader_active_ MANIFOLD_GUARDED_BY(log_mu_) = false;
  // Capacity kept from a written chunk for the next one (BufferChunk), so that appending a
  // group's records does not grow a fresh string (page faults on every group) each time.
  std::string spare_chunk_bytes_ MANIFOLD_GUARDED_BY(log_mu_);
  // The leader's read-back buffer (LogFiles::VerifyWritten). Only the one active leader
  // (leader_active_) touches it, with log_mu_ released.
  std::string leader_read_back_;
  // Threads inside Commit: a group-commit leader waits out the window only when some of them
  // have not appended yet. Atomic, read without log_mu_.
  port::Atomic<uint64_t> committers_{0};
  uint64_t segment_ MANIFOLD_GUARDED_BY(log_mu_) = 1;  // Segment the next record goes to.
  uint64_t segment_offset_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  std::map<uint64_t, uint64_t> segment_last_lsn_ MANIFOLD_GUARDED_BY(log_mu_);
  Status log_error_ MANIFOLD_GUARDED_BY(log_mu_);            // A failed log write or sync (I8).
  uint64_t log_rollbacks_ MANIFOLD_GUARDED_BY(log_mu_) = 0;  // Groups undone for NoSpace (I26).
  port::Atomic<uint64_t> log_rollbacks_reported_{0};         // Atomic: reported without log_mu_.
  // Write buffers (I32-I35): each column family's list, by id (std::map: a checkpoint walks them
  // in a reproducible order), and dirty_bytes_, exactly the arena bytes of every buffer not yet
  // released (I31); they drive checkpoint scheduling and writer backpressure.
  std::map<uint32_t, std::unique_ptr<BufferList>> buffer_lists_ MANIFOLD_GUARDED_BY(log_mu_);
  std::deque<DirtyEntry> dirty_by_sequence_ MANIFOLD_GUARDED_BY(log_mu_);
  uint64_t dirty_bytes_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  // The most immutable buffers any column family has waiting for a merge (BufferList::
  // WaitingCount, I47): raised by inserts, reset when a checkpoint takes them (FreezeBuffers) or
  // gives them back (a failed checkpoint, RecountWaiting).
  size_t waiting_max_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  uint64_t log_bytes_uncovered_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  uint64_t oldest_dirty_us_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  // Checkpoint scheduling, shared by committers and the checkpointer (db_impl_checkpoint.cc).
  uint64_t checkpoint_sequence_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  // Newest sequence a running (or durable) checkpoint took: no rollback below it (I26).
  uint64_t checkpoint_target_sequence_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  bool checkpoint_requested_ MANIFOLD_GUARDED_BY(log_mu_) = false;
  bool shutting_down_ MANIFOLD_GUARDED_BY(log_mu_) = false;
  Status checkpoint_error_ MANIFOLD_GUARDED_BY(log_mu_);  // Last failure before writing.
  // Failed checkpoint attempts so far: a stalled writer gives up only on a failure of an attempt
  // made after it stalled, never on checkpoint_error_ left over from an earlier one (say the
  // checkpoint at open, before the disk had room again).
  uint64_t checkpoint_failures_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  // Checkpoint attempts that ended, whatever the outcome ("nothing new" included): a stalled
  // writer asks for another checkpoint after each, so it never waits on a request already
  // consumed by an attempt that could not relieve it.
  uint64_t checkpoint_attempts_ MANIFOLD_GUARDED_BY(log_mu_) = 0;
  // Statistics (commit_stats.h, read by db_impl_stats.cc), guarded by log_mu_ so GetStats reads
  // them consistently with published_sequence_ and dirty_bytes_.
  CommitStats stats_ MANIFOLD_GUARDED_BY(log_mu_);

  // --- Recovery results (db_impl_recovery.cc): written by Open before any other thread starts,
  // read-only afterwards, so no lock.
  uint64_t records_replayed_ = 0;
  bool replay_torn_tail_ = false;
  uint64_t records_salvage_dropped_ = 0;

  // --- Checkpointer, guarded by checkpoint_mu_: one checkpoint at a time; the allocator and
  // the on-disk state belong to it (db_impl_checkpoint.cc).
  port::Mutex checkpoint_mu_{"checkpoint"};
  PageAllocator allocator_ MANIFOLD_GUARDED_BY(checkpoint_mu_);
  std::vector<uint64_t> free_list_chain_ MANIFOLD_GUARDED_BY(checkpoint_mu_);
  // Column families as the latest durable checkpoint's catalog holds them.
  std::map<std::string, ColumnFamilyState> on_disk_cfs_ MANIFOLD_GUARDED_BY(checkpoint_mu_);
  CheckpointState checkpoint_ MANIFOLD_GUARDED_BY(checkpoint_mu_);
  // Set by recovery: its checkpoint runs even with nothing new, to name a new log head (I21).
  bool move_log_head_ MANIFOLD_GUARDED_BY(checkpoint_mu_) = false;
  // Stats::pages_total and pages_free as the open and then each finished checkpoint left the
  // allocator: GetStats reads these rather than take checkpoint_mu_, which a checkpoint holds
  // across all its I/O (seconds on a large tree), so a monitoring thread never waits for one.
  port::Atomic<uint64_t> published_pages_total_{0};
  port::Atomic<uint64_t> published_pages_free_{0};
  // Started at the end of Recover, joined by Close.
  std::unique_ptr<port::Thread> checkpoint_thread_;

  // --- Readers, writer slots and the background error, guarded by state_mu_
  // (db_impl_read.cc, db_impl_write.cc, db_impl.cc). column_family_released_ wakes writers
  // waiting for a column family (I7, I27).
  port::Mutex state_mu_{"state"};
  port::CondVar column_family_released_{&state_mu_, "column family released"};
  VersionPtr current_ MANIFOLD_GUARDED_BY(state_mu_);  // What readers see (I19).
  std::set<std::string, std::less<>> busy_column_families_ MANIFOLD_GUARDED_BY(state_mu_);
  Status background_error_ MANIFOLD_GUARDED_BY(state_mu_);
  bool background_error_reported_ MANIFOLD_GUARDED_BY(state_mu_) = false;
  std::string last_checkpoint_failure_ MANIFOLD_GUARDED_BY(state_mu_);  // Logged, not repeated.
};

// Checks the committed state of `version` page by page (engine/db/verify.cc).
[[nodiscard]] Status VerifyVersion(Pager* uncached, const Version& version,
                                   IntegrityReport* report);

}  // namespace manifold

#endif  // MANIFOLD_DB_DB_IMPL_H_
