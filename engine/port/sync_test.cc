#include "engine/port/sync.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/port/atomic.h"
#include "gtest/gtest.h"

namespace manifold::port {
namespace {

TEST(MutexTest, MutualExclusion) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20000;
  Mutex mu;
  // Deliberately a non-atomic read-modify-write: without exclusion, increments get lost (and
  // TSan/ASan builds would flag the race).
  int64_t counter = 0;
  {
    std::vector<std::unique_ptr<Thread>> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.push_back(std::make_unique<Thread>([&] {
        for (int i = 0; i < kIncrements; ++i) {
          MutexLock lock(&mu);
          mu.AssertHeld();
          const int64_t seen = counter;
          counter = seen + 1;
        }
      }));
    }
    for (auto& thread : threads) thread->Join();
  }
  EXPECT_EQ(counter, int64_t{kThreads} * kIncrements);
}

TEST(MutexTest, ExplicitLockUnlock) {
  Mutex mu;
  mu.Lock();
  mu.AssertHeld();
  mu.Unlock();
  MutexLock lock(&mu);  // Lockable again.
}

TEST(SharedMutexTest, WritersExcludeEachOther) {
  SharedMutex mu;
  int64_t counter = 0;
  {
    std::vector<std::unique_ptr<Thread>> threads;
    for (int t = 0; t < 4; ++t) {
      threads.push_back(std::make_unique<Thread>([&] {
        for (int i = 0; i < 10000; ++i) {
          WriterLock lock(&mu);
          counter = counter + 1;
        }
      }));
    }
  }  // Thread destructors join.
  EXPECT_EQ(counter, 40000);
}

TEST(SharedMutexTest, ReadersShare) {
  SharedMutex mu;
  Mutex state_mu;
  CondVar state_cv(&state_mu);
  int readers_inside = 0;
  bool both_inside = false;
  // Two readers each wait, while holding the shared lock, until both are inside at once. This
  // only finishes if shared holders really do not exclude each other.
  auto reader = [&] {
    ReaderLock lock(&mu);
    MutexLock state_lock(&state_mu);
    ++readers_inside;
    state_cv.SignalAll();
    while (readers_inside < 2) {
      ASSERT_TRUE(state_cv.WaitForMicros(10'000'000)) << "second reader never got in";
    }
    both_inside = true;
  };
  Thread a(reader);
  Thread b(reader);
  a.Join();
  b.Join();
  EXPECT_TRUE(both_inside);

  // And a writer gets in afterwards.
  mu.Lock();
  mu.Unlock();
  mu.LockShared();
  mu.UnlockShared();
}

