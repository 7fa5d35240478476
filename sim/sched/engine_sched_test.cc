// The real engine under the deterministic scheduler: writer threads, a reader holding a snapshot
// and the background checkpoint thread, one at a time, every lock, wait, atomic access and clock
// read a scheduling point. Built on the scheduled engine in every build (sim_cc_test in
// sim/defs.bzl turns the scheduler on for this binary and everything it links), so
// `./bazelw test //sim/sched:engine_sched_test` and `bazel test //...` run it.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "faults/fault_model.h"
#include "gtest/gtest.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/logger.h"
#include "manifold/options.h"
#include "sim/sched/explore.h"
#include "sim/sched/sched_clock.h"
#include "sim/sched/strategies.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"

// On the std port layer the engine's threads would run freely: the test would prove nothing.
#if !MANIFOLD_SIM_SCHEDULER
#error "engine_sched_test needs the scheduled engine: build //sim/sched:engine_sched_test"
#endif

namespace manifold::sim::sched {
namespace {

using port::sched::Fail;

constexpr int kWriters = 2;
constexpr int kPutsPerWriter = 12;

// Writer w writes to its own column family in the harnesses below, so that the two commit side by
// side (writers of one column family take turns, I7) and meet in the group commit.
std::string Family(int writer) { return writer == 0 ? "default" : "cf" + std::to_string(writer); }

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

// ---- Unwinding the engine, power cuts ----------------------------------------------------------

// The engine's info log in memory: the LOG file would go through the simulated disk, which a power
// cut takes away, and the harnesses check what the engine reported.
class LinesLog final : public Logger {
 public:
  void Log(LogLevel level, std::string_view message) override {
    (void)level;
    port::MutexLock lock(&mu_);
    lines_.emplace_back(message);
  }
  bool Contains(std::string_view text) {
    port::MutexLock lock(&mu_);
    for (const std::string& line : lines_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  port::Mutex mu_{"lines log"};
  std::vector<std::string> lines_;
};

// A disk that stalls on demand: once Stall() is called, the first write to the data file (a
// checkpoint's pages) and then the first log sync (a group-commit leader) never return; the
// threads making them stay blocked inside the engine's I/O until the run fails and unwinds them.
class StallFileSystem final : public FileSystemWrapper {
 public:
  explicit StallFileSystem(FileSystem* base) : FileSystemWrapper(base) {}

  void Stall() {
    port::MutexLock lock(&mu_);
    stalling_ = true;
  }
  // Waits until both a checkpoint and a leader are parked.
  void AwaitParked() {
    port::MutexLock lock(&mu_);
    while (parked_ < 2) parked_cv_.Wait();
  }

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base()->OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<StallFile>(this, std::move(file)));
  }

 private:
  // Parks the checkpoint's data-file writes and the leader's log syncs; forwards the rest.
  class StallFile final : public FileWrapper {
   public:
    StallFile(StallFileSystem* fs, std::unique_ptr<File> base)
        : FileWrapper(std::move(base)), fs_(fs) {}
    Status Write(uint64_t offset, std::string_view data) override {
      if (EndsWith(path(), "/MANIFOLD")) fs_->MaybePark(/*checkpoint=*/true);
      return base()->Write(offset, data);
    }
    Status Sync() override {
      if (path().find("/wal-") != std::string::npos) fs_->MaybePark(/*checkpoint=*/false);
      return base()->Sync();
    }

   private:
    static bool EndsWith(std::string_view s, std::string_view suffix) {
      return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
    }
    StallFileSystem* const fs_;
  };

  // The checkpoint parks first (so commits still complete and trigger it), then a leader.
  void MaybePark(bool checkpoint) {
    port::MutexLock lock(&mu_);
    if (!stalling_ || parked_ != (checkpoint ? 0 : 1)) return;
    ++parked_;
    parked_cv_.SignalAll();
    for (;;) never_cv_.Wait();  // Left only by the failing run's unwinding.
  }

