// Shared helpers of the micro-benchmarks (//bench:micro): key encoding, the workload constants,
// a cheap deterministic random generator, and failure reporting that reaches the exit code.
#ifndef MANIFOLD_BENCH_MICRO_COMMON_H_
#define MANIFOLD_BENCH_MICRO_COMMON_H_

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/util/random.h"
#include "manifold/status.h"

namespace manifold::bench {

// The workload of the comparison-benchmark issue: 8-byte big-endian integer keys, 150-byte values
// of zero bytes, 4 KiB pages, writes in batches of 1000 keys.
inline constexpr size_t kKeyBytes = 8;
inline constexpr size_t kValueBytes = 150;
inline constexpr uint64_t kBatchKeys = 1000;
inline constexpr uint32_t kPageBytes = 4096;
inline constexpr uint64_t kDefaultKeys = 100'000;

// Writes `i` as an 8-byte big-endian key into `out`, so byte order equals numeric order.
inline std::string_view EncodeKey(uint64_t i, char (&out)[kKeyBytes]) {
  for (int b = kKeyBytes - 1; b >= 0; --b) {
    out[b] = static_cast<char>(i & 0xff);
    i >>= 8;
  }
  return std::string_view(out, kKeyBytes);
}

// splitmix64 (engine/util/random.h): a few cycles per number, so choosing random keys does not
// weigh on the results.
using Random = SplitMix64;

// Set when any benchmark fails; main() then exits non-zero (SkipWithError alone does not).
inline std::atomic<bool> g_failed{false};

inline void Fail(benchmark::State& state, const std::string& what) {
  g_failed = true;
  state.SkipWithError(what.c_str());
}

inline void Fail(benchmark::State& state, const std::string& what, const Status& status) {
  Fail(state, what + ": " + status.ToString());
}

// Registers the database benchmarks (micro_db.cc) for a database of `keys` keys.
void RegisterDatabaseBenchmarks(uint64_t keys);
// Closes the databases shared between benchmark runs and removes their temporary directories.
void TearDownSharedDatabases();

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_MICRO_COMMON_H_
