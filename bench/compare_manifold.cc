// Manifold through its public API: the 8 key spaces are column families, one WriteBatch per
// commit, WriteOptions::sync chooses durability.
#include <memory>
#include <string>

#include "bench/compare_engine.h"
#include "manifold/db.h"
#include "manifold/options.h"
#include "manifold/write_batch.h"

namespace manifold::bench {
namespace {

class ManifoldSession : public Session {
 public:
  ManifoldSession(DB* db, bool durable) : db_(db) { write_options_.sync = durable; }

  Status Write(int table, std::span<const KeyValue> ops, bool del) override {
    batch_.Clear();
    const std::string cf = TableName(table);
    for (const KeyValue& op : ops) {
      if (del) {
        batch_.Delete(cf, op.key);
      } else {
        batch_.Put(cf, op.key, op.value);
      }
    }
    return db_->Write(write_options_, batch_);
  }

  Status Get(int table, std::string_view key, std::string* value) override {
    StatusOr<std::string> got = db_->Get(ReadOptions(), TableName(table), key);
    if (!got.ok()) return got.status();
    *value = std::move(got).value();
    return Status::OK();
  }

  StatusOr<uint64_t> Scan(int table, std::string_view start, uint64_t n) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Iterator> it,
                              db_->NewIterator(ReadOptions(), TableName(table)));
    uint64_t seen = 0;
    for (it->Seek(start); it->Valid() && seen < n; it->Next()) {
      bytes_seen_ += it->key().size() + it->value().size();
      ++seen;
    }
    MANIFOLD_RETURN_IF_ERROR(it->status());
    return seen;
  }

 private:
  DB* db_;
  WriteOptions write_options_;
  WriteBatch batch_;
  uint64_t bytes_seen_ = 0;  // So that scans use each entry, as a caller would.
};

class ManifoldEngine : public Engine {
 public:
  ManifoldEngine(std::unique_ptr<DB> db, const Options& options, bool durable)
      : db_(std::move(db)), options_(options), durable_(durable) {}

  StatusOr<std::unique_ptr<Session>> NewSession() override {
    return std::unique_ptr<Session>(new ManifoldSession(db_.get(), durable_));
  }

  std::map<std::string, uint64_t> Counters() override {
    const Stats s = db_->GetStats();
    std::map<std::string, uint64_t> c = {
        {"syncs", s.syncs},
        {"log_syncs", s.log_syncs},
        {"log_sync_commits", s.log_sync_commits},
        {"commits", s.commits},
        // Apart, as RocksDB's tickers are (wal_bytes, flush_bytes, compact_bytes):
        // Stats::bytes_written is the data file's alone, log_bytes the log's.
        {"data_bytes", s.bytes_written},
        {"log_bytes", s.log_bytes},
        {"log_records_replayed", s.log_records_replayed},
        {"checkpoints", s.checkpoints},
        {"writer_stalls", s.writer_stalls},
    };
    for (size_t i = 0; i < s.commits_per_sync_histogram.size(); ++i) {
      c["commits_per_sync_bucket_" + std::to_string(i)] = s.commits_per_sync_histogram[i];
    }
    return c;
  }

  // The two limits issue 12 bounds memory by: the page cache and the write buffers.
  MemoryBudget Budget() override {
    return {options_.cache_bytes_max, options_.write_buffer_bytes_max};
  }

 private:
  std::unique_ptr<DB> db_;
  Options options_;
  bool durable_;
};

// Recovery wants the whole workload in the log: no checkpoint trigger may fire.
void HoldLog(Options& options) {
  options.write_buffer_bytes_max = 4ull << 30;
  options.checkpoint_dirty_bytes = 4ull << 30;
  options.checkpoint_log_bytes = 4ull << 30;
  options.checkpoint_interval_us = 0;
}

}  // namespace

StatusOr<std::unique_ptr<Engine>> OpenManifold(const EngineConfig& config) {
  Options options;
  options.group_commit_window_us = config.group_commit_window_us;
  if (config.cache_bytes != 0) options.cache_bytes_max = config.cache_bytes;
  if (config.hold_log) HoldLog(options);
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<DB> db, DB::Open(options, config.dir));
  for (int t = 0; t < config.tables; ++t) {
    Status s = db->CreateColumnFamily(TableName(t));
    if (!s.ok() && !s.IsAlreadyExists()) return s;
  }
  return std::unique_ptr<Engine>(new ManifoldEngine(std::move(db), options, config.durable));
}

uint64_t ManifoldDefaultWindowUs() { return Options().group_commit_window_us; }

EngineDescription DescribeManifold() {
  EngineDescription d;
  d.version = "this workspace (//engine:manifold)";
  d.linkage = "static (built from source)";
  d.durable = "WriteOptions.sync = true";
  d.not_durable = "WriteOptions.sync = false";
  d.tables = "8 column families in one database (one WriteBatch per commit)";
  d.other =
      "default Options (4 KiB pages, 64 MiB page cache (uncached: --uncached_cache_mib), "
      "group_commit_window_us " +
      std::to_string(ManifoldDefaultWindowUs()) +
      " unless the row is labelled with another); recovery: checkpoint triggers raised so "
      "the log is not checkpointed";
  return d;
}

}  // namespace manifold::bench
