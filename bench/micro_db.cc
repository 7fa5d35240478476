// Database micro-benchmarks through the public API: bulk loads, point reads and scans over the
// in-memory file system (so the disk does not dominate), and single-key commits on the in-memory
// and the POSIX file system.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "bench/micro_common.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"

namespace manifold::bench {
namespace {

constexpr uint64_t kShuffleSeed = 0x5eed;
const std::string kZeroValue(kValueBytes, '\0');

StatusOr<std::unique_ptr<DB>> OpenDb(FileSystem* fs, const std::string& path) {
  Options options;
  options.file_system = fs;  // Null: POSIX.
  options.page_bytes = kPageBytes;
  return DB::Open(options, path);
}

// Keys 0..n-1 in a fixed pseudo-random order.
std::vector<uint64_t> ShuffledKeys(uint64_t n) {
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(kShuffleSeed));
  return order;
}

// Inserts keys order[0..n) (or 0..n-1 when `order` is null) with DB::Write, 1000 keys a batch.
Status Load(DB* db, uint64_t n, const std::vector<uint64_t>* order) {
  WriteBatch batch;
  char key[kKeyBytes];
  for (uint64_t first = 0; first < n; first += kBatchKeys) {
    batch.Clear();
    const uint64_t end = std::min(n, first + kBatchKeys);
    for (uint64_t i = first; i < end; ++i) {
      batch.Put(kDefaultColumnFamily, EncodeKey(order ? (*order)[i] : i, key), kZeroValue);
    }
    MANIFOLD_RETURN_IF_ERROR(db->Write(WriteOptions(), batch));
  }
  return Status::OK();
}

// --- Databases shared by the runs of a benchmark --------------------------------------------
//
// google-benchmark calls a benchmark function several times (to size the iteration count, and
// once per repetition). Loading 100k keys each time would dominate the run time, so the databases
// that reads and single-key commits use are loaded once per process, outside any timed region.

struct SharedDb {
  std::unique_ptr<MemFileSystem> mem;  // Null for the POSIX database.
  std::string temp_dir;                // POSIX only: removed at teardown.
  std::unique_ptr<DB> db;
};

std::map<std::string, std::unique_ptr<SharedDb>>& SharedDbs() {
  static auto* dbs = new std::map<std::string, std::unique_ptr<SharedDb>>();
  return *dbs;
}

std::string TempRoot() {
  const char* tmp = getenv("TMPDIR");
  return tmp != nullptr && tmp[0] != '\0' ? tmp : "/tmp";
}

// Returns database `name` holding keys 0..n-1, loaded in random order in batches of 1000 (so its
// leaves are filled as random inserts leave them), creating it on first use.
// `posix`: in a fresh temporary directory on the real file system, else on a MemFileSystem.
StatusOr<DB*> GetSharedDb(const std::string& name, uint64_t n, bool posix) {
  auto found = SharedDbs().find(name);
  if (found != SharedDbs().end()) return found->second->db.get();
  auto shared = std::make_unique<SharedDb>();
  std::string path = "/" + name;
  if (posix) {
    std::string dir_template = TempRoot() + "/manifold-bench-XXXXXX";
    if (mkdtemp(dir_template.data()) == nullptr) {
      return Status::IOError("mkdtemp " + dir_template + ": " + std::strerror(errno));
    }
    shared->temp_dir = dir_template;
    path = shared->temp_dir + "/" + name;
  } else {
    shared->mem = NewMemFileSystem();
  }
  auto db = OpenDb(shared->mem.get(), path);
  const std::vector<uint64_t> order = ShuffledKeys(n);
  Status status = db.ok() ? Load(db->get(), n, &order) : db.status();
  if (!status.ok()) {
    if (db.ok()) db->reset();  // Close before removing the directory.
    if (!shared->temp_dir.empty()) {
      std::error_code error;
      std::filesystem::remove_all(shared->temp_dir, error);
    }
    return status.WithContext("loading database " + name);
  }
  shared->db = std::move(*db);
  DB* result = shared->db.get();
  SharedDbs().emplace(name, std::move(shared));
  return result;
}

// Adds `name` = (after - before) / iterations to the report.
void PerIteration(benchmark::State& state, const char* name, uint64_t before, uint64_t after) {
  state.counters[name] =
      benchmark::Counter(static_cast<double>(after - before), benchmark::Counter::kAvgIterations);
}

// --- Bulk loads --------------------------------------------------------------------------------

// Each iteration loads n keys into a new, empty database on a new MemFileSystem.
void FillBenchmark(benchmark::State& state, bool random) {
  const auto n = static_cast<uint64_t>(state.range(0));
  const std::vector<uint64_t> order = random ? ShuffledKeys(n) : std::vector<uint64_t>();
  std::unique_ptr<MemFileSystem> fs;
  std::unique_ptr<DB> db;
  Stats total;
  for (auto _ : state) {
    state.PauseTiming();  // Once per n keys: closing the last database and opening a new one.
    db.reset();
    fs = NewMemFileSystem();
    auto opened = OpenDb(fs.get(), "/fill");
    if (!opened.ok()) return Fail(state, "open", opened.status());
    db = std::move(*opened);
    const Stats before = db->GetStats();
    state.ResumeTiming();

    Status status = Load(db.get(), n, random ? &order : nullptr);
    if (!status.ok()) return Fail(state, "load", status);

    const Stats after = db->GetStats();
    total.commits += after.commits - before.commits;
    total.syncs += after.syncs - before.syncs;
    total.pages_written += after.pages_written - before.pages_written;
    // Write amplification counts both files: Stats::bytes_written is the data file's alone.
    total.bytes_written +=
        (after.bytes_written + after.log_bytes) - (before.bytes_written + before.log_bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  const double commits = static_cast<double>(std::max<uint64_t>(total.commits, 1));
  state.counters["commits"] =
      benchmark::Counter(static_cast<double>(total.commits), benchmark::Counter::kAvgIterations);
  state.counters["syncs/commit"] = static_cast<double>(total.syncs) / commits;
  state.counters["pages_written/commit"] = static_cast<double>(total.pages_written) / commits;
  // Bytes the engine wrote per byte of key and value inserted.
  state.counters["write_amp"] = static_cast<double>(total.bytes_written) /
                                static_cast<double>(std::max<uint64_t>(state.iterations(), 1) * n *
                                                    (kKeyBytes + kValueBytes));
  state.SetLabel("memfs, batches of 1000");
}

void Tree_FillSeq(benchmark::State& state) { FillBenchmark(state, false); }
void Tree_FillRandom(benchmark::State& state) { FillBenchmark(state, true); }

// cfwrite's shape on the in-memory file system: 8 column families, each loaded with n / 8 keys
// in batches of 1000, the batches going to the column families in turn. Arg `shuffled`: keys in
// order or shuffled; `little_endian`: the key's bytes reversed (in order, the keys then land
// all over the key space). CPU time of the writing thread: the commit path (batch checks, log
// record, write buffer inserts), not the background checkpoint's merges.
void Write_CfBatches(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  const bool shuffled = state.range(1) != 0;
  const bool little_endian = state.range(2) != 0;
  constexpr int kColumnFamilies = 8;
  const uint64_t per_cf = n / kColumnFamilies;
  const std::vector<uint64_t> order = shuffled ? ShuffledKeys(per_cf) : std::vector<uint64_t>();
  std::vector<std::string> names;
  for (int i = 0; i < kColumnFamilies; ++i) names.push_back("cf" + std::to_string(i));
  std::unique_ptr<MemFileSystem> fs;
  std::unique_ptr<DB> db;
  WriteBatch batch;
  char key[kKeyBytes];
  for (auto _ : state) {
    state.PauseTiming();  // A new database each time: the buffers start empty.
    db.reset();
    fs = NewMemFileSystem();
    auto opened = OpenDb(fs.get(), "/cf-batches");
    if (!opened.ok()) return Fail(state, "open", opened.status());
    db = std::move(*opened);
    for (const std::string& name : names) {
      Status status = db->CreateColumnFamily(name);
      if (!status.ok()) return Fail(state, "CreateColumnFamily", status);
    }
    state.ResumeTiming();
    for (uint64_t first = 0; first < per_cf; first += kBatchKeys) {
      for (const std::string& name : names) {
        batch.Clear();
        for (uint64_t i = first; i < std::min(per_cf, first + kBatchKeys); ++i) {
          std::string_view k = EncodeKey(shuffled ? order[i] : i, key);
          if (little_endian) std::reverse(key, key + kKeyBytes);
          batch.Put(name, k, kZeroValue);
        }
        Status status = db->Write(WriteOptions(), batch);
        if (!status.ok()) return Fail(state, "Write", status);
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * per_cf * kColumnFamilies));
  state.SetLabel(std::string("memfs, 8 column families, batches of 1000, ") +
                 (shuffled ? "shuffled" : "in order") + (little_endian ? ", little-endian" : ""));
}

// --- Reads -------------------------------------------------------------------------------------

// A point Get of a random existing key per iteration.
void Tree_GetRandom(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  auto db = GetSharedDb("read", n, false);
  if (!db.ok()) return Fail(state, "setup", db.status());
  Random rng(1);
  char key[kKeyBytes];
  const Stats before = (*db)->GetStats();
  for (auto _ : state) {
    auto value = (*db)->Get(ReadOptions(), kDefaultColumnFamily, EncodeKey(rng.Uniform(n), key));
    if (!value.ok()) return Fail(state, "Get", value.status());
    if (value->size() != kValueBytes) return Fail(state, "Get returned a wrong value");
    benchmark::DoNotOptimize(value->data());
  }
  const Stats after = (*db)->GetStats();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  PerIteration(state, "cache_hits/get", before.cache_hits, after.cache_hits);
  PerIteration(state, "cache_misses/get", before.cache_misses, after.cache_misses);
  state.SetLabel("memfs");
}

// Seek to a random existing key, then read `len` consecutive entries (Seek + len-1 Next). One
// iterator serves the whole run (as a range-query loop over one snapshot would).
void Tree_Scan(benchmark::State& state) {
  const auto n = static_cast<uint64_t>(state.range(0));
  const auto len = static_cast<uint64_t>(state.range(1));
  auto db = GetSharedDb("read", n, false);
  if (!db.ok()) return Fail(state, "setup", db.status());
  if (n < len) return Fail(state, "--keys is smaller than the scan length");
  auto it = (*db)->NewIterator(ReadOptions(), kDefaultColumnFamily);
  if (!it.ok()) return Fail(state, "NewIterator", it.status());
  Iterator& iter = **it;
  Random rng(2);
  char key[kKeyBytes];
  const Stats before = (*db)->GetStats();
  for (auto _ : state) {
    const std::string_view start = EncodeKey(rng.Uniform(n - len + 1), key);
    iter.Seek(start);
    if (!iter.Valid() || iter.key() != start) return Fail(state, "Seek missed", iter.status());
    for (uint64_t i = 0;; ++i) {
      benchmark::DoNotOptimize(iter.key().data());
      benchmark::DoNotOptimize(iter.value().data());
      if (i + 1 == len) break;
      iter.Next();
      if (!iter.Valid()) return Fail(state, "scan ended early", iter.status());
    }
  }
  const Stats after = (*db)->GetStats();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * len));
  PerIteration(state, "cache_misses/scan", before.cache_misses, after.cache_misses);
  state.SetLabel("memfs; items/s = entries/s");
}

// --- Single-key commits ------------------------------------------------------------------------

// One DB::Put (an overwrite of a random existing key) per iteration: every Put is its own commit,
// which appends a log record and syncs it (pages reach the file in checkpoints).
void CommitBenchmark(benchmark::State& state, bool posix) {
  const auto n = static_cast<uint64_t>(state.range(0));
  auto db = GetSharedDb(posix ? "commit-posix" : "commit-mem", n, posix);
  if (!db.ok()) return Fail(state, "setup", db.status());
  Random rng(posix ? 3 : 4);
  char key[kKeyBytes];
  const Stats before = (*db)->GetStats();
  for (auto _ : state) {
    Status status = (*db)->Put(WriteOptions(), kDefaultColumnFamily, EncodeKey(rng.Uniform(n), key),
                               kZeroValue);
    if (!status.ok()) return Fail(state, "Put", status);
  }
  const Stats after = (*db)->GetStats();
  if (after.commits - before.commits != static_cast<uint64_t>(state.iterations())) {
    return Fail(state, "commit count does not match the iteration count");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // Commits.
  PerIteration(state, "syncs/commit", before.syncs, after.syncs);
  PerIteration(state, "pages_written/commit", before.pages_written, after.pages_written);
  PerIteration(state, "pages_read/commit", before.pages_read, after.pages_read);
  // The free list is rewritten by every commit, so its size is part of a commit's cost.
  state.counters["pages_free"] = static_cast<double>(after.pages_free);
  state.counters["pages_total"] = static_cast<double>(after.pages_total);
  state.SetLabel(posix ? "POSIX fs, durable: items/s = commits/s, 1 log fdatasync each"
                       : "memfs: items/s = commits/s, no device wait");
}

// The group-commit hand-off: 8 threads, each committing single durable puts into its own column
// family on the POSIX file system; one iteration is kGroupCommitsPerThread commits per thread.
// Reports the commits each log sync covered (the leader/follower batching) and the wall time per
// commit. Arg: group_commit_window_us.
constexpr int kGroupThreads = 8;
constexpr int kGroupCommitsPerThread = 32;

void Commit_GroupHandoffPosix(benchmark::State& state) {
  auto db = GetSharedDb("group-" + std::to_string(state.range(0)), kBatchKeys, true);
  if (!db.ok()) return Fail(state, "setup", db.status());
  std::vector<std::string> cfs;
  for (int t = 0; t < kGroupThreads; ++t) {
    cfs.push_back("g" + std::to_string(t));
    Status status = (*db)->CreateColumnFamily(cfs.back());
    if (!status.ok() && !status.IsAlreadyExists()) return Fail(state, "CreateColumnFamily", status);
  }
  const Stats before = (*db)->GetStats();
  std::atomic<bool> failed{false};
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kGroupThreads; ++t) {
      threads.emplace_back([&, t] {
        char key[kKeyBytes];
        for (int i = 0; i < kGroupCommitsPerThread; ++i) {
          if (!(*db)->Put(WriteOptions(), cfs[t], EncodeKey(i, key), kZeroValue).ok())
            failed = true;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  if (failed) return Fail(state, "a Put failed");
  const Stats after = (*db)->GetStats();
  const double syncs = static_cast<double>(after.log_syncs - before.log_syncs);
  const double commits = static_cast<double>(after.log_sync_commits - before.log_sync_commits);
  state.counters["commits/sync"] = syncs > 0 ? commits / syncs : 0;
  state.SetItemsProcessed(state.iterations() * kGroupThreads * kGroupCommitsPerThread);
  state.SetLabel("POSIX fs, 8 threads x 32 durable puts; items/s = commits/s");
}

void Commit_PutMemFs(benchmark::State& state) { CommitBenchmark(state, false); }

// Single-key puts into one column family of a database holding `column_families` of them (the
// default included), on the in-memory file system: the per-commit cost must not grow with the
// number of column families (issue 12 item 4). Arg `handle`: 0 names the column family in each
// Put (a lookup by name), 1 passes a ColumnFamilyHandle (by id, I46). The puts go to the
// column family in the middle of the name order, so a lookup by name walks the treap's depth.
void Commit_PutColumnFamilies(benchmark::State& state) {
  const auto column_families = static_cast<int>(state.range(0));
  const bool by_handle = state.range(1) != 0;
  auto mem = NewMemFileSystem();
  auto db = OpenDb(mem.get(), "/cfs-" + std::to_string(column_families));
  if (!db.ok()) return Fail(state, "Open", db.status());
  std::vector<std::string> names = {std::string(kDefaultColumnFamily)};
  for (int i = 1; i < column_families; ++i) {
    names.push_back("cf" + std::to_string(i));
    Status status = (*db)->CreateColumnFamily(names.back());
    if (!status.ok()) return Fail(state, "CreateColumnFamily", status);
  }
  std::sort(names.begin(), names.end());
  const std::string target = names[names.size() / 2];
  auto handle = (*db)->GetColumnFamily(target);
  if (!handle.ok()) return Fail(state, "GetColumnFamily", handle.status());
  Random random(kShuffleSeed);
  char key[kKeyBytes];
  for (auto _ : state) {
    const std::string_view k = EncodeKey(random.Uniform(10'000), key);
    Status status = by_handle ? (*db)->Put(WriteOptions(), *handle, k, kZeroValue)
                              : (*db)->Put(WriteOptions(), target, k, kZeroValue);
    if (!status.ok()) return Fail(state, "Put", status);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("in-memory fs, puts " + std::string(by_handle ? "by handle" : "by name") +
                 " into one of " + std::to_string(column_families) + " column families");
}
void Commit_PutDurablePosix(benchmark::State& state) { CommitBenchmark(state, true); }

}  // namespace

void RegisterDatabaseBenchmarks(uint64_t keys) {
  const auto n = static_cast<int64_t>(keys);
  benchmark::RegisterBenchmark("Tree_FillSeq", Tree_FillSeq)
      ->Arg(n)
      ->ArgName("keys")
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Tree_FillRandom", Tree_FillRandom)
      ->Arg(n)
      ->ArgName("keys")
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Write_CfBatches", Write_CfBatches)
      ->ArgsProduct({{n}, {0, 1}, {0, 1}})
      ->ArgNames({"keys", "shuffled", "le"})
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("Tree_GetRandom", Tree_GetRandom)->Arg(n)->ArgName("keys");
  benchmark::RegisterBenchmark("Tree_Scan", Tree_Scan)
      ->Args({n, 10})
      ->Args({n, 1000})
      ->ArgNames({"keys", "len"});
  benchmark::RegisterBenchmark("Commit_PutMemFs", Commit_PutMemFs)->Arg(n)->ArgName("keys");
  benchmark::RegisterBenchmark("Commit_PutColumnFamilies", Commit_PutColumnFamilies)
      ->ArgsProduct({{1, 64, 1024}, {0, 1}})
      ->ArgNames({"cfs", "handle"})
      ->Unit(benchmark::kMicrosecond);
  // The database is opened with the default window; the argument names the database only, so
  // that runs with other windows can be compared by rebuilding with another default.
  benchmark::RegisterBenchmark("Commit_GroupHandoffPosix", Commit_GroupHandoffPosix)
      ->Arg(0)
      ->ArgName("db")
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  // Wall-clock time: the cost is waiting for the device, not CPU.
  benchmark::RegisterBenchmark("Commit_PutDurablePosix", Commit_PutDurablePosix)
      ->Arg(n)
      ->ArgName("keys")
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

void TearDownSharedDatabases() {
  for (auto& [name, shared] : SharedDbs()) {
    shared->db.reset();  // Releases the lock file before its directory goes.
    if (!shared->temp_dir.empty()) {
      std::error_code error;
      std::filesystem::remove_all(shared->temp_dir, error);
    }
  }
  SharedDbs().clear();
}

}  // namespace manifold::bench
