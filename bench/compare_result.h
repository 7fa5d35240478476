// What one measured phase of a workload produced, and how it travels from the forked child that
// ran it to the parent that reports it (a line-oriented text form).
#ifndef MANIFOLD_BENCH_COMPARE_RESULT_H_
#define MANIFOLD_BENCH_COMPARE_RESULT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/compare_io.h"

namespace manifold::bench {

struct PhaseResult {
  std::string row;    // Workload row, e.g. "cfwrite/durable/seq/be".
  std::string unit;   // What ops counts: "keys/s", "gets/s", "scans/s", "commits/s".
  std::string error;  // Empty when the phase succeeded.
  uint64_t ops = 0;
  uint64_t commits = 0;  // Write calls (batches, transactions) in the timed region.
  double seconds = 0;
  std::vector<double> latencies_us;      // One per commit, where the phase commits.
  IoCounts io;                           // Interposer counts, delta over the timed region.
  std::optional<uint64_t> engine_syncs;  // The engine's own count, where it keeps one.
  // Bytes of keys and values the phase asked the engine to write (keys only for deletes): the
  // denominator of write amplification. 0 for phases that only read.
  uint64_t user_bytes = 0;
  // Bytes the phase sent towards the device (DeviceBytes() delta over the timed region, of the
  // source named by device_source: "write_bytes" or "wchar").
  uint64_t device_bytes = 0;
  std::string device_source;
  // Peak RSS over the phase alone (rss_per_phase: VmHWM after a reset at its start) or, when
  // the kernel refused the reset, of the process that ran the phase (its whole job).
  uint64_t peak_rss_kib = 0;
  bool rss_per_phase = false;
  // What the engine was configured to hold in memory at the end of the phase (Engine::Budget);
  // has_budget is false when the phase never had an open engine.
  bool has_budget = false;
  uint64_t budget_cache_bytes = 0;
  uint64_t budget_write_buffer_bytes = 0;
  std::string notes;  // Free text for the report.

  double OpsPerSecond() const { return seconds > 0 ? ops / seconds : 0; }
  // Device bytes per user byte; 0 when the phase wrote no user data.
  double WriteAmplification() const {
    return user_bytes > 0 ? static_cast<double>(device_bytes) / user_bytes : 0;
  }

  // Issue 12's bound on peak RSS: cache + write buffers + 64 MiB.
  uint64_t RssBoundBytes() const {
    return budget_cache_bytes + budget_write_buffer_bytes + kRssBoundSlackBytes;
  }
  static constexpr uint64_t kRssBoundSlackBytes = 64ull << 20;

  static PhaseResult Named(std::string row, std::string unit) {
    PhaseResult r;
    r.row = std::move(row);
    r.unit = std::move(unit);
    return r;
  }
  static PhaseResult Failed(std::string row, std::string error) {
    PhaseResult r;
    r.row = std::move(row);
    r.error = std::move(error);
    return r;
  }
};

// Encodes results as text (one field per line) and back.
std::string SerializeResults(const std::vector<PhaseResult>& results);
std::vector<PhaseResult> ParseResults(const std::string& text);

// Percentile (0..100) of unsorted values by nearest rank; 0 for no values.
double Percentile(std::vector<double> values, double pct);
double Median(std::vector<double> values);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_RESULT_H_
