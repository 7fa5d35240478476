// Runs the libFuzzer entry point of corruption_fuzzer.cc without libFuzzer (any compiler): over
// the input files named on the command line (a crash input, a corpus), or, with none, over 300
// inputs drawn from sim::Rng (seed 1, or --seed=S), so //... builds and exercises the target.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "sim/workload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

// A base selector and one to four overwrites, mostly short; half of the inputs only touch the
// data file (file selector 0).
std::string RandomInput(manifold::sim::Rng* rng) {
  std::string input(1, static_cast<char>(rng->Uniform(256)));
  const bool data_only = rng->OneIn(2);
  const int chunks = 1 + static_cast<int>(rng->Uniform(4));
  for (int c = 0; c < chunks; ++c) {
    const uint8_t length = static_cast<uint8_t>(rng->Uniform(16));
    input += static_cast<char>(data_only ? 0 : rng->Uniform(256));
    for (int i = 0; i < 3; ++i) input += static_cast<char>(rng->Uniform(256));
    input += static_cast<char>(length);
    for (int i = 0; i <= length; ++i) input += static_cast<char>(rng->Uniform(256));
  }
  return input;
}

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--seed=", 7) == 0) {
      seed = std::strtoull(argv[i] + 7, nullptr, 10);
    } else {
      files.push_back(argv[i]);
    }
  }
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 2;
    }
    Run(std::string(std::istreambuf_iterator<char>(in), {}));
  }
  if (files.empty()) {
    manifold::sim::Rng rng(seed);
    for (int i = 0; i < 300; ++i) Run(RandomInput(&rng));
  }
  std::printf("ran %zu inputs\n", files.empty() ? size_t{300} : files.size());
  return 0;
}
