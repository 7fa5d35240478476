// The liveness phase (issue 13): at the end of every seed, once the simulator has stopped
// injecting faults, the database must make progress. With every fault off the phase reopens it,
// has two writer threads commit a bounded number of durable puts on column families of their own
// ("default" and "liveness-2", so that they share log groups), forces a checkpoint and checks that
// it covers every commit and that the log segments before it were retired, reads everything back
// and closes. Every step is bounded in scheduling points and simulated time
// (port::sched::SetPhaseBound), so a thread that waits forever, or a phase that never ends, ends
// the run with a report of what every thread is blocked on. Failures start with "liveness: ".
// TigerBeetle's simulator checks liveness the same way, as a separate phase after the faults.
#ifndef MANIFOLD_SIM_LIVENESS_H_
#define MANIFOLD_SIM_LIVENESS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/port/sched.h"
#include "manifold/db.h"
#include "manifold/options.h"
#include "sim/fault_points.h"
#include "sim/sim_fs.h"

namespace manifold::sim {

struct LivenessSetup {
  SimFileSystem* fs = nullptr;  // The run's disk; the phase switches its faults off for good.
  // The run's engine options; the phase replaces the file system (to count open log segments)
  // and switches off the automatic checkpoint triggers (so that only its forced checkpoint
  // retires the log it writes).
  Options options;
  std::string path;
  FaultPointSink* sink = nullptr;  // Decides fault points (planted bugs) on the phase's threads.
  std::function<void(const std::string&)> trace;  // One line per step; may be empty.
};

// Bounds of the phase: far above what it takes (measured: 1,600-2,800 scheduling points and a few
// milliseconds of simulated time, seeds 1-25 of each workload), far below the run's own step bound.
inline constexpr uint64_t kLivenessStepsMax = 200'000;
inline constexpr uint64_t kLivenessTimeMaxUs = 10'000'000;
inline constexpr uint32_t kLivenessWriters = 2;
inline constexpr uint32_t kLivenessWritesPerWriter = 6;
// The first two of each writer's puts are large (below); the rest small: they only add group
// commits, where a lost wake-up would show.
inline constexpr uint32_t kLivenessLargeWritesPerWriter = 2;
inline constexpr uint32_t kLivenessSmallValueBytes = 100;
// 4 durable puts of 32 KiB: a 64 KiB log segment holds one, so the log rolls at least three times
// wherever the recovered log ended, and the checkpoint has segments to retire below the two it may
// keep open. Each writer overwrites one key, so the checkpoint writes only two values' pages.
inline constexpr uint32_t kLivenessValueBytes = 32 << 10;

// What a failure of the phase is about, without its figures (RunResult::kind_detail, which
// --minimize keeps): "the log was not retired", "the checkpoint left commits uncovered", "an
// acknowledged write was lost" or "a call failed with every fault off" for a failure Run()
// returned; for a run the scheduler ended, "hang: deadlock" / "hang: livelock", or "check failed"
// (a failed MANIFOLD_CHECK during the phase).
std::string LivenessDetail(const std::string& failure);
std::string LivenessDetail(const port::sched::RunResult& run);

class LivenessPhase {
 public:
  explicit LivenessPhase(LivenessSetup setup);

  // Runs the phase on a managed thread of a port::sched::Run (the caller's). Returns the failure,
  // or "" when the database made progress. A hang does not return: the run ends, and the caller
  // turns its result into a failure with HangFailure.
  std::string Run();

  // Runs the phase as a port::sched::Run of its own (the sequential workload runs outside the
  // scheduler), its schedule drawn from `seed`; a hang becomes the returned failure. Sets
  // `*detail` to the failure's LivenessDetail ("" when it passed).
  std::string RunScheduled(uint64_t seed, std::string* detail);

  // True once Run() began: a scheduler failure after that is the phase's.
  bool started() const { return started_; }

  // The failure for a run the scheduler ended (deadlock, step or time bound) during Run(): the
  // scheduler's report (every thread and what it is blocked on, with the source location) and
  // what each of the phase's threads was doing.
  std::string HangFailure(const port::sched::RunResult& run) const;

  uint64_t writes() const { return writes_; }

 private:
  void Trace(const std::string& line);
  void Doing(uint32_t thread, std::string what);
  std::string Writer(uint32_t writer);
  std::string ReadBack(DB* db, const char* when);

  LivenessSetup setup_;
  bool started_ = false;
  DB* db_ = nullptr;  // The phase's open database, for the writers.
  uint64_t writes_ = 0;
  // What each thread of the phase is doing (0: the controlling thread; 1...: writers), for
  // HangFailure. Touched only by the thread holding the scheduler's baton.
  std::vector<std::string> doing_;
  // The value each (writer, key) must hold.
  std::vector<std::vector<std::string>> expected_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_LIVENESS_H_
