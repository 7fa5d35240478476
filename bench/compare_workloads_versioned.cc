// The overwrite, readwhilewriting and uncached workloads of //bench:compare: random overwrites of
// one key space, readers beside a durable writer, and reads with every engine's cache bounded.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "bench/compare_io.h"
#include "bench/compare_workloads_internal.h"

namespace manifold::bench {
namespace {

// --- overwrite, readwhilewriting, uncached -----------------------------------------------------
//
// These three load bulk keys 0..n-1 (24-byte random keys, one key space) whose 150-byte values
// say which key and which version of it they are, so every read checks that it found a value
// written for its key, and the checks after a phase check the newest version of each key.

constexpr size_t kVersionHeaderBytes = 12;  // 8-byte key index, 4-byte version, little-endian.

// The value of version `version` of key `index`: the header, then bytes from the random pool.
void VersionedValue(uint64_t index, uint32_t version, std::string& out) {
  out.resize(kValueBytes);
  for (int b = 0; b < 8; ++b) out[b] = static_cast<char>(index >> (8 * b));
  for (int b = 0; b < 4; ++b) out[8 + b] = static_cast<char>(version >> (8 * b));
  const std::string_view fill = BulkValue(Mix(index) ^ version);
  memcpy(out.data() + kVersionHeaderBytes, fill.data(), kValueBytes - kVersionHeaderBytes);
}

// The version `value` holds if it is exactly a value written for key `index`.
std::optional<uint32_t> ValueVersion(uint64_t index, std::string_view value) {
  if (value.size() != kValueBytes) return std::nullopt;
  uint64_t got_index = 0;
  uint32_t version = 0;
  for (int b = 0; b < 8; ++b)
    got_index |= uint64_t{static_cast<unsigned char>(value[b])} << (8 * b);
  for (int b = 0; b < 4; ++b)
    version |= uint32_t{static_cast<unsigned char>(value[8 + b])} << (8 * b);
  if (got_index != index) return std::nullopt;
  std::string expected;
  VersionedValue(index, version, expected);
  if (value != expected) return std::nullopt;
  return version;
}

// Loads version 0 of keys 0..n-1 in index order (random key order: keys are hashes), in durable
// batches of 1000, as an untimed phase named `row`.
PhaseResult LoadVersioned(Engine& engine, uint64_t n, const std::string& row) {
  PhaseResult r = PhaseResult::Named(row, "keys/s");
  RunThreads(
      engine, 1,
      [&](int, Session& s, ThreadWork& w) {
        std::vector<BulkKey> keys(kBatchKeys);
        std::vector<std::string> values(kBatchKeys);
        std::vector<KeyValue> ops;
        for (uint64_t first = 0; first < n; first += kBatchKeys) {
          ops.clear();
          for (uint64_t i = first; i < std::min(n, first + kBatchKeys); ++i) {
            keys[ops.size()] = MakeBulkKey(i);
            VersionedValue(i, 0, values[ops.size()]);
            ops.push_back({View(keys[ops.size()]), values[ops.size()]});
          }
          MANIFOLD_RETURN_IF_ERROR(TimedWrite(s, 0, ops, /*del=*/false, w));
        }
        return Status::OK();
      },
      r, n);
  return r;
}

// The newest version written of every key, kept by the writer to check reads against: 4 bytes
// per key of the benchmark's own memory (counted in its RSS), next to the engine's data.
using Versions = std::vector<uint32_t>;

// Overwrites random existing keys with their next version, in durable batches of 1000 distinct
// keys, until `more()` is false (checked before each batch). `max_version` is raised before a
// batch is written, so a concurrent reader that sees a version above it has read garbage.
Status OverwriteBatches(Session& s, Versions& versions, uint64_t seed,
                        const std::function<bool()>& more, std::atomic<uint32_t>* max_version,
                        ThreadWork& w) {
  Random rng(seed);
  std::vector<BulkKey> keys(kBatchKeys);
  std::vector<std::string> values(kBatchKeys);
  std::vector<KeyValue> ops;
  std::unordered_set<uint64_t> in_batch;
  const uint64_t n = versions.size();
  const uint64_t batch = std::min<uint64_t>(kBatchKeys, n);
  while (more()) {
    ops.clear();
    in_batch.clear();
    uint32_t batch_max = 0;
    while (ops.size() < batch) {
      const uint64_t index = rng.Uniform(n);
      if (!in_batch.insert(index).second) continue;  // One version per key per batch.
      const uint32_t version = ++versions[index];
      batch_max = std::max(batch_max, version);
      keys[ops.size()] = MakeBulkKey(index);
      VersionedValue(index, version, values[ops.size()]);
      ops.push_back({View(keys[ops.size()]), values[ops.size()]});
    }
    if (max_version != nullptr && batch_max > max_version->load()) max_version->store(batch_max);
    MANIFOLD_RETURN_IF_ERROR(TimedWrite(s, 0, ops, /*del=*/false, w));
  }
  return Status::OK();
}

// Untimed check after a writing phase: reads up to 20,000 keys spread over the key space and
// checks each holds its newest version.
Status CheckNewestVersions(Engine& engine, const Versions& versions) {
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Session> s, engine.NewSession());
  const uint64_t step = std::max<uint64_t>(1, versions.size() / 20'000);
  std::string value;
  for (uint64_t index = 0; index < versions.size(); index += step) {
    MANIFOLD_RETURN_IF_ERROR(s->Get(0, View(MakeBulkKey(index)), &value));
    const std::optional<uint32_t> version = ValueVersion(index, value);
    if (version != versions[index]) {
      return Status::Corruption(fmt::format(
          "key {} read back {} instead of its newest version {}", index,
          version ? "version " + std::to_string(*version) : "a value not written for it",
          versions[index]));
    }
  }
  return Status::OK();
}

// readwhilewriting times this share of its reads for the latency columns.
constexpr uint64_t kLatencySampleEvery = 64;

// Replaces the results of a job that could not load or check its data with that error.
std::vector<PhaseResult> FailedRows(const Job& job, const std::string& error) {
  std::vector<PhaseResult> failed;
  for (const std::string& row : JobRows(job)) failed.push_back(PhaseResult::Failed(row, error));
  return failed;
}

}  // namespace

std::vector<PhaseResult> OverwriteWorkload(const Job& job, Engine& engine) {
  const uint64_t n = job.sizes.overwrite_keys;
  const PhaseResult load = LoadVersioned(engine, n, "overwrite/load");
  if (!load.error.empty()) return FailedRows(job, load.error);
  Versions versions(n, 0);
  PhaseResult r = PhaseResult::Named("overwrite/random", "keys/s");
  const uint64_t batches = (job.sizes.overwrite_ops + kBatchKeys - 1) / kBatchKeys;
  RunThreads(
      engine, 1,
      [&](int, Session& s, ThreadWork& w) {
        uint64_t done = 0;
        return OverwriteBatches(
            s, versions, kSeed + 200, [&] { return done++ < batches; }, nullptr, w);
      },
      r, batches * std::min(kBatchKeys, n));
  if (r.error.empty()) {
    const Status check = CheckNewestVersions(engine, versions);
    if (!check.ok()) r.error = "after the overwrites: " + check.ToString();
  }
  AddNote(r, fmt::format("{} keys loaded first ({} of user data); size after: {}", n,
                         Mib(load.user_bytes), SizeOnDisk(job.dir)));
  return {r};
}

std::vector<PhaseResult> ReadWhileWritingWorkload(const Job& job, Engine& engine) {
  const uint64_t n = job.sizes.overwrite_keys;
  const PhaseResult load = LoadVersioned(engine, n, "readwhilewriting/load");
  if (!load.error.empty()) return FailedRows(job, load.error);
  Versions versions(n, 0);
  std::atomic<uint32_t> max_version{0};
  std::atomic<int> readers_done{0};
  std::atomic<uint64_t> writer_commits{0};
  std::atomic<bool> writer_stopped{false};
  const uint64_t reads_per_reader = std::max<uint64_t>(1, job.sizes.rww_reads / kThreads);
  // When each reader finished: the reads' span ends at the last of these, not when the writer
  // has finished the durable batch it was writing then.
  std::vector<Clock::time_point> reader_finished(kThreads);
  // Threads 0..7 read; thread 8 writes until every reader is done. A reader keeps going past its
  // quota until the writer has committed once, so both rates cover the same stretch of time.
  const ThreadFn fn = [&](int t, Session& s, ThreadWork& w) -> Status {
    if (t == kThreads) {
      Status status = OverwriteBatches(
          s, versions, kSeed + 300,
          [&] {
            writer_commits.store(w.commits);
            return readers_done.load() < kThreads;
          },
          &max_version, w);
      writer_stopped.store(true);  // Readers waiting for a first commit stop waiting.
      return status;
    }
    Random rng(kSeed + 400 + t);
    std::string value;
    Status status;
    for (uint64_t i = 0;
         i < reads_per_reader || (writer_commits.load() == 0 && !writer_stopped.load()); ++i) {
      const uint64_t index = rng.Uniform(n);
      const BulkKey key = MakeBulkKey(index);
      // Every kLatencySampleEvery-th read is timed: two clock reads per get would be a
      // noticeable share of a cached get.
      const bool sampled = i % kLatencySampleEvery == 0;
      const Clock::time_point start = sampled ? Clock::now() : Clock::time_point();
      status = s.Get(0, View(key), &value);
      if (sampled) w.latencies_us.push_back(SecondsSince(start) * 1e6);
      if (!status.ok()) break;
      const std::optional<uint32_t> version = ValueVersion(index, value);
      if (!version || *version > max_version.load()) {
        status =
            Status::Corruption(fmt::format("key {}: read a value never written for it", index));
        break;
      }
      w.Done(1);
    }
    reader_finished[t] = Clock::now();
    readers_done.fetch_add(1);  // Even on an error, so the writer stops.
    return status;
  };
  std::vector<ThreadWork> work(kThreads + 1);
  PhaseTimer timer(engine);
  RunThreadsTimed(engine, fn, work, timer, "readwhilewriting", reads_per_reader * kThreads);
  PhaseResult reads = PhaseResult::Named("readwhilewriting/read", "gets/s");
  PhaseResult writes = PhaseResult::Named("readwhilewriting/write", "keys/s");
  AddWork(work.data(), work.data() + kThreads, reads);
  AddWork(work.data() + kThreads, work.data() + kThreads + 1, writes);
  timer.Stop(writes);
  // One timed region: the readers get its memory and its time up to the last reader's finish;
  // its I/O is on the writer's row.
  // A reader whose session could not open never ran (its error is on the row): its finish is
  // the clock's epoch, before the start.
  const Clock::time_point reads_end =
      *std::max_element(reader_finished.begin(), reader_finished.end());
  reads.seconds = reads_end > timer.start()
                      ? std::chrono::duration<double>(reads_end - timer.start()).count()
                      : writes.seconds;
  reads.peak_rss_kib = writes.peak_rss_kib;
  reads.rss_per_phase = writes.rss_per_phase;
  SetBudget(engine, reads);
  reads.device_source = writes.device_source;
  if (reads.error.empty() && writes.error.empty()) {
    const Status check = CheckNewestVersions(engine, versions);
    if (!check.ok()) writes.error = "after the phase: " + check.ToString();
  }
  AddNote(reads, fmt::format("8 reader threads over {} keys; every read checked; latency of "
                             "every {}th read; timed to the last reader's finish; I/O columns "
                             "on the write row",
                             n, kLatencySampleEvery));
  AddNote(writes, fmt::format("1 writer thread, {} durable batches of {} while the readers ran",
                              writes.commits, std::min(kBatchKeys, n)));
  return {reads, writes};
}

namespace {

// How much of the files under `dir` is in the OS page cache now, as a percentage of their size
// now (opening can add files: RocksDB and LevelDB write the replayed log as a table).
std::string ResidentPercent(const std::string& dir) {
  const uint64_t size = DiskUsageOf(dir).apparent;
  return size == 0 ? "0%" : fmt::format("{:.0f}%", 100.0 * PageCacheResidentBytes(dir) / size);
}

}  // namespace

// Loads ratio x the cache of user data, closes the engine, evicts its files from the OS page
// cache, reopens it and reads random keys from 8 threads. Opens the engine itself.
std::vector<PhaseResult> UncachedWorkload(const Job& job, const EngineConfig& config) {
  const uint64_t n = job.sizes.uncached_keys;
  PhaseResult load;
  {
    StatusOr<std::unique_ptr<Engine>> engine = OpenEngine(job.engine, config);
    if (!engine.ok()) return FailedRows(job, engine.status().ToString());
    load = LoadVersioned(**engine, n, "uncached/load");
  }  // Closed: a mapped or open database could keep its pages in the page cache.
  if (!load.error.empty()) return FailedRows(job, load.error);
  const uint64_t on_disk = DiskUsageOf(job.dir).apparent;
  const std::string resident_before = ResidentPercent(job.dir);
  EvictFromPageCache(job.dir);
  const std::string resident_evicted = ResidentPercent(job.dir);
  StatusOr<std::unique_ptr<Engine>> engine = OpenEngine(job.engine, config);
  if (!engine.ok()) return FailedRows(job, "reopen: " + engine.status().ToString());
  const std::string resident_open = ResidentPercent(job.dir);
  // Opening can read or write files (RocksDB and LevelDB flush the replayed log into a new
  // table); evicting again leaves the open database's files cold. Pages an engine has mapped
  // and touched stay (LMDB's meta pages).
  EvictFromPageCache(job.dir);
  const std::string resident_start = ResidentPercent(job.dir);
  PhaseResult r = PhaseResult::Named("uncached/read", "gets/s");
  RunThreads(
      **engine, kThreads,
      [&](int t, Session& s, ThreadWork& w) {
        Random rng(kSeed + 500 + t);
        std::string value;
        for (uint64_t i = t; i < job.sizes.uncached_reads; i += kThreads) {
          const uint64_t index = rng.Uniform(n);
          MANIFOLD_RETURN_IF_ERROR(s.Get(0, View(MakeBulkKey(index)), &value));
          if (ValueVersion(index, value) != 0u) {
            return Status::Corruption(fmt::format("key {}: wrong value", index));
          }
          w.Done(1);
        }
        return Status::OK();
      },
      r, job.sizes.uncached_reads);
  const std::string resident_after = ResidentPercent(job.dir);
  AddNote(r, fmt::format(
                 "cache {} for {} keys ({} of user data, {:.1f}x; {} in files); OS page cache "
                 "held {} of the files after the load, {} after eviction, {} after reopen, {} "
                 "after evicting again, {} after the reads (not bounded: reads it serves are "
                 "not device reads)",
                 Mib(config.cache_bytes), n, Mib(load.user_bytes),
                 static_cast<double>(load.user_bytes) / config.cache_bytes, Mib(on_disk),
                 resident_before, resident_evicted, resident_open, resident_start, resident_after));
  return {r};
}

}  // namespace manifold::bench
