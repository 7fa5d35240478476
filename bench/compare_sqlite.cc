// SQLite (Debian's libsqlite3.a, linked statically): the 8 key spaces are 8 WITHOUT ROWID tables
// (a B-tree keyed by the blob key, like the other engines) in one database file in WAL mode. Each
// session has its own connection; SQLite allows one writer at a time, so writers take an
// in-process mutex around BEGIN IMMEDIATE..COMMIT instead of polling the busy handler (which
// sleeps for milliseconds), with a busy timeout as a safety net.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bench/compare_engine.h"

namespace manifold::bench {
namespace {

constexpr int kBusyTimeoutMs = 60'000;
// Page cache of each connection without EngineConfig::cache_bytes.
constexpr uint64_t kCacheBytesPerConnection = 64 << 20;

Status SqliteError(sqlite3* db, const std::string& what) {
  return Status::IOError("sqlite " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return Status::OK();
  Status s = Status::IOError("sqlite " + sql + ": " + (message ? message : "?"));
  sqlite3_free(message);
  return s;
}

// Each connection has its own page cache, so the memory SQLite is allowed grows with the number
// of connections open at once: this keeps the most there have been.
class ConnectionCount {
 public:
  void Opened() {
    const int now = live_.fetch_add(1) + 1;
    for (int peak = peak_.load(); now > peak && !peak_.compare_exchange_weak(peak, now);) {
    }
  }
  void Closed() { live_.fetch_sub(1); }
  int peak() const { return peak_.load(); }

 private:
  std::atomic<int> live_{0};
  std::atomic<int> peak_{0};
};

uint64_t CacheBytesPerConnection(const EngineConfig& config) {
  return config.cache_bytes == 0 ? kCacheBytesPerConnection
                                 : config.cache_bytes / config.cache_connections;
}

// Opens a connection with the settings every connection of the benchmark uses.
StatusOr<sqlite3*> Connect(const EngineConfig& config) {
  sqlite3* db = nullptr;
  const std::string path = config.dir + "/db.sqlite";
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    Status s = SqliteError(db, "open " + path);
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  std::vector<std::string> pragmas = {
      "PRAGMA journal_mode=WAL",
      config.durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF",
      // Negative: KiB rather than pages.
      "PRAGMA cache_size=-" + std::to_string(CacheBytesPerConnection(config) / 1024),
  };
  if (config.hold_log) pragmas.push_back("PRAGMA wal_autocheckpoint=0");
  for (const std::string& pragma : pragmas) {
    Status s = Exec(db, pragma);
    if (!s.ok()) {
      sqlite3_close_v2(db);
      return s;
    }
  }
  return db;
}

// The prepared statements of one table on one connection.
struct TableStatements {
  sqlite3_stmt* put = nullptr;
  sqlite3_stmt* del = nullptr;
  sqlite3_stmt* get = nullptr;
  sqlite3_stmt* scan = nullptr;
};

class SqliteSession : public Session {
 public:
  SqliteSession(sqlite3* db, std::mutex* write_mu, ConnectionCount* count)
      : db_(db), write_mu_(write_mu), count_(count) {
    count_->Opened();
  }
  ~SqliteSession() override {
    count_->Closed();
    for (TableStatements& t : tables_) {
      for (sqlite3_stmt* s : {t.put, t.del, t.get, t.scan}) sqlite3_finalize(s);
    }
    for (sqlite3_stmt* s : {begin_, commit_, rollback_}) sqlite3_finalize(s);
    sqlite3_close_v2(db_);
  }

  Status Prepare(int tables) {
    MANIFOLD_RETURN_IF_ERROR(PrepareOne("BEGIN IMMEDIATE", &begin_));
    MANIFOLD_RETURN_IF_ERROR(PrepareOne("COMMIT", &commit_));
    MANIFOLD_RETURN_IF_ERROR(PrepareOne("ROLLBACK", &rollback_));
    tables_.resize(tables);
    for (int t = 0; t < tables; ++t) {
      const std::string name = TableName(t);
      TableStatements& s = tables_[t];
      MANIFOLD_RETURN_IF_ERROR(
          PrepareOne("INSERT OR REPLACE INTO " + name + " VALUES(?1, ?2)", &s.put));
      MANIFOLD_RETURN_IF_ERROR(PrepareOne("DELETE FROM " + name + " WHERE k = ?1", &s.del));
      MANIFOLD_RETURN_IF_ERROR(PrepareOne("SELECT v FROM " + name + " WHERE k = ?1", &s.get));
      MANIFOLD_RETURN_IF_ERROR(
          PrepareOne("SELECT k, v FROM " + name + " WHERE k >= ?1 ORDER BY k LIMIT ?2", &s.scan));
    }
    return Status::OK();
  }

  Status Write(int table, std::span<const KeyValue> ops, bool del) override {
    std::lock_guard<std::mutex> lock(*write_mu_);
    MANIFOLD_RETURN_IF_ERROR(StepDone(begin_, "BEGIN"));
    sqlite3_stmt* stmt = del ? tables_[table].del : tables_[table].put;
    for (const KeyValue& op : ops) {
      sqlite3_bind_blob(stmt, 1, op.key.data(), static_cast<int>(op.key.size()), SQLITE_STATIC);
      if (!del) {
        sqlite3_bind_blob(stmt, 2, op.value.data(), static_cast<int>(op.value.size()),
                          SQLITE_STATIC);
      }
      Status s = StepDone(stmt, del ? "DELETE" : "INSERT");
      if (!s.ok()) {
        StepDone(rollback_, "ROLLBACK").IgnoreError();
        return s;
      }
    }
    return StepDone(commit_, "COMMIT");
  }

  Status Get(int table, std::string_view key, std::string* value) override {
    sqlite3_stmt* stmt = tables_[table].get;
    sqlite3_bind_blob(stmt, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      value->assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                    static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_reset(stmt);
    if (rc == SQLITE_ROW) return Status::OK();
    if (rc == SQLITE_DONE) return Status::NotFound("sqlite: no such key");
    return SqliteError(db_, "SELECT");
  }

  StatusOr<uint64_t> Scan(int table, std::string_view start, uint64_t n) override {
    sqlite3_stmt* stmt = tables_[table].scan;
    sqlite3_bind_blob(stmt, 1, start.data(), static_cast<int>(start.size()), SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(n));
    uint64_t seen = 0;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      bytes_seen_ += sqlite3_column_bytes(stmt, 0) + sqlite3_column_bytes(stmt, 1);
      ++seen;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return SqliteError(db_, "scan");
    return seen;
  }

 private:
  Status PrepareOne(const std::string& sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, stmt, nullptr) == SQLITE_OK) return Status::OK();
    return SqliteError(db_, "prepare " + sql);
  }

  // Runs a statement that returns no rows, then resets it for reuse.
  Status StepDone(sqlite3_stmt* stmt, const char* what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? Status::OK() : SqliteError(db_, what);
  }

  sqlite3* db_;
  std::mutex* write_mu_;
  ConnectionCount* count_;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  std::vector<TableStatements> tables_;
  uint64_t bytes_seen_ = 0;
};

class SqliteEngine : public Engine {
 public:
  SqliteEngine(const EngineConfig& config, sqlite3* main) : config_(config), main_(main) {
    connections_.Opened();  // main_
  }
  // The main connection closes last: closing the last connection checkpoints the WAL.
  ~SqliteEngine() override { sqlite3_close_v2(main_); }

