// LevelDB (Debian's libleveldb.a, linked statically). LevelDB has no column families, so the 8 key
// spaces are 8 separate databases (directories cf0..cf7), each with its own log: a commit in one
// never waits for, or shares a sync with, another.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/compare_engine.h"

namespace manifold::bench {
namespace {

// Without EngineConfig::cache_bytes: 64 MiB over the 8 databases of cfwrite, read and commit,
// and the same 8 MiB for the one database of the other workloads.
constexpr size_t kCacheBytesPerDb = 8 << 20;

Status FromLevel(const leveldb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  return Status::IOError("leveldb: " + s.ToString());
}

leveldb::Slice ToSlice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }

struct LevelDbs {
  std::vector<std::unique_ptr<leveldb::Cache>> caches;  // Outlive the databases (declared first).
  std::vector<std::unique_ptr<leveldb::DB>> dbs;
  uint64_t cache_bytes_per_db = 0;
  uint64_t write_buffer_bytes_per_db = 0;  // Options::write_buffer_size.
};

class LevelSession : public Session {
 public:
  LevelSession(LevelDbs* dbs, bool durable) : dbs_(dbs) { write_options_.sync = durable; }

  Status Write(int table, std::span<const KeyValue> ops, bool del) override {
    leveldb::WriteBatch batch;
    for (const KeyValue& op : ops) {
      if (del) {
        batch.Delete(ToSlice(op.key));
      } else {
        batch.Put(ToSlice(op.key), ToSlice(op.value));
      }
    }
    return FromLevel(dbs_->dbs[table]->Write(write_options_, &batch));
  }

  Status Get(int table, std::string_view key, std::string* value) override {
    return FromLevel(dbs_->dbs[table]->Get(leveldb::ReadOptions(), ToSlice(key), value));
  }

  StatusOr<uint64_t> Scan(int table, std::string_view start, uint64_t n) override {
    std::unique_ptr<leveldb::Iterator> it(dbs_->dbs[table]->NewIterator(leveldb::ReadOptions()));
    uint64_t seen = 0;
    for (it->Seek(ToSlice(start)); it->Valid() && seen < n; it->Next()) {
      bytes_seen_ += it->key().size() + it->value().size();
      ++seen;
    }
    MANIFOLD_RETURN_IF_ERROR(FromLevel(it->status()));
    return seen;
  }

 private:
  LevelDbs* dbs_;
  leveldb::WriteOptions write_options_;
  uint64_t bytes_seen_ = 0;
};

class LevelEngine : public Engine {
 public:
  LevelEngine(LevelDbs dbs, bool durable) : dbs_(std::move(dbs)), durable_(durable) {}

  StatusOr<std::unique_ptr<Session>> NewSession() override {
    return std::unique_ptr<Session>(new LevelSession(&dbs_, durable_));
  }

  std::map<std::string, uint64_t> Counters() override { return {}; }

  // Per database: its block cache, and two memtables of write_buffer_size (the active one and
  // the immutable one being compacted; LevelDB holds at most one of each).
  MemoryBudget Budget() override {
    const uint64_t n = dbs_.dbs.size();
    return {n * dbs_.cache_bytes_per_db, n * 2 * dbs_.write_buffer_bytes_per_db};
  }

 private:
  LevelDbs dbs_;
  bool durable_;
};

leveldb::Options DbOptions(bool hold_log, leveldb::Cache* cache) {
  leveldb::Options options;
  options.create_if_missing = true;
  options.compression = leveldb::kNoCompression;  // As for RocksDB: Manifold does not compress.
  options.block_cache = cache;
  // LevelDB's largest write buffer: the recovery workload's writes stay in the log.
  if (hold_log) options.write_buffer_size = 1 << 30;
  return options;
}

StatusOr<std::unique_ptr<leveldb::DB>> OpenOne(const std::string& path, bool hold_log,
                                               leveldb::Cache* cache) {
  const leveldb::Options options = DbOptions(hold_log, cache);
  leveldb::DB* raw = nullptr;
  MANIFOLD_RETURN_IF_ERROR(FromLevel(leveldb::DB::Open(options, path, &raw)));
  return std::unique_ptr<leveldb::DB>(raw);
}

}  // namespace

StatusOr<std::unique_ptr<Engine>> OpenLevelDb(const EngineConfig& config) {
  LevelDbs dbs;
  const size_t cache_bytes_per_db =
      config.cache_bytes == 0 ? kCacheBytesPerDb : config.cache_bytes / config.tables;
  dbs.cache_bytes_per_db = cache_bytes_per_db;
  dbs.write_buffer_bytes_per_db = DbOptions(config.hold_log, nullptr).write_buffer_size;
  for (int t = 0; t < config.tables; ++t) {
    dbs.caches.emplace_back(leveldb::NewLRUCache(cache_bytes_per_db));
    MANIFOLD_ASSIGN_OR_RETURN(
        std::unique_ptr<leveldb::DB> db,
        OpenOne(config.dir + "/" + TableName(t), config.hold_log, dbs.caches.back().get()));
    dbs.dbs.push_back(std::move(db));
  }
  return std::unique_ptr<Engine>(new LevelEngine(std::move(dbs), config.durable));
}

EngineDescription DescribeLevelDb() {
  EngineDescription d;
  d.version = std::to_string(leveldb::kMajorVersion) + "." +
              std::to_string(leveldb::kMinorVersion) + " (Debian libleveldb-dev)";
  d.linkage = "static (libleveldb.a)";
  d.durable = "WriteOptions.sync = true (log fdatasync per write group)";
  d.not_durable = "WriteOptions.sync = false";
  d.tables = "8 separate databases (no column families; each has its own log and syncs)";
  d.other =
      "no compression, 8 MiB block cache per database (cfwrite, read, commit: 8 databases, 64 MiB "
      "in all; the other workloads: one database, 8 MiB; uncached: one database, "
      "--uncached_cache_mib); recovery: 1 GiB write buffer";
  return d;
}

}  // namespace manifold::bench