TEST(SharedMutexTest, WriterWaitsForReader) {
  SharedMutex mu;
  Atomic<bool> writer_done{false};
  mu.LockShared();
  Thread writer([&] {
    WriterLock lock(&mu);
    writer_done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(writer_done.load());
  mu.UnlockShared();
  writer.Join();
  EXPECT_TRUE(writer_done.load());
}

TEST(CondVarTest, Handoff) {
  Mutex mu;
  CondVar cv(&mu);
  int value = 0;  // Ping-pong: the main thread sets odd values, the helper sets even ones.
  constexpr int kRounds = 1000;
  Thread helper([&] {
    MutexLock lock(&mu);
    for (int round = 0; round < kRounds; ++round) {
      while (value % 2 == 0) cv.Wait();
      ++value;
      cv.SignalAll();
    }
  });
  {
    MutexLock lock(&mu);
    for (int round = 0; round < kRounds; ++round) {
      while (value % 2 == 1) cv.Wait();
      ++value;
      cv.Signal();
    }
    while (value != 2 * kRounds) cv.Wait();
  }
  helper.Join();
  EXPECT_EQ(value, 2 * kRounds);
}

TEST(CondVarTest, WaitForMicrosTimesOut) {
  Mutex mu;
  CondVar cv(&mu);
  MutexLock lock(&mu);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(cv.WaitForMicros(20'000));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(19));
  // The mutex is held again after the wait: AssertHeld is a no-op, but unlocking through the
  // MutexLock at scope exit must not fail.
  mu.AssertHeld();
}

TEST(CondVarTest, WaitForMicrosZeroTimeout) {
  Mutex mu;
  CondVar cv(&mu);
  MutexLock lock(&mu);
  EXPECT_FALSE(cv.WaitForMicros(0));
}

// The waiter holds the mutex while starting the signaller, so the signal can only be sent once
// the waiter is inside WaitForMicros (which releases the mutex).
void ExpectSignalledWait(uint64_t timeout_us) {
  Mutex mu;
  CondVar cv(&mu);
  bool ready = false;
  MutexLock lock(&mu);
  Thread signaller([&] {
    MutexLock signaller_lock(&mu);
    ready = true;
    cv.Signal();
  });
  bool signalled = false;
  while (!ready) signalled = cv.WaitForMicros(timeout_us);
  EXPECT_TRUE(signalled);
}

TEST(CondVarTest, WaitForMicrosSignalled) { ExpectSignalledWait(30'000'000); }

TEST(CondVarTest, HugeTimeoutDoesNotOverflow) { ExpectSignalledWait(UINT64_MAX); }

// A clock only the test moves (like the simulator's).
class ManualClock final : public Clock {
 public:
  uint64_t NowMicros() override { return now_us.load(); }
  void SleepForMicros(uint64_t duration_us) override { now_us += duration_us; }
  std::atomic<uint64_t> now_us{1000};
};

TEST(CondVarTest, WaitUntilFollowsTheInjectedClockNotTheWallClock) {
  Mutex mu;
  CondVar cv(&mu);
  ManualClock clock;
  MutexLock lock(&mu);
  EXPECT_FALSE(cv.WaitUntil(&clock, 1000));  // Already due: no wait at all.
  // 50 ms of real time pass, but the injected clock stands still: the deadline never passes.
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(50)) {
    EXPECT_TRUE(cv.WaitUntil(&clock, 2000));
  }
  // Another thread moves the clock past the deadline: the waiter notices without a signal.
  Thread mover([&] { clock.SleepForMicros(5000); });
  bool before_deadline = true;
  while (before_deadline) before_deadline = cv.WaitUntil(&clock, 2000);
  EXPECT_GE(clock.NowMicros(), 2000u);
}

TEST(CondVarTest, WaitUntilWithTheSystemClockTimesOut) {
  Mutex mu;
  CondVar cv(&mu);
  MutexLock lock(&mu);
  Clock* clock = SystemClock();
  const uint64_t deadline_us = clock->NowMicros() + 20'000;
  while (cv.WaitUntil(clock, deadline_us)) {
  }
  EXPECT_GE(clock->NowMicros(), deadline_us);
}

TEST(ThreadTest, RunsBodyAndJoins) {
  Atomic<int> ran{0};
  {
    Thread t([&] { ran.fetch_add(1); });
    t.Join();
    EXPECT_EQ(ran.load(), 1);
  }
  {
    Thread t([&] { ran.fetch_add(1); });
  }  // Destructor joins.
  EXPECT_EQ(ran.load(), 2);
}

TEST(AtomicTest, ReadModifyWritesAreAtomic) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20000;
  Atomic<uint64_t> count(0);
  {
    std::vector<std::unique_ptr<Thread>> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.push_back(std::make_unique<Thread>([&] {
        for (int i = 0; i < kIncrements; ++i) {
          if (i % 2 == 0) {
            count.fetch_add(1, std::memory_order_relaxed);
          } else {
            ++count;
          }
        }
      }));
    }
  }
  EXPECT_EQ(count.load(), uint64_t{kThreads} * kIncrements);
}

TEST(AtomicTest, OperationsMatchStdAtomic) {
  Atomic<int> x;
  EXPECT_EQ(x.load(), 0);  // Value-initialized, like std::atomic in C++20.
  x.store(5);
  EXPECT_EQ(x.exchange(7), 5);
  int expected = 6;
  EXPECT_FALSE(x.compare_exchange_strong(expected, 9));
  EXPECT_EQ(expected, 7);  // A failed exchange reports what it saw.
  EXPECT_TRUE(x.compare_exchange_strong(expected, 9));
  EXPECT_EQ(x.fetch_sub(4), 9);
  EXPECT_EQ(x += 10, 15);
  EXPECT_EQ(x -= 5, 10);
  EXPECT_EQ(--x, 9);
  const int value = x;  // Implicit load, as std::atomic.
  EXPECT_EQ(value, 9);
  int pointee = 0;
  Atomic<int*> pointer(nullptr);
  pointer.store(&pointee, std::memory_order_release);
  EXPECT_EQ(pointer.load(std::memory_order_acquire), &pointee);
  int* seen = &pointee;
  while (!pointer.compare_exchange_weak(seen, nullptr)) {
  }
  EXPECT_EQ(pointer.load(), nullptr);
}

}  // namespace
}  // namespace manifold::port
