// The planted concurrency bugs (engine/util/fault_point.h, the last five planted_bug entries) on
// the real engine under the deterministic scheduler. One harness: a database on the simulator's
// file system with SchedClock, background checkpoints, a preloaded on-disk tree, two writers
// overwriting their own keys (every other commit durable) and reading each write back, and a
// reader that scans an iterator over every key slowly and checks the newest checkpoint's
// integrity after each scan. Between the reader's steps and after each writer's acknowledged
// write, a check that the visible sequence is not below what any thread saw before and that an
// acknowledged write (the other writer's newest) is visible (I19). Its power-cut form cuts the
// power right after a durable commit (drawn from the seed) is acknowledged, then reopens read-only
// (so recovery writes nothing) and checks every acknowledged durable write survived and the
// recovered file's integrity.
//
// For each bug the test runs the same seeds under RandomStrategy and PctStrategy and requires the
// bug to be caught within kSeeds under both; with no bug planted every seed of both forms passes.
//   ./bazelw test --define=manifold_sim_scheduler=1 //sim/sched:planted_concurrency_test
// In the default build (std port layer) or without fault points it reports itself skipped.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "engine/util/check.h"
#include "engine/util/fault_point.h"
#include "faults/fault_model.h"
#include "gtest/gtest.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "sim/sched/explore.h"
#include "sim/sched/sched_clock.h"
#include "sim/sched/strategies.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"

#if defined(MANIFOLD_USES_FIU)
#include <fiu-control.h>
#endif

namespace manifold::sim::sched {
namespace {

using port::sched::Fail;

constexpr uint64_t kSeeds = 200;  // Budget per strategy: each bug must be caught within it.
constexpr int kWriters = 2;
constexpr int kKeys = 24;          // Preloaded; writer w owns the keys k with k % kWriters == w.
constexpr int kOpsPerWriter = 10;  // Overwrites per writer.
constexpr int kReaderRounds = 4;   // Snapshot check, iterator scan, integrity check.

enum class Form { kNoCut, kPowerCut };

const char* FormName(Form form) { return form == Form::kNoCut ? "no cut" : "power cut"; }

// Set before each run: the run's seed (file-system decisions, the power-cut point) and form.
uint64_t g_seed = 0;
Form g_form = Form::kNoCut;

std::string Key(int k) { return "k" + std::to_string(100 + k); }

// Writer w's column family: one writer per column family at a time (I7), so only writers of
// different column families commit concurrently and share log groups.
std::string Family(int k) { return "cf" + std::to_string(k % kWriters); }

// "<key>/<generation>/" padded: a reader can tell which key and write a value came from.
std::string Value(int k, int generation) {
  std::string value = Key(k) + "/" + std::to_string(generation) + "/";
  value.resize(120, static_cast<char>('a' + generation % 26));
  return value;
}

// The generation in `value` if it is a well-formed value of key k, else -1.
int Generation(int k, const std::string& value) {
  const std::string prefix = Key(k) + "/";
  if (value.size() != 120 || value.compare(0, prefix.size(), prefix) != 0) return -1;
  const size_t end = value.find('/', prefix.size());
  if (end == std::string::npos) return -1;
  const int generation = std::stoi(value.substr(prefix.size(), end - prefix.size()));
  return value == Value(k, generation) ? generation : -1;
}

struct KeyHistory {
  int attempted = 0;    // Newest generation a Put was issued for (0: the preload).
  int acked = 0;        // Newest generation acknowledged (visible from then on, I19).
  int durable_ack = 0;  // Newest generation acknowledged by a sync Put.
};

// A failed run unwinds the threads blocked inside the engine (port::sched::Run) while others
// (the checkpoint thread mid-checkpoint) run on until they block; a writer unwound inside a
// commit can leave its writer slot held. Closing such a database would trip its destructor's
// asserts, so on a failed run it is leaked, and with it what its threads may still use (the file
// system and the clocks).
template <typename T>
class LeakOnFailure {
 public:
  explicit LeakOnFailure(std::unique_ptr<T> object) : object_(std::move(object)) {}
  ~LeakOnFailure() {
    if (std::uncaught_exceptions() > 0 || port::sched::internal::Aborting()) {
      (void)object_.release();
    }
  }
  T* get() const { return object_.get(); }
  T* operator->() const { return object_.get(); }
  void reset() {
    if (port::sched::internal::Aborting()) (void)object_.release();
    object_.reset();
  }

