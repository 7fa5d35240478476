// Synchronization primitives for the engine. All engine locking, waiting and thread creation goes
// through these classes rather than the standard library directly, so the simulator can swap in a
// deterministic scheduler without touching engine code. The production versions below are thin
// inline wrappers over <mutex>, <shared_mutex>, <condition_variable> and <thread>, so they cost
// nothing over using the standard types directly. Built with MANIFOLD_SIM_SCHEDULER (Bazel
// --define=manifold_sim_scheduler=1, or the //engine/port:port_sim target), the same names come
// from sched_sync.h instead: every operation is a scheduling point of engine/port/sched.h.
//
// The `where` parameters name the caller in the scheduler's deadlock reports; the production
// versions ignore them (they vanish when inlined).
#ifndef MANIFOLD_PORT_SYNC_H_
#define MANIFOLD_PORT_SYNC_H_

#include "engine/port/source_location.h"

#if MANIFOLD_SIM_SCHEDULER
#include "engine/port/sched_sync.h"
#endif

#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "engine/port/clock_wait.h"
#include "engine/port/std_timeout.h"
#include "engine/port/thread_annotations.h"
#include "manifold/env.h"

namespace manifold::port {

using Where = port::SourceLocation;

#if !MANIFOLD_SIM_SCHEDULER
class CondVar;

// A non-recursive exclusive lock. `name` appears in the scheduler's reports.
class MANIFOLD_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  explicit Mutex(const char* name) { (void)name; }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock([[maybe_unused]] Where where = Where::current()) MANIFOLD_ACQUIRE() { mu_.lock(); }
  void Unlock([[maybe_unused]] Where where = Where::current()) MANIFOLD_RELEASE() { mu_.unlock(); }

  // Documents (and tells the thread-safety analysis) that the caller holds the lock. std::mutex
  // cannot report its owner, so this checks nothing at run time.
  void AssertHeld() const MANIFOLD_ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};
#endif  // !MANIFOLD_SIM_SCHEDULER

// Holds `mu` for its lifetime.
class MANIFOLD_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu, Where where = Where::current()) MANIFOLD_ACQUIRE(mu) : mu_(mu) {
    mu_->Lock(where);
  }
  ~MutexLock() MANIFOLD_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Releases `mu`, which the caller holds, until Relock() or the end of the scope, whichever comes
// first; the end of the scope takes it back also when the scope is left by an exception (under
// the scheduler, a failing run unwinding a thread from a blocking call), so the caller's
// MutexLock never releases a lock it does not hold and the code between sees the lock held.
class MANIFOLD_SCOPED_CAPABILITY MutexUnlock {
 public:
  explicit MutexUnlock(Mutex* mu, Where where = Where::current()) MANIFOLD_RELEASE(mu) : mu_(mu) {
    mu_->Unlock(where);
  }
  // Clang's analysis treats a scoped capability whose constructor releases as a "reverse" scope:
  // ending it (the destructor, or Relock) is annotated as a release of the scope, and re-acquires
  // the mutex (//engine:thread_safety_test).
  ~MutexUnlock() MANIFOLD_RELEASE() {
    if (!relocked_) mu_->Lock();
  }
  void Relock(Where where = Where::current()) MANIFOLD_RELEASE() {
    assert(!relocked_ && "MutexUnlock::Relock twice");
    relocked_ = true;
    mu_->Lock(where);
  }
  MutexUnlock(const MutexUnlock&) = delete;
  MutexUnlock& operator=(const MutexUnlock&) = delete;

 private:
  Mutex* const mu_;
  bool relocked_ = false;
};

// Runs `undo` when the scope is left by an exception, to leave shared state consistent for the
// threads and destructors that run after. Under the scheduler a failing run unwinds its managed
// threads with one, thrown from a blocking call (sched.h); production engine code throws none,
// so there this is empty and `undo` never runs (and costs nothing).
template <typename Undo>
class OnUnwind {
 public:
  explicit OnUnwind(Undo undo) : undo_(std::move(undo)) {}
  ~OnUnwind() {
#if MANIFOLD_SIM_SCHEDULER
    if (std::uncaught_exceptions() > exceptions_) undo_();
#endif
  }
  OnUnwind(const OnUnwind&) = delete;
  OnUnwind& operator=(const OnUnwind&) = delete;

 private:
#if MANIFOLD_SIM_SCHEDULER
  const int exceptions_ = std::uncaught_exceptions();
#endif
  Undo undo_;
};

