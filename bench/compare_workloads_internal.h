// What compare_workloads.cc shares with compare_workloads_versioned.cc: the key and value
// generators, the timed-phase machinery, and the overwrite, readwhilewriting and uncached
// workloads. Private to those two files.
#ifndef MANIFOLD_BENCH_COMPARE_WORKLOADS_INTERNAL_H_
#define MANIFOLD_BENCH_COMPARE_WORKLOADS_INTERNAL_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench/compare_engine.h"
#include "bench/compare_io.h"
#include "bench/compare_result.h"
#include "bench/compare_workloads.h"
#include "engine/util/random.h"

namespace manifold::bench {

inline constexpr int kThreads = 8;
inline constexpr uint64_t kBatchKeys = 1000;
inline constexpr size_t kValueBytes = 150;
inline constexpr size_t kBulkKeyBytes = 24;
inline constexpr uint64_t kSeed = 0x5eed;

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// splitmix64 (engine/util/random.h): cheap and deterministic, so key choice costs little and every
// run is the same.
using Random = SplitMix64;

// One splitmix64 step from x: the bytes of keys and values as a function of their position.
inline uint64_t Mix(uint64_t x) { return Mix64(x + kSplitMix64Gamma); }

// Takes the process-level and engine-level counters at the start and end of a timed region.
class PhaseTimer {
 public:
  explicit PhaseTimer(Engine& engine) : engine_(engine) {}

  void Start();

  // Fills the timing and I/O fields of `r` (ops, commits and latencies are the caller's).
  void Stop(PhaseResult& r);

  // When Start() ran: for a row whose span ends before the region's (readwhilewriting's reads).
  Clock::time_point start() const { return start_; }

 private:
  Engine& engine_;
  std::map<std::string, uint64_t> counters_;
  IoCounts io_;
  ProcIo proc_io_;
  bool rss_reset_ = false;
  Clock::time_point start_;
};

// Records what `engine` is configured to hold in memory (the peak-RSS bound) in `r`.
void SetBudget(Engine& engine, PhaseResult& r);

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

using ThreadFn = std::function<Status(int thread, Session& session, ThreadWork& work)>;

using BulkKey = std::array<char, kBulkKeyBytes>;

std::string_view View(const BulkKey& k);
// 24 pseudo-random bytes per index: effectively unique and in no useful order.
BulkKey MakeBulkKey(uint64_t i);
// A 150-byte slice of a fixed block of random bytes (incompressible, like real data would be).
std::string_view BulkValue(uint64_t i);

std::string Mib(uint64_t bytes);
// Apparent size, then allocated.
std::string SizeOnDisk(const std::string& dir);
void AddNote(PhaseResult& r, const std::string& note);

// Adds the work of some threads to `r` (ops, commits, bytes, latencies, the first error).
void AddWork(const ThreadWork* begin, const ThreadWork* end, PhaseResult& r);

// Runs `fn` on `work.size()` threads, each with its own session, between timer.Start() and the
// return (the caller stops the timer). The clock starts once every thread has its session, so
// connection setup is not timed. `expected_ops` (0: unknown) is for the progress lines.
void RunThreadsTimed(Engine& engine, const ThreadFn& fn, std::vector<ThreadWork>& work,
                     PhaseTimer& timer, const std::string& phase, uint64_t expected_ops);

// RunThreadsTimed with every thread's work summed into `r`.
void RunThreads(Engine& engine, int threads, const ThreadFn& fn, PhaseResult& r,
                uint64_t expected_ops = 0);

// One commit, timed into `work`.
Status TimedWrite(Session& session, int table, std::span<const KeyValue> ops, bool del,
                  ThreadWork& work);

// The workloads of compare_workloads_versioned.cc; the engine is open (uncached opens its own).
std::vector<PhaseResult> OverwriteWorkload(const Job& job, Engine& engine);
std::vector<PhaseResult> ReadWhileWritingWorkload(const Job& job, Engine& engine);
std::vector<PhaseResult> UncachedWorkload(const Job& job, const EngineConfig& config);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_WORKLOADS_INTERNAL_H_