 private:
  std::unique_ptr<T> object_;
};

// Two device models. Fast (the default): I/O takes no simulated time. Slow: every sync blocks
// the syncing thread for kSyncUs of simulated time (SleepForMicros), so the others run meanwhile.
// (Slow writes as well, 10 us each, made PCT catch fewer of the bugs, not more.)
// Each suits one strategy: under PCT, on the fast device the leader of a log group finishes its
// write and sync before anyone else runs unless a priority change falls in those few steps; under
// random scheduling, on the slow device every follower queues while the leader sleeps and the
// steps around the sync are hardly raced.
constexpr uint64_t kSyncUs = 50;
bool g_slow_syncs = false;

void MaybeSlowSync() {
  if (g_slow_syncs) port::sched::SleepForMicros(kSyncUs);
}

// Syncs (of files and directories) take kSyncUs of simulated time; everything else forwards.
class SlowSyncFile final : public FileWrapper {
 public:
  explicit SlowSyncFile(std::unique_ptr<File> base) : FileWrapper(std::move(base)) {}
  Status Sync() override {
    MaybeSlowSync();
    return base()->Sync();
  }
};

class SlowSyncFileSystem final : public FileSystemWrapper {
 public:
  explicit SlowSyncFileSystem(FileSystem* base) : FileSystemWrapper(base) {}
  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    StatusOr<std::unique_ptr<File>> file = base()->OpenFile(path, options);
    if (!file.ok()) return file.status();
    return std::unique_ptr<File>(new SlowSyncFile(std::move(*file)));
  }
  Status SyncDir(const std::string& path) override {
    MaybeSlowSync();
    return base()->SyncDir(path);
  }
};

Options EngineOptions(FileSystem* fs, Clock* clock) {
  Options options;
  options.file_system = fs;
  options.clock = clock;
  options.page_bytes = 1024;  // Many small pages: every overwrite frees some.
  options.background_checkpoints = true;
  options.write_buffer_bytes_max = 64 << 10;
  options.checkpoint_dirty_bytes = 2 << 10;  // Checkpoints run while the writers commit.
  // No group-commit window (as in the simulator's runner): a leader sleeping out the window
  // blocks until every other thread blocks, so followers would only ever queue during the sleep,
  // never during the leader's write and sync, where the hand-off races are.
  options.group_commit_window_us = 0;
  return options;
}

void Check(const Status& status, const char* what) {
  if (!status.ok()) Fail(std::string(what) + ": " + status.ToString());
}

void Harness() {
  const bool cut = g_form == Form::kPowerCut;
  std::mt19937_64 rng(g_seed);
  faults::FaultOptions fault_options;
  fault_options.unsynced_sector_lost = 1.0;  // A power cut keeps exactly what was synced.
  LeakOnFailure<SimClock> fs_clock(std::make_unique<SimClock>());  // Syncs take no time.
  LeakOnFailure<SimFileSystem> fs_holder(
      std::make_unique<SimFileSystem>(g_seed, fault_options, fs_clock.get()));
  SimFileSystem& fs = *fs_holder.get();
  fs.set_random_crashes(false);
  LeakOnFailure<SlowSyncFileSystem> slow_fs(std::make_unique<SlowSyncFileSystem>(&fs));
  LeakOnFailure<SchedClock> clock(std::make_unique<SchedClock>());
  const Options options = EngineOptions(slow_fs.get(), clock.get());
  StatusOr<std::unique_ptr<DB>> opened_or = DB::Open(options, "/db");
  Check(opened_or.status(), "open");
  LeakOnFailure<DB> opened(std::move(*opened_or));
  DB* db = opened.get();
  std::vector<KeyHistory> history(kKeys);
  {
    for (int w = 0; w < kWriters; ++w) Check(db->CreateColumnFamily(Family(w)), "create");
    WriteBatch preload;
    for (int k = 0; k < kKeys; ++k) preload.Put(Family(k), Key(k), Value(k, 0));
    Check(db->Write({}, preload), "preload");
    Check(db->Checkpoint(), "preload checkpoint");  // The trees are on disk from here on.
  }
  // The power cut comes right after the writer that acknowledges the cut_after-th durable commit
  // sees it acknowledged: the most demanding moment for I17.
  const int sync_puts = kWriters * ((kOpsPerWriter + 1) / 2);
  const int cut_after = cut ? 1 + static_cast<int>(rng() % sync_puts) : 0;
  int durable_acks = 0;
  auto failed_by_cut = [&](const Status& status) { return cut && !status.ok() && fs.crashed(); };
  // I19, checked by every thread against what any thread saw before it looked: the visible
  // sequence never goes back, and an acknowledged write stays visible. Shared, not per thread:
  // the reader alone missed an early-published commit being taken back (PCT, 0 of 200 seeds with
  // write buffers): the window opens while a sync leader sleeps in its sync, and that leader only
  // wakes, publishes the older version and lets its next commit close the window again once the
  // reader has stopped running; a writer looking right after its own commit falls in it. Sound
  // under the scheduler (one thread runs at a time): `visible_max` is read before the snapshot is
  // taken, so it holds only sequences that were visible before this look began.
  uint64_t visible_max = 0;
  auto check_visible = [&](int k) {
    const uint64_t before = visible_max;
    const uint64_t now = db->GetSnapshot()->sequence();
    if (now < before) {
      Fail("visible sequence went back from " + std::to_string(before) + " to " +
           std::to_string(now));
    }
    visible_max = std::max(visible_max, now);
    const int acked = history[k].acked;
    StatusOr<std::string> got = db->Get({}, Family(k), Key(k));
    if (failed_by_cut(got.status())) return false;
    Check(got.status(), "get");
    if (Generation(k, *got) < acked) {
      Fail("found " + Key(k) + " at generation " + std::to_string(Generation(k, *got)) +
           " after generation " + std::to_string(acked) + " was acknowledged");
    }
    return true;
  };
  // The newest key each writer had acknowledged (its first preloaded key to begin with).
  std::vector<int> last_acked_key(kWriters);
  for (int w = 0; w < kWriters; ++w) last_acked_key[w] = w;
  {
    std::vector<std::unique_ptr<port::Thread>> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.push_back(std::make_unique<port::Thread>("writer", [&, w] {
        for (int i = 0; i < kOpsPerWriter; ++i) {
          const int k = w + kWriters * (i % (kKeys / kWriters));
          const int generation = ++history[k].attempted;
          WriteOptions write;
          write.sync = i % 2 == 0;
          const Status put = db->Put(write, Family(k), Key(k), Value(k, generation));
          if (failed_by_cut(put)) return;
          Check(put, "put");
          history[k].acked = generation;
          if (write.sync) {
            history[k].durable_ack = generation;
            if (++durable_acks == cut_after) {
              fs.CrashNow();
              return;
            }
          }
          // Read your own write: an acknowledged commit is visible (I19).
          StatusOr<std::string> got = db->Get({}, Family(k), Key(k));
          if (failed_by_cut(got.status())) return;
          Check(got.status(), "read back");
          if (Generation(k, *got) != generation) {
            Fail("writer read back " + Key(k) + " generation " +
                 std::to_string(Generation(k, *got)) + " after writing " +
                 std::to_string(generation));
          }
          last_acked_key[w] = k;
          // And the other writer's newest acknowledged write, and the visible sequence (I19).
          if (!check_visible(last_acked_key[(w + 1) % kWriters])) return;
        }
      }));
    }
    threads.push_back(std::make_unique<port::Thread>("reader", [&] {
      for (int round = 0; round < kReaderRounds; ++round) {
        // A slow scan: between its steps the reader checks visibility, and lets others run.
        const int w = round % kWriters;
        StatusOr<std::unique_ptr<Iterator>> it = db->NewIterator({}, Family(w));
        if (failed_by_cut(it.status())) return;
        Check(it.status(), "iterator");
        int k = w;
        for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next(), k += kWriters) {
          const std::string value((*it)->value());
          if (k >= kKeys || (*it)->key() != Key(k) || Generation(k, value) < 0) {
            Fail("iterator entry " + std::to_string(k) + " is " + std::string((*it)->key()) +
                 " = " + value.substr(0, 24) + "...");
          }
          if (!check_visible(k)) return;
          for (int i = 0; i < 4; ++i) port::sched::Yield();
        }
        if (failed_by_cut((*it)->status())) return;
        Check((*it)->status(), "iterator scan");
        if (k != kKeys + w) Fail("iterator stopped before " + Key(k));
        it->reset();
        // I5 on the newest durable checkpoint.
        const Status integrity = db->VerifyIntegrity(nullptr);
        if (failed_by_cut(integrity)) return;
        Check(integrity, "integrity while writing");
      }
    }));
  }
  // A thread failed: the joins above returned while the run unwinds.
  if (port::sched::internal::Aborting()) return;
  if (!cut) {
    for (int k = 0; k < kKeys; ++k) {
      StatusOr<std::string> got = db->Get({}, Family(k), Key(k));
      Check(got.status(), "final get");
      if (Generation(k, *got) != history[k].attempted) Fail("final value of " + Key(k));
    }
    Check(db->VerifyIntegrity(nullptr), "final integrity");
    opened.reset();  // Closes inside the run: final checkpoint, checkpoint thread joined.
    return;
  }
  if (!fs.crashed()) fs.CrashNow();
  opened.reset();  // The close fails on the cut power; it must not hang.
  Check(fs.Restart(), "restart");
  Options reopen_options = options;
  reopen_options.read_only = true;  // Recovery writes nothing: what the cut left is checked.
  StatusOr<std::unique_ptr<DB>> reopened_or = DB::Open(reopen_options, "/db");
  Check(reopened_or.status(), "recovery");
  LeakOnFailure<DB> reopened(std::move(*reopened_or));
  for (int k = 0; k < kKeys; ++k) {
    StatusOr<std::string> got = reopened.get()->Get({}, Family(k), Key(k));
    Check(got.status(), "get after recovery");
    const int generation = Generation(k, *got);
    if (generation < history[k].durable_ack || generation > history[k].attempted) {
      Fail("after recovery " + Key(k) + " has generation " + std::to_string(generation) +
           "; acknowledged durable " + std::to_string(history[k].durable_ack) + ", written up to " +
           std::to_string(history[k].attempted));
    }
  }
  Check(reopened.get()->VerifyIntegrity(nullptr), "integrity after recovery");
  reopened.reset();
}

