// Harnesses for the deterministic scheduler, written against the port layer exactly as engine
// code is (this target links //engine/port:port_sim). Each planted bug must be found by every
// strategy within a stated budget, and its correct version must pass every schedule within the
// exhaustive bound.
#include "engine/port/sched.h"

#include <cstdint>
#include <cstdio>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/port/atomic.h"
#include "engine/port/sync.h"
#include "gtest/gtest.h"
#include "sim/sched/explore.h"
#include "sim/sched/sched_clock.h"
#include "sim/sched/strategies.h"

namespace manifold::sim::sched {
namespace {

using port::Atomic;
using port::CondVar;
using port::Mutex;
using port::MutexLock;
using port::Thread;
using port::sched::Fail;
using port::sched::Outcome;

// Budgets: how many seeds random and PCT get to find each planted bug, and the preemption bound
// of the exhaustive search. The figures the tests print are the seeds actually needed.
constexpr uint64_t kSeeds = 100;
constexpr int kPreemptions = 2;
constexpr uint64_t kSchedulesMax = 20000;

// One run of `harness` under RandomStrategy(seed).
RunResult RunSeed(const Harness& harness, uint64_t seed, const RunOptions& options = {}) {
  RandomStrategy random(seed);
  return port::sched::Run(harness, &random, options);
}

// ---- Harnesses ---------------------------------------------------------------------------------

// A waiter and a signaller. The bug: the waiter checks the flag outside the mutex and the
// signaller signals without it, so the signal can come between the check and the wait and is lost:
// the waiter then waits forever, which must surface as a deadlock.
void LostWakeup(bool buggy) {
  Mutex mu("mu");
  CondVar cv(&mu, "ready");
  Atomic<bool> ready_flag(false);
  bool ready = false;  // Guarded by mu (correct version).
  Thread waiter("waiter", [&] {
    if (buggy) {
      if (!ready_flag.load()) {
        MutexLock lock(&mu);
        cv.Wait();
      }
    } else {
      MutexLock lock(&mu);
      while (!ready) cv.Wait();
    }
  });
  Thread signaller("signaller", [&] {
    if (buggy) {
      ready_flag.store(true);
      cv.Signal();
    } else {
      MutexLock lock(&mu);
      ready = true;
      cv.Signal();
    }
  });
  waiter.Join();
  signaller.Join();
}

// Two increments. The bug: check-then-act (load, then store) instead of one read-modify-write.
void Counter(bool buggy) {
  Atomic<int> count(0);
  auto increment = [&] {
    if (buggy) {
      const int seen = count.load();
      count.store(seen + 1);
    } else {
      count.fetch_add(1);
    }
  };
  {
    Thread a("a", increment);
    Thread b("b", increment);
  }
  if (count.load() != 2) Fail("lost update: count is " + std::to_string(count.load()));
}

// Two lock holders. The bug: they take the two locks in opposite orders.
void LockOrder(bool buggy) {
  Mutex first("first");
  Mutex second("second");
  Thread t1("t1", [&] {
    MutexLock a(&first);
    MutexLock b(&second);
  });
  Thread t2("t2", [&] {
    if (buggy) {
      MutexLock b(&second);
      MutexLock a(&first);
    } else {
      MutexLock a(&first);
      MutexLock b(&second);
    }
  });
}

// A writer updates two fields under the exclusive lock; a reader must see both or neither. The
// bug: the reader reads without the shared lock.
void TornRead(bool buggy) {
  port::SharedMutex mu("fields");
  int x = 0;
  int y = 0;
  Thread writer("writer", [&] {
    port::WriterLock lock(&mu);
    x = 1;
    port::sched::Yield();
    y = 1;
  });
  Thread reader("reader", [&] {
    int seen_x;
    int seen_y;
    if (buggy) {
      seen_x = x;
      port::sched::Yield();
      seen_y = y;
    } else {
      port::ReaderLock lock(&mu);
      seen_x = x;
      port::sched::Yield();
      seen_y = y;
    }
    if (seen_x != seen_y) Fail("torn read");
  });
}

// An ordering bug of depth 2: it shows only if t2 reads `a` after t1 wrote it (ordering 1) and
// reads `b` before t1 wrote it (ordering 2), with `filler` steps of unrelated work in between.
void Depth2(int filler) {
  Atomic<int> a(0);
  Atomic<int> b(0);
  Atomic<int> noise(0);
  int seen_a = 0;
  int seen_b = 0;
  {
    Thread t1("t1", [&] {
      a.store(1);
      for (int i = 0; i < filler; ++i) noise.fetch_add(1);
      b.store(1);
    });
    Thread t2("t2", [&] {
      for (int i = 0; i < filler; ++i) noise.fetch_add(1);
      seen_a = a.load();
      seen_b = b.load();
    });
  }
  if (seen_a == 1 && seen_b == 0) Fail("t2 saw a = 1 but b = 0");
}

// Expects each strategy to find the planted bug with `outcome`, and the correct version to pass
// every schedule within the bound and every seed.
void ExpectFoundByAll(void (*harness)(bool), Outcome outcome) {
  const auto buggy = [harness] { harness(true); };
  const auto correct = [harness] { harness(false); };

  const ExploreResult exhaustive = ExploreExhaustive(buggy, kPreemptions, kSchedulesMax);
  ASSERT_TRUE(exhaustive.found) << Describe(exhaustive);
  EXPECT_EQ(exhaustive.failure.outcome, outcome) << Describe(exhaustive);
  const ExploreResult random = ExploreRandom(buggy, 1, kSeeds);
  ASSERT_TRUE(random.found) << Describe(random);
  EXPECT_EQ(random.failure.outcome, outcome) << Describe(random);
  const ExploreResult pct = ExplorePct(buggy, 1, kSeeds, 3, 2 * random.steps_max);
  ASSERT_TRUE(pct.found) << Describe(pct);
  EXPECT_EQ(pct.failure.outcome, outcome) << Describe(pct);
  std::printf("found: exhaustive at schedule %llu, random at seed %llu, pct at seed %llu\n",
              static_cast<unsigned long long>(exhaustive.failing),
              static_cast<unsigned long long>(random.failing),
              static_cast<unsigned long long>(pct.failing));

  const ExploreResult all = ExploreExhaustive(correct, kPreemptions, kSchedulesMax);
  EXPECT_FALSE(all.found) << Describe(all);
  EXPECT_TRUE(all.complete) << Describe(all);
  std::printf("correct version: %s\n", Describe(all).c_str());
  const ExploreResult seeds = ExploreRandom(correct, 1, kSeeds);
  EXPECT_FALSE(seeds.found) << Describe(seeds);
  const ExploreResult pct_seeds = ExplorePct(correct, 1, kSeeds, 3, 2 * seeds.steps_max);
  EXPECT_FALSE(pct_seeds.found) << Describe(pct_seeds);
}

// ---- Planted bugs ------------------------------------------------------------------------------

TEST(SchedBugsTest, LostWakeupIsADeadlock) { ExpectFoundByAll(LostWakeup, Outcome::kDeadlock); }

TEST(SchedBugsTest, CheckThenActLosesAnUpdate) { ExpectFoundByAll(Counter, Outcome::kFailed); }

TEST(SchedBugsTest, LockOrderInversionIsADeadlock) {
  ExpectFoundByAll(LockOrder, Outcome::kDeadlock);
}

TEST(SchedBugsTest, ReadWithoutSharedLockIsTorn) { ExpectFoundByAll(TornRead, Outcome::kFailed); }

TEST(SchedBugsTest, DeadlockReportNamesEveryThreadAndWhatItWaitsFor) {
  const ExploreResult result = ExploreExhaustive([] { LostWakeup(true); }, 1, kSchedulesMax);
  ASSERT_TRUE(result.found);
  const std::string& report = result.failure.report;
  EXPECT_NE(report.find("deadlock: every thread is blocked"), std::string::npos) << report;
  EXPECT_NE(report.find("thread 0 'main': blocked in Thread::Join on thread#1 'waiter'"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("thread 1 'waiter': blocked in CondVar::Wait on condvar#0 'ready' "
                        "(sched_test.cc:"),
            std::string::npos)
      << report;
  // The signaller finished: it is not listed.
  EXPECT_EQ(report.find("signaller"), std::string::npos) << report;

  const ExploreResult order = ExploreExhaustive([] { LockOrder(true); }, 1, kSchedulesMax);
  ASSERT_TRUE(order.found);
  EXPECT_NE(order.failure.report.find("blocked in Mutex::Lock on mutex#0 'first'"),
            std::string::npos)
      << order.failure.report;
  EXPECT_NE(order.failure.report.find("blocked in Mutex::Lock on mutex#1 'second'"),
            std::string::npos)
      << order.failure.report;
}

// PCT with depth 2 finds a depth-2 bug in one run with probability at least 1 / (n * k) (n
// threads, k steps). Over many seeds the hit rate must reach that bound.
TEST(SchedPctTest, FindsDepth2BugWithinItsProbabilisticBound) {
  constexpr int kFiller = 12;
  constexpr uint64_t kRuns = 400;
  const auto harness = [] { Depth2(kFiller); };
  const ExploreResult probe = ExploreRandom(harness, 1000, 1);
  const uint64_t k = probe.steps_max;
  uint64_t hits = 0;
  for (uint64_t seed = 1; seed <= kRuns; ++seed) {
    PctStrategy pct(seed, 2, k);
    if (!port::sched::Run(harness, &pct).ok()) ++hits;
  }
  constexpr uint64_t kThreads = 3;  // main, t1, t2
  const double bound = 1.0 / static_cast<double>(kThreads * k);
  const double rate = static_cast<double>(hits) / kRuns;
  std::printf("pct d=2: %llu of %llu runs hit (rate %.4f, bound 1/(n*k) = %.4f, k = %llu)\n",
              static_cast<unsigned long long>(hits), static_cast<unsigned long long>(kRuns), rate,
              bound, static_cast<unsigned long long>(k));
  EXPECT_GE(rate, bound);
}

// ---- Determinism and replay --------------------------------------------------------------------

// Enough threads and points that two different seeds practically never agree.
void Busy() {
  Mutex mu("mu");
  Atomic<int> total(0);
  std::vector<std::unique_ptr<Thread>> threads;
  for (int t = 0; t < 4; ++t) {
    threads.push_back(std::make_unique<Thread>([&] {
      for (int i = 0; i < 20; ++i) {
        MutexLock lock(&mu);
        total.fetch_add(1);
      }
    }));
  }
  for (auto& thread : threads) thread->Join();
  if (total.load() != 80) Fail("total " + std::to_string(total.load()));
}

TEST(SchedDeterminismTest, SameSeedSameDecisions) {
  for (uint64_t seed : {1, 2, 77}) {
    RandomStrategy first(seed);
    RandomStrategy second(seed);
    const RunResult a = port::sched::Run(Busy, &first);
    const RunResult b = port::sched::Run(Busy, &second);
    ASSERT_TRUE(a.ok()) << a.report;
    EXPECT_EQ(a.decisions, b.decisions);
    EXPECT_GT(a.decisions.size(), 100u);
    PctStrategy pct_first(seed, 3, a.steps);
    PctStrategy pct_second(seed, 3, a.steps);
    EXPECT_EQ(port::sched::Run(Busy, &pct_first).decisions,
              port::sched::Run(Busy, &pct_second).decisions);
  }
  RandomStrategy one(1);
  RandomStrategy other(2);
  EXPECT_NE(port::sched::Run(Busy, &one).decisions, port::sched::Run(Busy, &other).decisions);
}

TEST(SchedDeterminismTest, ReplayReproducesAFailure) {
  const auto harness = [] { LostWakeup(true); };
  const ExploreResult found = ExploreRandom(harness, 1, kSeeds);
  ASSERT_TRUE(found.found);
  const RunResult again = Replay(harness, found.failure.decisions);
  EXPECT_EQ(again.outcome, Outcome::kDeadlock);
  EXPECT_EQ(again.report, found.failure.report);
  EXPECT_EQ(again.decisions, found.failure.decisions);
}

TEST(SchedDeterminismTest, DivergingReplayIsNondeterminism) {
  RandomStrategy random(3);
  const RunResult recorded = port::sched::Run(Busy, &random);
  ASSERT_TRUE(recorded.ok());
  // The same decisions against a harness with one thread fewer cannot line up.
  const RunResult diverged = Replay(
      [] {
        Atomic<int> x(0);
        Thread t([&] { x.fetch_add(1); });
      },
      recorded.decisions);
  EXPECT_EQ(diverged.outcome, Outcome::kNondeterminism) << diverged.report;
}

// The hash is a function of the decisions alone: fixed values pin it across builds and platforms
// (a trace printed today must match one printed after a rebuild), and any change to a choice, a
// candidate count or the length changes it.
TEST(SchedDeterminismTest, DecisionsHashIsStableAndSeesEveryDecision) {
  using port::sched::Decision;
  EXPECT_EQ(DecisionsHash({}), 0xa8c7f832281a39c5ull);  // FNV-1a of eight zero bytes (the count).
  const std::vector<Decision> base = {{0, 1}, {1, 2}, {2, 3}, {1, 2}};
  EXPECT_EQ(DecisionsHash(base), 0x90f35e49997aaa01ull);
  EXPECT_EQ(DecisionsHash(base), DecisionsHash(std::vector<Decision>(base)));
  std::vector<Decision> other_choice = base;
  other_choice[2].chosen = 1;
  std::vector<Decision> other_count = base;
  other_count[1].candidates = 3;
  std::vector<Decision> longer = base;
  longer.push_back({0, 1});
  EXPECT_NE(DecisionsHash(base), DecisionsHash(other_choice));
  EXPECT_NE(DecisionsHash(base), DecisionsHash(other_count));
  EXPECT_NE(DecisionsHash(base), DecisionsHash(longer));
  RandomStrategy first(5);
  RandomStrategy second(5);
  RandomStrategy third(6);
  const RunResult a = port::sched::Run(Busy, &first);
  EXPECT_EQ(DecisionsHash(a.decisions), DecisionsHash(port::sched::Run(Busy, &second).decisions));
  EXPECT_NE(DecisionsHash(a.decisions), DecisionsHash(port::sched::Run(Busy, &third).decisions));
}

// ---- Several runs at once ----------------------------------------------------------------------

constexpr uint64_t kConcurrentSeeds = 12;

// The random and PCT decisions of `harness` for seeds 1..kConcurrentSeeds, in that order, each
// with its outcome and report.
std::vector<RunResult> RunAllSeeds(const Harness& harness) {
  std::vector<RunResult> results;
  for (uint64_t seed = 1; seed <= kConcurrentSeeds; ++seed) {
    results.push_back(RunSeed(harness, seed));
    PctStrategy pct(seed, 3, 400);
    results.push_back(port::sched::Run(harness, &pct));
  }
  return results;
}

void ExpectSameRuns(const std::vector<RunResult>& expected, const std::vector<RunResult>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].outcome, actual[i].outcome) << "run " << i << ": " << actual[i].report;
    EXPECT_EQ(expected[i].report, actual[i].report) << "run " << i;
    EXPECT_EQ(expected[i].decisions, actual[i].decisions) << "run " << i;
    EXPECT_EQ(expected[i].steps, actual[i].steps) << "run " << i;
  }
}

