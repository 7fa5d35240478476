#include "engine/port/sched.h"

#include <cassert>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

namespace manifold::port::sched {
namespace internal {
struct Runtime;
}  // namespace internal
namespace {

using internal::Runtime;

// Thrown from blocking calls while a failed run unwinds its threads; caught by RunManaged.
struct RunAborted {};

enum class State { kRunnable, kBlocked, kFinished };

struct ThreadState {
  int id = 0;
  std::string name;
  State state = State::kRunnable;
  // While blocked: on what, in which call, from where, until when.
  const void* blocked_on = nullptr;
  const char* op = "start";
  port::SourceLocation where;
  uint64_t deadline_us = kNoDeadline;
  bool timed_out = false;
  uint64_t block_order = 0;   // WakeOne wakes the thread that blocked first.
  uint64_t abort_spins = 0;   // Consecutive no-progress points since the run began to fail.
  uint64_t abort_points = 0;  // All points since the run began to fail.
  std::condition_variable baton;
};

// While aborting, steps beyond this mean some thread spins without end: give up loudly.
constexpr uint64_t kAbortStepsMax = 10'000'000;
// While aborting, a thread that makes this many no-progress points in a row (a spin loop waiting
// for a thread that has unwound) is unwound too, unless it already is; so is one that makes this
// many points of any kind (a loop that keeps changing something).
constexpr uint64_t kAbortSpinsMax = 1000;
constexpr uint64_t kAbortPointsMax = 100'000;

}  // namespace

// One run's whole state. Each run owns one (on Run's stack); its managed threads reach it through
// t_run, so several runs can proceed at once on different OS threads without sharing anything.
struct internal::Runtime {
  std::mutex mu;
  Strategy* strategy = nullptr;
  RunOptions options;
  std::vector<std::unique_ptr<ThreadState>> threads;
  int active = -1;  // The baton holder.
  int unfinished = 0;
  uint64_t now_us = 0;
  uint64_t steps = 0;
  uint64_t spin_steps = 0;
  uint64_t abort_steps = 0;
  uint64_t block_counter = 0;
  std::vector<Decision> decisions;
  // SetPhaseBound: the last step and the latest simulated time the current phase may reach.
  uint64_t phase_steps_end = UINT64_MAX;
  uint64_t phase_end_us = kNoDeadline;
  std::string phase_what;
  bool aborting = false;
  Outcome outcome = Outcome::kOk;
  std::string report;
  // Report names only; never iterated, so it cannot steer a decision.
  std::unordered_map<const void*, std::string> names;
  std::map<std::string, int> kind_counts;
  std::condition_variable done;
};

namespace {

// The run the calling OS thread is a managed thread of (null elsewhere), and its id in that run.
// Set by RunManaged before the thread's body starts; a thread spawned inside the run is handed
// the pointer by Spawn, so it never depends on which run another OS thread belongs to.
thread_local Runtime* t_run = nullptr;
thread_local int t_id = -1;

using Lock = std::unique_lock<std::mutex>;

std::string Where(const port::SourceLocation& where) {
  std::string file = where.file_name();
  const size_t slash = file.rfind('/');
  if (slash != std::string::npos) file = file.substr(slash + 1);
  return file + ":" + std::to_string(where.line());
}

std::string NameOf(Runtime& rt, const void* object) {
  if (object == nullptr) return "simulated time";
  const auto it = rt.names.find(object);
  return it == rt.names.end() ? std::string("an unnamed object") : it->second;
}

std::string ThreadLine(Runtime& rt, const ThreadState& t) {
  std::string line = "  thread " + std::to_string(t.id) + " '" + t.name + "': ";
  if (t.state == State::kBlocked) {
    line += "blocked in " + std::string(t.op) + " on " + NameOf(rt, t.blocked_on);
    if (t.deadline_us != kNoDeadline) line += " until " + std::to_string(t.deadline_us) + " us";
  } else {
    line += "runnable, last at " + std::string(t.op);
  }
  return line + " (" + Where(t.where) + ")\n";
}

// "Mutex::Lock" on a new object -> "mutex#<n>", n counting per kind in order of first use (which
// the schedule determines, so reports are reproducible).
void NameOnFirstUse(Runtime& rt, const char* op, const void* object, const char* name) {
  if (object == nullptr || rt.names.count(object) != 0) return;
  std::string kind(op);
  kind = kind.substr(0, kind.find("::"));
  for (char& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string text = kind + "#" + std::to_string(rt.kind_counts[kind]++);
  if (name != nullptr) text += std::string(" '") + name + "'";
  rt.names[object] = std::move(text);
}

void StartAbort(Runtime& rt, Outcome outcome, const std::string& why) {
  if (rt.aborting) return;
  rt.aborting = true;
  rt.outcome = outcome;
  rt.report = why + "\n";
  for (const auto& t : rt.threads) {
    if (t->state != State::kFinished) rt.report += ThreadLine(rt, *t);
  }
  // Every blocked thread resumes once more, to unwind.
  for (const auto& t : rt.threads) {
    if (t->state == State::kBlocked) t->state = State::kRunnable;
  }
}

// Hands the baton to `next` and, unless `self` finished, waits until it comes back.
void HandTo(Runtime& rt, Lock& lock, ThreadState* self, int next) {
  if (next != self->id) {
    rt.active = next;
    rt.threads[next]->baton.notify_one();
  }
  if (self->state == State::kFinished) return;
  self->baton.wait(lock, [&] { return rt.active == self->id; });
}

// While aborting: round-robin over unfinished threads so every one gets to unwind.
void AbortHandOff(Runtime& rt, Lock& lock, ThreadState* self) {
  if (++rt.abort_steps > kAbortStepsMax) {
    std::fprintf(stderr, "sched: a failed run could not unwind (a thread spins):\n%s",
                 rt.report.c_str());
    std::abort();
  }
  const int n = static_cast<int>(rt.threads.size());
  for (int k = 1; k <= n; ++k) {
    const int id = (self->id + k) % n;
    if (rt.threads[id]->state == State::kRunnable) {
      HandTo(rt, lock, self, id);
      return;
    }
  }
  // Nobody else can run; `self` continues (or, finished, the run is over).
}

enum class Advance { kAdvanced, kNoDeadline, kPastPhaseBound };

// Wakes timed waiters when every thread is blocked, unless that would move time past the phase's
// bound.
Advance AdvanceTime(Runtime& rt) {
  uint64_t earliest = kNoDeadline;
  for (const auto& t : rt.threads) {
    if (t->state == State::kBlocked && t->deadline_us < earliest) earliest = t->deadline_us;
  }
  if (earliest == kNoDeadline) return Advance::kNoDeadline;
  if (earliest > rt.phase_end_us) return Advance::kPastPhaseBound;
  if (earliest > rt.now_us) rt.now_us = earliest;
  for (const auto& t : rt.threads) {
    if (t->state == State::kBlocked && t->deadline_us <= rt.now_us) {
      t->state = State::kRunnable;
      t->timed_out = true;
    }
  }
  return Advance::kAdvanced;
}

std::vector<int> Runnable(Runtime& rt) {
  std::vector<int> ids;
  for (const auto& t : rt.threads) {
    if (t->state == State::kRunnable) ids.push_back(t->id);
  }
  return ids;
}

bool CheckBounds(Runtime& rt) {
  if (rt.steps > rt.options.steps_max) {
    StartAbort(rt, Outcome::kLivelock,
               "livelock: more than " + std::to_string(rt.options.steps_max) + " steps");
  } else if (rt.spin_steps > rt.options.spin_steps_max) {
    StartAbort(rt, Outcome::kLivelock,
               "livelock: " + std::to_string(rt.spin_steps) + " steps without progress");
  } else if (rt.steps > rt.phase_steps_end) {
    StartAbort(rt, Outcome::kLivelock,
               rt.phase_what + ": the step bound passed (step " + std::to_string(rt.steps) + ")");
  }
  return !rt.aborting;
}

// The scheduling decision. Called by the baton holder after updating its own state; returns when
// `self` holds the baton again (at once if it keeps running), or at once if `self` finished.
void Reschedule(Runtime& rt, Lock& lock, ThreadState* self) {
  ++rt.steps;
  if (rt.aborting || !CheckBounds(rt)) return AbortHandOff(rt, lock, self);
  std::vector<int> runnable = Runnable(rt);
  if (runnable.empty()) {
    if (rt.unfinished == 0) return;
    const Advance advanced = AdvanceTime(rt);
    if (advanced == Advance::kNoDeadline) {
      StartAbort(rt, Outcome::kDeadlock, "deadlock: every thread is blocked");
      return AbortHandOff(rt, lock, self);
    }
    if (advanced == Advance::kPastPhaseBound) {
      StartAbort(rt, Outcome::kLivelock,
                 rt.phase_what + ": every thread waits past the time bound (" +
                     std::to_string(rt.phase_end_us) + " us)");
      return AbortHandOff(rt, lock, self);
    }
    runnable = Runnable(rt);
  }
  const int next = rt.strategy->Pick(runnable, self->id);
  bool valid = false;
  for (int id : runnable) valid = valid || id == next;
  if (!valid) {
    StartAbort(rt, Outcome::kNondeterminism,
               "nondeterminism: the strategy picked thread " + std::to_string(next) +
                   ", which cannot run at step " + std::to_string(rt.steps));
    return AbortHandOff(rt, lock, self);
  }
  rt.decisions.push_back({next, static_cast<int>(runnable.size())});
  HandTo(rt, lock, self, next);
}

Runtime& Active() {
  assert(t_run != nullptr && t_id >= 0 && "sched: not on a managed thread of a run");
  return *t_run;
}

// Registers a managed thread of `rt` and has `start` launch its OS thread.
int SpawnIn(Runtime& rt, const char* name, const std::function<void(Runtime*, int)>& start) {
  int id;
  {
    Lock lock(rt.mu);
    id = static_cast<int>(rt.threads.size());
    auto state = std::make_unique<ThreadState>();
    state->id = id;
    state->name = name != nullptr ? name : "thread-" + std::to_string(id);
    rt.threads.push_back(std::move(state));
    ++rt.unfinished;
    rt.names[rt.threads.back().get()] =
        "thread#" + std::to_string(id) + " '" + rt.threads.back()->name + "'";
    rt.strategy->OnThreadCreated(id);
  }
  start(&rt, id);
  return id;
}

void Finish(Runtime& rt, ThreadState* self) {
  Lock lock(rt.mu);
  self->state = State::kFinished;
  --rt.unfinished;
  for (const auto& t : rt.threads) {
    if (t->state == State::kBlocked && t->blocked_on == self) t->state = State::kRunnable;
  }
  if (rt.unfinished == 0) {
    rt.active = -1;
    rt.done.notify_all();
    return;
  }
  Reschedule(rt, lock, self);
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kDeadlock:
      return "deadlock";
    case Outcome::kLivelock:
      return "livelock";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kNondeterminism:
      return "nondeterminism";
  }
  return "unknown";
}

RunResult Run(const std::function<void()>& body, Strategy* strategy, const RunOptions& options) {
  // A run inside a run would make the outer thread wait in the OS, holding the outer baton.
  assert(!InRun() && "sched: Run called on a managed thread");
  Runtime rt;
  rt.strategy = strategy;
  rt.options = options;
  rt.now_us = options.start_us;
  std::thread main_thread;
  SpawnIn(rt, "main", [&](Runtime* run, int id) {
    rt.active = id;
    main_thread = std::thread([&body, run, id] { internal::RunManaged(run, id, body); });
  });
  {
    Lock lock(rt.mu);
    rt.done.wait(lock, [&] { return rt.unfinished == 0; });
  }
  main_thread.join();
  RunResult result;
  result.outcome = rt.outcome;
  result.report = std::move(rt.report);
  result.decisions = std::move(rt.decisions);
  result.steps = rt.steps;
  result.end_us = rt.now_us;
  return result;
}

bool InRun() { return t_run != nullptr && t_id >= 0; }

uint64_t CurrentStep() {
  Runtime& rt = Active();
  Lock lock(rt.mu);
  return rt.steps;
}

bool Failing() { return internal::Aborting(); }

void Fail(const std::string& message) {
  if (!InRun()) {
    std::fprintf(stderr, "sched::Fail outside a run: %s\n", message.c_str());
    std::abort();
  }
  Runtime& rt = Active();
  {
    Lock lock(rt.mu);
    StartAbort(rt, Outcome::kFailed, "failed: " + message);
  }
  throw RunAborted{};
}

uint64_t NowMicros(port::SourceLocation where) {
  Runtime& rt = Active();
  internal::Point("Clock::NowMicros", nullptr, nullptr, where, true);
  Lock lock(rt.mu);
  return rt.now_us;
}

void Yield(port::SourceLocation where) { internal::Point("Yield", nullptr, nullptr, where, false); }

void SetPhaseBound(uint64_t steps, uint64_t duration_us, const std::string& what) {
  Runtime& rt = Active();
  Lock lock(rt.mu);
  rt.phase_steps_end = rt.steps + steps < rt.steps ? UINT64_MAX : rt.steps + steps;
  rt.phase_end_us = rt.now_us + duration_us < rt.now_us ? kNoDeadline : rt.now_us + duration_us;
  rt.phase_what = what;
}

void ClearPhaseBound() {
  Runtime& rt = Active();
  Lock lock(rt.mu);
  rt.phase_steps_end = UINT64_MAX;
  rt.phase_end_us = kNoDeadline;
  rt.phase_what.clear();
}

namespace internal {

int CurrentId() { return InRun() ? t_id : -1; }

namespace {

// A scheduling point; while a failed run unwinds, a thread that keeps looping is unwound here
// unless `may_throw` is false or it already unwinds.
void PointImpl(const char* op, const void* object, const char* name, port::SourceLocation where,
               bool progress, bool may_throw) {
  if (!InRun()) return;
  Runtime& rt = *t_run;
  Lock lock(rt.mu);
  NameOnFirstUse(rt, op, object, name);
  ThreadState* self = rt.threads[t_id].get();
  self->op = op;
  self->where = where;
  self->blocked_on = object;
  rt.spin_steps = progress ? 0 : rt.spin_steps + 1;
  Reschedule(rt, lock, self);
  if (!rt.aborting) return;
  self->abort_spins = progress ? 0 : self->abort_spins + 1;
  const bool looping = self->abort_spins > kAbortSpinsMax || ++self->abort_points > kAbortPointsMax;
  if (looping && may_throw && std::uncaught_exceptions() == 0) {
    lock.unlock();
    throw RunAborted{};
  }
}

}  // namespace

void Point(const char* op, const void* object, const char* name, port::SourceLocation where,
           bool progress) {
  PointImpl(op, object, name, where, progress, /*may_throw=*/true);
}

void ReleasePoint(const char* op, const void* object, const char* name,
                  port::SourceLocation where) {
  PointImpl(op, object, name, where, /*progress=*/true, /*may_throw=*/false);
}

void Progress() {
  if (!InRun()) return;
  Lock lock(t_run->mu);
  t_run->spin_steps = 0;
}

namespace {

// While the run fails: passes the baton round-robin so the others unwind, then continues.
void AbortHandOffSelf() {
  Runtime& rt = *t_run;
  Lock lock(rt.mu);
  AbortHandOff(rt, lock, rt.threads[t_id].get());
}

// Blocks; returns true if the thread must unwind (the run is failing).
bool BlockImpl(const char* op, const void* object, const char* name, port::SourceLocation where,
               uint64_t deadline_us, bool* timed_out) {
  Runtime& rt = Active();
  Lock lock(rt.mu);
  NameOnFirstUse(rt, op, object, name);
  ThreadState* self = rt.threads[t_id].get();
  if (rt.aborting) return true;
  self->state = State::kBlocked;
  self->op = op;
  self->where = where;
  self->blocked_on = object;
  self->deadline_us = deadline_us;
  self->timed_out = false;
  self->block_order = ++rt.block_counter;
  Reschedule(rt, lock, self);
  self->deadline_us = kNoDeadline;
  if (rt.aborting) return true;
  rt.spin_steps = 0;  // Waking from a block is progress.
  *timed_out = self->timed_out;
  return false;
}

}  // namespace

bool Block(const char* op, const void* object, const char* name, port::SourceLocation where,
           uint64_t deadline_us) {
  bool timed_out = false;
  if (!BlockImpl(op, object, name, where, deadline_us, &timed_out)) return !timed_out;
  // The run is failing. A thread that already unwinds (a destructor waiting during the unwinding)
  // must not throw again, which would terminate the process: it lets the others run and returns
  // as a spurious wake-up, or as a timeout for a timed wait, so its loop re-checks and moves on.
  if (std::uncaught_exceptions() > 0) {
    AbortHandOffSelf();
    return deadline_us == kNoDeadline;
  }
  throw RunAborted{};
}

void BlockOnLock(const char* op, const void* object, const char* name, port::SourceLocation where,
                 int* abort_waits) {
  bool timed_out = false;
  if (!BlockImpl(op, object, name, where, kNoDeadline, &timed_out)) return;
  // The run is failing. The holder normally lets go within a few rounds (it unwinds through its
  // guards or finishes its critical section), so the waiter keeps waiting without throwing: a
  // destructor that takes a lock then completes. Locks that are never let go (two threads that
  // each hold what the other waits for) are broken up by unwinding the waiter after that many
  // rounds, unless it already unwinds.
  if (++*abort_waits > static_cast<int>(kAbortSpinsMax) && std::uncaught_exceptions() == 0) {
    throw RunAborted{};
  }
  AbortHandOffSelf();
}

void BlockNoThrow(const char* op, const void* object, port::SourceLocation where) {
  bool timed_out = false;
  if (!BlockImpl(op, object, nullptr, where, kNoDeadline, &timed_out)) return;
  // Unwinding: let the others run (and finish) instead of throwing from a destructor.
  AbortHandOffSelf();
}

void WakeAll(const void* object) {
  if (!InRun()) return;
  Runtime& rt = *t_run;
  Lock lock(rt.mu);
  for (const auto& t : rt.threads) {
    if (t->state == State::kBlocked && t->blocked_on == object) t->state = State::kRunnable;
  }
}

void WakeOne(const void* object) {
  if (!InRun()) return;
  Runtime& rt = *t_run;
  Lock lock(rt.mu);
  ThreadState* first = nullptr;
  for (const auto& t : rt.threads) {
    if (t->state == State::kBlocked && t->blocked_on == object &&
        (first == nullptr || t->block_order < first->block_order)) {
      first = t.get();
    }
  }
  if (first != nullptr) first->state = State::kRunnable;
}

void Forget(const void* object) {
  if (!InRun()) return;
  Lock lock(t_run->mu);
  t_run->names.erase(object);
}

bool Aborting() {
  if (!InRun()) return false;
  Lock lock(t_run->mu);
  return t_run->aborting;
}

int Spawn(const char* name, const std::function<void(Runtime*, int)>& start) {
  return SpawnIn(Active(), name, start);
}

void RunManaged(Runtime* run, int id, const std::function<void()>& body) {
  assert(run != nullptr && t_run == nullptr && "sched: an OS thread is managed by one run only");
  Runtime& rt = *run;
  t_run = run;
  t_id = id;
  ThreadState* self;
  bool aborting;
  {
    Lock lock(rt.mu);
    self = rt.threads[id].get();
    self->baton.wait(lock, [&] { return rt.active == id; });
    aborting = rt.aborting;
  }
  if (!aborting) {
    try {
      body();
    } catch (const RunAborted&) {
      // The run failed; this thread has unwound.
    } catch (const std::exception& e) {
      Lock lock(rt.mu);
      StartAbort(rt, Outcome::kFailed, "thread " + self->name + " threw: " + e.what());
    } catch (...) {
      Lock lock(rt.mu);
      StartAbort(rt, Outcome::kFailed, "thread " + self->name + " threw");
    }
  }
  Finish(rt, self);
  // The run (and `rt`) may be gone once Finish handed the baton on; forget it before anything
  // else on this OS thread could look.
  t_run = nullptr;
  t_id = -1;
}

bool Finished(int id) {
  // Off a managed thread the run that started `id` is over (a Thread of a run must not be
  // joined or destroyed by another thread while the run lasts): every managed thread finished.
  if (!InRun()) return true;
  Lock lock(t_run->mu);
  return t_run->threads[id]->state == State::kFinished;
}

const void* ThreadObject(int id) {
  Runtime& rt = Active();
  Lock lock(rt.mu);
  return rt.threads[id].get();
}

}  // namespace internal

void SleepForMicros(uint64_t duration_us, port::SourceLocation where) {
  Runtime& rt = Active();
  uint64_t deadline_us;
  {
    Lock lock(rt.mu);
    deadline_us = rt.now_us + duration_us < rt.now_us ? kNoDeadline - 1 : rt.now_us + duration_us;
  }
  // Nothing wakes a sleeper but time: block on no object. A failing run does not move time, and a
  // sleep ends by itself, so a sleeper is not unwound: it returns (as if its time had come) and
  // goes on to its next blocking call, so a destructor that sleeps still completes.
  for (;;) {
    bool timed_out = false;
    if (internal::BlockImpl("Clock::SleepForMicros", nullptr, nullptr, where, deadline_us,
                            &timed_out)) {
      internal::AbortHandOffSelf();
      return;
    }
    if (timed_out) return;
  }
}

}  // namespace manifold::port::sched
