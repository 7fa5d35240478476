// The workloads. Keys and values are computed from their index (never stored in bulk), so the
// benchmark's own memory stays small next to the engine's in the peak-RSS column.
#include "bench/compare_workloads.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <latch>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench/compare_io.h"
#include "engine/util/random.h"

namespace manifold::bench {
namespace {

constexpr int kThreads = 8;
constexpr int kTables = 8;
constexpr uint64_t kBatchKeys = 1000;
constexpr size_t kValueBytes = 150;
constexpr size_t kBulkKeyBytes = 24;
constexpr uint64_t kSeed = 0x5eed;
const std::string kZeroValue(kValueBytes, '\0');
constexpr auto kProgressInterval = std::chrono::seconds(10);

// Set once per process by RunJob (each job runs in its own forked process).
DeviceBytesSource g_device_source = DeviceBytesSource::kWriteBytes;
std::string g_progress_label;  // "overwrite rocksdb": what progress lines are about.

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// splitmix64 (engine/util/random.h): cheap and deterministic, so key choice costs little and every
// run is the same.
using Random = SplitMix64;

// One splitmix64 step from x: the bytes of keys and values as a function of their position.
uint64_t Mix(uint64_t x) { return Mix64(x + kSplitMix64Gamma); }

// --- Keys and values ---------------------------------------------------------------------------

using IntKey = std::array<char, 8>;
using BulkKey = std::array<char, kBulkKeyBytes>;

// Big-endian keys sort like the integers; little-endian ones scatter consecutive integers.
IntKey EncodeInt(uint64_t v, bool little_endian) {
  IntKey out;
  for (int b = 0; b < 8; ++b) {
    const int shift = little_endian ? 8 * b : 8 * (7 - b);
    out[b] = static_cast<char>((v >> shift) & 0xff);
  }
  return out;
}

std::string_view View(const IntKey& k) { return std::string_view(k.data(), k.size()); }
std::string_view View(const BulkKey& k) { return std::string_view(k.data(), k.size()); }

// 24 pseudo-random bytes per index: effectively unique and in no useful order.
BulkKey MakeBulkKey(uint64_t i) {
  BulkKey out;
  for (size_t word = 0; word < kBulkKeyBytes / 8; ++word) {
    const uint64_t v = Mix(kSeed ^ (i * 3 + word));
    for (int b = 0; b < 8; ++b) out[word * 8 + b] = static_cast<char>(v >> (8 * b));
  }
  return out;
}

// A 150-byte slice of a fixed block of random bytes (incompressible, like real data would be).
std::string_view BulkValue(uint64_t i) {
  static const std::string* pool = [] {
    auto* bytes = new std::string(1 << 16, '\0');
    for (size_t j = 0; j < bytes->size(); ++j) (*bytes)[j] = static_cast<char>(Mix(j));
    return bytes;
  }();
  const size_t offset = Mix(i ^ kSeed) % (pool->size() - kValueBytes);
  return std::string_view(pool->data() + offset, kValueBytes);
}

std::vector<uint64_t> Order(uint64_t n, bool shuffled, uint64_t seed) {
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (shuffled) std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  return order;
}

// --- Measurement -------------------------------------------------------------------------------

std::string Mib(uint64_t bytes) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1f MiB", bytes / 1048576.0);
  return buf;
}

// Apparent size first: RocksDB and Manifold preallocate log files, which inflates the allocated
// size of a small database.
std::string SizeOnDisk(const std::string& dir) {
  const DiskUsage usage = DiskUsageOf(dir);
  return Mib(usage.apparent) + " in files (" + Mib(usage.allocated) + " allocated)";
}

void AddNote(PhaseResult& r, const std::string& note) {
  r.notes += std::string(r.notes.empty() ? "" : "; ") + note;
}

uint64_t Delta(const std::map<std::string, uint64_t>& before,
               const std::map<std::string, uint64_t>& after, const std::string& key) {
  auto a = after.find(key);
  auto b = before.find(key);
  if (a == after.end()) return 0;
  return a->second - (b == before.end() ? 0 : b->second);
}

// "1:12 2-3:4 4-7:1": Manifold's commits-per-log-sync histogram over the phase.
std::string HistogramNote(const std::map<std::string, uint64_t>& before,
                          const std::map<std::string, uint64_t>& after) {
  std::string out;
  for (int i = 0; i < 64; ++i) {
    const std::string key = "commits_per_sync_bucket_" + std::to_string(i);
    if (!after.count(key)) break;
    const uint64_t n = Delta(before, after, key);
    if (n == 0) continue;
    const uint64_t lo = 1ull << i, hi = (2ull << i) - 1;
    out += (out.empty() ? "" : " ") + std::to_string(lo) +
           (hi > lo ? "-" + std::to_string(hi) : "") + ":" + std::to_string(n);
  }
  return out;
}

// What the engine's own counters say about the commits of a phase, for the notes column.
std::string EngineNotes(const std::map<std::string, uint64_t>& before,
                        const std::map<std::string, uint64_t>& after, uint64_t commits) {
  std::string notes;
  const uint64_t log_syncs = Delta(before, after, "log_syncs");
  if (log_syncs > 0) {
    const uint64_t covered = Delta(before, after, "log_sync_commits");
    char buf[512];
    snprintf(buf, sizeof(buf), "log syncs %lu for %lu commits (%.2f commits/sync; hist %s)",
             static_cast<unsigned long>(log_syncs), static_cast<unsigned long>(covered),
             static_cast<double>(covered) / log_syncs, HistogramNote(before, after).c_str());
    notes += buf;
  }
  const uint64_t by_other = Delta(before, after, "writes_by_other");
  if (by_other > 0 && commits > 0) {
    notes += std::string(notes.empty() ? "" : "; ") + "group commit: " + std::to_string(by_other) +
             " of " + std::to_string(commits) + " writes done by another thread's write";
  }
  const uint64_t stalls = Delta(before, after, "writer_stalls");
  if (stalls > 0)
    notes += std::string(notes.empty() ? "" : "; ") + std::to_string(stalls) + " stalls";
  return notes;
}

// Takes the process-level and engine-level counters at the start and end of a timed region.
class PhaseTimer {
 public:
  explicit PhaseTimer(Engine& engine) : engine_(engine) {}

