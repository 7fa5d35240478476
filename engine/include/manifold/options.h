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

  // Create the database directory and files when they do not exist.
  bool create_if_missing = true;

  // Fail with AlreadyExists when the database already exists.
  bool error_if_exists = false;

  // Open without taking writes: every write call returns ReadOnly. Still takes the lock file.
  bool read_only = false;

  // Open even when a header slot holds a page that a misdirected write put there. Such a slot
  // may have held the newest commit, so opening at the other slot may lose it; by default the
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

  // Most operations in one WriteBatch or transaction.
  uint64_t batch_ops_max = 1'000'000;

  // Most key and value bytes in one WriteBatch or transaction. Uncommitted changes are held in
  // memory until commit, so this bounds a writer's memory.
  uint64_t batch_bytes_max = 256ull << 20;
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
  // Until the write-ahead log exists every commit is durable: it returns only after its pages and
  // the header slot that points to them have been synced. Setting this to false is refused with
  // NotSupported rather than silently ignored.
  bool sync = true;
};

}  // namespace manifold

#endif  // MANIFOLD_OPTIONS_H_
