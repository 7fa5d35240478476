// The sequential runner's scheduling strategy (sim/sequential_run.h). Thread 0, which runs the
// workload and leads the group-commit hand-off, runs whenever it can; when it passes the baton
// (PassOnce, then a scheduling point such as port::sched::Yield) the lowest other runnable thread
// runs for one scheduling point. So the hand-off leader, polling between single steps of its
// follower, sees the follower's log record the moment the follower lets go of the log lock after
// appending it, and takes the disk before the follower's next call (sim/hand_off_fs.h): the
// staging the hand-off is for, the same on every run, with no draw from any seed.
#ifndef MANIFOLD_SIM_HAND_OFF_STRATEGY_H_
#define MANIFOLD_SIM_HAND_OFF_STRATEGY_H_

#include <vector>

#include "engine/port/sched.h"

namespace manifold::sim {

class HandOffStrategy final : public port::sched::Strategy {
 public:
  // The next decision taken at a scheduling point of thread 0 goes to another runnable thread,
  // if there is one.
  void PassOnce() { pass_ = true; }

  int Pick(const std::vector<int>& runnable, int current) override;

 private:
  bool pass_ = false;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_HAND_OFF_STRATEGY_H_
