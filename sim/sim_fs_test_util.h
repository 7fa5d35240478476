// Helpers of the SimFileSystem tests (sim_fs_test, sim_fs_power_cut_test,
// sim_fs_injected_fault_test): opening and reading files, data patterns, crash-only fault options
// and a fixture that makes a file system with /db in place.
#ifndef MANIFOLD_SIM_SIM_FS_TEST_UTIL_H_
#define MANIFOLD_SIM_SIM_FS_TEST_UTIL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "faults/fault_model.h"
#include "gtest/gtest.h"
#include "manifold/env.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"

namespace manifold::sim {

using faults::FaultOptions;

inline constexpr OpenFileOptions kCreate = {.create = true};

std::unique_ptr<File> MustOpen(FileSystem* fs, const std::string& path,
                               OpenFileOptions options = kCreate);
std::string Contents(const File& file);
// The content of `path` after a restart, or nullopt if it does not exist.
std::optional<std::string> ContentsOf(FileSystem* fs, const std::string& path);
std::string Pattern(char seed, size_t n);
// Only power cuts, with every unsynced sector at risk.
FaultOptions CrashOnly(double lost, double torn, bool atomic, double dir_lost);

class SimFsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SimFileSystem> MakeFs(uint64_t seed, const FaultOptions& options);

  SimClock clock_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SIM_FS_TEST_UTIL_H_
