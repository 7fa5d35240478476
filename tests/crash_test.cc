// Crash at every sync point: a fixed workload of ~30 commits runs over a CrashFileSystem that
// cuts the power at its N-th sync, for every N from 0 to the number of syncs of a clean run
// (opening the database, every commit's log sync, the segment and checkpoint syncs, and the final
// checkpoint of a clean close). After the power loss (MemFileSystem::DropUnsyncedData) the
// database is reopened and must hold exactly the state after some prefix of the commits: every
// durable commit that returned OK and everything before it, plus at most the one that was in
// flight, never part of a commit. Commits made with WriteOptions::sync = false may be lost, but
// only as a suffix after the last durable one.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"
#include "tests/crash_fs.h"
#include "tests/crash_workload.h"

namespace manifold::crash_test {
namespace {

class CrashAtEverySync : public ::testing::TestWithParam<std::tuple<CutMode, bool, Checkpoints>> {
 protected:
  CutMode mode() const { return std::get<0>(GetParam()); }
  bool hold_snapshot() const { return std::get<1>(GetParam()); }
  Checkpoints checkpoints() const { return std::get<2>(GetParam()); }
};

TEST_P(CrashAtEverySync, RecoversAPrefixWithEveryAcknowledgedCommit) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  ASSERT_GE(steps.size(), 28u);
  const SyncMap map = CleanRun(steps, states, checkpoints(), hold_snapshot());
  ASSERT_FALSE(::testing::Test::HasFailure());
  const uint64_t total = map.total;
  // At least one sync per commit (its log record), plus creating the database.
  ASSERT_GT(total, steps.size());
  std::map<size_t, int> recovered_prefixes;
  for (uint64_t n = 0; n <= total; ++n) {
    auto inner = NewMemFileSystem();
    CrashFileSystem fs(inner.get());
    fs.CutAtSync(n, mode());
    const RunResult run = RunWorkload(&fs, steps, checkpoints(), hold_snapshot());
    std::ostringstream context;
    context << CutModeName(mode()) << (hold_snapshot() ? " (snapshot held)" : "") << ", "
            << CheckpointsName(checkpoints()) << ", at sync " << n << " of " << total << " (phase "
            << map.PhaseOf(n) << "): opened " << run.opened << ", acked " << run.acked << " of "
            << steps.size();
    if (run.in_flight) {
      context << ", in flight: step " << *run.in_flight << " " << steps[*run.in_flight].Describe()
              << ": " << run.failures.front();
    }
    {
      SCOPED_TRACE(context.str());
      CheckRunAgainstCut(steps, map, n, mode(), fs, run);
    }
    inner->DropUnsyncedData();
    CheckRecovery(inner.get(), steps, states, run, fs.cut(), checkpoints(), context.str());
    ++recovered_prefixes[run.acked];
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The cut points covered the whole workload.
  EXPECT_GT(recovered_prefixes.size(), steps.size() / 2);
  ::testing::Test::RecordProperty("clean_run_syncs", static_cast<int>(total));
  ::testing::Test::RecordProperty("distinct_recovered_prefixes",
                                  static_cast<int>(recovered_prefixes.size()));
}

INSTANTIATE_TEST_SUITE_P(
    AllModes, CrashAtEverySync,
    ::testing::Combine(::testing::Values(CutMode::kFailSync, CutMode::kSyncThenFail,
                                         CutMode::kSyncThenCut),
                       ::testing::Bool(),
                       ::testing::Values(Checkpoints::kAtClose, Checkpoints::kFrequent)),
    [](const ::testing::TestParamInfo<std::tuple<CutMode, bool, Checkpoints>>& info) {
      return std::string(CutModeName(std::get<0>(info.param))) +
             (std::get<1>(info.param) ? "_SnapshotHeld_" : "_") +
             CheckpointsName(std::get<2>(info.param));
    });

// Like kFailSync, but the disk had written back a random part (512-byte sectors) of the unsynced
// writes before the power went: torn pages, torn header slots and torn log records must be
// detected and ignored.
TEST(CrashTest, TornUnsyncedWritesAtEverySync) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  uint64_t persisted_total = 0;
  uint64_t total_all = 0;
  for (Checkpoints checkpoints : {Checkpoints::kAtClose, Checkpoints::kFrequent}) {
    const uint64_t total = CleanRun(steps, states, checkpoints).total;
    total_all += total;
    for (uint64_t n = 0; n < total; ++n) {
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        auto inner = NewMemFileSystem();
        CrashFileSystem fs(inner.get());
        fs.CutAtSync(n, CutMode::kFailSync);
        const RunResult run = RunWorkload(&fs, steps, checkpoints);
        inner->DropUnsyncedData();
        const uint64_t persisted = fs.PersistSomeUnsyncedWrites(seed * 1000003 + n);
        std::ostringstream context;
        context << "torn writes, " << CheckpointsName(checkpoints) << ", at sync " << n << ", seed "
                << seed << " (" << persisted << " sectors persisted): acked " << run.acked;
        CheckRecovery(inner.get(), steps, states, run, /*power_cut=*/true, checkpoints,
                      context.str());
        if (::testing::Test::HasFatalFailure()) return;
        persisted_total += persisted;
      }
    }
  }
  // The variant did make unsynced data durable.
  EXPECT_GT(persisted_total, total_all);
  ::testing::Test::RecordProperty("sectors_persisted", static_cast<int>(persisted_total));
}

