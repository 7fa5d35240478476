// The one-line progress display of sweeps and of --minimize, on stderr. A terminal gets the line
// redrawn in place; anything else (a CI log, a pipe, a file) gets whole lines, one per interval,
// since a log of carriage-return updates is one endless unreadable line.
#ifndef MANIFOLD_SIM_PROGRESS_H_
#define MANIFOLD_SIM_PROGRESS_H_

#include <chrono>
#include <cstdio>
#include <string>

namespace manifold::sim {

// How often a display that is not a terminal writes a line.
inline constexpr double kProgressLogInterval_s = 10.0;

// Not thread-safe: callers on several threads serialize their calls.
class ProgressLine {
 public:
  // Whether `out` is a terminal decides the form.
  explicit ProgressLine(FILE* out = stderr, double log_interval_s = kProgressLogInterval_s);
  // The form given (tests).
  ProgressLine(FILE* out, bool terminal, double log_interval_s);

  bool terminal() const { return terminal_; }

  // Shows `line`: on a terminal redrawn at once; otherwise written as a whole line when
  // log_interval_s has passed since the last one written (or since the display was made), or at
  // once when `last` (the final state, so a log always ends with it).
  void Update(const std::string& line, bool last = false);
  // Ends a redrawn line with a newline (terminal, if anything was drawn); nothing otherwise.
  void Finish();

 private:
  FILE* out_;
  bool terminal_;
  double log_interval_s_;
  // Reporting only: when lines are due is the one use of the wall clock.
  std::chrono::steady_clock::time_point start_;
  double next_log_s_;
  bool drawn_ = false;  // A terminal line is on the screen, not yet ended.
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_PROGRESS_H_
