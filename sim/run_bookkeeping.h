// What both runners (sim/sequential_run.h, sim/concurrent_run.h) keep of a run as it goes, in one
// place so that they keep it alike: the trace, the first failure, the file system's fault counters,
// and the full read of a recovered state.
#ifndef MANIFOLD_SIM_RUN_BOOKKEEPING_H_
#define MANIFOLD_SIM_RUN_BOOKKEEPING_H_

#include <cstdint>
#include <functional>
#include <string>

#include "manifold/db.h"
#include "model/model.h"
#include "sim/runner.h"
#include "sim/sim_fs.h"

namespace manifold::sim {

// Adds `line` to the run's trace: always to its hash, to its lines when `config.trace` is set.
void TraceLine(const RunConfig& config, RunResult* result, const std::string& line);

// Records the run's first failure (later ones are ignored) as failed at operation `op` (-1: at
// none), and traces it.
void RecordFailure(const RunConfig& config, RunResult* result, FailureKind kind,
                   const std::string& what, const std::string& detail, int64_t op);

// Errors the file system injected so far (EIO, ENOSPC, flipped bits, misdirected writes): what may
// explain an error from the engine.
uint64_t InjectedFsFaults(const SimFsCounters& counters);

// Copies the file system's fault counters into the run's statistics.
void CollectFsStats(const SimFsCounters& counters, RunStats* stats);

// Reads every column family of `db` in full, at one snapshot. An error restarts the scan where it
// stopped (a fresh iterator seeks past the last key read), so progress survives a high error
// rate. `begin_attempt` runs before each iterator is opened; `explained` says whether the error
// of that attempt is one an injected fault explains. An unexplained error, a Corruption that
// survives three more attempts (it is on disk), or too many errors are returned.
StatusOr<model::StateMap> ReadWholeState(DB* db, const std::function<void()>& begin_attempt,
                                         const std::function<bool()>& explained);

// The memory bound of the write buffers (options.h, write_buffer_bytes_max; I38): a commit is
// admitted only while Stats::dirty_bytes is below write_buffer_bytes_max, or below twice that
// while checkpoints fail, so at a point where no commit runs the buffers hold at most that plus
// what the commits admitted last added (`in_flight_bytes`, WriteFootprint of each writer's
// largest). `checkpoints_may_fail`: a fault was injected (or the power cut) since the open, so
// the allowance is twice. Empty when within the bound, else the failure's text (naming `where`).
std::string CheckBufferBound(const Options& options, const Stats& stats, uint64_t in_flight_bytes,
                             bool checkpoints_may_fail, const std::string& where);

// What one commit of `writes` (key and value bytes each, over `cfs` column families) can add to
// the write buffers' arenas at most: its bytes with each entry's overhead, and per column family
// a block the arena may open for it and a new active buffer's first block.
uint64_t WriteFootprint(const Options& options, uint64_t key_value_bytes, uint64_t entries,
                        uint64_t cfs);

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_RUN_BOOKKEEPING_H_
