// Options for opening a database and for individual reads and writes. Every limit the engine
// enforces is named here or in Limits below, with its unit last.
#ifndef MANIFOLD_OPTIONS_H_
#define MANIFOLD_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace manifold {

class Clock;
class FileSystem;
class Logger;
class Snapshot;

// Hard limits that do not depend on options.
struct Limits {
  // Smallest and largest page size a database may be created with (powers of two only).
  static constexpr uint32_t kPageBytesMin = 1024;
  static constexpr uint32_t kPageBytesMax = 65536;
  // Largest value accepted by Put. Larger values are stored in overflow pages.
  static constexpr uint64_t kValueBytesMax = 64ull << 20;
  // Longest column family name, in bytes. Names are 1..kColumnFamilyNameBytesMax bytes. (Names
  // are keys of the catalog tree, so they must fit the key limit of the smallest page size.)
  static constexpr size_t kColumnFamilyNameBytesMax = 100;
  // Most column families one database may hold.
  static constexpr size_t kColumnFamiliesMax = 4096;
  // Largest key for a given page size: one eighth of the page, so that any leaf splits in two and
  // every internal node holds at least four children. 512 bytes with the default 4 KiB page.
  static constexpr uint32_t KeyBytesMax(uint32_t page_bytes) { return page_bytes / 8; }
};

struct Options {
  // File system for every file the database touches. Null means the POSIX file system.
  // Not owned; must outlive the database.
  FileSystem* file_system = nullptr;

  // Clock for timing statistics and background pacing. Null means the system monotonic clock.
  // Not owned; must outlive the database.
  Clock* clock = nullptr;

  // Where the database reports opens, recoveries, checkpoints, background errors and stalls
  // (manifold/logger.h). Null means the LOG file in the database directory, written through
  // `file_system` (see info_log_bytes_max); a read-only open writes no LOG file. Not owned; must
  // outlive the database.
  Logger* info_log = nullptr;
  // With info_log null: the LOG file is started afresh (the old one renamed to LOG.old,
  // replacing the previous LOG.old) before it would exceed this, so the two hold at most twice
  // this. 0 means no LOG file (and no info log at all).
  uint64_t info_log_bytes_max = 1ull << 20;

  // Create the database directory and files when they do not exist. Ignored by read_only opens.
  // Never creates a data file beside log segments (their data file is missing: Corruption).
  bool create_if_missing = true;

  // Fail with AlreadyExists when the database already exists.
  bool error_if_exists = false;

  // Open without taking writes: every write call returns ReadOnly. Takes the lock file shared
  // (other read-only opens share it; Busy while a writer holds it) and never creates, writes or
  // syncs anything, so it works on read-only media (docs/design.md, "Locking").
  bool read_only = false;

  // Open even when a header slot holds a page that a misdirected write put there. Such a slot
  // may have held the newest checkpoint, so opening at the other slot's (older) checkpoint drops
  // every commit after it whose log records that newer checkpoint had retired; by default the
  // damage is reported as Corruption instead (see docs/errors.md).
  bool ignore_damaged_header_slot = false;

  // Page size used when the database is created; an existing database keeps its own.
  // A power of two in [Limits::kPageBytesMin, Limits::kPageBytesMax].
  uint32_t page_bytes = 4096;

  // Upper bound on the memory held by the cache of decoded pages.
  uint64_t cache_bytes_max = 64ull << 20;

  // The data file grows in steps of this many bytes (preallocated), never a page at a time.
  uint64_t file_growth_bytes = 4ull << 20;

  // Largest data file the engine will grow to; a commit that would exceed it fails with NoSpace.
  uint64_t file_bytes_max = 1ull << 40;

  // Longest a write (Put, Delete, Write, BeginTransaction, DropColumnFamily) waits, by Clock, for
  // a column family another writer holds (one writer per column family at a time: a batch for
  // the duration of its commit, a Transaction from BeginTransaction until Commit or Abort). Then
  // it fails with Busy naming the column family. This is what stops a thread that holds a
  // Transaction and writes to the same column family outside it from waiting forever on itself.
  // The default (10 s) is far beyond any commit's wait for another, including a checkpoint the
  // holder runs inline; UINT64_MAX waits without bound.
  uint64_t writer_wait_us_max = 10'000'000;

  // Most operations in one WriteBatch or transaction.
  uint64_t batch_ops_max = 1'000'000;

  // Most key and value bytes in one WriteBatch or transaction. Uncommitted changes are held in
  // memory until commit, so this bounds a writer's memory.
  uint64_t batch_bytes_max = 256ull << 20;

