// `stats`: every field of Stats.
#include <fmt/format.h>

#include <utility>

#include "engine/tools/tool.h"

namespace manifold::tool {
namespace {

// Every integer field of Stats, in declaration order (commits_per_sync_histogram, the one
// vector, is printed after log_sync_commits by RunStats).
constexpr std::pair<const char*, uint64_t Stats::*> kStatsFields[] = {
    {"pages_read", &Stats::pages_read},
    {"pages_written", &Stats::pages_written},
    {"bytes_read", &Stats::bytes_read},
    {"bytes_written", &Stats::bytes_written},
    {"syncs", &Stats::syncs},
    {"commits", &Stats::commits},
    {"cache_hits", &Stats::cache_hits},
    {"cache_misses", &Stats::cache_misses},
    {"read_retries", &Stats::read_retries},
    {"cache_bytes", &Stats::cache_bytes},
    {"file_bytes", &Stats::file_bytes},
    {"pages_total", &Stats::pages_total},
    {"pages_free", &Stats::pages_free},
    {"sequence", &Stats::sequence},
    {"log_records", &Stats::log_records},
    {"log_bytes", &Stats::log_bytes},
    {"log_syncs", &Stats::log_syncs},
    {"log_sync_commits", &Stats::log_sync_commits},
    {"log_segments_created", &Stats::log_segments_created},
    {"log_segments_recycled", &Stats::log_segments_recycled},
    {"log_records_replayed", &Stats::log_records_replayed},
    {"log_records_salvage_dropped", &Stats::log_records_salvage_dropped},
    {"checkpoints", &Stats::checkpoints},
    {"checkpoint_us_total", &Stats::checkpoint_us_total},
    {"checkpoint_us_max", &Stats::checkpoint_us_max},
    {"checkpoint_sequence", &Stats::checkpoint_sequence},
    {"dirty_bytes", &Stats::dirty_bytes},
    {"writer_stall_us", &Stats::writer_stall_us},
    {"writer_stalls", &Stats::writer_stalls},
};

}  // namespace

int RunStats(const Flags& flags) {
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  const Stats stats = (*db)->GetStats();
  const uint32_t page_bytes = (*db)->page_bytes();
  const std::string histogram = fmt::format("{}", fmt::join(stats.commits_per_sync_histogram, ","));
  if (!flags.json) {
    fmt::print("page_bytes: {}\n", page_bytes);
    for (const auto& [name, field] : kStatsFields) {
      fmt::print("{}: {}\n", name, stats.*field);
      if (field == &Stats::log_sync_commits) {
        fmt::print("commits_per_sync_histogram: {}\n", histogram);
      }
    }
    return kExitOk;
  }
  fmt::print("{{\"page_bytes\":{}", page_bytes);
  for (const auto& [name, field] : kStatsFields) {
    fmt::print(",\"{}\":{}", name, stats.*field);
    if (field == &Stats::log_sync_commits) {
      fmt::print(",\"commits_per_sync_histogram\":[{}]", histogram);
    }
  }
  fmt::print("}}\n");
  return kExitOk;
}

}  // namespace manifold::tool