  port::Mutex mu_{"stall"};
  port::CondVar parked_cv_{&mu_, "parked"};
  port::CondVar never_cv_{&mu_, "stalled disk"};
  bool stalling_ = false;
  int parked_ = 0;
};

Options SimOptions(FileSystem* fs, Clock* clock, Logger* log) {
  Options options;
  options.file_system = fs;
  options.clock = clock;
  options.info_log = log;
  options.background_checkpoints = true;
  options.write_buffer_bytes_max = 64 << 10;
  options.checkpoint_dirty_bytes = 4 << 10;  // Checkpoints run while the writers commit.
  options.group_commit_window_us = 0;
  return options;
}

// Set when a harness's database destructor has returned (also while a failed run unwinds).
bool g_db_destroyed = false;
struct DestroyedFlag {
  ~DestroyedFlag() { g_db_destroyed = true; }
};

// Item 3 of docs/simulator.md "Next steps": the run fails while the background checkpointer is
// blocked inside its page writes, one committer inside its log sync (the group-commit leader) and
// the other behind it, waiting for that sync; every thread then unwinds from where it is, and the
// database is destroyed on the unwinding thread 0. The destructor must return, touch no freed
// memory (ASan) and trip no assertion, although a checkpoint and a log group were abandoned part
// way: the engine then marks itself failed (I8) rather than waiting for them.
void FailWhileBlocked() {
  SimClock sim_clock;
  SimFileSystem disk(7, faults::FaultOptions{}, &sim_clock);
  StallFileSystem fs(&disk);
  SchedClock clock;
  LinesLog log;
  const DestroyedFlag destroyed;  // Declared before the database: set after its destructor.
  StatusOr<std::unique_ptr<DB>> opened = DB::Open(SimOptions(&fs, &clock, &log), "/db");
  Check(opened.status(), "open");
  std::unique_ptr<DB> db = std::move(*opened);
  for (int w = 1; w < kWriters; ++w) Check(db->CreateColumnFamily(Family(w)), "create");
  fs.Stall();
  std::vector<std::unique_ptr<port::Thread>> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.push_back(std::make_unique<port::Thread>("writer", [&db, w] {
      for (int i = 0; i < 40; ++i) {
        WriteOptions write;
        write.sync = true;
        Check(db->Put(write, Family(w), Key(w, i), Value(w, i)), "put");
      }
    }));
  }
  fs.AwaitParked();
  // Time moves only when no thread can run: once this sleep ends, every other thread is blocked.
  port::sched::SleepForMicros(1);
  Fail("failing on purpose while every other thread is blocked");
}

TEST(EngineUnderSchedulerTest, FailWhileCheckpointAndCommittersBlockedDestroysCleanly) {
#if !MANIFOLD_SIM_SCHEDULER
  GTEST_SKIP() << "needs --define=manifold_sim_scheduler=1 (the whole engine on the scheduler)";
#else
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    g_db_destroyed = false;
    RandomStrategy random(seed);
    const RunResult run = port::sched::Run(FailWhileBlocked, &random);
    ASSERT_EQ(run.outcome, port::sched::Outcome::kFailed) << "seed " << seed << ": " << run.report;
    EXPECT_NE(run.report.find("failed: failing on purpose"), std::string::npos) << run.report;
    // Which threads were blocked where when the run failed: the checkpointer in the stalled disk,
    // both writers (one in the stalled log sync, one in the engine: behind that sync, or waiting
    // for a checkpoint to free the write buffer).
    EXPECT_NE(run.report.find("'checkpoint': blocked in CondVar::Wait on condvar#"),
              std::string::npos)
        << run.report;
    EXPECT_NE(run.report.find("'writer': blocked in CondVar::Wait on condvar#3 'stalled disk'"),
              std::string::npos)
        << run.report;
    EXPECT_NE(
        run.report.find("'writer': blocked in CondVar::Wait on condvar#0 'log' (db_impl_commit.cc"),
        std::string::npos)
        << run.report;
    size_t writers_blocked = 0;
    for (size_t at = run.report.find("'writer': blocked in "); at != std::string::npos;
         at = run.report.find("'writer': blocked in ", at + 1)) {
      ++writers_blocked;
    }
    EXPECT_EQ(writers_blocked, 2u) << run.report;
    // Only thread 0, which failed the run, was running.
    EXPECT_NE(run.report.find("'main': runnable"), std::string::npos) << run.report;
    EXPECT_EQ(run.report.find("runnable"), run.report.rfind("runnable")) << run.report;
    EXPECT_TRUE(g_db_destroyed) << "seed " << seed;
    if (seed == 1) std::printf("seed 1 report:\n%s", run.report.c_str());
  }
#endif
}

// Item 4 of docs/simulator.md "Next steps": a power cut at the k-th file-system mutation while two
// committers commit durably and the background checkpointer runs. After the cut every commit
// fails with IOError (none hangs), a checkpoint that meets it fails and says so in the info log,
// the destructor returns, and no thread is left blocked (the run ends kOk, not kDeadlock). Then
// Restart() builds a post-crash disk and a reopen recovers every acknowledged commit.
struct PowerCutStats {
  bool crashed = false;            // Before the close.
  bool checkpoint_failed = false;  // A background checkpoint met the cut and logged its failure.
  int commits_refused = 0;
  int commits_acknowledged = 0;
  uint64_t mutations = 0;  // File-system mutations before the cut (all of them without one).
};
PowerCutStats g_power_cut;