  // --- Write-ahead log and checkpoints (docs/design.md, "Write-ahead log") ------------------
  // How long a group-commit leader waits for more committers to queue before it writes and
  // syncs the log, when other commits are in flight that have not reached the log yet (a lone
  // committer never waits). 0 means no waiting: a sync batches whatever queued during the
  // previous sync. At most 100'000. The default was chosen on //bench:compare (bench/README.md):
  // with 8 committers it halves the syncs per commit (0.25 -> 0.13) for 20% less throughput on a
  // device whose fdatasync takes ~0.1 ms; on slower devices fewer syncs pay more.
  uint64_t group_commit_window_us = 100;
  // Size of one log segment file, a multiple of 8 in [64 KiB, 1 GiB]. Segments are preallocated
  // and recycled after a checkpoint covers them. A commit whose record is larger gets a segment
  // of its own, as long as the record.
  uint64_t wal_segment_bytes = 64ull << 20;
  // Upper bound on the memory of the write buffers (committed changes not yet merged into the
  // tree by a checkpoint, counted exactly by their arenas), all column families together.
  // Writers are slowed down past three quarters of it and stall (backpressure) at it while a
  // checkpoint runs. If checkpoints keep failing (e.g. NoSpace), commits go on up to twice this,
  // then fail.
  uint64_t write_buffer_bytes_max = 64ull << 20;
  // Size at which one column family's active write buffer becomes immutable and a new one
  // starts; 16 KiB to write_buffer_bytes_max. 0 means write_buffer_bytes_max / 4, within
  // [64 KiB, 16 MiB].
  uint64_t write_buffer_bytes_per_cf_max = 0;
  // Most immutable write buffers one column family keeps waiting for a checkpoint's merge (I47),
  // 1 to 64: a point read searches every buffer of its column family that may hold the key,
  // so a long stack slows reads down. At the cap a checkpoint is requested and writers are
  // slowed down (write_slowdown_delay_us); past it they stall until the next checkpoint takes
  // the buffers. Buffers inside a running merge do not count.
  uint64_t write_buffer_immutables_per_cf_max = 3;
  // How long a commit is delayed while the write buffers are nearly full (on Options::clock),
  // before writers have to stall; at most 1 s. 0 disables the slowdown.
  uint64_t write_slowdown_delay_us = 1000;
  // A checkpoint starts when dirty bytes reach this (well before write_buffer_bytes_max, so
  // that writers rarely stall), or when a column family's waiting immutable buffers reach
  // write_buffer_immutables_per_cf_max (I48), not each time a buffer fills: fewer, larger merges
  // rewrite the tree's pages less often (bench/README.md). 0 means three quarters of
  // write_buffer_bytes_max: a merge of random keys rewrites nearly every leaf of a large tree
  // however few it brings, so larger merges write less (I57).
  uint64_t checkpoint_dirty_bytes = 0;
  // Most bytes of its own output a checkpoint holds before it writes them out (I49): its merge's
  // dirty tree nodes (a chunk), and its page images. 0 means write_buffer_bytes_max / 16, at
  // least 64 pages. Otherwise at least 8 pages: smaller chunks rewrite the path to the root more
  // often and split a checkpoint into more writes (the simulator lowers it to exercise chunks).
  uint64_t checkpoint_chunk_bytes = 0;
  // A checkpoint starts when the log holds this many bytes not covered by a checkpoint.
  uint64_t checkpoint_log_bytes = 256ull << 20;
  // A checkpoint starts when the oldest change it would write is older than this (by Clock).
  // 0 disables the time trigger.
  uint64_t checkpoint_interval_us = 30'000'000;
  // Run checkpoints on a background thread. When false they run on the writer thread whose
  // commit crosses a trigger, which makes the engine's I/O order depend only on the calls made
  // (the simulator uses this).
  bool background_checkpoints = true;
  // Recovery normally refuses to open a log that proves acknowledged records were lost
  // (Corruption): a damaged record followed by records that were durable, a missing log segment
  // (the log head or one a roll record names), or a truncated segment. With this set, recovery
  // keeps the records before the damage, drops the rest, and reports how many valid later records
  // it dropped in Stats::log_records_salvage_dropped.
  // It does not open a log whose data file is missing (nothing to replay it onto: Corruption).
  bool wal_salvage = false;
};

struct ReadOptions {
  // Read as of this snapshot. Null means the latest committed state at the time of the call
  // (for an iterator: at the time it is created).
  const Snapshot* snapshot = nullptr;

  // Iterators only: the smallest key to return (inclusive). Unset means no lower bound.
  std::optional<std::string> lower_bound;

  // Iterators only: keys must be smaller than this (exclusive). Unset means no upper bound.
  std::optional<std::string> upper_bound;
};

struct WriteOptions {
  // true: the commit returns after its log record is durable (synced); it survives any crash.
  // false: the commit returns once its record is in the log's memory buffer; a crash may lose
  // a suffix of such commits (never a hole, never a durable commit after it). Both are visible
  // to reads as soon as they return.
  bool sync = true;
  // If not null, receives this commit's sequence number as soon as the commit takes one (in
  // commit order, before it is durable or visible). Left unchanged when the commit fails before
  // taking one (bad input, Busy, ReadOnly). A commit that takes a number and then fails with
  // IOError may still be recovered after a crash; one that fails with NoSpace was undone and its
  // number is reused by a later commit (docs/errors.md). Written by the committing thread only.
  uint64_t* assigned_sequence = nullptr;
};

}  // namespace manifold

#endif  // MANIFOLD_OPTIONS_H_