  void Start() {
    counters_ = engine_.Counters();
    io_ = ReadIoCounts();
    proc_io_ = ReadProcIo();
    rss_reset_ = ResetPeakRss();
    start_ = Clock::now();
  }

  // Fills the timing and I/O fields of `r` (ops, commits and latencies are the caller's).
  void Stop(PhaseResult& r) {
    r.seconds = SecondsSince(start_);
    r.io = ReadIoCounts() - io_;
    r.device_bytes = DeviceBytes(proc_io_, ReadProcIo(), g_device_source);
    r.device_source = DeviceBytesSourceName(g_device_source);
    if (rss_reset_) {
      r.peak_rss_kib = PeakRssSinceResetKib();
      r.rss_per_phase = true;
    }
    const std::map<std::string, uint64_t> after = engine_.Counters();
    if (after.count("syncs")) r.engine_syncs = Delta(counters_, after, "syncs");
    if (r.commits > 0) r.notes = EngineNotes(counters_, after, r.commits);
  }

 private:
  Engine& engine_;
  std::map<std::string, uint64_t> counters_;
  IoCounts io_;
  ProcIo proc_io_;
  bool rss_reset_ = false;
  Clock::time_point start_;
};

// What one thread of a timed phase did.
struct ThreadWork {
  uint64_t ops = 0;
  uint64_t commits = 0;
  uint64_t user_bytes = 0;  // Keys and values written (keys only for deletes).
  std::vector<double> latencies_us;
  Status status;
  // A copy of `ops` for the progress reporter; only this thread writes it, in its own cache
  // line, so counting costs the readers of a hot loop nothing measurable.
  alignas(64) std::atomic<uint64_t> progress{0};