struct Tally {
  uint64_t failed = 0;
  uint64_t runs = 0;
  std::optional<uint64_t> first;
  port::sched::Outcome outcome = port::sched::Outcome::kOk;  // The first failure's.
  std::string report;
  uint64_t steps_max = 0;
};

enum class Kind { kRandom, kPct };

// PCT's bug depth, and its estimate of a run's scheduling points: at least a run's length, so
// change points can fall anywhere in it (with write buffers the clean runs take up to 7,850, the
// no-bug test prints it; 4,000 and 8,000 gave the same figures within a seed or two; depths 6
// and 12 found no more than 3 did).
constexpr int kPctDepth = 3;
constexpr uint64_t kPctStepsEstimate = 8000;

// Seeds 1..seeds_max, up to the first failure. MANIFOLD_PLANTED_FIGURES=1 in the environment runs
// every seed of the budget instead, for the figures in docs/simulator.md (about 4.5 minutes).
bool FullFigures() {
  const char* full = std::getenv("MANIFOLD_PLANTED_FIGURES");
  return full != nullptr && std::string(full) == "1";
}

// A failed MANIFOLD_CHECK inside a run ends the run as a failure naming it (as the simulator's
// runner does), instead of aborting the test binary: a planted bug may trip an engine check
// (checkpoint_reads_version_unlocked trips I36 in the buffer merge) before the harness sees it.
void CheckFailedInRun(const char* condition, const char* message, const char* file, int line) {
  if (!port::sched::InRun()) return;  // check::Failed then prints and aborts.
  Fail(std::string("MANIFOLD_CHECK(") + condition + ") failed: " + message + " (" + file + ":" +
       std::to_string(line) + ")");
}

