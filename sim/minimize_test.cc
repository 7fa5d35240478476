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

// Whether the candidate runs operation `index`: generated (the minimizer also shortens the
// workload) and not skipped.
bool Has(const RunConfig& config, uint32_t index) {
  return index < config.workload.ops && config.skip_ops.count(index) == 0;
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
  const bool has10 = Has(config, 10);
  const bool has20 = Has(config, 20);
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
  // The workload was cut to its first 21 operations (the failure needs op 20), then all of them
  // but 10 and 20 skipped.
  EXPECT_EQ(min.config.workload.ops, 21u);
  EXPECT_EQ(min.config.skip_ops.size(), 19u);
}

// Two operations far into a 300-operation workload, three apart: the failure report names the
// later one. The workload is cut just past it in one run, and delta debugging finds the pair
// well inside the --minimize-runs budgets the mutant runner uses.
RunResult PairRun(const RunConfig& config) {
  if (!Has(config, 150) || !Has(config, 153)) return RunResult();
  RunResult result = Failed(FailureKind::kReadMismatch, "get: expected \"1\", got absent");
  result.failed_at_op = 153;
  return result;
}

TEST(MinimizeTest, CutsTheWorkloadThenFindsTheFewOperationsThatMatter) {
  RunConfig config = SequentialConfig();
  config.workload.ops = 300;
  const RunResult failure = PairRun(config);
  ASSERT_FALSE(failure.passed);
  const MinimizeResult min = Minimize(
      config, failure, 300, [](const std::string&) {}, PairRun);
  EXPECT_EQ(min.config.workload.ops, 154u);
  EXPECT_EQ(min.ops_kept, 2u);
  EXPECT_EQ(min.config.skip_ops.count(150), 0u);
  EXPECT_EQ(min.config.skip_ops.count(153), 0u);
  EXPECT_LT(min.runs, 120u) << "delta debugging took " << min.runs << " runs";
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
  const bool has10 = Has(config, 10);
  const bool has20 = Has(config, 20);
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
