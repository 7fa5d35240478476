#include "sim/sched/strategies.h"

#include <algorithm>

namespace manifold::sim::sched {
namespace {

// Uniform in [0, bound) without the modulo bias a plain % would have for large bounds.
uint64_t Uniform(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % bound;
}

bool Contains(const std::vector<int>& ids, int id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

int RandomStrategy::Pick(const std::vector<int>& runnable, int /*current*/) {
  return runnable[Uniform(rng_, runnable.size())];
}

PctStrategy::PctStrategy(uint64_t seed, int depth, uint64_t steps_estimate)
    : rng_(seed), depth_(depth < 1 ? 1 : depth) {
  const uint64_t k = steps_estimate < 1 ? 1 : steps_estimate;
  for (int i = 0; i + 1 < depth_; ++i) change_steps_.push_back(1 + Uniform(rng_, k));
  std::sort(change_steps_.begin(), change_steps_.end());
}

void PctStrategy::OnThreadCreated(int id) {
  // Distinct in practice (62 random bits); ties go to the lower id in Pick.
  if (priorities_.size() <= static_cast<size_t>(id)) priorities_.resize(id + 1);
  priorities_[id] = static_cast<uint64_t>(depth_) + (rng_() >> 2);
}

int PctStrategy::Pick(const std::vector<int>& runnable, int current) {
  ++step_;
  for (size_t i = 0; i < change_steps_.size(); ++i) {
    if (change_steps_[i] == step_ && current >= 0) {
      priorities_[current] = static_cast<uint64_t>(depth_ - 1) - i;
    }
  }
  int best = runnable.front();
  for (int id : runnable) {
    if (priorities_[id] > priorities_[best]) best = id;
  }
  return best;
}

int ReplayStrategy::Pick(const std::vector<int>& runnable, int /*current*/) {
  if (next_ >= decisions_.size()) return -1;
  const Decision& d = decisions_[next_++];
  if (d.candidates != static_cast<int>(runnable.size())) return -1;
  return d.chosen;
}

int ExhaustiveStrategy::Pick(const std::vector<int>& runnable, int current) {
  const bool can_continue = Contains(runnable, current);
  if (depth_ == stack_.size()) {
    Choice choice;
    choice.runnable = runnable;
    if (can_continue) choice.options.push_back(current);
    if (!can_continue || preemptions_ < preemptions_max_) {
      for (int id : runnable) {
        if (id != current) choice.options.push_back(id);
      }
    }
    stack_.push_back(std::move(choice));
  }
  const Choice& choice = stack_[depth_++];
  if (choice.runnable != runnable) return -1;
  const int chosen = choice.options[choice.next];
  if (can_continue && chosen != current) ++preemptions_;
  return chosen;
}

bool ExhaustiveStrategy::Advance() {
  // Choices past where the last run stopped (it failed early) cannot be revisited from here.
  stack_.resize(std::min(stack_.size(), depth_));
  depth_ = 0;
  preemptions_ = 0;
  while (!stack_.empty() && stack_.back().next + 1 >= stack_.back().options.size()) {
    stack_.pop_back();
  }
  if (stack_.empty()) return false;
  ++stack_.back().next;
  return true;
}

}  // namespace manifold::sim::sched