Tally RunSeeds(Form form, Kind kind, bool slow_syncs, uint64_t seeds_max = kSeeds) {
  struct Handler {
    check::FailureHandler previous = check::SetFailureHandler(&CheckFailedInRun);
    ~Handler() { check::SetFailureHandler(previous); }
  } handler;
  Tally tally;
  g_slow_syncs = slow_syncs;
  for (uint64_t seed = 1; seed <= seeds_max; ++seed) {
    if (tally.first && !FullFigures()) break;
    g_seed = seed;
    g_form = form;
    ++tally.runs;
    std::unique_ptr<port::sched::Strategy> strategy;
    if (kind == Kind::kRandom) {
      strategy = std::make_unique<RandomStrategy>(seed);
    } else {
      strategy = std::make_unique<PctStrategy>(seed, kPctDepth, kPctStepsEstimate);
    }
    const RunResult run = port::sched::Run(Harness, strategy.get());
    tally.steps_max = std::max(tally.steps_max, run.steps);
    if (run.ok()) continue;
    ++tally.failed;
    if (!tally.first) {
      tally.first = seed;
      tally.outcome = run.outcome;
      tally.report = run.report;
    }
  }
  return tally;
}

std::string Figures(const Tally& tally) {
  if (!tally.first) return "0/" + std::to_string(tally.runs) + " seeds fail";
  return std::to_string(tally.failed) + "/" + std::to_string(tally.runs) +
         " seeds fail, first seed " + std::to_string(*tally.first) + " (" +
         port::sched::OutcomeName(tally.outcome) + ")";
}

