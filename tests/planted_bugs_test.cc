// The simulator must catch every bug class that cost the earlier engine acknowledged data. Each
// test switches on one planted bug (engine/util/fault_point.h) and runs the simulator's default
// profile over seeds until a run fails, through the public API only. A bug that survives
// kSeedsMax seeds fails the test: the simulator would have let it ship.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/util/fault_point.h"
#include "faults/fault_model.h"
#include "sim/minimize.h"
#include "sim/runner.h"
#include "sim/sweep.h"

namespace manifold {
namespace {

constexpr uint64_t kSeedsMax = 200;

struct Caught {
  uint64_t seed = 0;
  sim::RunConfig config;
  sim::RunResult result;
};

sim::RunConfig DefaultConfig(uint64_t seed, const std::string& bug) {
  sim::RunConfig config;
  std::string error;
  EXPECT_TRUE(sim::ConfigureProfile(std::string(faults::kDefaultFaultProfile), &config, &error));
  config.seed = seed;
  config.workload.page_bytes = sim::PageBytesForSeed(seed);
  config.planted_bug = bug;
  // These bugs' budgets were measured on the sequential workload; the concurrent workload's
  // planted concurrency bugs have their own tests.
  config.workload_kind = sim::WorkloadKind::kSequential;
  return config;
}

std::optional<Caught> Hunt(const std::string& bug) {
  for (uint64_t seed = 1; seed <= kSeedsMax; ++seed) {
    sim::RunConfig config = DefaultConfig(seed, bug);
    sim::RunResult result = sim::RunSeed(config);
    if (!result.passed) return Caught{seed, config, result};
  }
  return std::nullopt;
}

class PlantedBugTest : public ::testing::TestWithParam<std::string> {};

// The concurrency bugs (kPlantedConcurrencyBugsFirst on) need threads the sequential sweep does
// not run; sim/sched/planted_concurrency_test.cc catches them until the concurrent sweep does.
std::vector<std::string> SequentialBugNames() {
  std::vector<std::string> names = sim::PlantedBugNames();
  names.resize(kPlantedConcurrencyBugsFirst);
  return names;
}

TEST_P(PlantedBugTest, SimulatorCatchesItAndReplaysIt) {
  if (!kFaultPointsCompiledIn) GTEST_SKIP() << "fault points are not compiled into this build";
  std::optional<Caught> caught = Hunt(GetParam());
  ASSERT_TRUE(caught.has_value()) << GetParam() << " survived " << kSeedsMax << " seeds";
  // Replaying the seed gives the same failure, bit for bit.
  sim::RunResult again = sim::RunSeed(caught->config);
  EXPECT_FALSE(again.passed);
  EXPECT_EQ(again.failure, caught->result.failure);
  EXPECT_EQ(again.trace_hash, caught->result.trace_hash);
  // And the same seed passes with the bug switched off.
  sim::RunConfig fixed = caught->config;
  fixed.planted_bug.clear();
  sim::RunResult clean = sim::RunSeed(fixed);
  EXPECT_TRUE(clean.passed) << clean.failure;
  std::printf("%s: caught at seed %llu: %s\n", GetParam().c_str(),
              static_cast<unsigned long long>(caught->seed),
              caught->result.failure.substr(0, 160).c_str());
}

INSTANTIATE_TEST_SUITE_P(AllBugClasses, PlantedBugTest, ::testing::ValuesIn(SequentialBugNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(MinimizeTest, ShrinksAPlantedBugToAFewOperations) {
  if (!kFaultPointsCompiledIn) GTEST_SKIP() << "fault points are not compiled into this build";
  std::optional<Caught> caught = Hunt("split_batch");
  ASSERT_TRUE(caught.has_value());
  sim::MinimizeResult min =
      sim::Minimize(caught->config, caught->result, 400, [](const std::string&) {});
  EXPECT_FALSE(min.result.passed);
  EXPECT_EQ(min.result.Signature(), caught->result.Signature());
  EXPECT_LT(min.ops_kept, caught->config.workload.ops / 4);
  // The minimized configuration replays to the same failure.
  sim::RunResult replay = sim::RunSeed(min.config);
  EXPECT_FALSE(replay.passed);
  EXPECT_EQ(replay.failure, min.result.failure);
}

}  // namespace
}  // namespace manifold
