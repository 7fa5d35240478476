// The concurrent runner's view of a schedule (docs/simulator.md, "The concurrent workload").
//
// A schedule is written as its preemptions: at every scheduling point the default is to let the
// current thread go on, or, when it blocked or finished, to run the lowest-numbered runnable
// thread; a preemption (decision index, thread) overrides that default at one point. Any
// recorded run is exactly its list of preemptions, and dropping entries from the list is still
// a schedule, which is what --minimize shrinks and what --replay-schedule takes.
#ifndef MANIFOLD_SIM_SCHEDULE_STRATEGY_H_
#define MANIFOLD_SIM_SCHEDULE_STRATEGY_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/port/sched.h"

namespace manifold::sim {

struct Preemption {
  uint64_t decision = 0;  // Index of the scheduling decision (0 = the run's first).
  int thread = 0;         // Who runs there instead of the default.
  friend bool operator==(const Preemption&, const Preemption&) = default;
};
using Schedule = std::vector<Preemption>;

// "1234:2,1250:0"; empty for a schedule without preemptions.
std::string FormatSchedule(const Schedule& schedule);
// False (with `error` set) on anything but ascending "DECISION:THREAD" pairs separated by commas.
[[nodiscard]] bool ParseSchedule(const std::string& text, Schedule* schedule, std::string* error);

// Wraps the strategy that really decides (random, PCT, or a schedule) and records the run as
// its preemptions.
class RecordingStrategy final : public port::sched::Strategy {
 public:
  explicit RecordingStrategy(port::sched::Strategy* inner) : inner_(inner) {}
  void OnThreadCreated(int id) override { inner_->OnThreadCreated(id); }
  int Pick(const std::vector<int>& runnable, int current) override;

  uint64_t decisions() const { return decisions_; }
  const Schedule& schedule() const { return schedule_; }

 private:
  port::sched::Strategy* const inner_;
  uint64_t decisions_ = 0;
  Schedule schedule_;
};

// Follows a schedule. `exact`: a preemption to a thread that cannot run there picks it anyway,
// so the run ends as kNondeterminism (a replay that diverged); otherwise the entry is skipped
// (a shrunk schedule whose later entries no longer fit).
class ScheduleStrategy final : public port::sched::Strategy {
 public:
  ScheduleStrategy(Schedule schedule, bool exact) : schedule_(std::move(schedule)), exact_(exact) {}
  int Pick(const std::vector<int>& runnable, int current) override;

 private:
  const Schedule schedule_;
  const bool exact_;
  size_t next_ = 0;
  uint64_t decision_ = 0;
};

// The default choice at a scheduling point (see the file comment).
int DefaultChoice(const std::vector<int>& runnable, int current);

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SCHEDULE_STRATEGY_H_
