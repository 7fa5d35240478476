#include "sim/schedule_strategy.h"

#include <algorithm>
#include <charconv>

namespace manifold::sim {

int DefaultChoice(const std::vector<int>& runnable, int current) {
  return std::find(runnable.begin(), runnable.end(), current) != runnable.end() ? current
                                                                                : runnable.front();
}

std::string FormatSchedule(const Schedule& schedule) {
  std::string text;
  for (const Preemption& p : schedule) {
    if (!text.empty()) text += ',';
    text += std::to_string(p.decision) + ":" + std::to_string(p.thread);
  }
  return text;
}

bool ParseSchedule(const std::string& text, Schedule* schedule, std::string* error) {
  schedule->clear();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    const size_t colon = part.find(':');
    Preemption p;
    const char* first = part.data();
    const char* last = part.data() + part.size();
    bool ok = colon != std::string::npos;
    if (ok) {
      auto [a, ea] = std::from_chars(first, first + colon, p.decision);
      auto [b, eb] = std::from_chars(first + colon + 1, last, p.thread);
      ok = ea == std::errc() && a == first + colon && eb == std::errc() && b == last && colon > 0 &&
           p.thread >= 0;
    }
    if (!ok) {
      *error = "--replay-schedule: '" + part + "' is not DECISION:THREAD";
      return false;
    }
    if (!schedule->empty() && p.decision <= schedule->back().decision) {
      *error = "--replay-schedule: decision " + std::to_string(p.decision) + " is not ascending";
      return false;
    }
    schedule->push_back(p);
    pos = end + 1;
  }
  return true;
}

int RecordingStrategy::Pick(const std::vector<int>& runnable, int current) {
  const int chosen = inner_->Pick(runnable, current);
  if (chosen != DefaultChoice(runnable, current)) schedule_.push_back({decisions_, chosen});
  ++decisions_;
  return chosen;
}

int ScheduleStrategy::Pick(const std::vector<int>& runnable, int current) {
  const uint64_t decision = decision_++;
  while (next_ < schedule_.size() && schedule_[next_].decision < decision) ++next_;
  if (next_ < schedule_.size() && schedule_[next_].decision == decision) {
    const int wanted = schedule_[next_++].thread;
    if (exact_ || std::find(runnable.begin(), runnable.end(), wanted) != runnable.end()) {
      return wanted;
    }
  }
  return DefaultChoice(runnable, current);
}

}  // namespace manifold::sim