// Runs `first` and `second` over the seeds on two OS threads at once (released together, so
// their runs overlap) and returns both result lists.
std::pair<std::vector<RunResult>, std::vector<RunResult>> RunAllSeedsAtOnce(const Harness& first,
                                                                            const Harness& second) {
  std::vector<RunResult> a;
  std::vector<RunResult> b;
  std::latch start(2);
  std::thread one([&] {
    start.arrive_and_wait();
    a = RunAllSeeds(first);
  });
  std::thread two([&] {
    start.arrive_and_wait();
    b = RunAllSeeds(second);
  });
  one.join();
  two.join();
  return {std::move(a), std::move(b)};
}

// Each run has its own runtime (sched.h): the same harness and seeds on two OS threads at once
// make exactly the decisions they make one after the other.
TEST(SchedConcurrentRunsTest, TwoRunsAtOnceDecideAsSequentialRuns) {
  const std::vector<RunResult> sequential = RunAllSeeds(Busy);
  for (const RunResult& run : sequential) ASSERT_TRUE(run.ok()) << run.report;
  const auto [a, b] = RunAllSeedsAtOnce(Busy, Busy);
  ExpectSameRuns(sequential, a);
  ExpectSameRuns(sequential, b);
  EXPECT_FALSE(port::sched::InRun());
}