  void Done(uint64_t n) {
    ops += n;
    progress.store(ops, std::memory_order_relaxed);
  }
};

// Adds the work of some threads to `r` (ops, commits, bytes, latencies, the first error).
void AddWork(const ThreadWork* begin, const ThreadWork* end, PhaseResult& r) {
  for (const ThreadWork* w = begin; w != end; ++w) {
    r.ops += w->ops;
    r.commits += w->commits;
    r.user_bytes += w->user_bytes;
    r.latencies_us.insert(r.latencies_us.end(), w->latencies_us.begin(), w->latencies_us.end());
    if (!w->status.ok() && r.error.empty()) r.error = w->status.ToString();
  }
}

// Prints a line to stderr every kProgressInterval while a phase runs, so a long run shows
// that it is alive and how far it got.
class ProgressReporter {
 public:
  ProgressReporter(const std::string& phase, const std::vector<ThreadWork>& work,
                   uint64_t expected_ops)
      : thread_([this, phase, &work, expected_ops] { Loop(phase, work, expected_ops); }) {}
  ~ProgressReporter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  void Loop(const std::string& phase, const std::vector<ThreadWork>& work, uint64_t expected) {
    const Clock::time_point start = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, kProgressInterval, [this] { return done_; })) {
      uint64_t ops = 0;
      for (const ThreadWork& w : work) ops += w.progress.load(std::memory_order_relaxed);
      const std::string of =
          expected > 0 ? fmt::format(" of {} ({:.0f}%)", expected, 100.0 * ops / expected) : "";
      fmt::print(stderr, "  {} {}: {} ops{} after {:.0f} s\n", g_progress_label, phase, ops, of,
                 SecondsSince(start));
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // Last: starts once the members above exist.
};

using ThreadFn = std::function<Status(int thread, Session& session, ThreadWork& work)>;

// Runs `fn` on `work.size()` threads, each with its own session, between timer.Start() and the
// return (the caller stops the timer). The clock starts once every thread has its session, so
// connection setup is not timed. `expected_ops` (0: unknown) is for the progress lines.
void RunThreadsTimed(Engine& engine, const ThreadFn& fn, std::vector<ThreadWork>& work,
                     PhaseTimer& timer, const std::string& phase, uint64_t expected_ops) {
  const int threads = static_cast<int>(work.size());
  std::latch ready(threads), go(1);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      StatusOr<std::unique_ptr<Session>> session = engine.NewSession();
      ready.count_down();
      go.wait();
      work[t].status = session.ok() ? fn(t, **session, work[t]) : session.status();
    });
  }
  ready.wait();
  timer.Start();
  go.count_down();
  ProgressReporter progress(phase, work, expected_ops);
  for (std::thread& th : pool) th.join();
}

// RunThreadsTimed with every thread's work summed into `r`.
void RunThreads(Engine& engine, int threads, const ThreadFn& fn, PhaseResult& r,
                uint64_t expected_ops = 0) {
  std::vector<ThreadWork> work(threads);
  PhaseTimer timer(engine);
  RunThreadsTimed(engine, fn, work, timer, r.row, expected_ops);
  AddWork(work.data(), work.data() + work.size(), r);
  timer.Stop(r);
}

// One commit, timed into `work`.
Status TimedWrite(Session& session, int table, std::span<const KeyValue> ops, bool del,
                  ThreadWork& work) {
  const Clock::time_point start = Clock::now();
  Status s = session.Write(table, ops, del);
  work.latencies_us.push_back(SecondsSince(start) * 1e6);
  work.commits += 1;
  if (s.ok()) {
    for (const KeyValue& op : ops) work.user_bytes += op.key.size() + (del ? 0 : op.value.size());
    work.Done(ops.size());
  }
  return s;
}

// --- cfwrite (and the load of the read workload) -----------------------------------------------

// Writes keys 0..n-1 of its own table in batches of 1000, in order or shuffled.
Status WriteOwnTable(int t, Session& session, uint64_t n, bool shuffled, bool little_endian,
                     ThreadWork& work) {
  const std::vector<uint64_t> order = Order(n, shuffled, kSeed + t);
  std::vector<IntKey> keys(std::min(n, kBatchKeys));
  std::vector<KeyValue> ops;
  for (uint64_t first = 0; first < n; first += kBatchKeys) {
    ops.clear();
    for (uint64_t i = first; i < std::min(n, first + kBatchKeys); ++i) {
      keys[i - first] = EncodeInt(order[i], little_endian);
      ops.push_back({View(keys[i - first]), kZeroValue});
    }
    MANIFOLD_RETURN_IF_ERROR(TimedWrite(session, t, ops, /*del=*/false, work));
  }
  return Status::OK();
}

PhaseResult CfWrite(const Job& job, Engine& engine, const std::string& row) {
  PhaseResult r = PhaseResult::Named(row, "keys/s");
  RunThreads(
      engine, kThreads,
      [&](int t, Session& s, ThreadWork& w) {
        return WriteOwnTable(t, s, job.sizes.cf_keys_per_thread, job.shuffled, job.little_endian,
                             w);
      },
      r, job.sizes.cf_keys_per_thread * kThreads);
  return r;
}

// --- read --------------------------------------------------------------------------------------

