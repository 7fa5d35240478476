// The real engine under the deterministic scheduler: writer threads, a reader holding a snapshot
// and the background checkpoint thread, one at a time, every lock, wait, atomic access and clock
// read a scheduling point. Built on the scheduled engine in every build (sim_cc_test in
// sim/defs.bzl turns the scheduler on for this binary and everything it links), so
// `./bazelw test //sim/sched:engine_sched_test` and `bazel test //...` run it.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "gtest/gtest.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "sim/sched/explore.h"
#include "sim/sched/sched_clock.h"
#include "sim/sched/strategies.h"

// On the std port layer the engine's threads would run freely: the test would prove nothing.
#if !MANIFOLD_SIM_SCHEDULER
#error "engine_sched_test needs the scheduled engine: build //sim/sched:engine_sched_test"
#endif

namespace manifold::sim::sched {
namespace {

using port::sched::Fail;

constexpr int kWriters = 2;
constexpr int kPutsPerWriter = 12;

std::string Key(int writer, int i) {
  return "w" + std::to_string(writer) + "-" + std::to_string(i);
}
std::string Value(int writer, int i) {
  return std::string(300, static_cast<char>('a' + writer)) + std::to_string(i);
}

// Runs in which the background thread checkpointed before the close (runs are sequential).
int g_runs_with_checkpoints = 0;

void Check(const Status& status, const char* what) {
  if (!status.ok()) Fail(std::string(what) + ": " + status.ToString());
}

// Every key a reader finds must hold its writer's value; at the end every key is there, and the
// database passes its integrity check.
void ConcurrentEngine() {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  SchedClock clock;
  Options options;
  options.file_system = fs.get();
  options.clock = &clock;
  options.background_checkpoints = true;
  options.write_buffer_bytes_max = 64 << 10;
  options.checkpoint_dirty_bytes = 4 << 10;  // Checkpoints run while the writers commit.
  StatusOr<std::unique_ptr<DB>> opened = DB::Open(options, "/db");
  Check(opened.status(), "open");
  DB* db = opened->get();
  {
    std::vector<std::unique_ptr<port::Thread>> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.push_back(std::make_unique<port::Thread>("writer", [db, w] {
        for (int i = 0; i < kPutsPerWriter; ++i) {
          WriteOptions write;
          write.sync = i % 2 == 0;
          Check(db->Put(write, kDefaultColumnFamily, Key(w, i), Value(w, i)), "put");
        }
      }));
    }
    threads.push_back(std::make_unique<port::Thread>("reader", [db] {
      const std::shared_ptr<const Snapshot> snapshot = db->GetSnapshot();
      for (int i = 0; i < kPutsPerWriter; ++i) {
        for (int w = 0; w < kWriters; ++w) {
          StatusOr<std::string> got = db->Get({}, kDefaultColumnFamily, Key(w, i));
          if (got.ok() && *got != Value(w, i)) Fail("reader saw a wrong value for " + Key(w, i));
          if (!got.ok() && !got.status().IsNotFound()) Check(got.status(), "get");
        }
      }
      ReadOptions at_snapshot;
      at_snapshot.snapshot = snapshot.get();
      StatusOr<std::string> early = db->Get(at_snapshot, kDefaultColumnFamily, Key(0, 0));
      if (early.ok() && snapshot->sequence() == 0) Fail("snapshot at 0 sees a later put");
    }));
  }
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPutsPerWriter; ++i) {
      StatusOr<std::string> got = db->Get({}, kDefaultColumnFamily, Key(w, i));
      Check(got.status(), "final get");
      if (*got != Value(w, i)) Fail("final value of " + Key(w, i));
    }
  }
  Check(db->VerifyIntegrity(nullptr), "integrity");
  // Whether the background thread checkpointed while the writers ran depends on the schedule.
  if (db->GetStats().checkpoints > 0) ++g_runs_with_checkpoints;
  opened->reset();  // Closes inside the run: final checkpoint, checkpoint thread joined.
}

TEST(EngineUnderSchedulerTest, WritersReaderAndBackgroundCheckpointer) {
  g_runs_with_checkpoints = 0;
  const ExploreResult random = ExploreRandom(ConcurrentEngine, 1, 30);
  EXPECT_FALSE(random.found) << Describe(random);
  // The checkpointer really raced the writers, not only at the close.
  EXPECT_GT(g_runs_with_checkpoints, 15) << "of 30 random runs";
  std::printf("background checkpoints before the close in %d of 30 random runs\n",
              g_runs_with_checkpoints);
  const ExploreResult pct = ExplorePct(ConcurrentEngine, 1, 30, 3, random.steps_max);
  EXPECT_FALSE(pct.found) << Describe(pct);
  std::printf("random: %s, up to %llu steps; pct: %s\n", Describe(random).c_str(),
              static_cast<unsigned long long>(random.steps_max), Describe(pct).c_str());
  for (uint64_t seed : {1, 2}) {
    RandomStrategy first(seed);
    RandomStrategy second(seed);
    const RunResult a = port::sched::Run(ConcurrentEngine, &first);
    const RunResult b = port::sched::Run(ConcurrentEngine, &second);
    EXPECT_EQ(a.decisions, b.decisions) << "seed " << seed << " is not deterministic";
    EXPECT_EQ(a.end_us, b.end_us);
  }
}

}  // namespace
}  // namespace manifold::sim::sched