// A run that fails (a deadlock, a Fail, a throwing thread) unwinds only its own threads: the run
// beside it on another OS thread goes on undisturbed, and the failing one reports exactly what it
// reports alone.
TEST(SchedConcurrentRunsTest, AFailingRunDoesNotDisturbTheOtherRun) {
  const Harness failing = [] {
    LostWakeup(true);  // A deadlock for some seeds.
    Counter(true);     // A Fail for others.
    Thread t("thrower", [] { throw std::runtime_error("boom"); });
  };
  const std::vector<RunResult> busy = RunAllSeeds(Busy);
  const std::vector<RunResult> failures = RunAllSeeds(failing);
  bool deadlocked = false;
  bool failed = false;
  for (const RunResult& run : failures) {
    ASSERT_FALSE(run.ok());
    deadlocked = deadlocked || run.outcome == Outcome::kDeadlock;
    failed = failed || run.outcome == Outcome::kFailed;
  }
  EXPECT_TRUE(deadlocked && failed);
  const auto [a, b] = RunAllSeedsAtOnce(Busy, failing);
  ExpectSameRuns(busy, a);
  ExpectSameRuns(failures, b);
}

// ---- Simulated time ----------------------------------------------------------------------------

TEST(SchedTimeTest, TimedWaitExpiresInSimulatedTimeWhenNobodyCanSignal) {
  const auto harness = [] {
    Mutex mu;
    CondVar cv(&mu);
    MutexLock lock(&mu);
    const uint64_t start_us = port::sched::NowMicros();
    if (cv.WaitForMicros(1500)) Fail("woken without a signal");
    if (port::sched::NowMicros() != start_us + 1500) Fail("time did not advance by the timeout");
  };
  const ExploreResult result = ExploreRandom(harness, 1, 10);
  EXPECT_FALSE(result.found) << Describe(result);
  RunOptions options;
  options.start_us = 1000;
  const RunResult timed = RunSeed(
      [] {
        Mutex mu;
        CondVar cv(&mu);
        MutexLock lock(&mu);
        (void)cv.WaitForMicros(1500);
      },
      1, options);
  EXPECT_TRUE(timed.ok()) << timed.report;
  EXPECT_EQ(timed.end_us, 2500u);
}