PhaseResult PointReads(const Job& job, Engine& engine) {
  PhaseResult r = PhaseResult::Named("read/point", "gets/s");
  const uint64_t per_table = job.sizes.cf_keys_per_thread;
  // Entry e is key e / 8 of table e % 8; all of them, in one shuffled order shared by threads.
  const std::vector<uint64_t> order = Order(per_table * kTables, true, kSeed);
  RunThreads(
      engine, kThreads,
      [&](int t, Session& s, ThreadWork& w) {
        std::string value;
        for (uint64_t i = t; i < order.size(); i += kThreads) {
          const IntKey key = EncodeInt(order[i] / kTables, false);
          MANIFOLD_RETURN_IF_ERROR(s.Get(static_cast<int>(order[i] % kTables), View(key), &value));
          if (value.size() != kValueBytes) return Status::Corruption("wrong value size");
          w.Done(1);
        }
        return Status::OK();
      },
      r);
  return r;
}

PhaseResult Scans(const Job& job, Engine& engine, uint64_t scans, uint64_t len) {
  const uint64_t per_table = job.sizes.cf_keys_per_thread;
  len = std::min(len, per_table);  // Tiny scales: a scan cannot be longer than the table.
  PhaseResult r = PhaseResult::Named("read/scan" + std::to_string(len), "scans/s");
  RunThreads(
      engine, kThreads,
      [&](int t, Session& s, ThreadWork& w) {
        Random rng(kSeed + t);
        for (uint64_t i = t; i < scans; i += kThreads) {
          const IntKey start = EncodeInt(rng.Uniform(per_table - len + 1), false);
          MANIFOLD_ASSIGN_OR_RETURN(
              uint64_t seen, s.Scan(static_cast<int>(rng.Uniform(kTables)), View(start), len));
          if (seen != len) return Status::Corruption("scan returned too few keys");
          w.Done(1);
        }
        return Status::OK();
      },
      r);
  AddNote(r, std::to_string(len) + " keys per scan");
  return r;
}

std::vector<PhaseResult> ReadWorkload(const Job& job, Engine& engine) {
  PhaseResult load = CfWrite(job, engine, "read/load");  // Untimed: not reported.
  if (!load.error.empty()) {
    std::vector<PhaseResult> failed;
    for (const std::string& row : JobRows(job))
      failed.push_back(PhaseResult::Failed(row, load.error));
    return failed;
  }
  return {PointReads(job, engine), Scans(job, engine, job.sizes.short_scans, 10),
          Scans(job, engine, job.sizes.long_scans, 1000)};
}

// --- commit ------------------------------------------------------------------------------------

PhaseResult SingleKeyCommits(Engine& engine, int threads, uint64_t commits_per_thread) {
  PhaseResult r =
      PhaseResult::Named(threads == 1 ? "commit/1-thread" : "commit/8-threads", "commits/s");
  RunThreads(
      engine, threads,
      [&](int t, Session& s, ThreadWork& w) {
        Random rng(kSeed * (threads + 1) + t);
        for (uint64_t i = 0; i < commits_per_thread; ++i) {
          const IntKey key = EncodeInt(rng.Uniform(1ull << 32), false);
          const KeyValue op{View(key), kZeroValue};
          MANIFOLD_RETURN_IF_ERROR(TimedWrite(s, t, {&op, 1}, false, w));
        }
        return Status::OK();
      },
      r);
  r.ops = r.commits;
  return r;
}

std::vector<PhaseResult> CommitWorkload(const Job& job, Engine& engine) {
  return {SingleKeyCommits(engine, 1, job.sizes.commits_one_thread),
          SingleKeyCommits(engine, kThreads, job.sizes.commits_per_thread)};
}

// --- bulk --------------------------------------------------------------------------------------

// Writes (or deletes) the bulk keys whose index passes `pick`, in index order, 1000 per commit.
Status BulkWrite(Session& s, uint64_t n, bool del, const std::function<bool(uint64_t)>& pick,
                 ThreadWork& w) {
  std::vector<BulkKey> keys(kBatchKeys);
  std::vector<KeyValue> ops;
  for (uint64_t i = 0; i < n; ++i) {
    if (!pick(i)) continue;
    keys[ops.size()] = MakeBulkKey(i);
    ops.push_back({View(keys[ops.size()]), BulkValue(i)});
    if (ops.size() == kBatchKeys || i + 1 == n) {
      MANIFOLD_RETURN_IF_ERROR(TimedWrite(s, 0, ops, del, w));
      ops.clear();
    }
  }
  if (!ops.empty()) return TimedWrite(s, 0, ops, del, w);
  return Status::OK();
}