void PowerCut(uint64_t seed, uint64_t cut_at_mutation) {
  g_power_cut = PowerCutStats{};
  SimClock sim_clock;
  SimFileSystem disk(seed, faults::FaultOptions{}, &sim_clock);
  SchedClock clock;
  LinesLog log;
  const Options options = SimOptions(&disk, &clock, &log);
  std::vector<std::vector<int>> acknowledged(kWriters);
  {
    StatusOr<std::unique_ptr<DB>> opened = DB::Open(options, "/db");
    Check(opened.status(), "open");
    std::unique_ptr<DB> db = std::move(*opened);
    for (int w = 1; w < kWriters; ++w) Check(db->CreateColumnFamily(Family(w)), "create");
    const uint64_t before = disk.counters().mutations;
    disk.ScheduleCrashAtMutation(cut_at_mutation);
    {
      std::vector<std::unique_ptr<port::Thread>> writers;
      for (int w = 0; w < kWriters; ++w) {
        writers.push_back(std::make_unique<port::Thread>("writer", [&, w] {
          for (int i = 0; i < 30; ++i) {
            WriteOptions write;
            write.sync = true;
            const Status status = db->Put(write, Family(w), Key(w, i), Value(w, i));
            if (status.ok()) {
              acknowledged[w].push_back(i);
              continue;
            }
            // The commit that meets the cut gets IOError; one that starts after another failed
            // is refused as ReadOnly for the same cause (I8).
            const bool refused =
                status.IsReadOnly() && status.ToString().find("power cut") != std::string::npos;
            if (!status.IsIOError() && !refused) {
              Fail("a commit after the power cut: " + status.ToString());
            }
            ++g_power_cut.commits_refused;
            // Every later commit is refused too, at once.
            const Status again = db->Put(write, Family(w), Key(w, 100), "x");
            if (again.ok()) Fail("a commit succeeded after the log failed");
            return;
          }
        }));
      }
    }
    g_power_cut.crashed = disk.crashed();
    g_power_cut.mutations = disk.counters().mutations - before;
    // Before the close only the background thread checkpoints (inline checkpoints are off).
    g_power_cut.checkpoint_failed = log.Contains("checkpoint failed");
    db.reset();  // Must return: final checkpoint and log sync fail, the checkpointer is joined.
  }
  for (const std::vector<int>& keys : acknowledged) {
    g_power_cut.commits_acknowledged += static_cast<int>(keys.size());
  }
  Check(disk.Restart(), "restart");
  StatusOr<std::unique_ptr<DB>> reopened = DB::Open(options, "/db");
  Check(reopened.status(), "reopen after the power cut");
  DB* db = reopened->get();
  for (int w = 0; w < kWriters; ++w) {
    for (int i : acknowledged[w]) {
      StatusOr<std::string> got = db->Get({}, Family(w), Key(w, i));
      Check(got.status(), "get of an acknowledged commit after recovery");
      if (*got != Value(w, i)) Fail("acknowledged " + Key(w, i) + " recovered wrong");
    }
  }
  Check(db->VerifyIntegrity(nullptr), "integrity after recovery");
  reopened->reset();
}

TEST(EngineUnderSchedulerTest, PowerCutDuringConcurrentCommitsAndCheckpointFailsCleanly) {
#if !MANIFOLD_SIM_SCHEDULER
  GTEST_SKIP() << "needs --define=manifold_sim_scheduler=1 (the whole engine on the scheduler)";
#else
  // How many mutations a whole run makes without a cut: the cuts are spread over that range.
  RandomStrategy probe_strategy(1);
  const RunResult probe = port::sched::Run([] { PowerCut(1, 0); }, &probe_strategy);
  ASSERT_TRUE(probe.ok()) << probe.report;
  const uint64_t mutations = g_power_cut.mutations;
  ASSERT_GT(mutations, 20u);
  int crashed = 0;
  int checkpoint_failed = 0;
  int refused = 0;
  int runs = 0;
  for (uint64_t k = 1; k <= mutations; k += (mutations + 39) / 40) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      RandomStrategy random(seed * 1000 + k);
      const RunResult run = port::sched::Run([seed, k] { PowerCut(seed, k); }, &random);
      ASSERT_TRUE(run.ok()) << "cut at mutation " << k << ", seed " << seed << ": " << run.report;
      ++runs;
      crashed += g_power_cut.crashed ? 1 : 0;
      checkpoint_failed += g_power_cut.checkpoint_failed ? 1 : 0;
      refused += g_power_cut.commits_refused;
    }
  }
  std::printf(
      "%d runs (cuts spread over %llu mutations): %d cut the power, %d met a checkpoint "
      "that failed and logged it, %d commits refused\n",
      runs, static_cast<unsigned long long>(mutations), crashed, checkpoint_failed, refused);
  EXPECT_GT(crashed, runs / 2);
  EXPECT_GT(checkpoint_failed, 0);
  EXPECT_GT(refused, 0);
