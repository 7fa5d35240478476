// Synchronization primitives for the engine. All engine locking, waiting and thread creation goes
// through these classes rather than the standard library directly, so a later change can swap in a
// deterministic scheduler for the simulator without touching engine code. The production versions
// below are thin inline wrappers over <mutex>, <shared_mutex>, <condition_variable> and <thread>,
// so they cost nothing over using the standard types directly.
#ifndef MANIFOLD_PORT_SYNC_H_
#define MANIFOLD_PORT_SYNC_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "engine/port/thread_annotations.h"
#include "manifold/env.h"

namespace manifold::port {

class CondVar;

// A non-recursive exclusive lock.
class MANIFOLD_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() MANIFOLD_ACQUIRE() { mu_.lock(); }
  void Unlock() MANIFOLD_RELEASE() { mu_.unlock(); }

  // Documents (and tells the thread-safety analysis) that the caller holds the lock. std::mutex
  // cannot report its owner, so this checks nothing at run time.
  void AssertHeld() const MANIFOLD_ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` for its lifetime.
class MANIFOLD_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) MANIFOLD_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() MANIFOLD_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A reader/writer lock: many holders in shared mode or one in exclusive mode.
class MANIFOLD_CAPABILITY("shared_mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() MANIFOLD_ACQUIRE() { mu_.lock(); }
  void Unlock() MANIFOLD_RELEASE() { mu_.unlock(); }
  void LockShared() MANIFOLD_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() MANIFOLD_RELEASE_SHARED() { mu_.unlock_shared(); }

  // See Mutex::AssertHeld: documentation for the analysis only.
  void AssertHeld() const MANIFOLD_ASSERT_CAPABILITY(this) {}

 private:
  std::shared_mutex mu_;
};

// Holds `mu` exclusively for its lifetime.
class MANIFOLD_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) MANIFOLD_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() MANIFOLD_RELEASE() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds `mu` in shared mode for its lifetime.
class MANIFOLD_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) MANIFOLD_ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  // Scoped capabilities are released with the generic RELEASE whatever mode they were taken in.
  ~ReaderLock() MANIFOLD_RELEASE() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// A condition variable tied to one Mutex. Every wait must be made with that mutex held; it is
// released while waiting and re-acquired before returning. Waits may wake spuriously, so callers
// re-check their condition in a loop.
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait() {
    // Adopt the already-held std::mutex for the wait, then hand ownership back to `mu_` so the
    // caller's MutexLock still unlocks it.
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }

  // Waits at most `timeout_us` microseconds. Returns true if woken (by Signal/SignalAll or
  // spuriously) before the timeout, false if the timeout expired.
  bool WaitForMicros(uint64_t timeout_us) {
    // Clamp so the deadline (now + timeout, in nanoseconds) cannot overflow; a century is forever.
    constexpr uint64_t kMaxTimeoutUs = uint64_t{100} * 365 * 24 * 3600 * 1000 * 1000;
    const auto timeout = std::chrono::microseconds(
        static_cast<int64_t>(timeout_us < kMaxTimeoutUs ? timeout_us : kMaxTimeoutUs));
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_for(lock, timeout);
    lock.release();
    return status == std::cv_status::no_timeout;
  }

  // Waits until signalled (or spuriously woken) or until `clock` reads at least `deadline_us`.
  // Returns false once the deadline has passed on `clock`. The deadline is the injected clock's
  // time, never the wall clock's (determinism): the real wait is only a bound on how long to sleep
  // before looking at `clock` again, so a clock that another thread advances (a simulated one) is
  // noticed within kClockPollUs.
  bool WaitUntil(Clock* clock, uint64_t deadline_us) {
    constexpr uint64_t kClockPollUs = 10'000;
    const uint64_t now_us = clock->NowMicros();
    if (now_us >= deadline_us) return false;
    const uint64_t remaining_us = deadline_us - now_us;
    (void)WaitForMicros(remaining_us < kClockPollUs ? remaining_us : kClockPollUs);
    return clock->NowMicros() < deadline_us;
  }

  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

// A thread running `body`. Join() waits for it to finish; the destructor joins if Join() was not
// called, so a Thread going out of scope never leaves a detached thread behind (std::thread would
// call std::terminate instead).
class Thread {
 public:
  explicit Thread(std::function<void()> body) : thread_(std::move(body)) {}
  ~Thread() {
    if (thread_.joinable()) thread_.join();
  }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  void Join() { thread_.join(); }

 private:
  std::thread thread_;
};

}  // namespace manifold::port

#endif  // MANIFOLD_PORT_SYNC_H_