// While another thread can run, time stands still: the waiter is signalled at simulated time 0,
// however long the signaller works first.
TEST(SchedTimeTest, TimeStandsStillWhileAThreadIsRunnable) {
  const auto harness = [] {
    Mutex mu;
    CondVar cv(&mu);
    bool done = false;
    Atomic<int> work(0);
    Thread waiter("waiter", [&] {
      MutexLock lock(&mu);
      while (!done) {
        if (!cv.WaitForMicros(1000)) Fail("timed out while the signaller could run");
      }
    });
    Thread signaller("signaller", [&] {
      for (int i = 0; i < 50; ++i) work.fetch_add(1);
      MutexLock lock(&mu);
      done = true;
      cv.Signal();
    });
    waiter.Join();
    signaller.Join();
    if (port::sched::NowMicros() != 0) Fail("time advanced");
  };
  const ExploreResult result = ExploreRandom(harness, 1, kSeeds);
  EXPECT_FALSE(result.found) << Describe(result);
}

TEST(SchedTimeTest, SleepersWakeInDeadlineOrder) {
  const auto harness = [] {
    SchedClock clock;
    Mutex mu;
    std::vector<std::pair<int, uint64_t>> woke;
    auto sleeper = [&](int who, uint64_t duration_us) {
      clock.SleepForMicros(duration_us);
      MutexLock lock(&mu);
      woke.emplace_back(who, clock.NowMicros());
    };
    {
      Thread slow("slow", [&] { sleeper(1, 300); });
      Thread fast("fast", [&] { sleeper(2, 100); });
    }
    const std::vector<std::pair<int, uint64_t>> expected = {{2, 100}, {1, 300}};
    if (woke != expected) Fail("wrong wake order");
  };
  const ExploreResult result = ExploreExhaustive(harness, kPreemptions, kSchedulesMax);
  EXPECT_FALSE(result.found) << Describe(result);
  EXPECT_TRUE(result.complete);
}

