// The workloads. Keys and values are computed from their index (never stored in bulk), so the
// benchmark's own memory stays small next to the engine's in the peak-RSS column.
#include "bench/compare_workloads.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <latch>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/compare_io.h"
#include "bench/compare_workloads_internal.h"

namespace manifold::bench {
namespace {

constexpr int kTables = 8;
const std::string kZeroValue(kValueBytes, '\0');
constexpr auto kProgressInterval = std::chrono::seconds(10);

// Set once per process by RunJob (each job runs in its own forked process).
DeviceBytesSource g_device_source = DeviceBytesSource::kWriteBytes;
std::string g_progress_label;  // "overwrite rocksdb": what progress lines are about.

// --- Keys and values ---------------------------------------------------------------------------

using IntKey = std::array<char, 8>;

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
// The BulkKey overload (compare_workloads_internal.h), which this one would otherwise hide.
using ::manifold::bench::View;

std::vector<uint64_t> Order(uint64_t n, bool shuffled, uint64_t seed) {
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (shuffled) std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  return order;
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

}  // namespace

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

void SetBudget(Engine& engine, PhaseResult& r) {
  const MemoryBudget b = engine.Budget();
  r.has_budget = true;
  r.budget_cache_bytes = b.cache_bytes;
  r.budget_write_buffer_bytes = b.write_buffer_bytes;
}

void PhaseTimer::Start() {
  counters_ = engine_.Counters();
  io_ = ReadIoCounts();
  proc_io_ = ReadProcIo();
  rss_reset_ = ResetPeakRss();
  start_ = Clock::now();
}

void PhaseTimer::Stop(PhaseResult& r) {
  r.seconds = SecondsSince(start_);
  r.io = ReadIoCounts() - io_;
  r.device_bytes = DeviceBytes(proc_io_, ReadProcIo(), g_device_source);
  r.device_source = DeviceBytesSourceName(g_device_source);
  if (rss_reset_) {
    r.peak_rss_kib = PeakRssSinceResetKib();
    r.rss_per_phase = true;
  }
  SetBudget(engine_, r);
  const std::map<std::string, uint64_t> after = engine_.Counters();
  if (after.count("syncs")) r.engine_syncs = Delta(counters_, after, "syncs");
  if (r.commits > 0) r.notes = EngineNotes(counters_, after, r.commits);
}

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
                uint64_t expected_ops) {
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

namespace {

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

// Bytes the log holds at the crash, the engine's own count where it keeps one (Manifold
// Stats::log_bytes, RocksDB's WAL_FILE_BYTES ticker; both preallocate log files, so their sizes
// say little), else the apparent size of the log files (LevelDB's *.log, SQLite's *-wal). LMDB
// has no log: 0.
std::string LogBytesAtCrash(Engine& engine, const std::string& dir) {
  const std::map<std::string, uint64_t> c = engine.Counters();
  if (c.count("log_bytes")) return std::to_string(c.at("log_bytes")) + " engine";
  if (c.count("wal_bytes")) return std::to_string(c.at("wal_bytes")) + " engine";
  uint64_t bytes = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool log = name.ends_with(".log") || name.ends_with("-wal");
    if (log && it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return std::to_string(bytes) + " files";
}

// The crashing writer: loads the recovery keys durably, then dies by SIGKILL (no close, no
// checkpoint, no flush). Reports "ok <log bytes> <how counted>" or the error on `fd` first.
// Runs in a forked process.
[[noreturn]] void WriteThenDie(const Job& job, int fd) {
  std::string message;
  {
    StatusOr<std::unique_ptr<Engine>> engine = OpenEngine(job.engine, ConfigFor(job));
    StatusOr<std::unique_ptr<Session>> session =
        engine.ok() ? (*engine)->NewSession() : StatusOr<std::unique_ptr<Session>>(engine.status());
    ThreadWork w;
    Status s = session.ok() ? WriteOwnTable(0, **session, job.sizes.recovery_keys, false, false, w)
                            : session.status();
    message = s.ok() ? "ok " + LogBytesAtCrash(**engine, job.dir) : s.ToString();
    if (write(fd, message.data(), message.size()) < 0) message.clear();
    kill(getpid(), SIGKILL);
  }
  _exit(1);  // Not reached.
}

// Forks the crashing writer and waits for it. OK when it wrote everything and was killed;
// `log_note` then says how much its log held.
Status CrashWriter(const Job& job, std::string& log_note) {
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
  if (!message.starts_with("ok ")) return Status::Aborted("crashing writer: " + message);
  if (!WIFSIGNALED(status)) return Status::Aborted("crashing writer was not killed");
  uint64_t bytes = 0;
  char how[16] = {};
  if (sscanf(message.c_str(), "ok %" SCNu64 " %15s", &bytes, how) != 2) {
    return Status::Aborted("crashing writer sent '" + message + "'");
  }
  const uint64_t user = job.sizes.recovery_keys * (8 + kValueBytes);
  log_note = fmt::format("log at the crash: {} ({} of the {} of user data; {})", Mib(bytes),
                         fmt::format("{:.0f}%", 100.0 * bytes / user), Mib(user),
                         std::string(how) == "engine" ? "the engine's count" : "log file sizes");
  return Status::OK();
}

// Reopens after the crash and reads the first and last key written: the reopen is done when
// the data is readable (SQLite, for one, rebuilds its WAL index at the first read, not at open).
// The engine is handed back open so that its clean close is not timed.
Status ReopenAndRead(const Job& job, std::unique_ptr<Engine>& engine, PhaseResult& r) {
  const Clock::time_point start = Clock::now();
  MANIFOLD_ASSIGN_OR_RETURN(engine, OpenEngine(job.engine, ConfigFor(job)));
  const double open_seconds = SecondsSince(start);
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, engine->NewSession());
  std::string value;
  MANIFOLD_RETURN_IF_ERROR(session->Get(0, View(EncodeInt(0, false)), &value));
  const double first_read_seconds = SecondsSince(start);
  const uint64_t last = job.sizes.recovery_keys - 1;
  MANIFOLD_RETURN_IF_ERROR(session->Get(0, View(EncodeInt(last, false)), &value));
  AddNote(r, fmt::format("open {:.1f} ms, first read done at {:.1f} ms", open_seconds * 1e3,
                         first_read_seconds * 1e3));
  const auto counters = engine->Counters();
  auto replayed = counters.find("log_records_replayed");
  if (replayed != counters.end()) {
    AddNote(r, "replayed " + std::to_string(replayed->second) + " log records");
  }
  return Status::OK();
}

std::vector<PhaseResult> RecoveryWorkload(const Job& job) {
  PhaseResult r = PhaseResult::Named("recovery/reopen", "keys/s");
  std::string log_note;
  Status s = CrashWriter(job, log_note);
  const std::string size = SizeOnDisk(job.dir);
  const IoCounts io = ReadIoCounts();
  const ProcIo proc_io = ReadProcIo();
  r.rss_per_phase = ResetPeakRss();
  const Clock::time_point start = Clock::now();
  std::unique_ptr<Engine> engine;
  if (s.ok()) s = ReopenAndRead(job, engine, r);
  r.seconds = SecondsSince(start);
  r.io = ReadIoCounts() - io;
  r.device_bytes = DeviceBytes(proc_io, ReadProcIo(), g_device_source);
  r.device_source = DeviceBytesSourceName(g_device_source);
  if (r.rss_per_phase) r.peak_rss_kib = PeakRssSinceResetKib();
  if (engine) SetBudget(*engine, r);
  if (!s.ok()) r.error = s.ToString();
  r.ops = job.sizes.recovery_keys;
  r.latencies_us = {r.seconds * 1e6};
  AddNote(r, log_note);
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
  s.recovery_keys = Scaled(static_cast<double>(base.recovery_keys), scale, 1000);
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