#if defined(MANIFOLD_USES_FIU)
void InitFiuOnce() {
  static const bool initialized = fiu_init(0) == 0;
  ASSERT_TRUE(initialized) << "fiu_init failed";
}
#endif

#if MANIFOLD_SIM_SCHEDULER
constexpr bool kScheduled = true;
#else
constexpr bool kScheduled = false;
#endif

bool Skip() { return !kScheduled; }

TEST(PlantedConcurrencyTest, EveryBugIsListedAsPlanted) {
  // The five names below are planted bugs the sequential sweep does not need to catch.
  ASSERT_EQ(kPlantedBugs.size() - kPlantedConcurrencyBugsFirst, 5u);
  EXPECT_EQ(kPlantedBugs[kPlantedConcurrencyBugsFirst], planted_bug::kPublicationOutOfOrder);
  EXPECT_EQ(kPlantedBugs.back(), planted_bug::kCheckpointReadsVersionUnlocked);
}

TEST(PlantedConcurrencyTest, NoBugPlantedEverySeedPasses) {
  if (Skip()) GTEST_SKIP() << "needs --define=manifold_sim_scheduler=1";
  ASSERT_TRUE(kPlantedBugsCompiledIn)
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
  for (Form form : {Form::kNoCut, Form::kPowerCut}) {
    for (bool slow : {false, true}) {
      for (Kind kind : {Kind::kRandom, Kind::kPct}) {
        // 40 seeds per combination in `bazel test`; the whole budget for the figures.
        const Tally tally = RunSeeds(form, kind, slow, FullFigures() ? kSeeds : 40);
        EXPECT_FALSE(tally.first.has_value()) << FormName(form) << ": " << Figures(tally) << "\n"
                                              << tally.report;
        std::printf("no bug, %s, %s device, %s: %s, up to %llu steps\n", FormName(form),
                    slow ? "slow" : "fast", kind == Kind::kRandom ? "random" : "pct",
                    Figures(tally).c_str(), static_cast<unsigned long long>(tally.steps_max));
      }
    }
  }
}

