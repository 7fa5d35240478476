// The Manifold database: ordered keys and values in named column families, ACID transactions,
// snapshot reads and iterators, over a crash-safe copy-on-write B+tree page store.
//
//   manifold::Options options;
//   auto db = manifold::DB::Open(options, "/tmp/example");
//   if (!db.ok()) return db.status();
//   MANIFOLD_RETURN_IF_ERROR((*db)->Put({}, "default", "key", "value"));
//   auto value = (*db)->Get({}, "default", "key");
#ifndef MANIFOLD_DB_H_
#define MANIFOLD_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/column_family.h"
#include "manifold/options.h"
#include "manifold/pinnable_value.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"

namespace manifold {

// The name of the column family every database has; it cannot be dropped.
inline constexpr std::string_view kDefaultColumnFamily = "default";

// A consistent read-only view of the whole database as of one commit. Holding a snapshot keeps
// the pages it can read from being reused, so release snapshots you no longer need.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  // The commit sequence number the snapshot sees (every commit increments it by one).
  virtual uint64_t sequence() const = 0;
};

// Iterates one column family in key order (bytewise, like memcmp then length) as of a snapshot.
// Not thread-safe; use one iterator per thread.
class Iterator {
 public:
  virtual ~Iterator() = default;
  // True when positioned at an entry; false past either end or after an error (see status()).
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Positions at the first key >= `target`.
  virtual void Seek(std::string_view target) = 0;
  // Positions at the last key <= `target`.
  virtual void SeekForPrev(std::string_view target) = 0;
  // Requires Valid().
  virtual void Next() = 0;
  // Requires Valid().
  virtual void Prev() = 0;
  // Require Valid(). Remain valid until the iterator moves or is destroyed.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // The first error met (e.g. Corruption); the iterator is not Valid() after one.
  virtual Status status() const = 0;
};

// A write transaction on one column family. While it is open, other writers on the same column
// family wait; writers on other column families proceed. Its changes are invisible to everyone
// else until Commit returns OK, and all of them become visible and durable together.
// Destroying an uncommitted transaction aborts it.
class Transaction {
 public:
  virtual ~Transaction() = default;
  [[nodiscard]] virtual Status Put(std::string_view key, std::string_view value) = 0;
  [[nodiscard]] virtual Status Delete(std::string_view key) = 0;
  // Sees this transaction's own uncommitted writes. NotFound when the key is absent.
  [[nodiscard]] virtual StatusOr<std::string> Get(std::string_view key) = 0;
  // Makes every change durable and visible, or none of them. The transaction is finished either
  // way: after an error its changes are discarded and its column family is released.
  [[nodiscard]] virtual Status Commit(const WriteOptions& options) = 0;
  // Discards every change. The transaction is finished.
  virtual void Abort() = 0;
};

// Counters since the database was opened.
struct Stats {
  uint64_t pages_read = 0;     // Pages read from the data file (cache misses that hit disk).
  uint64_t pages_written = 0;  // Pages written to the data file (tree, overflow, free list).
  uint64_t bytes_read = 0;     // Bytes read from the data file.
  uint64_t bytes_written = 0;  // Written to the data file only (the log's: log_bytes), bytes.
  uint64_t syncs = 0;          // File syncs issued, data file and log segments (not directories).
  uint64_t commits = 0;        // Commits that returned OK.
  uint64_t cache_hits = 0;     // Page lookups served by the cache.
  uint64_t cache_misses = 0;   // Page lookups that read the file.
  uint64_t read_retries = 0;   // Reads repeated after a failed checksum (transient errors).
  uint64_t cache_bytes = 0;    // Current bytes held by the page cache.
  uint64_t file_bytes = 0;     // Current size of the data file.
  uint64_t pages_total = 0;    // Pages in use or free below the high-water mark (as of the
                               // latest checkpoint: GetStats never waits for one running).
  uint64_t pages_free = 0;     // Pages free now or awaiting release by snapshots (ditto).
  uint64_t sequence = 0;       // Sequence number of the latest commit.