// The same at every sync of workloads with other random tails (different seeds and lengths),
// rotating through the cut modes; FailSync runs also persist part of the unsynced writes. The
// seed's bits choose whether a snapshot is held, whether checkpoints are frequent, and whether
// most commits skip the sync (then recovery may drop a suffix of them, but nothing before a
// durable commit).
TEST(CrashTest, RandomWorkloadsAtEverySync) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const bool hold_snapshot = (seed & 1) != 0;
    const Checkpoints checkpoints =
        (seed & 2) != 0 ? Checkpoints::kFrequent : Checkpoints::kAtClose;
    const bool no_sync = (seed & 4) != 0;
    const std::vector<Step> steps = MakeWorkload(seed, 20 + seed * 3, no_sync);
    const std::vector<DbMap> states = ModelStates(steps);
    const SyncMap map = CleanRun(steps, states, checkpoints, hold_snapshot);
    ASSERT_FALSE(::testing::Test::HasFailure());
    for (uint64_t n = 0; n <= map.total; ++n) {
      const CutMode mode = static_cast<CutMode>((n + seed) % 3);
      auto inner = NewMemFileSystem();
      CrashFileSystem fs(inner.get());
      fs.CutAtSync(n, mode);
      const RunResult run = RunWorkload(&fs, steps, checkpoints, hold_snapshot);
      std::ostringstream context;
      context << "workload seed " << seed << (no_sync ? " (no-sync)" : "") << ", "
              << CheckpointsName(checkpoints) << ", " << CutModeName(mode) << " at sync " << n
              << " of " << map.total << " (phase " << map.PhaseOf(n) << "): acked " << run.acked
              << " of " << steps.size() << " (+" << run.acked_after_failure
              << " no-sync after the failure)";
      if (run.in_flight) context << "; step " << *run.in_flight << ": " << run.failures.front();
      {
        SCOPED_TRACE(context.str());
        CheckRunAgainstCut(steps, map, n, mode, fs, run);
      }
      inner->DropUnsyncedData();
      if (mode == CutMode::kFailSync) fs.PersistSomeUnsyncedWrites(seed * 7919 + n);
      CheckRecovery(inner.get(), steps, states, run, fs.cut(), checkpoints, context.str());
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Crashes while the log rolls over to new segments and recycles retired ones, rotating through
// the cut modes; FailSync runs also persist part of the unsynced writes, so a recycled segment
// may hold new records, torn ones and stale ones of its previous number side by side.
TEST(CrashTest, SegmentRolloverAndRecyclingAtEverySync) {
  const std::vector<Step> steps = MakeLogHeavyWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  const SyncMap map = CleanRun(steps, states, Checkpoints::kFrequent);
  ASSERT_FALSE(::testing::Test::HasFailure());
  ASSERT_GE(map.stats.log_segments_created, 2u);
  ASSERT_GE(map.stats.log_segments_recycled, 2u);
  for (uint64_t n = 0; n <= map.total; ++n) {
    const CutMode mode = static_cast<CutMode>(n % 3);
    auto inner = NewMemFileSystem();
    CrashFileSystem fs(inner.get());
    fs.CutAtSync(n, mode);
    const RunResult run = RunWorkload(&fs, steps, Checkpoints::kFrequent);
    std::ostringstream context;
    context << "log-heavy workload, " << CutModeName(mode) << " at sync " << n << " of "
            << map.total << " (phase " << map.PhaseOf(n) << "): acked " << run.acked << " of "
            << steps.size();
    if (run.in_flight) context << "; step " << *run.in_flight << ": " << run.failures.front();
    {
      SCOPED_TRACE(context.str());
      CheckRunAgainstCut(steps, map, n, mode, fs, run);
    }
    inner->DropUnsyncedData();
    if (mode == CutMode::kFailSync) fs.PersistSomeUnsyncedWrites(n * 104729 + 1);
    CheckRecovery(inner.get(), steps, states, run, fs.cut(), Checkpoints::kFrequent, context.str());
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// Every operation after the cut fails (not only writes that sync), and nothing returned OK
// leaks: a crash while snapshots and iterators are open changes nothing either.
TEST(CrashTest, CutWithOpenSnapshotAndIterator) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  auto inner = NewMemFileSystem();
  CrashFileSystem fs(inner.get());
  auto db = DB::Open(TestOptions(&fs), kDbPath);
  ASSERT_TRUE(db.ok());
  const size_t half = steps.size() / 2;
  for (size_t i = 0; i < half; ++i) ASSERT_TRUE(RunStep(db->get(), steps[i]).ok()) << i;
  auto snapshot = (*db)->GetSnapshot();
  auto it = (*db)->NewIterator({}, "default");
  ASSERT_TRUE(it.ok());
  for (size_t i = half; i < steps.size() - 3; ++i)
    ASSERT_TRUE(RunStep(db->get(), steps[i]).ok()) << i;
  fs.CutNow();
  EXPECT_FALSE(RunStep(db->get(), steps[steps.size() - 3]).ok());
  it->reset();
  snapshot.reset();
  db->reset();
  inner->DropUnsyncedData();
  RunResult run;
  run.opened = true;
  run.acked = steps.size() - 3;
  run.in_flight = steps.size() - 3;
  CheckRecovery(inner.get(), steps, states, run, /*power_cut=*/true, Checkpoints::kAtClose,
                "cut with open snapshot");
}

}  // namespace
}  // namespace manifold::crash_test