// A deadlocked pair beside a sleeper: time first runs to the sleeper's deadline; the deadlock is
// reported once only untimed waits remain.
TEST(SchedTimeTest, DeadlockIsReportedAfterTimedWaitsDrain) {
  const RunResult run = RunSeed(
      [] {
        Mutex mu;
        CondVar cv(&mu, "never");
        Thread sleeper("sleeper", [] { port::sched::SleepForMicros(700); });
        MutexLock lock(&mu);
        cv.Wait();
      },
      5);
  EXPECT_EQ(run.outcome, Outcome::kDeadlock) << run.report;
  EXPECT_EQ(run.end_us, 700u);
  EXPECT_NE(run.report.find("thread 0 'main': blocked in CondVar::Wait on condvar#0 'never'"),
            std::string::npos)
      << run.report;
}

// ---- Livelock and failures ---------------------------------------------------------------------

TEST(SchedFailureTest, SpinningWithoutProgressIsALivelock) {
  RunOptions options;
  options.spin_steps_max = 500;
  const RunResult run = RunSeed(
      [] {
        Atomic<int> never(0);
        Thread a("a", [&] {
          while (never.load() == 0) {
          }
        });
        Thread b("b", [&] {
          while (never.load() == 0) port::sched::Yield();
        });
      },
      1, options);
  EXPECT_EQ(run.outcome, Outcome::kLivelock) << run.report;
  EXPECT_NE(run.report.find("steps without progress"), std::string::npos) << run.report;
  EXPECT_NE(run.report.find("thread 1 'a'"), std::string::npos) << run.report;
}

