// A seed sweep as a Bazel test, split across shards: shard i of n runs the i-th contiguous slice
// of the seed range (TEST_TOTAL_SHARDS / TEST_SHARD_INDEX), and touches TEST_SHARD_STATUS_FILE to
// tell Bazel it honours sharding. Flags: --seeds=N --first-seed=F --faults=PROFILE --ops=N
// --workload=concurrent|sequential.
#include "sim/sweep.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr ? fallback : std::strtoull(value, nullptr, 10);
}

bool Flag(const std::string& arg, const std::string& name, std::string* value) {
  const std::string prefix = "--" + name + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seeds = 100, first_seed = 1;
  uint32_t ops = 300;
  std::string profile = "storage";
  std::string workload = "concurrent";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (Flag(arg, "seeds", &value)) {
      seeds = std::stoull(value);
    } else if (Flag(arg, "first-seed", &value)) {
      first_seed = std::stoull(value);
    } else if (Flag(arg, "ops", &value)) {
      ops = static_cast<uint32_t>(std::stoul(value));
    } else if (Flag(arg, "faults", &value)) {
      profile = value;
    } else if (Flag(arg, "workload", &value)) {
      workload = value;
    } else {
      std::fprintf(stderr, "sweep_test: unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  if (const char* status_file = std::getenv("TEST_SHARD_STATUS_FILE")) {
    if (FILE* f = std::fopen(status_file, "w")) std::fclose(f);
  }
  const uint64_t shards = EnvNumber("TEST_TOTAL_SHARDS", 1);
  const uint64_t shard = EnvNumber("TEST_SHARD_INDEX", 0);
  manifold::sim::SweepOptions sweep;
  sweep.first_seed = first_seed + seeds * shard / shards;
  sweep.count = first_seed + seeds * (shard + 1) / shards - sweep.first_seed;
  sweep.progress = false;
  sweep.make_config = [&](uint64_t seed, manifold::sim::RunConfig* config) {
    std::string error;
    if (!manifold::sim::ConfigureProfile(profile, config, &error)) return false;
    config->seed = seed;
    if (!manifold::sim::ParseWorkloadKind(workload, &config->workload_kind)) return false;
    config->workload.ops = ops;
    config->workload.page_bytes = manifold::sim::PageBytesForSeed(seed);
    return true;
  };
  manifold::sim::SweepResult result = manifold::sim::Sweep(sweep);
  std::printf("shard %llu of %llu, profile %s\n%s", static_cast<unsigned long long>(shard + 1),
              static_cast<unsigned long long>(shards), profile.c_str(),
              manifold::sim::SweepSummary(sweep, result).c_str());
  std::printf("%llu passed, %zu failed\n",
              static_cast<unsigned long long>(result.seeds_run - result.failures.size()),
              result.failures.size());
  return result.failures.empty() ? 0 : 1;
}
