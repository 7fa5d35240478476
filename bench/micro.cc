// Manifold micro-benchmarks (google-benchmark). See bench/README.md.
//
//   ./bazelw run -c opt //bench:micro                                  # everything
//   ./bazelw run -c opt //bench:micro -- --benchmark_filter='Tree_'     # a subset
//   ./bazelw run -c opt //bench:micro -- --keys=1000000                 # a bigger database
//
// Besides google-benchmark's own --benchmark_* flags it takes --keys=N (default 100000, at least
// 1000): the number of keys the database benchmarks load. The exit code is non-zero when any
// benchmark failed (an engine call returned an error or a result was wrong).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/micro_common.h"
#include "engine/util/crc32c.h"

namespace {

constexpr char kKeysFlag[] = "--keys=";

void PrintUsage() {
  std::printf(
      "micro: Manifold micro-benchmarks\n"
      "  --keys=N   keys in the database benchmarks (default %llu, at least %llu)\n"
      "google-benchmark flags follow.\n\n",
      static_cast<unsigned long long>(manifold::bench::kDefaultKeys),
      static_cast<unsigned long long>(manifold::bench::kBatchKeys));
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t keys = manifold::bench::kDefaultKeys;
  // Take our own flags out before google-benchmark sees (and rejects) them.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (i > 0 && std::strncmp(argv[i], kKeysFlag, std::strlen(kKeysFlag)) == 0) {
      char* end = nullptr;
      const char* digits = argv[i] + std::strlen(kKeysFlag);
      keys = std::strtoull(digits, &end, 10);
      if (*digits == '\0' || *end != '\0' || keys < manifold::bench::kBatchKeys) {
        std::fprintf(stderr, "micro: bad %s (a number >= %llu)\n", argv[i],
                     static_cast<unsigned long long>(manifold::bench::kBatchKeys));
        return 2;
      }
      continue;
    }
    if (i > 0 && std::strcmp(argv[i], "--help") == 0) PrintUsage();
    args.push_back(argv[i]);
  }
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);

  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 2;

  manifold::bench::RegisterDatabaseBenchmarks(keys);
  benchmark::AddCustomContext("manifold_keys", std::to_string(keys));
  benchmark::AddCustomContext("manifold_crc32c",
                              manifold::crc32c::IsHardwareAccelerated() ? "sse4.2" : "portable");
#ifdef NDEBUG
  benchmark::AddCustomContext("manifold_build", "NDEBUG (optimized)");
#else
  benchmark::AddCustomContext("manifold_build", "assertions on: not for quoting numbers");
#endif

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  manifold::bench::TearDownSharedDatabases();
  if (manifold::bench::g_failed) {
    std::fprintf(stderr, "micro: at least one benchmark failed\n");
    return 1;
  }
  return 0;
}
