// Benchmark half of the toolchain self-test: `bazel run //third_party/selftest:toolchain_bench`.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>

static void BM_FmtFormat(benchmark::State& state) {
  for (auto _ : state) {
    std::string s = fmt::format("{}:{}", state.iterations(), 42);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_FmtFormat);
