// Issue 12's targets, checked against the results of one run: every ratio is of medians measured
// in that run (never a number from elsewhere), with whether the target is met.
#ifndef MANIFOLD_BENCH_COMPARE_TARGETS_H_
#define MANIFOLD_BENCH_COMPARE_TARGETS_H_

#include <string>

#include "bench/compare_report.h"

namespace manifold::bench {

// A Markdown section ("## Issue 12 targets" and a table), measured for `manifold` (a row label,
// e.g. "manifold" or "manifold(w=100us)") against the peers' rows in `results`. A target whose
// rows were not run, or failed, says so.
std::string RenderTargets(const Results& results, const std::string& manifold);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_TARGETS_H_