PhaseResult BulkLoad(const Job& job, Engine& engine) {
  PhaseResult r = PhaseResult::Named("bulk/load", "keys/s");
  RunThreads(
      engine, 1,
      [&](int, Session& s, ThreadWork& w) {
        return BulkWrite(
            s, job.sizes.bulk_keys, false, [](uint64_t) { return true; }, w);
      },
      r, job.sizes.bulk_keys);
  AddNote(r, "size after load: " + SizeOnDisk(job.dir));
  return r;
}

PhaseResult BulkReads(const Job& job, Engine& engine) {
  PhaseResult r = PhaseResult::Named("bulk/read", "gets/s");
  RunThreads(
      engine, kThreads,
      [&](int t, Session& s, ThreadWork& w) {
        Random rng(kSeed + 100 + t);
        std::string value;
        for (uint64_t i = t; i < job.sizes.bulk_reads; i += kThreads) {
          const uint64_t index = rng.Uniform(job.sizes.bulk_keys);
          MANIFOLD_RETURN_IF_ERROR(s.Get(0, View(MakeBulkKey(index)), &value));
          if (value != BulkValue(index)) return Status::Corruption("wrong value");
          w.Done(1);
        }
        return Status::OK();
      },
      r);
  return r;
}

PhaseResult BulkRemoves(const Job& job, Engine& engine) {
  PhaseResult r = PhaseResult::Named("bulk/remove", "keys/s");
  const uint64_t every = std::max<uint64_t>(1, job.sizes.bulk_keys / job.sizes.bulk_removes);
  RunThreads(
      engine, 1,
      [&](int, Session& s, ThreadWork& w) {
        // Indexes are in no key order (keys are hashes), so these deletes are random.
        return BulkWrite(
            s, job.sizes.bulk_keys, true, [&](uint64_t i) { return i % every == 0; }, w);
      },
      r);
  AddNote(r, "size after removing: " + SizeOnDisk(job.dir));
  return r;
}

std::vector<PhaseResult> BulkWorkload(const Job& job, Engine& engine) {
  std::vector<PhaseResult> out = {BulkLoad(job, engine)};
  out.push_back(BulkReads(job, engine));
  out.push_back(BulkRemoves(job, engine));
  return out;
}

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

// Replaces the results of a job that could not load or check its data with that error.
std::vector<PhaseResult> FailedRows(const Job& job, const std::string& error) {
  std::vector<PhaseResult> failed;
  for (const std::string& row : JobRows(job)) failed.push_back(PhaseResult::Failed(row, error));
  return failed;
}

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
      status = s.Get(0, View(MakeBulkKey(index)), &value);
      if (!status.ok()) break;
      const std::optional<uint32_t> version = ValueVersion(index, value);
      if (!version || *version > max_version.load()) {
        status =
            Status::Corruption(fmt::format("key {}: read a value never written for it", index));
        break;
      }
      w.Done(1);
    }
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
  // One timed region: the readers get its time and memory; its I/O is on the writer's row.
  reads.seconds = writes.seconds;
  reads.peak_rss_kib = writes.peak_rss_kib;
  reads.rss_per_phase = writes.rss_per_phase;
  reads.device_source = writes.device_source;
  if (reads.error.empty() && writes.error.empty()) {
    const Status check = CheckNewestVersions(engine, versions);
    if (!check.ok()) writes.error = "after the phase: " + check.ToString();
  }
  AddNote(reads, fmt::format("8 reader threads over {} keys; every read checked; I/O columns on "
                             "the write row",
                             n));
  AddNote(writes, fmt::format("1 writer thread, {} durable batches of {} while the readers ran",
                              writes.commits, std::min(kBatchKeys, n)));
  return {reads, writes};
}

// How much of the files under `dir` is in the OS page cache now, as a percentage of their size
// now (opening can add files: RocksDB and LevelDB write the replayed log as a table).
std::string ResidentPercent(const std::string& dir) {
  const uint64_t size = DiskUsageOf(dir).apparent;
  return size == 0 ? "0%" : fmt::format("{:.0f}%", 100.0 * PageCacheResidentBytes(dir) / size);
}

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

// --- recovery ----------------------------------------------------------------------------------