#endif
}

// ---- Stats during a checkpoint --------------------------------------------------------------

// A disk with a gate on the data file: while the gate is shut, a write to it (a checkpoint's
// pages) waits there, inside the checkpoint and so with checkpoint_mu_ held, until Open().
class GateFileSystem final : public FileSystemWrapper {
 public:
  explicit GateFileSystem(FileSystem* base) : FileSystemWrapper(base) {}

  void Shut() {
    port::MutexLock lock(&mu_);
    shut_ = true;
  }
  // Waits until a write is waiting at the gate.
  void AwaitWaiting() {
    port::MutexLock lock(&mu_);
    while (!waiting_) waiting_cv_.Wait();
  }
  void Open() {
    port::MutexLock lock(&mu_);
    shut_ = false;
    open_cv_.SignalAll();
  }

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base()->OpenFile(path, options));
    const std::string_view name = "/MANIFOLD";
    if (path.size() < name.size() || path.substr(path.size() - name.size()) != name) return file;
    return std::unique_ptr<File>(std::make_unique<GatedFile>(this, std::move(file)));
  }

 private:
  class GatedFile final : public FileWrapper {
   public:
    GatedFile(GateFileSystem* fs, std::unique_ptr<File> base)
        : FileWrapper(std::move(base)), fs_(fs) {}
    Status Write(uint64_t offset, std::string_view data) override {
      fs_->PassGate();
      return base()->Write(offset, data);
    }

   private:
    GateFileSystem* const fs_;
  };

  void PassGate() {
    port::MutexLock lock(&mu_);
    if (!shut_) return;
    waiting_ = true;
    waiting_cv_.SignalAll();
    while (shut_) open_cv_.Wait();
  }

  port::Mutex mu_{"gate"};
  port::CondVar waiting_cv_{&mu_, "waiting at the gate"};
  port::CondVar open_cv_{&mu_, "gate shut"};
  bool shut_ = false;
  bool waiting_ = false;
};

// A monitoring thread's GetStats returns while a checkpoint is stopped inside its page writes:
// the gate opens only after it has, so a GetStats that waited for the checkpoint (for
// checkpoint_mu_) would be the scheduler's deadlock. The page counts it reports are the last
// finished checkpoint's, and move once this one finishes.
void StatsWhileCheckpointBlocked() {
  std::unique_ptr<MemFileSystem> mem = NewMemFileSystem();
  GateFileSystem fs(mem.get());
  SchedClock clock;
  Options options;
  options.file_system = &fs;
  options.clock = &clock;
  options.background_checkpoints = false;  // Only the checkpoint below.
  options.checkpoint_interval_us = 0;
  StatusOr<std::unique_ptr<DB>> opened = DB::Open(options, "/db");
  Check(opened.status(), "open");
  std::unique_ptr<DB> db = std::move(*opened);
  for (int i = 0; i < kPutsPerWriter; ++i) {
    Check(db->Put({}, kDefaultColumnFamily, Key(0, i), Value(0, i)), "put");
  }
  const Stats before = db->GetStats();
  fs.Shut();
  {
    port::Thread checkpointer("checkpointer", [&db] { Check(db->Checkpoint(), "checkpoint"); });
    fs.AwaitWaiting();
    const Stats during = db->GetStats();
    if (during.checkpoints != before.checkpoints) Fail("the blocked checkpoint counted as done");
    if (during.pages_total != before.pages_total || during.pages_free != before.pages_free) {
      Fail("page counts moved before the checkpoint finished");
    }
    if (during.commits != uint64_t{kPutsPerWriter}) Fail("stats during the checkpoint: commits");
    fs.Open();
  }
  const Stats after = db->GetStats();
  if (after.checkpoints != before.checkpoints + 1) Fail("the checkpoint did not finish");
  if (after.pages_total <= before.pages_total) Fail("the checkpoint published no new page count");
  db.reset();
}

TEST(EngineUnderSchedulerTest, GetStatsDoesNotWaitForARunningCheckpoint) {
  const ExploreResult random = ExploreRandom(StatsWhileCheckpointBlocked, 1, 20);
  EXPECT_FALSE(random.found) << Describe(random);
  const ExploreResult pct = ExplorePct(StatsWhileCheckpointBlocked, 1, 20, 3, random.steps_max);
  EXPECT_FALSE(pct.found) << Describe(pct);
}

}  // namespace
}  // namespace manifold::sim::sched
