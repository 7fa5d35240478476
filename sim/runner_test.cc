#include "sim/runner.h"

#include <gtest/gtest.h>

#include <optional>

#include "sim/sweep.h"

namespace manifold::sim {
namespace {

RunConfig Config(uint64_t seed, const std::string& profile, uint32_t ops = 200) {
  RunConfig config;
  std::string error;
  EXPECT_TRUE(ConfigureProfile(profile, &config, &error)) << error;
  config.seed = seed;
  config.workload.ops = ops;
  config.workload.page_bytes = PageBytesForSeed(seed);
  // These tests cover the sequential workload; concurrent_runner_test the concurrent one.
  config.workload_kind = WorkloadKind::kSequential;
  return config;
}

TEST(RunnerTest, SameSeedSameTraceAndState) {
  for (uint64_t seed : {1, 2, 3}) {
    RunConfig config = Config(seed, "chaos");
    RunResult a = RunSeed(config);
    RunResult b = RunSeed(config);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << seed;
    EXPECT_EQ(a.state_hash, b.state_hash) << seed;
    EXPECT_EQ(a.passed, b.passed);
    EXPECT_NE(a.state_hash, 0u);
  }
}

TEST(RunnerTest, DifferentSeedsDiffer) {
  EXPECT_NE(RunSeed(Config(5, "storage")).trace_hash, RunSeed(Config(6, "storage")).trace_hash);
}

TEST(RunnerTest, EveryProfilePassesOnTheEngine) {
  for (const std::string profile : {"none", "crash", "storage", "chaos"}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      RunResult result = RunSeed(Config(seed, profile));
      EXPECT_TRUE(result.passed) << profile << " seed " << seed << ": " << result.failure;
    }
  }
}

TEST(RunnerTest, CrashesHappenAndAreChecked) {
  RunStats total;
  for (uint64_t seed = 1; seed <= 10; ++seed) total.Add(RunSeed(Config(seed, "storage")).stats);
  EXPECT_GT(total.crashes, 10u);
  EXPECT_GT(total.recoveries_checked, total.crashes / 2);
  EXPECT_GT(total.commits_acknowledged, 100u);
  EXPECT_GT(total.reads_checked, 100u);
  EXPECT_GT(total.fs_sectors_lost + total.fs_sectors_torn, 0u);
}

TEST(RunnerTest, TraceNamesOperationsAndReplayCommandIsComplete) {
  RunConfig config = Config(11, "storage", 50);
  config.trace = true;
  config.skip_ops = {3, 4};
  RunResult result = RunSeed(config);
  ASSERT_FALSE(result.trace.empty());
  EXPECT_NE(result.trace.front().find("seed 11"), std::string::npos);
  std::string replay = ReplayCommand(config);
  EXPECT_NE(replay.find("--seed 11"), std::string::npos);
  EXPECT_NE(replay.find("--skip-ops 3,4"), std::string::npos);
  EXPECT_NE(replay.find("--faults storage"), std::string::npos);
}

// A planted bug's failure says what was expected beside what the engine did, has a kind, and
// names operations as the trace does ("op #N").
TEST(RunnerTest, FailureReportSaysExpectedAndGotInTheTracesNumbering) {
  ASSERT_TRUE(PlantedBugsCompiledIn())
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
  std::optional<RunResult> failed;
  for (uint64_t seed = 1; seed <= 20 && !failed; ++seed) {
    RunConfig config = Config(seed, "storage", 300);
    config.planted_bug = "split_batch";
    config.trace = true;
    RunResult result = RunSeed(config);
    if (!result.passed) failed = std::move(result);
  }
  ASSERT_TRUE(failed.has_value()) << "split_batch survived 20 sequential seeds";
  const RunResult& r = *failed;
  EXPECT_NE(r.kind, FailureKind::kNone);
  EXPECT_EQ(r.Signature(), FailureKindName(r.kind));
  EXPECT_NE(r.failure.find("expected "), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find(", got "), std::string::npos) << r.failure;
  EXPECT_EQ(r.failure.find(" 0 differences"), std::string::npos) << r.failure;
  ASSERT_GE(r.failed_at_op, 0) << r.failure;
  const std::string op = "op #" + std::to_string(r.failed_at_op) + " ";
  bool traced = false;
  for (const std::string& line : r.trace) traced = traced || line.rfind(op, 0) == 0;
  EXPECT_TRUE(traced) << "no trace line starts with '" << op << "'";
}

TEST(RunnerTest, UnknownProfileIsRefused) {
  RunConfig config;
  std::string error;
  EXPECT_FALSE(ConfigureProfile("hurricane", &config, &error));
  EXPECT_NE(error.find("storage"), std::string::npos) << error;
}

}  // namespace
}  // namespace manifold::sim
