// The scheduled port primitives: included by sync.h instead of its production classes when
// MANIFOLD_SIM_SCHEDULER is set. Same names and API, but on a managed thread of a
// sched::Run every operation is a scheduling point, blocking is the runtime's bookkeeping (so a
// deadlock is reported, not hung in) and timed waits run on simulated time. Off a managed thread
// they fall back to the standard primitives, so setup code outside a run still works; one object
// must not be used both inside and outside a run at the same time.
//
// Only one managed thread runs at a time, and the baton passes under the runtime's mutex, so the
// fields below need no synchronization of their own.
#ifndef MANIFOLD_PORT_SCHED_SYNC_H_
#define MANIFOLD_PORT_SCHED_SYNC_H_

#include <cassert>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "engine/port/clock_wait.h"
#include "engine/port/sched.h"
#include "engine/port/source_location.h"
#include "engine/port/std_timeout.h"
#include "engine/port/thread_annotations.h"

namespace manifold::port {

using Where = port::SourceLocation;

class CondVar;

class MANIFOLD_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  explicit Mutex(const char* name) : name_(name) {}
  ~Mutex() { sched::internal::Forget(this); }
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock(Where where = Where::current()) MANIFOLD_ACQUIRE() {
    if (!sched::InRun()) return mu_.lock();
    sched::internal::Point("Mutex::Lock", this, name_, where, true);
    Acquire(where);
  }
  void Unlock(Where where = Where::current()) MANIFOLD_RELEASE() {
    if (!sched::InRun()) return mu_.unlock();
    Release();
    sched::internal::ReleasePoint("Mutex::Unlock", this, name_, where);
  }
  // Checks, on a managed thread, that the caller holds the lock.
  void AssertHeld() const MANIFOLD_ASSERT_CAPABILITY(this) {
    assert((!sched::InRun() || owner_ == sched::internal::CurrentId() ||
            sched::internal::Aborting()) &&
           "Mutex::AssertHeld: not held by this thread");
  }

 private:
  friend class CondVar;
  static constexpr int kNoOwner = -1;

  void Acquire(Where where) {
    int abort_waits = 0;
    while (owner_ != kNoOwner) {
      sched::internal::BlockOnLock("Mutex::Lock", this, name_, where, &abort_waits);
    }
    owner_ = sched::internal::CurrentId();
  }
  // Tolerates a thread that unwinds a failed run from inside CondVar::Wait without the lock.
  void Release() {
    const int me = sched::internal::CurrentId();
    assert((owner_ == me || sched::internal::Aborting()) && "Mutex::Unlock: not the owner");
    if (owner_ != me) return;
    owner_ = kNoOwner;
    sched::internal::WakeAll(this);
  }

  const char* const name_ = nullptr;
  int owner_ = kNoOwner;
  std::mutex mu_;  // Used off managed threads only.
};

class MANIFOLD_CAPABILITY("shared_mutex") SharedMutex {
 public:
  SharedMutex() = default;
  explicit SharedMutex(const char* name) : name_(name) {}
  ~SharedMutex() { sched::internal::Forget(this); }
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock(Where where = Where::current()) MANIFOLD_ACQUIRE() {
    if (!sched::InRun()) return mu_.lock();
    sched::internal::Point("SharedMutex::Lock", this, name_, where, true);
    int abort_waits = 0;
    while (writer_ != kNoOwner || readers_ > 0) {
      sched::internal::BlockOnLock("SharedMutex::Lock", this, name_, where, &abort_waits);
    }
    writer_ = sched::internal::CurrentId();
  }
  void Unlock(Where where = Where::current()) MANIFOLD_RELEASE() {
    if (!sched::InRun()) return mu_.unlock();
    assert(writer_ == sched::internal::CurrentId() && "SharedMutex::Unlock: not the writer");
    writer_ = kNoOwner;
    sched::internal::WakeAll(this);
    sched::internal::ReleasePoint("SharedMutex::Unlock", this, name_, where);
  }
  void LockShared(Where where = Where::current()) MANIFOLD_ACQUIRE_SHARED() {
    if (!sched::InRun()) return mu_.lock_shared();
    sched::internal::Point("SharedMutex::LockShared", this, name_, where, true);
    int abort_waits = 0;
    while (writer_ != kNoOwner) {
      sched::internal::BlockOnLock("SharedMutex::LockShared", this, name_, where, &abort_waits);
    }
    ++readers_;
  }
  void UnlockShared(Where where = Where::current()) MANIFOLD_RELEASE_SHARED() {
    if (!sched::InRun()) return mu_.unlock_shared();
    assert(readers_ > 0 && "SharedMutex::UnlockShared: no reader");
    if (--readers_ == 0) sched::internal::WakeAll(this);
    sched::internal::ReleasePoint("SharedMutex::UnlockShared", this, name_, where);
  }
  // Checks, on a managed thread, that the caller holds the lock exclusively.
  void AssertHeld() const MANIFOLD_ASSERT_CAPABILITY(this) {
    assert((!sched::InRun() || writer_ == sched::internal::CurrentId()) &&
           "SharedMutex::AssertHeld: not held exclusively by this thread");
  }

