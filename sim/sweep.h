// Runs many seeds (in parallel threads), shows progress, and summarizes: the engine behind the
// simulator's --seeds and the sharded Bazel sweep tests.
#ifndef MANIFOLD_SIM_SWEEP_H_
#define MANIFOLD_SIM_SWEEP_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim/runner.h"

namespace manifold::sim {

// The page size a seed's database uses when none is forced: both small (deep trees, many
// splits) and default-sized pages get exercised.
uint32_t PageBytesForSeed(uint64_t seed);

struct SweepOptions {
  uint64_t first_seed = 1;
  uint64_t count = 100;
  uint32_t jobs = 1;               // Threads running seeds.
  bool check_determinism = false;  // Run each seed twice and compare hashes.
  bool progress = true;            // A progress line on stderr.
  // Builds the configuration for a seed; false reports the seed as failed.
  std::function<bool(uint64_t seed, RunConfig* config)> make_config;
};

struct SweepFailure {
  uint64_t seed = 0;
  std::string failure;
  std::string replay;
};

struct SweepResult {
  uint64_t seeds_run = 0;
  RunStats stats;
  std::vector<SweepFailure> failures;  // Sorted by seed.
  double elapsed_s = 0;                // Wall time, for seeds per second (reporting only).
};

SweepResult Sweep(const SweepOptions& options);
std::string SweepSummary(const SweepOptions& options, const SweepResult& result);

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SWEEP_H_
