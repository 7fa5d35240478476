#include "sim/sweep.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "manifold/version.h"
#include "sim/progress.h"

namespace manifold::sim {

uint32_t PageBytesForSeed(uint64_t seed) { return seed % 2 == 0 ? 4096 : 1024; }

namespace {

// Seeds being run, one slot per sweep thread, so that a crash of the process (an engine assert,
// a segfault) still names the seed to replay. 0 means idle.
constexpr size_t kSlotsMax = 64;
std::atomic<uint64_t> in_flight[kSlotsMax];

// Async-signal-safe: formats with a fixed buffer and write(2) only.
void WriteNumber(uint64_t value) {
  char buf[24];
  size_t n = 0;
  do {
    buf[sizeof(buf) - 1 - n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < sizeof(buf));
  (void)!write(STDERR_FILENO, buf + sizeof(buf) - n, n);
}

void OnFatalSignal(int signal_number) {
  const char* head = "\nsim: the process died (signal ";
  (void)!write(STDERR_FILENO, head, std::strlen(head));
  WriteNumber(static_cast<uint64_t>(signal_number));
  const char* mid = ") while running seed(s):";
  (void)!write(STDERR_FILENO, mid, std::strlen(mid));
  for (const std::atomic<uint64_t>& slot : in_flight) {
    const uint64_t seed = slot.load(std::memory_order_relaxed);
    if (seed == 0) continue;
    (void)!write(STDERR_FILENO, " ", 1);
    WriteNumber(seed);
  }
  const char* tail = "\n  replay one with --seed N and the same flags\n";
  (void)!write(STDERR_FILENO, tail, std::strlen(tail));
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void InstallCrashReporter() {
  for (int signal_number : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
    std::signal(signal_number, OnFatalSignal);
  }
}

// Reporting only: how long the sweep took on the wall clock (never used for a decision).
double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

SweepFailure CheckSeed(const SweepOptions& options, uint64_t seed, RunStats* stats) {
  RunConfig config;
  if (!options.make_config(seed, &config)) return {seed, "could not build the configuration", ""};
  config.trace = false;
  RunResult result = RunSeed(config);
  *stats = result.stats;
  if (!result.passed) return {seed, result.failure, ReplayCommand(config)};
  if (options.check_determinism) {
    RunResult again = RunSeed(config);
    if (again.trace_hash != result.trace_hash || again.state_hash != result.state_hash ||
        again.decisions_hash != result.decisions_hash || again.decisions != result.decisions) {
      return {seed, "not deterministic: two runs gave different trace, state or decision hashes",
              ReplayCommand(config)};
    }
  }
  return {seed, "", ""};
}

}  // namespace

SweepResult Sweep(const SweepOptions& options) {
  SweepResult result;
  std::mutex mu;
  std::atomic<uint64_t> next{0};
  const auto start = std::chrono::steady_clock::now();
  ProgressLine progress(stderr);  // Guarded by mu, like result.
  InstallCrashReporter();
  auto worker = [&](size_t slot) {
    for (uint64_t i = next++; i < options.count; i = next++) {
      RunStats stats;
      in_flight[slot] = options.first_seed + i;
      SweepFailure failure = CheckSeed(options, options.first_seed + i, &stats);
      in_flight[slot] = 0;
      std::lock_guard<std::mutex> lock(mu);
      ++result.seeds_run;
      result.stats.Add(stats);
      if (!failure.failure.empty()) {
        std::fprintf(stderr, "\nseed %llu FAILED: %s\nreplay: %s\n",
                     static_cast<unsigned long long>(failure.seed), failure.failure.c_str(),
                     failure.replay.c_str());
        result.failures.push_back(std::move(failure));
      }
      const bool last = result.seeds_run == options.count;
      // A terminal gets the line redrawn every 10 seeds; a log (CI, a pipe) one whole line per
      // kProgressLogInterval_s (ProgressLine decides), so it stays readable.
      if (options.progress && (!progress.terminal() || result.seeds_run % 10 == 0 || last)) {
        const double elapsed = SecondsSince(start);
        char line[128];
        std::snprintf(line, sizeof(line), "[%llu/%llu] %.1f seeds/s, %zu failed",
                      static_cast<unsigned long long>(result.seeds_run),
                      static_cast<unsigned long long>(options.count),
                      elapsed > 0 ? result.seeds_run / elapsed : 0.0, result.failures.size());
        progress.Update(line, last);
      }
    }
  };
  std::vector<std::thread> threads;
  const uint32_t jobs = std::clamp<uint32_t>(options.jobs, 1, kSlotsMax);
  for (uint32_t t = 0; t < jobs; ++t) threads.emplace_back(worker, t);
  for (std::thread& thread : threads) thread.join();
  if (options.progress) progress.Finish();
  result.elapsed_s = SecondsSince(start);
  std::sort(result.failures.begin(), result.failures.end(),
            [](const SweepFailure& a, const SweepFailure& b) { return a.seed < b.seed; });
  return result;
}

std::string SweepSummary(const SweepOptions& options, const SweepResult& result) {
  const RunStats& s = result.stats;
  char buf[2048];
  std::snprintf(
      buf, sizeof(buf),
      "seeds %llu..%llu: %llu run, %zu failed (%.1f s, %.1f seeds/s)\n"
      "  ops %llu; commits acknowledged %llu, refused %llu, uncertain %llu; reads checked %llu\n"
      "  crashes %llu, reopens %llu, recoveries checked %llu\n"
      "  faults: sectors lost %llu, torn %llu, dir ops undone %llu, EIO %llu, ENOSPC %llu,\n"
      "          bit flips %llu, misdirected writes %llu, delayed syncs %llu, fault points %llu\n"
      "  runs ended by detected damage (corruption after a misdirected write): %llu\n"
      "  log segments damaged at rest: %llu lost, %llu truncated; then %llu detected "
      "(corruption), %llu harmless (recovered state checked)\n",
      static_cast<unsigned long long>(options.first_seed),
      static_cast<unsigned long long>(options.first_seed + options.count - 1),
      static_cast<unsigned long long>(result.seeds_run), result.failures.size(), result.elapsed_s,
      result.elapsed_s > 0 ? result.seeds_run / result.elapsed_s : 0.0,
      static_cast<unsigned long long>(s.ops),
      static_cast<unsigned long long>(s.commits_acknowledged),
      static_cast<unsigned long long>(s.commits_refused),
      static_cast<unsigned long long>(s.commits_uncertain),
      static_cast<unsigned long long>(s.reads_checked), static_cast<unsigned long long>(s.crashes),
      static_cast<unsigned long long>(s.reopens),
      static_cast<unsigned long long>(s.recoveries_checked),
      static_cast<unsigned long long>(s.fs_sectors_lost),
      static_cast<unsigned long long>(s.fs_sectors_torn),
      static_cast<unsigned long long>(s.fs_dir_ops_undone),
      static_cast<unsigned long long>(s.fs_eio), static_cast<unsigned long long>(s.fs_enospc),
      static_cast<unsigned long long>(s.fs_bit_flips),
      static_cast<unsigned long long>(s.fs_misdirected),
      static_cast<unsigned long long>(s.fs_delayed_syncs),
      static_cast<unsigned long long>(s.fault_points_fired),
      static_cast<unsigned long long>(s.damage_detected),
      static_cast<unsigned long long>(s.segments_lost),
      static_cast<unsigned long long>(s.segments_truncated),
      static_cast<unsigned long long>(s.segment_damage_detected),
      static_cast<unsigned long long>(s.segment_damage_harmless));
  std::string out = buf;
  out += "  liveness phases passed: " + std::to_string(s.liveness_checked) + " (" +
         std::to_string(s.liveness_writes) + " durable writes after the faults stopped)\n";
  out += "  memory bound checked " + std::to_string(s.memory_checks) + " times, " +
         std::to_string(s.memory_checks_near_bound) +
         " with the write buffers past 3/4 of write_buffer_bytes_max\n";
  out += "  engine: manifold " MANIFOLD_VERSION "\n";
  for (const SweepFailure& f : result.failures) {
    out += "FAILED seed " + std::to_string(f.seed) + ": " + f.failure + "\n  replay: " + f.replay +
           "\n";
  }
  return out;
}

}  // namespace manifold::sim
