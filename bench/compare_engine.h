// The small key-value interface //bench:compare drives, and one adapter per engine behind it
// (compare_<engine>.cc). Every workload goes through this interface, so each engine does the same
// calls in the same order; the adapters only translate.
#ifndef MANIFOLD_BENCH_COMPARE_ENGINE_H_
#define MANIFOLD_BENCH_COMPARE_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/status.h"

namespace manifold::bench {

// How a workload wants the engine opened. The directory exists and is empty (or holds what a
// previous open of the same engine left there).
struct EngineConfig {
  std::string dir;
  // Key spaces, named cf0, cf1, ...: column families (Manifold, RocksDB), separate databases
  // (LevelDB), named databases in one environment (LMDB), tables in one file (SQLite).
  int tables = 1;
  // true: every commit is durable when it returns. false: commits may be lost by a power cut.
  bool durable = true;
  // Recovery workload: keep everything in the log (no checkpoint / memtable flush) so that a
  // reopen after a crash has the most to replay.
  bool hold_log = false;
  // The engine's own cache of data in all, for a workload that needs every engine's cache the
  // same size (uncached): Manifold's page cache, RocksDB's block cache, LevelDB's block caches
  // (split evenly over its per-table databases), SQLite's page caches. LMDB has none: it reads
  // through the OS page cache, which no setting here bounds. 0: each engine's own fixed sizing,
  // as the table of settings describes it (Manifold and RocksDB 64 MiB, LevelDB 8 MiB per
  // database, SQLite 64 MiB per connection).
  uint64_t cache_bytes = 0;
  // SQLite only, with cache_bytes set: its page cache is per connection; each connection gets
  // cache_bytes divided by this, so that this many connections together hold at most cache_bytes.
  int cache_connections = 1;
  // Manifold only: Options::group_commit_window_us.
  uint64_t group_commit_window_us = 0;
};

// One put or delete. For deletes the value is ignored.
struct KeyValue {
  std::string_view key;
  std::string_view value;
};

// One thread's handle on an engine (SQLite: a connection; LMDB: a reusable read transaction).
// Not thread-safe; create it on the thread that uses it.
class Session {
 public:
  virtual ~Session() = default;
  // Puts (or, with `del`, deletes) all of `ops` in table `table` as one atomic commit.
  virtual Status Write(int table, std::span<const KeyValue> ops, bool del) = 0;
  // NotFound when the key is absent.
  virtual Status Get(int table, std::string_view key, std::string* value) = 0;
  // Reads up to `n` entries in key order from the first key >= `start`; returns how many.
  virtual StatusOr<uint64_t> Scan(int table, std::string_view start, uint64_t n) = 0;
};

// The memory an engine was configured to use, from its own settings (never measured): the
// issue-12 bound on peak RSS is cache_bytes + write_buffer_bytes + 64 MiB.
struct MemoryBudget {
  uint64_t cache_bytes = 0;  // Caches of data the engine fills itself.
  uint64_t write_buffer_bytes =
      0;  // Memtables / write buffers it may hold before they are flushed.
};

class Engine {
 public:
  virtual ~Engine() = default;  // Closes the database cleanly.
  virtual StatusOr<std::unique_ptr<Session>> NewSession() = 0;
  // Counters the engine keeps itself ("syncs", "log_syncs", ...); empty when it has none.
  virtual std::map<std::string, uint64_t> Counters() = 0;
  // What the configuration allows, as of now (SQLite's grows with the connections opened).
  virtual MemoryBudget Budget() = 0;
};

// What the output says about an engine's setup.
struct EngineDescription {
  std::string version;
  std::string linkage;
  std::string durable;      // Settings for durable commits.
  std::string not_durable;  // Settings for the not-durable variants.
  std::string tables;       // What the 8 key spaces are.
  std::string other;        // Caches, compression, concurrency.
};

// An engine as the benchmark runs it: "manifold", "manifold(w=100us)", "rocksdb", ...
struct EngineKind {
  std::string label;                    // Row label in the output.
  std::string family;                   // manifold, rocksdb, leveldb, lmdb or sqlite.
  uint64_t group_commit_window_us = 0;  // Manifold only.
};

// The engine families in output order.
const std::vector<std::string>& EngineFamilies();

StatusOr<std::unique_ptr<Engine>> OpenEngine(const EngineKind& kind, const EngineConfig& config);
EngineDescription DescribeEngine(const std::string& family);

// Per-family entry points (compare_<family>.cc).
StatusOr<std::unique_ptr<Engine>> OpenManifold(const EngineConfig& config);
// Options::group_commit_window_us by default: what Manifold runs with when no window is given.
uint64_t ManifoldDefaultWindowUs();
StatusOr<std::unique_ptr<Engine>> OpenRocksDb(const EngineConfig& config);
StatusOr<std::unique_ptr<Engine>> OpenLevelDb(const EngineConfig& config);
StatusOr<std::unique_ptr<Engine>> OpenLmdb(const EngineConfig& config);
StatusOr<std::unique_ptr<Engine>> OpenSqlite(const EngineConfig& config);
EngineDescription DescribeManifold();
EngineDescription DescribeRocksDb();
EngineDescription DescribeLevelDb();
EngineDescription DescribeLmdb();
EngineDescription DescribeSqlite();

// "cf0", "cf1", ...
std::string TableName(int table);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_ENGINE_H_
