// RocksDB (Debian's librocksdb.a, linked statically): the 8 key spaces are column families, one
// rocksdb::WriteBatch per commit, WriteOptions::sync chooses durability (the WAL is always on).
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/compare_engine.h"

namespace manifold::bench {
namespace {

// Without EngineConfig::cache_bytes.
constexpr size_t kBlockCacheBytes = 64 << 20;

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound(s.ToString());
  return Status::IOError("rocksdb: " + s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksSession : public Session {
 public:
  RocksSession(rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& cfs, bool durable)
      : db_(db), cfs_(cfs) {
    write_options_.sync = durable;
  }

  Status Write(int table, std::span<const KeyValue> ops, bool del) override {
    rocksdb::WriteBatch batch;
    for (const KeyValue& op : ops) {
      rocksdb::Status s = del ? batch.Delete(cfs_[table], ToSlice(op.key))
                              : batch.Put(cfs_[table], ToSlice(op.key), ToSlice(op.value));
      if (!s.ok()) return FromRocks(s);
    }
    return FromRocks(db_->Write(write_options_, &batch));
  }

  Status Get(int table, std::string_view key, std::string* value) override {
    return FromRocks(db_->Get(rocksdb::ReadOptions(), cfs_[table], ToSlice(key), value));
  }

  StatusOr<uint64_t> Scan(int table, std::string_view start, uint64_t n) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cfs_[table]));
    uint64_t seen = 0;
    for (it->Seek(ToSlice(start)); it->Valid() && seen < n; it->Next()) {
      bytes_seen_ += it->key().size() + it->value().size();
      ++seen;
    }
    MANIFOLD_RETURN_IF_ERROR(FromRocks(it->status()));
    return seen;
  }

 private:
  rocksdb::DB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& cfs_;
  rocksdb::WriteOptions write_options_;
  uint64_t bytes_seen_ = 0;
};

class RocksEngine : public Engine {
 public:
  RocksEngine(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
              std::shared_ptr<rocksdb::Statistics> stats, std::shared_ptr<rocksdb::Cache> cache,
              bool durable)
      : db_(std::move(db)), stats_(std::move(stats)), cache_(std::move(cache)), durable_(durable) {
    // handles[0] is "default"; the benchmark's tables follow.
    default_cf_ = handles[0];
    cfs_.assign(handles.begin() + 1, handles.end());
  }

  ~RocksEngine() override {
    for (rocksdb::ColumnFamilyHandle* h : cfs_)
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->DestroyColumnFamilyHandle(default_cf_).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }

  StatusOr<std::unique_ptr<Session>> NewSession() override {
    return std::unique_ptr<Session>(new RocksSession(db_.get(), cfs_, durable_));
  }

  std::map<std::string, uint64_t> Counters() override {
    return {
        {"syncs", stats_->getTickerCount(rocksdb::WAL_FILE_SYNCED)},
        {"wal_bytes", stats_->getTickerCount(rocksdb::WAL_FILE_BYTES)},
        {"flush_bytes", stats_->getTickerCount(rocksdb::FLUSH_WRITE_BYTES)},
        {"compact_bytes", stats_->getTickerCount(rocksdb::COMPACT_WRITE_BYTES)},
        {"writes_by_self", stats_->getTickerCount(rocksdb::WRITE_DONE_BY_SELF)},
        {"writes_by_other", stats_->getTickerCount(rocksdb::WRITE_DONE_BY_OTHER)},
    };
  }

  // The block cache's capacity, and for every column family (default included) the memtables
  // it may hold: write_buffer_size x max_write_buffer_number (the active one and the immutable
  // ones waiting for a flush), as the open database reports its options.
  MemoryBudget Budget() override {
    MemoryBudget b;
    b.cache_bytes = cache_->GetCapacity();
    auto add = [&](rocksdb::ColumnFamilyHandle* h) {
      const rocksdb::Options o = db_->GetOptions(h);
      b.write_buffer_bytes +=
          o.write_buffer_size * static_cast<uint64_t>(o.max_write_buffer_number);
    };
    add(default_cf_);
    for (rocksdb::ColumnFamilyHandle* h : cfs_) add(h);
    return b;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::shared_ptr<rocksdb::Statistics> stats_;
  std::shared_ptr<rocksdb::Cache> cache_;
  bool durable_;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
};

rocksdb::ColumnFamilyOptions TableOptions(const EngineConfig& config,
                                          const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  // Manifold does not compress; the zero-byte values would otherwise shrink to nothing.
  cf.compression = rocksdb::kNoCompression;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A memtable large enough that the recovery workload's writes stay in the WAL.
  if (config.hold_log) cf.write_buffer_size = 1ull << 30;
  return cf;
}

rocksdb::DBOptions DbOptions(const EngineConfig& config) {
  rocksdb::DBOptions db;
  db.create_if_missing = true;
  db.create_missing_column_families = true;
  db.info_log_level = rocksdb::WARN_LEVEL;
  db.max_background_jobs = 2;
  if (config.hold_log) db.max_total_wal_size = 8ull << 30;
  return db;
}

}  // namespace

StatusOr<std::unique_ptr<Engine>> OpenRocksDb(const EngineConfig& config) {
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(config.cache_bytes == 0 ? kBlockCacheBytes : config.cache_bytes);
  rocksdb::DBOptions db_options = DbOptions(config);
  db_options.statistics = rocksdb::CreateDBStatistics();
  const rocksdb::ColumnFamilyOptions cf_options = TableOptions(config, cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, cf_options}};
  for (int t = 0; t < config.tables; ++t) descriptors.push_back({TableName(t), cf_options});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  MANIFOLD_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, config.dir, descriptors, &handles, &raw)));
  return std::unique_ptr<Engine>(new RocksEngine(std::unique_ptr<rocksdb::DB>(raw),
                                                 std::move(handles), db_options.statistics, cache,
                                                 config.durable));
}

EngineDescription DescribeRocksDb() {
  EngineDescription d;
  d.version = std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
              std::to_string(ROCKSDB_PATCH) + " (Debian librocksdb-dev)";
  d.linkage = "static (librocksdb.a + libsnappy.a, liblz4.a, libzstd.a, libbz2.a, libz.a)";
  d.durable = "WriteOptions.sync = true (WAL fdatasync per write group)";
  d.not_durable = "WriteOptions.sync = false (WAL written, not synced)";
  d.tables = "8 column families in one database (one WriteBatch per commit)";
  d.other =
      "no compression, 64 MiB LRU block cache (uncached: --uncached_cache_mib; index and filter "
      "blocks outside it, RocksDB's default), max_background_jobs = 2, statistics on; "
      "recovery: 1 GiB write buffer so nothing is flushed before the crash";
  return d;
}

}  // namespace manifold::bench