  StatusOr<std::unique_ptr<Session>> NewSession() override {
    MANIFOLD_ASSIGN_OR_RETURN(sqlite3 * db, Connect(config_));
    auto session = std::make_unique<SqliteSession>(db, &write_mu_, &connections_);
    MANIFOLD_RETURN_IF_ERROR(session->Prepare(config_.tables));
    return std::unique_ptr<Session>(std::move(session));
  }

  std::map<std::string, uint64_t> Counters() override { return {}; }

  // A page cache per connection, for the most connections open at once so far. The WAL is a
  // file, not a write buffer in memory.
  MemoryBudget Budget() override {
    return {CacheBytesPerConnection(config_) * static_cast<uint64_t>(connections_.peak()), 0};
  }

 private:
  EngineConfig config_;
  sqlite3* main_;
  std::mutex write_mu_;
  ConnectionCount connections_;
};

}  // namespace

StatusOr<std::unique_ptr<Engine>> OpenSqlite(const EngineConfig& config) {
  MANIFOLD_ASSIGN_OR_RETURN(sqlite3 * main, Connect(config));
  auto engine = std::make_unique<SqliteEngine>(config, main);
  for (int t = 0; t < config.tables; ++t) {
    MANIFOLD_RETURN_IF_ERROR(Exec(main, "CREATE TABLE IF NOT EXISTS " + TableName(t) +
                                            " (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID"));
  }
  return std::unique_ptr<Engine>(std::move(engine));
}

EngineDescription DescribeSqlite() {
  EngineDescription d;
  d.version = std::string(sqlite3_libversion()) + " (Debian libsqlite3-dev)";
  d.linkage = "static (libsqlite3.a)";
  d.durable = "journal_mode=WAL, synchronous=FULL (WAL fdatasync per commit)";
  d.not_durable = "journal_mode=WAL, synchronous=OFF";
  d.tables =
      "8 WITHOUT ROWID tables in one database file; one connection per thread, one "
      "writer at a time (in-process mutex + 60 s busy timeout)";
  d.other =
      "64 MiB page cache per connection (uncached: --uncached_cache_mib shared by the 8 reader "
      "connections, each an eighth), default automatic checkpoints (every 1000 WAL "
      "pages); recovery: wal_autocheckpoint=0";
  return d;
}

}  // namespace manifold::bench