TEST(SchedFailureTest, StepBoundEndsARunThatKeepsProgressing) {
  RunOptions options;
  options.steps_max = 300;
  const RunResult run = RunSeed(
      [] {
        Atomic<int> count(0);
        Thread a("a", [&] {
          while (true) count.fetch_add(1);
        });
      },
      1, options);
  EXPECT_EQ(run.outcome, Outcome::kLivelock) << run.report;
  EXPECT_NE(run.report.find("more than 300 steps"), std::string::npos) << run.report;
}

TEST(SchedFailureTest, PhaseBoundEndsAPhaseThatWaitsOnTimeWithoutEnd) {
  const RunResult run = RunSeed(
      [] {
        port::sched::SetPhaseBound(1'000'000, 1'000, "phase");
        Mutex mu("mu");
        CondVar never(&mu, "never");
        // A timed wait, not a sleep: a failing run unwinds a thread from its waits, but a sleep
        // returns, and a loop of them would spin.
        Thread sleeper("sleeper", [&] {
          MutexLock lock(&mu);
          while (true) never.WaitForMicros(100);
        });
      },
      1);
  EXPECT_EQ(run.outcome, Outcome::kLivelock) << run.report;
  EXPECT_EQ(run.report.rfind("phase: every thread waits past the time bound (1000 us)", 0), 0u)
      << run.report;
  EXPECT_NE(run.report.find(
                "thread 1 'sleeper': blocked in CondVar::Wait on condvar#0 'never' until 1100 us"),
            std::string::npos)
      << run.report;
  EXPECT_LE(run.end_us, 1'000u);
}

TEST(SchedFailureTest, PhaseBoundEndsAPhaseThatKeepsStepping) {
  const RunResult run = RunSeed(
      [] {
        port::sched::SetPhaseBound(200, port::sched::kNoDeadline, "phase");
        Atomic<int> count(0);
        Thread a("a", [&] {
          while (true) count.fetch_add(1);
        });
      },
      1);
  EXPECT_EQ(run.outcome, Outcome::kLivelock) << run.report;
  EXPECT_EQ(run.report.rfind("phase: the step bound passed", 0), 0u) << run.report;
  EXPECT_NE(run.report.find("thread 1 'a': runnable"), std::string::npos) << run.report;
}

TEST(SchedFailureTest, ClearedPhaseBoundNoLongerApplies) {
  const RunResult run = RunSeed(
      [] {
        port::sched::SetPhaseBound(10, 10, "phase");
        port::sched::ClearPhaseBound();
        Atomic<int> count(0);
        for (int i = 0; i < 100; ++i) count.fetch_add(1);
        port::sched::SleepForMicros(50);
      },
      1);
  EXPECT_EQ(run.outcome, Outcome::kOk) << run.report;
  EXPECT_EQ(run.end_us, 50u);
}

TEST(SchedFailureTest, ThrowingThreadFailsTheRun) {
  const RunResult run =
      RunSeed([] { Thread t("thrower", [] { throw std::runtime_error("boom"); }); }, 1);
  EXPECT_EQ(run.outcome, Outcome::kFailed);
  EXPECT_NE(run.report.find("thread thrower threw: boom"), std::string::npos) << run.report;
}

// While a failed run unwinds, destructors still lock, join and sleep (a database's close does all
// three): a contended lock is waited for until its holder has unwound through its guard, a join
// until the thread has unwound, a sleep returns; none throws again (which would terminate).
TEST(SchedFailureTest, DestructorsThatLockJoinAndSleepCompleteWhileARunFails) {
  bool completed = false;
  const RunResult run = RunSeed(
      [&completed] {
        Mutex state("state");
        Mutex gate("gate");
        CondVar never(&gate, "never");
        bool holding = false;
        auto holder = std::make_unique<Thread>("holder", [&] {
          MutexLock hold(&state);
          MutexLock wait(&gate);
          holding = true;
          for (;;) never.Wait();  // Left only by the unwinding, holding `state` until then.
        });
        struct Closer {
          Mutex* state;
          std::unique_ptr<Thread>* holder;
          bool* completed;
          ~Closer() {
            { MutexLock lock(state); }
            holder->reset();
            port::sched::SleepForMicros(10);
            *completed = true;
          }
        };
        const Closer closer{&state, &holder, &completed};
        while (!holding) port::sched::SleepForMicros(1);
        Fail("on purpose");
      },
      1);
  EXPECT_EQ(run.outcome, Outcome::kFailed) << run.report;
  EXPECT_NE(run.report.find("'holder': blocked in CondVar::Wait on condvar#0 'never'"),
            std::string::npos)
      << run.report;
  EXPECT_TRUE(completed);
}

// ---- Outside a run -----------------------------------------------------------------------------

// The scheduled primitives fall back to the standard ones on threads no run manages.
TEST(SchedFallbackTest, PrimitivesWorkOutsideARun) {
  EXPECT_FALSE(port::sched::InRun());
  Mutex mu;
  CondVar cv(&mu);
  int64_t counter = 0;
  bool go = false;
  {
    std::vector<std::unique_ptr<Thread>> threads;
    for (int t = 0; t < 4; ++t) {
      threads.push_back(std::make_unique<Thread>([&] {
        {
          MutexLock lock(&mu);
          while (!go) cv.Wait();
        }
        for (int i = 0; i < 1000; ++i) {
          MutexLock lock(&mu);
          ++counter;
        }
      }));
    }
    MutexLock lock(&mu);
    go = true;
    cv.SignalAll();
  }
  EXPECT_EQ(counter, 4000);
  Atomic<int> x(1);
  EXPECT_EQ(x.exchange(2), 1);
  int expected = 2;
  EXPECT_TRUE(x.compare_exchange_strong(expected, 3));
  EXPECT_EQ(x.load(), 3);
}

}  // namespace
}  // namespace manifold::sim::sched