struct BugCase {
  const char* name;  // planted_bug::k...
  Form form;
  // What the harness must report for it: kDeadlock for the lost wake-up, else kFailed.
  port::sched::Outcome outcome;
  // Whether random scheduling and PCT (depth kPctDepth) must catch it within kSeeds, on either
  // device (the figures in docs/simulator.md say which finds what).
  bool random_catches;
  bool pct_catches;
};

class PlantedConcurrencyBugTest : public ::testing::TestWithParam<BugCase> {};

TEST_P(PlantedConcurrencyBugTest, CaughtUnderRandomAndPct) {
  if (Skip()) GTEST_SKIP() << "needs --define=manifold_sim_scheduler=1";
  ASSERT_TRUE(kPlantedBugsCompiledIn)
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
#if defined(MANIFOLD_USES_FIU)
  const BugCase& bug = GetParam();
  InitFiuOnce();
  ASSERT_EQ(fiu_enable(bug.name, 1, nullptr, 0), 0);
  // Disabled however the test ends, so the next bug runs alone.
  struct Disable {
    const char* name;
    ~Disable() { fiu_disable(name); }
  } disable{bug.name};
  ASSERT_TRUE(MANIFOLD_FAULT(bug.name)) << bug.name << " is enabled but does not fire";
  struct Trial {
    Kind kind;
    bool slow_syncs;
    const char* label;
  };
  bool random_caught = false;
  bool pct_caught = false;
  for (const Trial& trial : {Trial{Kind::kRandom, false, "random, fast device"},
                             Trial{Kind::kRandom, true, "random, slow device"},
                             Trial{Kind::kPct, false, "pct, fast device"},
                             Trial{Kind::kPct, true, "pct, slow device"}}) {
    // Outside the figures run, only the strategies the case asserts, until each has caught it.
    const bool asserted = trial.kind == Kind::kPct ? bug.pct_catches : bug.random_catches;
    const bool done = trial.kind == Kind::kPct ? pct_caught : random_caught;
    if (!FullFigures() && (!asserted || done)) continue;
    const Tally tally = RunSeeds(bug.form, trial.kind, trial.slow_syncs);
    std::printf("%s (%s), %s: %s\n", bug.name, FormName(bug.form), trial.label,
                Figures(tally).c_str());
    if (!tally.first) continue;
    (trial.kind == Kind::kPct ? pct_caught : random_caught) = true;
    EXPECT_EQ(tally.outcome, bug.outcome) << tally.report;
    std::printf("  first report: %s\n", tally.report.substr(0, 200).c_str());
  }
  if (bug.random_catches) {
    EXPECT_TRUE(random_caught) << bug.name << " survived " << kSeeds
                               << " random seeds on both devices";
  }
  if (bug.pct_catches) {
    EXPECT_TRUE(pct_caught) << bug.name << " survived " << kSeeds << " PCT seeds on both devices";
  }
#endif
}

INSTANTIATE_TEST_SUITE_P(
    FiveBugs, PlantedConcurrencyBugTest,
    ::testing::Values(
        BugCase{planted_bug::kPublicationOutOfOrder, Form::kNoCut, port::sched::Outcome::kFailed,
                true, true},
        BugCase{planted_bug::kCheckpointFreesReaderPages, Form::kNoCut,
                port::sched::Outcome::kFailed, false, true},
        BugCase{planted_bug::kFollowerReleasedBeforeSync, Form::kPowerCut,
                port::sched::Outcome::kFailed, false, true},
        // Known gap: this harness has not caught it in 200 seeds of any trial (docs/simulator.md
        // "Planted bugs"); listed for its figures and so a catch must be the deadlock report.
        BugCase{planted_bug::kLostWakeup, Form::kNoCut, port::sched::Outcome::kDeadlock, false,
                false},
        BugCase{planted_bug::kCheckpointReadsVersionUnlocked, Form::kPowerCut,
                port::sched::Outcome::kFailed, true, false}),
    [](const ::testing::TestParamInfo<BugCase>& info) {
      std::string name(info.param.name);
      return name.substr(name.rfind('/') + 1);
    });

}  // namespace
}  // namespace manifold::sim::sched
