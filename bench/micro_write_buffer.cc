// Micro-benchmarks of the write buffer (engine/db/write_buffer.h) against std::map holding the
// same entries, timed in the same run: inserts of random 16-byte keys with 100-byte values, and
// point lookups of them. The counters give each side's rate and their ratio (write buffer / map),
// a comparison, not a target. Rates are per second of the benchmark thread's CPU time.
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench/micro_common.h"
#include "engine/db/write_buffer.h"

namespace manifold::bench {
namespace {

constexpr size_t kWbKeyBytes = 16;
constexpr size_t kWbValueBytes = 100;

// The map orders as the write buffer does: key ascending, then sequence number descending (the
// second member holds ~sequence).
using Map = std::map<std::pair<std::string, uint64_t>, std::string>;

std::vector<std::string> RandomKeys(size_t n, uint64_t seed) {
  Random rng(seed);
  std::vector<std::string> keys(n, std::string(kWbKeyBytes, '\0'));
  for (std::string& key : keys) {
    for (size_t b = 0; b < kWbKeyBytes; b += 8) {
      const uint64_t bits = rng.Next();
      for (size_t i = 0; i < 8; ++i) key[b + i] = static_cast<char>(bits >> (8 * i));
    }
  }
  return keys;
}

std::unique_ptr<WriteBuffer> NewBuffer(benchmark::State& state) {
  WriteBufferOptions options;
  options.bytes_max = size_t{1} << 32;
  StatusOr<std::unique_ptr<WriteBuffer>> buffer = WriteBuffer::Create(options);
  if (!buffer.ok()) {
    Fail(state, "WriteBuffer::Create", buffer.status());
    return nullptr;
  }
  return std::move(buffer).value();
}

// The calling thread's CPU time: the machine is shared, and wall time would charge either side
// for the other processes that ran meanwhile.
double CpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

void SetRates(benchmark::State& state, double operations, double buffer_s, double map_s,
              const char* what) {
  const double buffer_rate = buffer_s > 0 ? operations / buffer_s : 0;
  const double map_rate = map_s > 0 ? operations / map_s : 0;
  state.counters[std::string("wb_") + what + "_per_s"] = buffer_rate;
  state.counters[std::string("map_") + what + "_per_s"] = map_rate;
  state.counters["wb_over_map"] = map_rate > 0 ? buffer_rate / map_rate : 0;
}

// Each iteration fills a new write buffer and a new map with the same N entries. The one filled
// second finds the keys already in the CPU caches, so the order alternates between iterations.
void WriteBuffer_Insert(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> keys = RandomKeys(n, 11);
  const std::string value(kWbValueBytes, 'v');
  double buffer_s = 0;
  double map_s = 0;
  size_t memory_bytes = 0;
  uint64_t iteration = 0;
  for (auto _ : state) {
    std::unique_ptr<WriteBuffer> buffer = NewBuffer(state);
    if (buffer == nullptr) return;
    Map map;
    // CPU seconds the fill took; the status of the first failed Add.
    auto fill_buffer = [&](Status* status) {
      const double start = CpuSeconds();
      for (size_t i = 0; i < n && status->ok(); ++i) {
        *status = buffer->Add(i + 1, EntryType::kPut, keys[i], value);
      }
      return CpuSeconds() - start;
    };
    auto fill_map = [&] {
      const double start = CpuSeconds();
      for (size_t i = 0; i < n; ++i) {
        map.emplace(std::make_pair(keys[i], ~uint64_t{i + 1}), value);
      }
      return CpuSeconds() - start;
    };
    Status status;
    if (iteration++ % 2 == 0) {
      buffer_s += fill_buffer(&status);
      map_s += fill_map();
    } else {
      map_s += fill_map();
      buffer_s += fill_buffer(&status);
    }
    if (!status.ok()) return Fail(state, "Add", status);
    memory_bytes = buffer->MemoryBytes();
    state.PauseTiming();  // Freeing both is not part of the comparison.
    buffer.reset();
    map.clear();
    state.ResumeTiming();
  }
  const double inserts = static_cast<double>(n) * static_cast<double>(state.iterations());
  SetRates(state, inserts, buffer_s, map_s, "inserts");
  state.counters["wb_bytes_per_entry"] = static_cast<double>(memory_bytes) / static_cast<double>(n);
  state.SetItemsProcessed(static_cast<int64_t>(2 * inserts));
}
BENCHMARK(WriteBuffer_Insert)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

// Both hold the same N entries; each iteration looks up 1,000 of them (random order) in each.
void WriteBuffer_Get(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::vector<std::string> keys = RandomKeys(n, 12);
  const std::string value(kWbValueBytes, 'v');
  std::unique_ptr<WriteBuffer> buffer = NewBuffer(state);
  if (buffer == nullptr) return;
  Map map;
  for (size_t i = 0; i < n; ++i) {
    Status status = buffer->Add(i + 1, EntryType::kPut, keys[i], value);
    if (!status.ok()) return Fail(state, "Add", status);
    map.emplace(std::make_pair(keys[i], ~uint64_t{i + 1}), value);
  }
  constexpr size_t kLookups = 1000;
  Random rng(13);
  std::vector<const std::string*> probes(kLookups);
  double buffer_s = 0;
  double map_s = 0;
  uint64_t found = 0;
  // As in WriteBuffer_Insert, the side that runs second finds the probed keys cached, so the
  // order alternates between iterations.
  auto probe_buffer = [&] {
    const double start = CpuSeconds();
    for (const std::string* key : probes) {
      const WriteBuffer::Lookup lookup = buffer->Get(*key, WriteBuffer::kReadLatest);
      found += lookup.found == WriteBuffer::Found::kValue ? 1 : 0;
      benchmark::DoNotOptimize(lookup.value.data());
    }
    return CpuSeconds() - start;
  };
  auto probe_map = [&] {
    const double start = CpuSeconds();
    for (const std::string* key : probes) {
      // The newest entry of the key: the first at or after (key, ~UINT64_MAX).
      auto it = map.lower_bound(std::make_pair(*key, uint64_t{0}));
      found += it != map.end() && it->first.first == *key ? 1 : 0;
      benchmark::DoNotOptimize(it);
    }
    return CpuSeconds() - start;
  };
  uint64_t iteration = 0;
  for (auto _ : state) {
    for (const std::string*& probe : probes) probe = &keys[rng.Uniform(n)];
    if (iteration++ % 2 == 0) {
      buffer_s += probe_buffer();
      map_s += probe_map();
    } else {
      map_s += probe_map();
      buffer_s += probe_buffer();
    }
  }
  const double lookups = static_cast<double>(kLookups) * static_cast<double>(state.iterations());
  if (found != 2 * static_cast<uint64_t>(lookups)) return Fail(state, "a lookup missed its key");
  SetRates(state, lookups, buffer_s, map_s, "gets");
  state.SetItemsProcessed(static_cast<int64_t>(2 * lookups));
}
BENCHMARK(WriteBuffer_Get)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

}  // namespace
}  // namespace manifold::bench
