// Dispatch from an engine family name to its adapter.
#include "bench/compare_engine.h"

#include <string>
#include <vector>

namespace manifold::bench {

const std::vector<std::string>& EngineFamilies() {
  static const auto* families =
      new std::vector<std::string>{"manifold", "rocksdb", "leveldb", "lmdb", "sqlite"};
  return *families;
}

std::string TableName(int table) { return "cf" + std::to_string(table); }

StatusOr<std::unique_ptr<Engine>> OpenEngine(const EngineKind& kind, const EngineConfig& config) {
  if (kind.family == "manifold") {
    EngineConfig with_window = config;
    with_window.group_commit_window_us = kind.group_commit_window_us;
    return OpenManifold(with_window);
  }
  if (kind.family == "rocksdb") return OpenRocksDb(config);
  if (kind.family == "leveldb") return OpenLevelDb(config);
  if (kind.family == "lmdb") return OpenLmdb(config);
  if (kind.family == "sqlite") return OpenSqlite(config);
  return Status::InvalidArgument("unknown engine " + kind.family);
}

EngineDescription DescribeEngine(const std::string& family) {
  if (family == "manifold") return DescribeManifold();
  if (family == "rocksdb") return DescribeRocksDb();
  if (family == "leveldb") return DescribeLevelDb();
  if (family == "lmdb") return DescribeLmdb();
  return DescribeSqlite();
}

}  // namespace manifold::bench
