// The machine a comparison ran on, for the report: CPU, cores, memory, kernel, the file system of
// the data directory, compiler and build mode, load average.
#ifndef MANIFOLD_BENCH_COMPARE_MACHINE_H_
#define MANIFOLD_BENCH_COMPARE_MACHINE_H_

#include <string>
#include <utility>
#include <vector>

namespace manifold::bench {

// (what, value) pairs, e.g. ("CPU", "AMD EPYC 7B13").
std::vector<std::pair<std::string, std::string>> MachineInfo(const std::string& data_dir);

// True when compiled with NDEBUG (the -c opt configuration): only then are numbers worth quoting.
bool OptimizedBuild();

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_MACHINE_H_
