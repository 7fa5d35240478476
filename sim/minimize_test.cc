#include "sim/minimize.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "sim/sweep.h"

namespace manifold::sim {
namespace {

RunConfig SequentialConfig() {
  RunConfig config;
  std::string error;
  EXPECT_TRUE(ConfigureProfile("storage", &config, &error)) << error;
  config.seed = 7;
  config.workload.ops = 40;
  config.workload.page_bytes = PageBytesForSeed(config.seed);
  config.workload_kind = WorkloadKind::kSequential;
  return config;
}

RunResult Failed(FailureKind kind, const std::string& failure) {
  RunResult result;
  result.passed = false;
  result.kind = kind;
  result.failure = failure;
  return result;
}

// Stands in for a recovery bug: operations 10 and 20 together leave a half-applied batch after a
// recovery; operation 10 alone only a wrong sequence number. Both reports begin "recovery:", which
// the minimizer once took for the same failure, shrinking the first into the second.
RunResult FakeRun(const RunConfig& config) {
  const bool has10 = config.skip_ops.count(10) == 0;
  const bool has20 = config.skip_ops.count(20) == 0;
  if (has10 && has20) {
    return Failed(FailureKind::kRecoveredState,
                  "recovery: illegal recovered state: cf 'default' key \"k\": expected \"1\", got "
                  "absent (half of op #20's batch)");
  }
  if (has10) {
    return Failed(FailureKind::kRecoveredSequence,
                  "recovery: recovered sequence number: expected 3, got 4");
  }
  return RunResult();
}

TEST(MinimizeTest, KeepsTheFailureKindOfARecoveryFailure) {
  const RunConfig config = SequentialConfig();
  const RunResult failure = FakeRun(config);
  ASSERT_FALSE(failure.passed);
  const MinimizeResult min = Minimize(
      config, failure, 500, [](const std::string&) {}, FakeRun);
  EXPECT_EQ(min.result.kind, FailureKind::kRecoveredState) << min.result.failure;
  EXPECT_EQ(min.result.Signature(), "recovered-state");
  EXPECT_EQ(min.ops_kept, 2u);
  EXPECT_EQ(min.config.skip_ops.count(10), 0u);
  EXPECT_EQ(min.config.skip_ops.count(20), 0u);
  EXPECT_EQ(min.config.skip_ops.size(), 38u);
}

TEST(MinimizeTest, ShrinksToTheSmallestRunOfTheSameKind) {
  // Starting from the sequence-number failure, the minimizer may drop operation 20 (the failure
  // stays of its kind) and ends with operation 10 alone.
  RunConfig config = SequentialConfig();
  config.skip_ops = {20};
  const RunResult failure = FakeRun(config);
  ASSERT_EQ(failure.kind, FailureKind::kRecoveredSequence);
  const MinimizeResult min = Minimize(
      config, failure, 500, [](const std::string&) {}, FakeRun);
  EXPECT_EQ(min.result.kind, FailureKind::kRecoveredSequence);
  EXPECT_EQ(min.ops_kept, 1u);
  EXPECT_EQ(min.config.skip_ops.count(10), 0u);
}

// Operations 10 and 20 together fail; a candidate with 10 but without 20 trips an "assertion"
// (aborts the process), as a shrunk workload can reach an engine state the full run never did.
RunResult AbortingRun(const RunConfig& config) {
  const bool has10 = config.skip_ops.count(10) == 0;
  const bool has20 = config.skip_ops.count(20) == 0;
  if (has10 && !has20) std::abort();
  return has10 && has20 ? Failed(FailureKind::kRecoveredState, "recovery: lost op #20")
                        : RunResult();
}

TEST(MinimizeTest, ACandidateThatAbortsDoesNotEndTheSearch) {
  const RunConfig config = SequentialConfig();
  const RunResult failure = AbortingRun(config);
  ASSERT_FALSE(failure.passed);
  const MinimizeResult min = Minimize(
      config, failure, 500, [](const std::string&) {}, AbortingRun);
  EXPECT_GT(min.candidates_died, 0u);
  EXPECT_EQ(min.result.kind, FailureKind::kRecoveredState);
  EXPECT_EQ(min.ops_kept, 2u);
  EXPECT_EQ(min.config.skip_ops.count(10), 0u);
  EXPECT_EQ(min.config.skip_ops.count(20), 0u);
}

TEST(MinimizeTest, SignatureNamesKindAndDetail) {
  RunResult history = Failed(FailureKind::kHistory, "history of epoch 2: history: gap ...\n  ...");
  history.kind_detail = "history: gap in the sequence order";
  EXPECT_EQ(history.Signature(), "history: history: gap in the sequence order");
  EXPECT_EQ(RunResult().Signature(), "");
  EXPECT_STREQ(FailureKindName(FailureKind::kRecoveredSequence), "recovered-sequence");
}

}  // namespace
}  // namespace manifold::sim