 private:
  static constexpr int kNoOwner = -1;
  const char* const name_ = nullptr;
  int writer_ = kNoOwner;
  int readers_ = 0;
  std::shared_mutex mu_;  // Used off managed threads only.
};

// Wakes waiters in the order they began to wait (Signal wakes the earliest); a woken waiter
// still competes for the mutex at the scheduler's choice.
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  CondVar(Mutex* mu, const char* name) : mu_(mu), name_(name) {}
  ~CondVar() { sched::internal::Forget(this); }
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Where where = Where::current()) {
    if (!sched::InRun()) {
      std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
      cv_.wait(lock);
      lock.release();
      return;
    }
    WaitUntil(sched::kNoDeadline, where);
  }

  // Returns false if `timeout_us` of simulated time passed without a wake-up. Time only passes
  // when every managed thread is blocked, so a waiter times out only if nobody can signal it.
  bool WaitForMicros(uint64_t timeout_us, Where where = Where::current()) {
    if (!sched::InRun()) {
      std::unique_lock<std::mutex> lock(mu_->mu_, std::adopt_lock);
      const std::cv_status status = cv_.wait_for(lock, internal::StdTimeout(timeout_us));
      lock.release();
      return status == std::cv_status::no_timeout;
    }
    const uint64_t now_us = sched::NowMicros(where);
    const uint64_t deadline_us =
        timeout_us >= sched::kNoDeadline - now_us ? sched::kNoDeadline - 1 : now_us + timeout_us;
    return WaitUntil(deadline_us, where);
  }

  // As the production CondVar::WaitUntil: the deadline is read from `clock` (under the scheduler
  // the timed wait in between runs in simulated time).
  bool WaitUntil(Clock* clock, uint64_t deadline_us, Where where = Where::current()) {
    return internal::WaitUntilOnClock(this, clock, deadline_us, where);
  }

  void Signal(Where where = Where::current()) {
    if (!sched::InRun()) return cv_.notify_one();
    sched::internal::WakeOne(this);
    sched::internal::ReleasePoint("CondVar::Signal", this, name_, where);
  }
  void SignalAll(Where where = Where::current()) {
    if (!sched::InRun()) return cv_.notify_all();
    sched::internal::WakeAll(this);
    sched::internal::ReleasePoint("CondVar::SignalAll", this, name_, where);
  }

 private:
  // Releases the mutex and blocks in one step (no other thread runs in between), then
  // re-acquires. Returns false if the deadline passed.
  bool WaitUntil(uint64_t deadline_us, Where where) {
    mu_->AssertHeld();
    mu_->Release();
    const bool woken = sched::internal::Block("CondVar::Wait", this, name_, where, deadline_us);
    mu_->Acquire(where);
    return woken;
  }

  Mutex* const mu_;
  const char* const name_ = nullptr;
  std::condition_variable cv_;  // Used off managed threads only.
};

// Starting and joining are scheduling points; a new thread runs only when the scheduler picks it.
class Thread {
 public:
  explicit Thread(std::function<void()> body, Where where = Where::current())
      : Thread(nullptr, std::move(body), where) {}
  // `where` (the caller) is also what a report names for a wait in the destructor, which has no
  // caller location of its own.
  Thread(const char* name, std::function<void()> body, Where where = Where::current())
      : started_at_(where) {
    if (!sched::InRun()) {
      thread_ = std::thread(std::move(body));
      return;
    }
    id_ = sched::internal::Spawn(name, [&](sched::internal::Runtime* run, int id) {
      thread_ = std::thread(
          [run, id, managed = std::move(body)] { sched::internal::RunManaged(run, id, managed); });
    });
    sched::internal::Point("Thread::Start", sched::internal::ThreadObject(id_), nullptr, where,
                           true);
  }
  // Waits for the thread without throwing, also while a failed run unwinds.
  ~Thread() {
    if (!thread_.joinable()) return;
    while (id_ >= 0 && !sched::internal::Finished(id_)) {
      sched::internal::BlockNoThrow("Thread::~Thread (of the thread started at)",
                                    sched::internal::ThreadObject(id_), started_at_);
    }
    thread_.join();
  }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  void Join(Where where = Where::current()) {
    if (id_ >= 0) {
      const void* object = sched::internal::ThreadObject(id_);
      sched::internal::Point("Thread::Join", object, nullptr, where, true);
      // A failing run unwinds every managed thread, so the wait ends without throwing (also in
      // a destructor that joins, such as a database's close).
      while (!sched::internal::Finished(id_)) {
        sched::internal::BlockNoThrow("Thread::Join", object, where);
      }
    }
    thread_.join();
  }

 private:
  int id_ = -1;  // The managed thread's id; -1 for a thread started outside a run.
  const Where started_at_;
  std::thread thread_;
};

// A scheduling point named `op` on `object` (see sync.h); nothing off managed threads. Never take
// a non-port (std) mutex before one: the baton would then pass while the OS lock is held, and a
// thread that runs next and wants that lock would block in the OS, where the runtime cannot see it.
inline void SchedulingPoint(const char* op, const void* object, Where where = Where::current()) {
  sched::internal::Point(op, object, nullptr, where, true);
}

}  // namespace manifold::port

#endif  // MANIFOLD_PORT_SCHED_SYNC_H_