EngineConfig ConfigFor(const Job& job) {
  EngineConfig c;
  c.dir = job.dir;
  c.durable = job.workload == "cfwrite" ? job.durable : true;
  c.tables = (job.workload == "cfwrite" || job.workload == "read" || job.workload == "commit")
                 ? kTables
                 : 1;
  if (job.workload == "uncached") {
    c.cache_bytes = job.sizes.uncached_cache_bytes;
    c.cache_connections = kThreads;  // The 8 readers share it (SQLite: a slice each).
  }
  c.hold_log = job.workload == "recovery";
  c.group_commit_window_us = job.engine.group_commit_window_us;
  return c;
}

// The crashing writer: loads the recovery keys durably, then dies by SIGKILL (no close, no
// checkpoint, no flush). Reports "ok" or the error on `fd` first. Runs in a forked process.
[[noreturn]] void WriteThenDie(const Job& job, int fd) {
  std::string message = "ok";
  {
    StatusOr<std::unique_ptr<Engine>> engine = OpenEngine(job.engine, ConfigFor(job));
    StatusOr<std::unique_ptr<Session>> session =
        engine.ok() ? (*engine)->NewSession() : StatusOr<std::unique_ptr<Session>>(engine.status());
    ThreadWork w;
    Status s = session.ok() ? WriteOwnTable(0, **session, job.sizes.recovery_keys, false, false, w)
                            : session.status();
    if (!s.ok()) message = s.ToString();
    if (write(fd, message.data(), message.size()) < 0) message.clear();
    kill(getpid(), SIGKILL);
  }
  _exit(1);  // Not reached.
}

// Forks the crashing writer and waits for it. OK when it wrote everything and was killed.
Status CrashWriter(const Job& job) {
  int fds[2];
  if (pipe(fds) != 0) return Status::IOError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    close(fds[0]);
    WriteThenDie(job, fds[1]);
  }
  close(fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) message.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (message != "ok") return Status::Aborted("crashing writer: " + message);
  if (!WIFSIGNALED(status)) return Status::Aborted("crashing writer was not killed");
  return Status::OK();
}

// Reopens after the crash and reads the first and last key written: the reopen is done when
// the data is readable (SQLite, for one, rebuilds its WAL index at the first read, not at open).
// The engine is handed back open so that its clean close is not timed.
Status ReopenAndRead(const Job& job, std::unique_ptr<Engine>& engine, std::string& notes) {
  MANIFOLD_ASSIGN_OR_RETURN(engine, OpenEngine(job.engine, ConfigFor(job)));
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, engine->NewSession());
  std::string value;
  MANIFOLD_RETURN_IF_ERROR(session->Get(0, View(EncodeInt(0, false)), &value));
  const uint64_t last = job.sizes.recovery_keys - 1;
  MANIFOLD_RETURN_IF_ERROR(session->Get(0, View(EncodeInt(last, false)), &value));
  const auto counters = engine->Counters();
  auto replayed = counters.find("log_records_replayed");
  if (replayed != counters.end()) {
    notes = "replayed " + std::to_string(replayed->second) + " log records";
  }
  return Status::OK();
}

std::vector<PhaseResult> RecoveryWorkload(const Job& job) {
  PhaseResult r = PhaseResult::Named("recovery/reopen", "keys/s");
  Status s = CrashWriter(job);
  const std::string size = SizeOnDisk(job.dir);
  const IoCounts io = ReadIoCounts();
  const ProcIo proc_io = ReadProcIo();
  r.rss_per_phase = ResetPeakRss();
  const Clock::time_point start = Clock::now();
  std::unique_ptr<Engine> engine;
  if (s.ok()) s = ReopenAndRead(job, engine, r.notes);
  r.seconds = SecondsSince(start);
  r.io = ReadIoCounts() - io;
  r.device_bytes = DeviceBytes(proc_io, ReadProcIo(), g_device_source);
  r.device_source = DeviceBytesSourceName(g_device_source);
  if (r.rss_per_phase) r.peak_rss_kib = PeakRssSinceResetKib();
  if (!s.ok()) r.error = s.ToString();
  r.ops = job.sizes.recovery_keys;
  r.latencies_us = {r.seconds * 1e6};
  AddNote(r, fmt::format("size at the crash: {}; reopen: {} syncs, {} written; latency columns "
                         "= reopen time",
                         size, r.io.Durable(), Mib(r.io.bytes_written)));
  return {r};
}

uint64_t Scaled(double base, double scale, uint64_t minimum) {
  return std::max<uint64_t>(minimum, static_cast<uint64_t>(std::llround(base * scale)));
}

}  // namespace

