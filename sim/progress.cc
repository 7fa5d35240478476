#include "sim/progress.h"

#include <unistd.h>

namespace manifold::sim {

ProgressLine::ProgressLine(FILE* out, double log_interval_s)
    : ProgressLine(out, isatty(fileno(out)) != 0, log_interval_s) {}

ProgressLine::ProgressLine(FILE* out, bool terminal, double log_interval_s)
    : out_(out),
      terminal_(terminal),
      log_interval_s_(log_interval_s),
      start_(std::chrono::steady_clock::now()),
      next_log_s_(log_interval_s) {}

void ProgressLine::Update(const std::string& line, bool last) {
  if (terminal_) {
    // The trailing spaces cover what a longer previous line left.
    std::fprintf(out_, "\r%s   ", line.c_str());
    std::fflush(out_);
    drawn_ = true;
    return;
  }
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (!last && elapsed_s < next_log_s_) return;
  next_log_s_ = elapsed_s + log_interval_s_;
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void ProgressLine::Finish() {
  if (!terminal_ || !drawn_) return;
  std::fprintf(out_, "\n");
  drawn_ = false;
}

}  // namespace manifold::sim
