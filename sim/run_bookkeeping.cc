#include "sim/run_bookkeeping.h"

#include <algorithm>
#include <memory>
#include <optional>

#include "sim/report_text.h"

namespace manifold::sim {
namespace {

// Injected read errors tolerated while reading a full state.
constexpr int kReadAttemptsMax = 1000;

}  // namespace

void TraceLine(const RunConfig& config, RunResult* result, const std::string& line) {
  result->trace_hash = Fnv1a(result->trace_hash ^ 0x9e37ull, line);
  if (config.trace) result->trace.push_back(line);
}

void RecordFailure(const RunConfig& config, RunResult* result, FailureKind kind,
                   const std::string& what, const std::string& detail, int64_t op) {
  if (!result->passed) return;
  result->passed = false;
  result->kind = kind;
  result->kind_detail = detail;
  result->failed_at_op = op;
  result->failure = what;
  TraceLine(config, result, "FAILURE: " + what);
}

uint64_t InjectedFsFaults(const SimFsCounters& c) {
  return c.eio + c.enospc + c.bit_flips + c.misdirected;
}

void CollectFsStats(const SimFsCounters& c, RunStats* s) {
  s->fs_eio = c.eio;
  s->fs_enospc = c.enospc;
  s->fs_bit_flips = c.bit_flips;
  s->fs_misdirected = c.misdirected;
  s->fs_delayed_syncs = c.delayed_syncs;
  s->fs_sectors_lost = c.sectors_lost;
  s->fs_sectors_torn = c.sectors_torn;
  s->fs_dir_ops_undone = c.dir_ops_undone;
}

StatusOr<model::StateMap> ReadWholeState(DB* db, const std::function<void()>& begin_attempt,
                                         const std::function<bool()>& explained) {
  model::StateMap state;
  const std::shared_ptr<const Snapshot> snapshot = db->GetSnapshot();
  ReadOptions read;
  read.snapshot = snapshot.get();
  int errors = 0, corruptions = 0;
  for (const std::string& cf : db->ListColumnFamilies()) {
    model::KeyMap& entries = state[cf];
    std::optional<std::string> last;
    for (;;) {
      begin_attempt();
      auto it = db->NewIterator(read, cf);
      if (!it.ok()) return it.status();
      Iterator& iter = **it;
      last ? iter.Seek(*last) : iter.SeekToFirst();
      if (last && iter.Valid() && iter.key() == *last) iter.Next();
      for (; iter.Valid(); iter.Next()) {
        last = std::string(iter.key());
        entries.emplace(*last, std::string(iter.value()));
      }
      if (iter.status().ok()) break;
      // Corruption that survives the engine's own re-read and three more attempts is on disk.
      if (iter.status().IsCorruption() && ++corruptions > 3) return iter.status();
      if (++errors > kReadAttemptsMax || !explained()) {
        return iter.status().WithContext("after " + std::to_string(errors) + " read errors");
      }
    }
  }
  return state;
}

uint64_t WriteFootprint(const Options& options, uint64_t key_value_bytes, uint64_t entries,
                        uint64_t cfs) {
  // As engine/db/buffer_list.cc sizes the blocks of a column family's buffers.
  uint64_t per_cf = options.write_buffer_bytes_per_cf_max;
  if (per_cf == 0)
    per_cf = std::clamp<uint64_t>(options.write_buffer_bytes_max / 4, 64 << 10, 8 << 20);
  const uint64_t block = std::clamp<uint64_t>(per_cf / 8, 4 << 10, 1 << 20);
  // An entry: its node header, a skip-list tower of at most 12 links, alignment.
  constexpr uint64_t kEntryOverheadMax = 192;
  return key_value_bytes + entries * kEntryOverheadMax + cfs * 3 * block;
}

std::string CheckBufferBound(const Options& options, const Stats& stats, uint64_t in_flight_bytes,
                             bool checkpoints_may_fail, const std::string& where) {
  const uint64_t limit = options.write_buffer_bytes_max;
  const uint64_t bound = (checkpoints_may_fail ? 2 : 1) * limit + in_flight_bytes;
  if (stats.dirty_bytes <= bound) return "";
  return where + ": the write buffers hold " + std::to_string(stats.dirty_bytes) +
         " bytes (Stats::dirty_bytes), past their bound " + std::to_string(bound) + " = " +
         (checkpoints_may_fail ? "2 x " : "") + "write_buffer_bytes_max " + std::to_string(limit) +
         (checkpoints_may_fail ? " (checkpoints may have failed)" : " (no fault since the open)") +
         " + " + std::to_string(in_flight_bytes) +
         " bytes the last admitted commits could add (I38, options.h)";
}

}  // namespace manifold::sim