Sizes ScaledSizes(double scale, const BaseSizes& base) {
  Sizes s;
  s.cf_keys_per_thread = Scaled(50'000, scale, 20);  // 20: the two scan lengths differ.
  s.commits_one_thread = Scaled(1'000, scale, 10);
  s.commits_per_thread = Scaled(250, scale, 5);
  s.bulk_keys = Scaled(static_cast<double>(base.bulk_keys), scale, 1000);
  s.bulk_reads = s.bulk_keys / 5;
  s.bulk_removes = s.bulk_keys / 10;
  s.recovery_keys = Scaled(500'000, scale, 1000);
  s.point_reads = s.cf_keys_per_thread * kTables;
  s.short_scans = std::max<uint64_t>(kThreads, s.point_reads / 10);
  s.long_scans = std::max<uint64_t>(kThreads, s.point_reads / 200);
  s.overwrite_keys = Scaled(static_cast<double>(base.overwrite_keys), scale, 1000);
  s.overwrite_ops = 2 * s.overwrite_keys;
  s.rww_reads = Scaled(1'000'000, scale, 1000);
  // 256 KiB at least: smaller caches are below what some engines accept as a configuration.
  s.uncached_cache_bytes = Scaled(base.uncached_cache_mib * 1048576.0, scale, 256 << 10);
  s.uncached_keys =
      std::max<uint64_t>(1000, static_cast<uint64_t>(base.uncached_ratio * s.uncached_cache_bytes /
                                                     (kBulkKeyBytes + kValueBytes)));
  s.uncached_reads = Scaled(500'000, scale, 1000);
  return s;
}

std::string Job::Name() const {
  if (workload != "cfwrite") return workload;
  return std::string("cfwrite/") + (durable ? "durable" : "nosync") + "/" +
         (shuffled ? "shuf" : "seq") + "/" + (little_endian ? "le" : "be");
}

const std::vector<std::string>& WorkloadNames() {
  static const auto* names = new std::vector<std::string>{
      "cfwrite", "read", "commit", "bulk", "recovery", "overwrite", "readwhilewriting", "uncached"};
  return *names;
}

std::vector<Job> JobsFor(const std::string& workload) {
  Job job;
  job.workload = workload;
  if (workload != "cfwrite") return {job};
  std::vector<Job> jobs;
  for (bool durable : {true, false}) {
    for (bool shuffled : {false, true}) {
      for (bool little_endian : {false, true}) {
        job.durable = durable;
        job.shuffled = shuffled;
        job.little_endian = little_endian;
        jobs.push_back(job);
      }
    }
  }
  return jobs;
}

std::vector<std::string> JobRows(const Job& job) {
  if (job.workload == "read") {
    const uint64_t len = std::min<uint64_t>(1000, job.sizes.cf_keys_per_thread);
    return {"read/point", "read/scan10", "read/scan" + std::to_string(len)};
  }
  if (job.workload == "commit") return {"commit/1-thread", "commit/8-threads"};
  if (job.workload == "bulk") return {"bulk/load", "bulk/read", "bulk/remove"};
  if (job.workload == "recovery") return {"recovery/reopen"};
  if (job.workload == "overwrite") return {"overwrite/random"};
  if (job.workload == "readwhilewriting") {
    return {"readwhilewriting/read", "readwhilewriting/write"};
  }
  if (job.workload == "uncached") return {"uncached/read"};
  return {job.Name()};
}

std::vector<PhaseResult> RunJob(const Job& job) {
  g_device_source = job.device_source;
  g_progress_label = job.Name() + " " + job.engine.label;
  if (job.workload == "recovery") return RecoveryWorkload(job);
  if (job.workload == "uncached") return UncachedWorkload(job, ConfigFor(job));
  const IoCounts io_before = ReadIoCounts();
  const uint64_t dirtied_before = ProcessWriteBytes();
  std::vector<PhaseResult> results;
  {
    StatusOr<std::unique_ptr<Engine>> engine = OpenEngine(job.engine, ConfigFor(job));
    if (!engine.ok()) {
      for (const std::string& row : JobRows(job)) {
        results.push_back(PhaseResult::Failed(row, engine.status().ToString()));
      }
      return results;
    }
    if (job.workload == "cfwrite") results = {CfWrite(job, **engine, job.Name())};
    if (job.workload == "read") results = ReadWorkload(job, **engine);
    if (job.workload == "commit") results = CommitWorkload(job, **engine);
    if (job.workload == "bulk") results = BulkWorkload(job, **engine);
    if (job.workload == "overwrite") results = OverwriteWorkload(job, **engine);
    if (job.workload == "readwhilewriting") results = ReadWhileWritingWorkload(job, **engine);
  }
  // What a phase writes after it returns (checkpoints, flushes, compactions, the final
  // checkpoint at close) is not in its own bytes-written column; this is.
  if (job.workload != "read" && !results.empty()) {
    AddNote(results.back(),
            "written from open to close: " + Mib((ReadIoCounts() - io_before).bytes_written) +
                " (" + Mib(ProcessWriteBytes() - dirtied_before) + " dirtied)");
  }
  return results;
}

std::vector<std::string> DescribeWorkloads(const Sizes& s) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  return {
      "- **cfwrite/{durable,nosync}/{seq,shuf}/{be,le}**: 8 threads, each writes " +
          n(s.cf_keys_per_thread) +
          " keys into its own key space in batches of 1000 (one commit each); 8-byte integer "
          "keys (big- or little-endian), in order or shuffled (fixed seed), 150 zero-byte values. "
          "ops = keys.",
      "- **read**: after loading the cfwrite data (durable, in order, big-endian; not timed): "
      "point reads of all " +
          n(s.point_reads) + " keys from 8 threads in one shuffled order; " + n(s.short_scans) +
          " scans of 10 keys and " + n(s.long_scans) + " scans of " +
          n(std::min<uint64_t>(1000, s.cf_keys_per_thread)) +
          " keys from random start keys in random key spaces (8 threads). "
          "ops = gets or scans.",
      "- **commit**: durable single-key commits (random 8-byte key, 150-byte value): " +
          n(s.commits_one_thread) + " from 1 thread, then " + n(s.commits_per_thread) +
          " from each of 8 threads (each its own key space). ops = commits.",
      "- **bulk**: " + n(s.bulk_keys) +
          " keys loaded by 1 thread in durable batches of 1000 (24-byte random keys, 150-byte "
          "random values, one key space); then " +
          n(s.bulk_reads) + " random point reads from 8 threads; then " + n(s.bulk_removes) +
          " random keys removed in durable batches of 1000. Size on disk after load and after "
          "removal in the notes.",
      "- **recovery**: a forked child writes " + n(s.recovery_keys) +
          " keys (8-byte, in order, 150 zero bytes) in durable batches of 1000 with "
          "checkpoints / memtable flushes held off, then is killed with SIGKILL; the time is "
          "the reopen plus reading the first and last key. ops = keys recovered per second.",
      "- **overwrite/random**: after an untimed load of " + n(s.overwrite_keys) +
          " keys (24-byte random keys, 150-byte values that name their key and version, one key "
          "space, durable batches of 1000), 1 thread overwrites " +
          n(s.overwrite_ops) +
          " random existing keys with their next version in durable batches of 1000 distinct "
          "keys; then (untimed) up to 20,000 keys spread over the key space are read back and "
          "must hold their newest version. ops = keys overwritten.",
      "- **readwhilewriting/{read,write}**: the same load, then 8 reader threads do " +
          n(s.rww_reads) +
          " random point reads in all while 1 writer thread overwrites random existing keys in "
          "durable batches of 1000 until the readers are done (one timed region; the read row "
          "is gets/s of the readers, the write row keys/s of the writer). Every read must be a "
          "value written for its key, of a version the writer has reached; newest versions "
          "are checked afterwards as for overwrite.",
      "- **uncached/read**: every engine's cache set to " + Mib(s.uncached_cache_bytes) + "; " +
          n(s.uncached_keys) +
          " keys loaded (24-byte random keys, 150-byte values: user data about " +
          fmt::format("{:.1f}", static_cast<double>(s.uncached_keys) *
                                    (kBulkKeyBytes + kValueBytes) / s.uncached_cache_bytes) +
          "x the cache), the database closed, its files evicted from the OS page cache "
          "(fdatasync + POSIX_FADV_DONTNEED), reopened, evicted again, then " +
          n(s.uncached_reads) +
          " random point reads from 8 threads, each checked. LMDB has no cache of its own "
          "(it reads through its memory map, i.e. the OS page cache), and the OS page cache "
          "is not bounded for any engine: the notes give how much of the files it held "
          "before and after the reads.",
  };
}

}  // namespace manifold::bench
