// The liveness phase (sim/liveness.h) on both workloads: it runs at the end of every seed and
// passes on the engine as it is; the planted bug forced_checkpoint_keeps_log is caught by it and
// by nothing else; a hang (the planted lost_wakeup) is reported with every thread and the call
// it waits in.
#include "sim/liveness.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/minimize.h"
#include "sim/runner.h"
#include "sim/sweep.h"

namespace manifold::sim {
namespace {

RunConfig Config(uint64_t seed, WorkloadKind kind, const std::string& schedule = "random") {
  RunConfig config;
  std::string error;
  EXPECT_TRUE(ConfigureProfile("storage", &config, &error)) << error;
  // The seeds these tests name were measured before garbled sectors and recycle-pool damage
  // joined the profile; switched off, those draw nothing, so each seed replays as measured.
  EXPECT_TRUE(ZeroFaultClass("garble", &config));
  EXPECT_TRUE(ZeroFaultClass("pool", &config));
  config.seed = seed;
  config.workload.ops = 120;
  config.workload.page_bytes = PageBytesForSeed(seed);
  config.workload_kind = kind;
  config.schedule = schedule;
  return config;
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

TEST(LivenessTest, EverySeedEndsWithAPassingPhase) {
  for (WorkloadKind kind : {WorkloadKind::kSequential, WorkloadKind::kConcurrent}) {
    for (const char* schedule : {"random", "pct"}) {
      if (kind == WorkloadKind::kSequential && std::string(schedule) == "pct") continue;
      for (uint64_t seed = 1; seed <= 4; ++seed) {
        RunConfig config = Config(seed, kind, schedule);
        config.trace = true;
        const RunResult result = RunSeed(config);
        EXPECT_TRUE(result.passed) << WorkloadKindName(kind) << " " << schedule << " seed " << seed
                                   << ": " << result.failure;
        EXPECT_EQ(result.stats.liveness_checked, 1u) << seed;
        EXPECT_EQ(result.stats.liveness_writes,
                  uint64_t{kLivenessWriters} * kLivenessWritesPerWriter)
            << seed;
        int rolled = -1;
        bool ok = false;
        for (const std::string& line : result.trace) {
          // "checkpoint at sequence S; N segments rolled": the checkpoint had a log to retire.
          const size_t at = line.find("; ");
          if (StartsWith(line, "liveness: checkpoint at sequence") && at != std::string::npos) {
            rolled = std::stoi(line.substr(at + 2));
          }
          ok = ok || StartsWith(line, "liveness: OK");
        }
        // sim/liveness.h: four 32 KiB puts roll the 64 KiB log at least three times.
        EXPECT_GE(rolled, 3) << "seed " << seed << ": the phase rolled fewer than 3 segments";
        EXPECT_TRUE(ok) << seed;
      }
    }
  }
}

TEST(LivenessTest, PlantedForcedCheckpointKeepsLogIsCaughtByThePhaseOnly) {
  ASSERT_TRUE(PlantedBugsCompiledIn())
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
  for (WorkloadKind kind : {WorkloadKind::kSequential, WorkloadKind::kConcurrent}) {
    // Seeds of the default size profile (SizeProfileForSeed): in the swapping one (seeds 2, 3)
    // the concurrent run's phase found no segment left to retire.
    for (uint64_t seed : {1, 8, 9}) {
      RunConfig config = Config(seed, kind);
      config.planted_bug = "forced_checkpoint_keeps_log";
      const RunResult caught = RunSeed(config);
      EXPECT_FALSE(caught.passed) << WorkloadKindName(kind) << " seed " << seed;
      EXPECT_TRUE(StartsWith(caught.failure,
                             "liveness: the log was not retired: after a "
                             "checkpoint at sequence"))
          << caught.failure;
      EXPECT_NE(caught.failure.find("are still open"), std::string::npos) << caught.failure;
      EXPECT_EQ(caught.Signature(), "liveness: the log was not retired");
      // The same seed with the bug and without the phase: every other check passes.
      config.liveness = false;
      const RunResult missed = RunSeed(config);
      EXPECT_TRUE(missed.passed) << WorkloadKindName(kind) << " seed " << seed << ": "
                                 << missed.failure;
      EXPECT_EQ(missed.stats.liveness_checked, 0u);
      EXPECT_NE(ReplayCommand(config).find(" --no-liveness"), std::string::npos);
    }
  }
}

TEST(LivenessTest, AHangNamesEveryThreadAndWhereItWaits) {
  ASSERT_TRUE(PlantedBugsCompiledIn())
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
  // lost_wakeup: a follower's wait misses its leader's signal. In the phase nothing else signals
  // the log condition variable once the writers' last commits are in, so it hangs for good.
  // Measured: 34 of seeds 1-300 hang in the phase (the first is seed 13), 23 in the workload.
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    RunConfig config = Config(seed, WorkloadKind::kConcurrent);
    config.workload.ops = 300;
    config.planted_bug = "lost_wakeup";
    const RunResult result = RunSeed(config);
    if (!StartsWith(result.failure, "liveness: the database stopped making progress")) continue;
    const std::string& report = result.failure;
    EXPECT_NE(report.find("(scheduler deadlock): deadlock: every thread is blocked"),
              std::string::npos)
        << report;
    EXPECT_NE(report.find("'liveness-writer': blocked in CondVar::Wait on condvar#"),
              std::string::npos)
        << report;
    EXPECT_NE(report.find(" 'log' (db_impl_commit.cc:"), std::string::npos) << report;
    EXPECT_NE(report.find("thread 0 'main': blocked in Thread::"), std::string::npos) << report;
    EXPECT_NE(report.find("(liveness.cc:"), std::string::npos) << report;
    EXPECT_NE(report.find("the phase: controller joining the writers; writer 1 "),
              std::string::npos)
        << report;
    EXPECT_EQ(result.Signature(), "liveness: hang: deadlock");
    // The replay gives the same report.
    EXPECT_EQ(RunSeed(config).failure, report);
    return;
  }
  ADD_FAILURE() << "lost_wakeup hung no liveness phase in 40 seeds";
}

TEST(LivenessTest, ASequentialHangIsADeadlockNotAFailedCall) {
  ASSERT_TRUE(PlantedBugsCompiledIn())
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
  // The sequential workload runs the phase in a scheduled run of its own (RunScheduled): its two
  // writers share group commits, so lost_wakeup can hang it. The signature must name the hang,
  // as on the concurrent workload, since --minimize keeps failures by signature.
  // Measured with 120 ops: of seeds 1-100, 6 hung in the phase (36 and 48 first) before commits
  // went into write buffers, 10 after (5 and 8 first; the scheduling points moved). The test
  // searches for the first two that hang in the phase rather than naming them, so that a
  // workload change that moves the hangs to other seeds keeps it checking a phase hang.
  constexpr uint64_t kSeedsMax = 100;
  constexpr int kWanted = 2;
  int found = 0;
  for (uint64_t seed = 1; seed <= kSeedsMax && found < kWanted; ++seed) {
    RunConfig config = Config(seed, WorkloadKind::kSequential);
    config.planted_bug = "lost_wakeup";
    const RunResult result = RunSeed(config);
    if (result.failure.find("the phase: controller joining the writers") == std::string::npos) {
      continue;
    }
    ++found;
    EXPECT_TRUE(StartsWith(result.failure,
                           "liveness: the database stopped making progress with every fault off "
                           "(scheduler deadlock)"))
        << "seed " << seed << ": " << result.failure;
    EXPECT_EQ(result.Signature(), "liveness: hang: deadlock") << "seed " << seed;
  }
  EXPECT_EQ(found, kWanted) << "lost_wakeup hung the sequential workload's liveness phase in "
                            << found << " of seeds 1-" << kSeedsMax << ", expected at least "
                            << kWanted;
}

TEST(LivenessTest, DetailsNameWhatDidNotProgress) {
  port::sched::RunResult run;
  run.outcome = port::sched::Outcome::kDeadlock;
  EXPECT_EQ(LivenessDetail(run), "hang: deadlock");
  run.outcome = port::sched::Outcome::kLivelock;
  EXPECT_EQ(LivenessDetail(run), "hang: livelock");
  // A failed MANIFOLD_CHECK during the phase is not a hang.
  run.outcome = port::sched::Outcome::kFailed;
  EXPECT_EQ(LivenessDetail(run), "check failed");
  // ReadBack's report of an acknowledged durable write that reads back otherwise.
  EXPECT_EQ(LivenessDetail("liveness: get default/live-0 after the checkpoint returned 100 bytes "
                           "starting 'writer 1 write 0 aaaaaaa', not the acknowledged "
                           "'writer 1 write 1 bbbbbbb'"),
            "an acknowledged write was lost");
  EXPECT_EQ(LivenessDetail("liveness: DB::Open failed with every fault off: IO error: x"),
            "a call failed with every fault off");
}

}  // namespace
}  // namespace manifold::sim
