#include "sim/hand_off_strategy.h"

namespace manifold::sim {

int HandOffStrategy::Pick(const std::vector<int>& runnable, int current) {
  const bool pass = pass_ && current == 0;
  if (pass) pass_ = false;
  // `runnable` is ascending: thread 0 comes first when it can run.
  for (int id : runnable) {
    if ((id == 0) != pass) return id;
  }
  return runnable.front();  // Passing with nobody else to run, or thread 0 cannot run.
}

}  // namespace manifold::sim
