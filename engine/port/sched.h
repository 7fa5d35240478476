// The deterministic scheduler runtime behind the port layer's simulator build
// (--define=manifold_sim_scheduler=1, see docs/simulator.md "The thread scheduler").
//
// Real OS threads pass a baton: while a run is active exactly one managed thread executes; at
// every scheduling point (lock, unlock, wait, signal, thread start/join, atomic access, clock read,
// sleep) the runtime asks a Strategy which runnable thread goes next. Blocking is bookkeeping in
// the runtime, so when no thread can run the runtime knows it: either simulated time jumps to the
// earliest deadline of a timed wait or sleep, or the run ends as a deadlock naming what each
// thread is blocked in. Nothing here reads the wall clock or depends on OS scheduling.
#ifndef MANIFOLD_PORT_SCHED_H_
#define MANIFOLD_PORT_SCHED_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/port/source_location.h"

namespace manifold::port::sched {

// A deadline that never passes.
inline constexpr uint64_t kNoDeadline = UINT64_MAX;

// Picks which runnable thread runs after a scheduling point. Implementations live in sim/sched/.
class Strategy {
 public:
  virtual ~Strategy() = default;
  // Called when the run registers thread `id` (0 is the run's body; ids grow by one per start).
  virtual void OnThreadCreated(int id) { (void)id; }
  // `runnable` holds the ids that may run, ascending, never empty. `current` is the thread at the
  // scheduling point; it is absent from `runnable` when it just blocked or finished. Returns one
  // element of `runnable`; anything else ends the run as kNondeterminism.
  virtual int Pick(const std::vector<int>& runnable, int current) = 0;
};

// One scheduling decision: who ran next, and out of how many candidates.
struct Decision {
  int chosen = 0;
  int candidates = 0;
  friend bool operator==(const Decision&, const Decision&) = default;
};

enum class Outcome {
  kOk,              // Every managed thread finished.
  kDeadlock,        // Every unfinished thread blocked, none on a deadline.
  kLivelock,        // Step bound exceeded, or too many steps without progress.
  kFailed,          // The harness called Fail(), or a managed thread threw.
  kNondeterminism,  // The strategy's choice was not runnable (a replay diverged).
};

const char* OutcomeName(Outcome outcome);

struct RunOptions {
  // Most scheduling points in one run before it ends as kLivelock.
  uint64_t steps_max = 1'000'000;
  // Most consecutive scheduling points that make no progress (atomic loads, failed
  // compare-exchanges, Yield) before the run ends as kLivelock.
  uint64_t spin_steps_max = 100'000;
  // Simulated time at the start of the run, in microseconds.
  uint64_t start_us = 0;
};

struct RunResult {
  Outcome outcome = Outcome::kOk;
  // Empty for kOk; otherwise what went wrong and, for each unfinished thread, where it stopped.
  std::string report;
  // Every decision in order: two runs of one harness under one seed must give equal vectors.
  std::vector<Decision> decisions;
  uint64_t steps = 0;
  // Simulated time when the run ended.
  uint64_t end_us = 0;
  bool ok() const { return outcome == Outcome::kOk; }
};

// Runs `body` as managed thread 0 under `strategy` and returns once every managed thread has
// finished or the run failed. On failure the runtime unwinds the remaining threads (condition-
// variable waits throw an internal exception that the thread wrapper catches; lock waits, joins
// and sleeps wait or return instead, so destructors complete: see internal::Block*), so Run never
// hangs and leaks no thread, provided no thread spins without end on atomics. Each run has its own
// runtime, reached from its managed threads only, so runs on different OS threads proceed at once
// and do not affect one another (the objects each run's harness uses must be its own). Must not be
// called on a managed thread (no run inside a run).
RunResult Run(const std::function<void()>& body, Strategy* strategy,
              const RunOptions& options = {});

// True on a managed thread of a run (of the run the calling thread belongs to; every function
// below acts on that run). Port primitives used elsewhere behave like the production (std) ones.
bool InRun();

// The number of scheduling points the active run has passed: its real-time order. An operation
// that began after another's CurrentStep() was read began after that point. Not a scheduling
// point itself. Only on a managed thread.
uint64_t CurrentStep();

// True while the active run is failing: its threads are being unwound (what they do from then on
// is not what they were doing when it failed). Not a scheduling point.
bool Failing();

// Ends the run as kFailed with `message` (a property the harness checks did not hold). Does not
// return on a managed thread.
[[noreturn]] void Fail(const std::string& message);

// The simulated time of the active run, in microseconds. A scheduling point.
uint64_t NowMicros(port::SourceLocation where = port::SourceLocation::current());

// Bounds what is left of the active run, for a phase that must finish (the simulator's liveness
// check): once more than `steps` further scheduling points have passed, or simulated time would
// have to move more than `duration_us` past now for any thread to run, the run ends as kLivelock
// with a report that starts with `what` and lists every unfinished thread. Replaces an earlier
// bound; the RunOptions bounds still apply. Not a scheduling point (nor is ClearPhaseBound), so
// setting a bound changes no decision.
void SetPhaseBound(uint64_t steps, uint64_t duration_us, const std::string& what);
// Removes the bound SetPhaseBound set.
void ClearPhaseBound();

// Blocks the calling managed thread until simulated time has advanced by `duration_us`.
void SleepForMicros(uint64_t duration_us,
                    port::SourceLocation where = port::SourceLocation::current());

// A scheduling point that makes no progress (for spin loops).
void Yield(port::SourceLocation where = port::SourceLocation::current());

// ---- Used by the scheduled port primitives (engine/port/sched_sync.h) ----------------------

namespace internal {

// One run's state (engine/port/sched.cc); opaque here.
struct Runtime;

// Id of the calling managed thread, or -1.
int CurrentId();

// A scheduling point in `op` ("Mutex::Lock") on `object`. The first use of an object names it
// in reports after the op's class and a counter ("mutex#2"), plus `name` if not null. `progress`
// is false for operations a spin loop repeats without changing anything.
void Point(const char* op, const void* object, const char* name, port::SourceLocation where,
           bool progress);

// Point for operations that give something up (Unlock, Signal): it never throws, because guards'
// destructors call them, also while the run fails.
void ReleasePoint(const char* op, const void* object, const char* name, port::SourceLocation where);

// Counts as progress for the livelock bound without being a scheduling point.
void Progress();

// Blocks the calling thread on `object` until Wake*(object) or until simulated time reaches
// `deadline_us`. Returns false if it woke because of the deadline. While a run fails it throws
// the internal unwinding exception, except on a thread that already unwinds
// (std::uncaught_exceptions() > 0: a destructor running during the unwinding, where a throw would
// terminate): there it returns at once, as a spurious wake-up (as a timeout when `deadline_us` is
// set), and the caller's loop re-checks.
bool Block(const char* op, const void* object, const char* name, port::SourceLocation where,
           uint64_t deadline_us);

// Blocks on a lock `object` whose holder must let go. While a run fails it does not throw at
// once: holders let go as they unwind through their guards, so the waiter hands the baton on and
// returns to re-check (and a destructor that takes a lock completes). `*abort_waits` (0 before
// the caller's first call) counts those rounds; after 1,000 (a lock never let go: two threads
// each holding what the other waits for) the waiter is unwound, unless it already unwinds.
void BlockOnLock(const char* op, const void* object, const char* name, port::SourceLocation where,
                 int* abort_waits);

// Like Block, for waits that always end while a run fails (a thread's end: every managed thread
// unwinds): it waits instead of throwing.
void BlockNoThrow(const char* op, const void* object, port::SourceLocation where);

// Makes every thread blocked on `object` (or the one that blocked first) runnable again.
void WakeAll(const void* object);
void WakeOne(const void* object);

// Drops the report name of `object` (its destructor runs; the address may be reused).
void Forget(const void* object);

// True while a failed run unwinds its threads: release operations then skip their checks.
bool Aborting();

// Registers a managed thread of the caller's run; returns its id. The caller then hits a
// scheduling point. `start` is given the run and the id and must start the OS thread that calls
// RunManaged(run, id, body): the new thread inherits its run from its creator this way.
int Spawn(const char* name, const std::function<void(Runtime* run, int id)>& start);
void RunManaged(Runtime* run, int id, const std::function<void()>& body);
bool Finished(int id);
// The object a joiner blocks on for thread `id`.
const void* ThreadObject(int id);

}  // namespace internal
}  // namespace manifold::port::sched

#endif  // MANIFOLD_PORT_SCHED_H_