#if !MANIFOLD_SIM_SCHEDULER
// A reader/writer lock: many holders in shared mode or one in exclusive mode.
class MANIFOLD_CAPABILITY("shared_mutex") SharedMutex {
 public:
  SharedMutex() = default;
  explicit SharedMutex(const char* name) { (void)name; }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock([[maybe_unused]] Where where = Where::current()) MANIFOLD_ACQUIRE() { mu_.lock(); }
  void Unlock([[maybe_unused]] Where where = Where::current()) MANIFOLD_RELEASE() { mu_.unlock(); }
  void LockShared([[maybe_unused]] Where where = Where::current()) MANIFOLD_ACQUIRE_SHARED() {
    mu_.lock_shared();
  }
  void UnlockShared([[maybe_unused]] Where where = Where::current()) MANIFOLD_RELEASE_SHARED() {
    mu_.unlock_shared();
  }

  // See Mutex::AssertHeld: documentation for the analysis only.
  void AssertHeld() const MANIFOLD_ASSERT_CAPABILITY(this) {}

 private:
  std::shared_mutex mu_;
};
#endif  // !MANIFOLD_SIM_SCHEDULER

// Holds `mu` exclusively for its lifetime.
class MANIFOLD_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu, Where where = Where::current()) MANIFOLD_ACQUIRE(mu)
      : mu_(mu) {
    mu_->Lock(where);
  }
  ~WriterLock() MANIFOLD_RELEASE() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* const mu_;
};

// Holds `mu` in shared mode for its lifetime.
class MANIFOLD_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu, Where where = Where::current()) MANIFOLD_ACQUIRE_SHARED(mu)
      : mu_(mu) {
    mu_->LockShared(where);
  }
  // Scoped capabilities are released with the generic RELEASE whatever mode they were taken in.
  ~ReaderLock() MANIFOLD_RELEASE() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* const mu_;
};

#if !MANIFOLD_SIM_SCHEDULER
// A condition variable tied to one Mutex. Every wait must be made with that mutex held; it is
// released while waiting and re-acquired before returning. Waits may wake spuriously, so callers
// re-check their condition in a loop.
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(Mutex* mu, const char* name) : mu_(mu) { (void)name; }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait([[maybe_unused]] Where where = Where::current()) {
    // Adopt the already-held std::mutex for the wait, then hand ownership back to `mu_` so the
    // caller's MutexLock still unlocks it.
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }

  // Waits at most `timeout_us` microseconds. Returns true if woken (by Signal/SignalAll or
  // spuriously) before the timeout, false if the timeout expired. Under the scheduler the timeout
  // runs in simulated time.
  bool WaitForMicros(uint64_t timeout_us, [[maybe_unused]] Where where = Where::current()) {
    std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
    const std::cv_status status = cv_.wait_for(lock, internal::StdTimeout(timeout_us));
    lock.release();
    return status == std::cv_status::no_timeout;
  }

  // Waits until signalled (or spuriously woken) or until `clock` reads at least `deadline_us`.
  // Returns false once the deadline has passed on `clock`. The deadline is the injected clock's
  // time, never the wall clock's (determinism): the real wait only bounds how long to sleep before
  // looking at `clock` again, so a clock that another thread advances (a simulated one) is noticed
  // within internal::kClockPollUs.
  bool WaitUntil(Clock* clock, uint64_t deadline_us, Where where = Where::current()) {
    return internal::WaitUntilOnClock(this, clock, deadline_us, where);
  }

  void Signal([[maybe_unused]] Where where = Where::current()) { cv_.notify_one(); }
  void SignalAll([[maybe_unused]] Where where = Where::current()) { cv_.notify_all(); }

 private:
  Mutex* const mu_;
  std::condition_variable cv_;
};

// A thread running `body`. Join() waits for it to finish; the destructor joins if Join() was not
// called, so a Thread going out of scope never leaves a detached thread behind (std::thread would
// call std::terminate instead). `name` appears in the scheduler's reports.
class Thread {
 public:
  explicit Thread(std::function<void()> body, [[maybe_unused]] Where where = Where::current())
      : thread_(std::move(body)) {}
  Thread(const char* name, std::function<void()> body,
         [[maybe_unused]] Where where = Where::current())
      : thread_(std::move(body)) {
    (void)name;
  }
  ~Thread() {
    if (thread_.joinable()) thread_.join();
  }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  void Join([[maybe_unused]] Where where = Where::current()) { thread_.join(); }

 private:
  std::thread thread_;
};

// A scheduling point named `op` ("SimFile::Write") on `object`, for code whose calls the scheduler
// should be able to interleave at although they take no port lock of their own on every path (a
// file system's calls: each is a point where another thread may run first). Nothing here; under
// the scheduler (sched_sync.h) a point of the active run, and nothing off managed threads.
inline void SchedulingPoint([[maybe_unused]] const char* op, [[maybe_unused]] const void* object,
                            [[maybe_unused]] Where where = Where::current()) {}
#endif  // !MANIFOLD_SIM_SCHEDULER

}  // namespace manifold::port

#endif  // MANIFOLD_PORT_SYNC_H_
