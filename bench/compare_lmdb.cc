// LMDB (Debian's liblmdb.a, linked statically): the 8 key spaces are named databases in one
// environment (mdb_env_set_maxdbs). LMDB allows one write transaction at a time: writers from
// other threads block in mdb_txn_begin until it commits.
#include <lmdb.h>

#include <memory>
#include <string>
#include <vector>

#include "bench/compare_engine.h"

namespace manifold::bench {
namespace {

// Address space reserved for the memory map; the file only grows as pages are written.
constexpr size_t kMapBytes = 256ull << 30;

Status FromLmdb(int rc, const char* what) {
  if (rc == MDB_SUCCESS) return Status::OK();
  if (rc == MDB_NOTFOUND) return Status::NotFound(what);
  return Status::IOError(std::string("lmdb ") + what + ": " + mdb_strerror(rc));
}

MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

class LmdbSession : public Session {
 public:
  LmdbSession(MDB_env* env, const std::vector<MDB_dbi>& dbis) : env_(env), dbis_(dbis) {}
  ~LmdbSession() override {
    if (read_txn_ != nullptr) mdb_txn_abort(read_txn_);
  }

  Status Write(int table, std::span<const KeyValue> ops, bool del) override {
    MDB_txn* txn = nullptr;
    MANIFOLD_RETURN_IF_ERROR(FromLmdb(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin"));
    for (const KeyValue& op : ops) {
      MDB_val key = ToVal(op.key);
      MDB_val value = ToVal(op.value);
      int rc = del ? mdb_del(txn, dbis_[table], &key, nullptr)
                   : mdb_put(txn, dbis_[table], &key, &value, 0);
      if (rc != MDB_SUCCESS && !(del && rc == MDB_NOTFOUND)) {
        mdb_txn_abort(txn);
        return FromLmdb(rc, del ? "del" : "put");
      }
    }
    return FromLmdb(mdb_txn_commit(txn), "txn_commit");
  }

  Status Get(int table, std::string_view key, std::string* value) override {
    MANIFOLD_RETURN_IF_ERROR(BeginRead());
    MDB_val k = ToVal(key);
    MDB_val v;
    const int rc = mdb_get(read_txn_, dbis_[table], &k, &v);
    if (rc == MDB_SUCCESS) value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
    mdb_txn_reset(read_txn_);
    return FromLmdb(rc, "get");
  }

  StatusOr<uint64_t> Scan(int table, std::string_view start, uint64_t n) override {
    MANIFOLD_RETURN_IF_ERROR(BeginRead());
    MDB_cursor* cursor = nullptr;
    int rc = mdb_cursor_open(read_txn_, dbis_[table], &cursor);
    uint64_t seen = 0;
    if (rc == MDB_SUCCESS) {
      MDB_val k = ToVal(start);
      MDB_val v;
      for (rc = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && seen < n;
           rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
        bytes_seen_ += k.mv_size + v.mv_size;
        ++seen;
      }
      mdb_cursor_close(cursor);
    }
    mdb_txn_reset(read_txn_);
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return FromLmdb(rc, "cursor");
    return seen;
  }

 private:
  // Reads reuse one read-only transaction per session (reset between reads, renewed for the
  // next), the cheap way LMDB's documentation recommends.
  Status BeginRead() {
    if (read_txn_ == nullptr) {
      return FromLmdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_), "txn_begin(read)");
    }
    return FromLmdb(mdb_txn_renew(read_txn_), "txn_renew");
  }

  MDB_env* env_;
  const std::vector<MDB_dbi>& dbis_;
  MDB_txn* read_txn_ = nullptr;
  uint64_t bytes_seen_ = 0;
};

class LmdbEngine : public Engine {
 public:
  explicit LmdbEngine(MDB_env* env) : env_(env) {}
  ~LmdbEngine() override { mdb_env_close(env_); }

  Status OpenTables(int tables) {
    MDB_txn* txn = nullptr;
    MANIFOLD_RETURN_IF_ERROR(FromLmdb(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin"));
    for (int t = 0; t < tables; ++t) {
      MDB_dbi dbi;
      const int rc = mdb_dbi_open(txn, TableName(t).c_str(), MDB_CREATE, &dbi);
      if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return FromLmdb(rc, "dbi_open");
      }
      dbis_.push_back(dbi);
    }
    return FromLmdb(mdb_txn_commit(txn), "txn_commit");
  }

  StatusOr<std::unique_ptr<Session>> NewSession() override {
    return std::unique_ptr<Session>(new LmdbSession(env_, dbis_));
  }

  std::map<std::string, uint64_t> Counters() override { return {}; }

  // LMDB has no cache and no write buffer to configure: it reads and writes through its memory
  // map, whose resident pages count in its RSS and are bounded by nothing it is given.
  MemoryBudget Budget() override { return {}; }

 private:
  MDB_env* env_;
  std::vector<MDB_dbi> dbis_;
};

}  // namespace

StatusOr<std::unique_ptr<Engine>> OpenLmdb(const EngineConfig& config) {
  MDB_env* env = nullptr;
  MANIFOLD_RETURN_IF_ERROR(FromLmdb(mdb_env_create(&env), "env_create"));
  auto engine = std::make_unique<LmdbEngine>(env);  // Closes env on every error path below.
  MANIFOLD_RETURN_IF_ERROR(FromLmdb(mdb_env_set_maxdbs(env, config.tables), "set_maxdbs"));
  MANIFOLD_RETURN_IF_ERROR(FromLmdb(mdb_env_set_mapsize(env, kMapBytes), "set_mapsize"));
  // MDB_NOTLS: read transactions belong to the session, not the thread.
  const unsigned flags = MDB_NOTLS | (config.durable ? 0 : MDB_NOSYNC);
  MANIFOLD_RETURN_IF_ERROR(FromLmdb(mdb_env_open(env, config.dir.c_str(), flags, 0644), "open"));
  MANIFOLD_RETURN_IF_ERROR(engine->OpenTables(config.tables));
  return std::unique_ptr<Engine>(std::move(engine));
}

EngineDescription DescribeLmdb() {
  EngineDescription d;
  int major = 0, minor = 0, patch = 0;
  mdb_version(&major, &minor, &patch);
  d.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) +
              " (Debian liblmdb-dev)";
  d.linkage = "static (liblmdb.a)";
  d.durable =
      "default environment flags: each commit fdatasyncs the data, then writes the meta "
      "page through an O_DSYNC descriptor";
  d.not_durable = "MDB_NOSYNC";
  d.tables =
      "8 named databases in one environment (mdb_env_set_maxdbs); one write "
      "transaction at a time";
  d.other =
      "MDB_NOTLS, 256 GiB map; the OS page cache is LMDB's cache (mapped pages count in "
      "its peak RSS); uncached: no cache of its own to bound, so --uncached_cache_mib does "
      "not apply and only the eviction of its file from the OS page cache before the reads "
      "makes them cold";
  return d;
}

}  // namespace manifold::bench
