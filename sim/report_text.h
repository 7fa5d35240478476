// Text shared by the sequential runner (sim/sequential_run.h) and the concurrent one
// (sim/concurrent_run.h), so their traces, trace hashes and failure reports read alike.
#ifndef MANIFOLD_SIM_REPORT_TEXT_H_
#define MANIFOLD_SIM_REPORT_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "manifold/status.h"

namespace manifold::sim {

// Opens retried through injected errors and crashes before a run fails with kOpen.
inline constexpr int kOpenAttemptsMax = 60;
// The attempts made with the faults on; the rest run with every fault paused (FaultPause). The
// chaos profile's fault rates with small write buffers (the size profiles) made a recovery that
// replays a long log into many merges fail 60 times in a row at 4 of 3,000 seeds.
inline constexpr int kOpenAttemptsFaultyMax = kOpenAttemptsMax / 2;

// FNV-1a over `bytes`, continuing from `hash`: the runners' trace hash.
uint64_t Fnv1a(uint64_t hash, std::string_view bytes);

// Keys and values in traces and failure reports, binary-safe (model::Printable: escaped, long
// ones shortened with their length and a hash).
std::string Show(std::string_view bytes);

// The failure once DB::Open kept failing for kOpenAttemptsMax attempts, each explained by an
// injected fault or a power cut; `last` is the last attempt's error (OK when every attempt ended
// in a power cut or a failed restart).
std::string OpenKeptFailing(const std::string& what, const Status& last);

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_REPORT_TEXT_H_