  // Write-ahead log.
  uint64_t log_records = 0;       // Records appended (one per commit).
  uint64_t log_bytes = 0;         // Written to log segments only (not in bytes_written), bytes.
  uint64_t log_syncs = 0;         // Log data syncs issued (each may cover many commits).
  uint64_t log_sync_commits = 0;  // Commits acknowledged by those syncs.
  // Histogram of commits covered per log sync: bucket i counts syncs covering
  // [2^i, 2^(i+1)) commits (bucket 0: exactly 1).
  std::vector<uint64_t> commits_per_sync_histogram;
  uint64_t log_segments_created = 0;
  uint64_t log_segments_recycled = 0;
  uint64_t log_records_replayed = 0;         // Records replayed by the last open.
  uint64_t log_records_salvage_dropped = 0;  // Records dropped by Options::wal_salvage.
  // Checkpoints.
  uint64_t checkpoints = 0;
  uint64_t checkpoint_us_total = 0;  // Time spent in checkpoints (Options::clock).
  uint64_t checkpoint_us_max = 0;
  uint64_t checkpoint_sequence = 0;  // Sequence number of the latest durable checkpoint.
  uint64_t dirty_bytes = 0;  // Bytes of the write buffers not yet released (exact: their arenas).
  uint64_t writer_stall_us = 0;  // Time writers waited for a checkpoint (backpressure).
  uint64_t writer_stalls = 0;
  uint64_t writer_slowdowns = 0;  // Commits delayed because the write buffers were nearly full.
};

// What VerifyIntegrity looked at and what it found.
struct IntegrityReport {
  uint64_t pages_checked = 0;         // Pages read and checksummed.
  uint64_t entries_checked = 0;       // Key/value entries visited.
  uint64_t column_families = 0;       // Column families walked (including the catalog).
  std::vector<std::string> problems;  // Each problem found, with page and column family.
};

class DB {
 public:
  // Opens (or creates, per options) the database in directory `path`. Only one DB object, in any
  // process, may have a database open at a time; a second open fails with Busy.
  [[nodiscard]] static StatusOr<std::unique_ptr<DB>> Open(const Options& options,
                                                          const std::string& path);

  // Closing writes a final checkpoint, so no acknowledged commit (durable or not) is lost by a
  // clean close. If that checkpoint fails, the log still holds every durable commit. The
  // destructor closes if Close() was not called, but cannot report a failure (it goes to the
  // info log only).
  virtual ~DB() = default;

  // Stops background work and writes the final checkpoint (or, if that fails, syncs the log so
  // that every acknowledged commit, no-sync ones included, is durable in it). Returns what it
  // could not finish: the checkpoint's error when the log was synced instead (nothing is lost;
  // the next open replays the log), an error saying no-sync commits may be lost when the log
  // could not be synced either, or the earlier failure that made the database refuse writes.
  // Every Transaction and Iterator must be gone. Afterwards reads still work and writes fail
  // with InvalidArgument; a second Close returns OK. Destroy the object to release the lock.
  [[nodiscard]] virtual Status Close() = 0;

  // --- Column families -----------------------------------------------------------------------
  // Names are 1..Limits::kColumnFamilyNameBytesMax bytes. Creating and dropping commit durably.
  [[nodiscard]] virtual Status CreateColumnFamily(std::string_view name) = 0;
  // Removes the column family and all its data; waits for its open transaction, if any (at most
  // Options::writer_wait_us_max, then Busy).
  [[nodiscard]] virtual Status DropColumnFamily(std::string_view name) = 0;
  // All column family names in byte order, including "default".
  virtual std::vector<std::string> ListColumnFamilies() = 0;
  // A handle on the column family `name` as of the latest commit (manifold/column_family.h);
  // NotFound when it does not exist. Every call below that takes a column family name has an
  // overload taking a handle, which finds the column family by id with no name lookup.
  [[nodiscard]] virtual StatusOr<ColumnFamilyHandle> GetColumnFamily(std::string_view name) = 0;

