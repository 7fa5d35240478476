#include "sim/run_bookkeeping.h"

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

}  // namespace manifold::sim