  // --- Writes ---------------------------------------------------------------------------------
  [[nodiscard]] virtual Status Put(const WriteOptions& options, std::string_view column_family,
                                   std::string_view key, std::string_view value) = 0;
  [[nodiscard]] virtual Status Delete(const WriteOptions& options, std::string_view column_family,
                                      std::string_view key) = 0;
  [[nodiscard]] virtual Status Put(const WriteOptions& options,
                                   const ColumnFamilyHandle& column_family, std::string_view key,
                                   std::string_view value) = 0;
  [[nodiscard]] virtual Status Delete(const WriteOptions& options,
                                      const ColumnFamilyHandle& column_family,
                                      std::string_view key) = 0;
  // Applies every operation of `batch` atomically, across column families.
  // Every write waits for the column families it changes while another writer holds them: a
  // batch for the length of its commit, a Transaction from BeginTransaction until Commit or
  // Abort. After Options::writer_wait_us_max it fails with Busy; so does a thread that writes,
  // outside its own open Transaction, to that transaction's column family.
  [[nodiscard]] virtual Status Write(const WriteOptions& options, const WriteBatch& batch) = 0;
  // Holds `column_family` for writing until the transaction commits or aborts.
  [[nodiscard]] virtual StatusOr<std::unique_ptr<Transaction>> BeginTransaction(
      std::string_view column_family) = 0;
  [[nodiscard]] virtual StatusOr<std::unique_ptr<Transaction>> BeginTransaction(
      const ColumnFamilyHandle& column_family) = 0;

  // --- Reads ----------------------------------------------------------------------------------
  // NotFound when the key is absent.
  [[nodiscard]] virtual StatusOr<std::string> Get(const ReadOptions& options,
                                                  std::string_view column_family,
                                                  std::string_view key) = 0;
  // Get without the copy: `value` pins the page that holds the value (see pinnable_value.h).
  // NotFound when the key is absent (then `value` is empty).
  [[nodiscard]] virtual Status GetPinned(const ReadOptions& options, std::string_view column_family,
                                         std::string_view key, PinnableValue* value) = 0;
  [[nodiscard]] virtual StatusOr<std::unique_ptr<Iterator>> NewIterator(
      const ReadOptions& options, std::string_view column_family) = 0;
  // By handle. With ReadOptions::snapshot, NotFound also when the snapshot predates the column
  // family (it did not exist yet in what the snapshot sees).
  [[nodiscard]] virtual StatusOr<std::string> Get(const ReadOptions& options,
                                                  const ColumnFamilyHandle& column_family,
                                                  std::string_view key) = 0;
  [[nodiscard]] virtual StatusOr<std::unique_ptr<Iterator>> NewIterator(
      const ReadOptions& options, const ColumnFamilyHandle& column_family) = 0;
  // A snapshot of the latest committed state. Release it by destroying the shared_ptr.
  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;

  // --- Maintenance ----------------------------------------------------------------------------
  // Walks every tree, checks every page's checksum and its parent's record of it, key order,
  // fill, overflow chains and free-space accounting. OK when no problem was found; otherwise
  // Corruption naming the first problem, with all of them in `report` (if not null).
  [[nodiscard]] virtual Status VerifyIntegrity(IntegrityReport* report) = 0;
  virtual Stats GetStats() = 0;
  // Makes every acknowledged commit durable in the data file now (a checkpoint) and recycles the
  // log segments it covers. Normally checkpoints run on their own (Options, "checkpoint_*").
  [[nodiscard]] virtual Status Checkpoint() = 0;
  // Page size the database was created with.
  virtual uint32_t page_bytes() const = 0;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_H_
