// The simulator's command line: runs seeded workloads against the real engine over a simulated
// disk and clock, with crashes and storage faults, and checks everything against the model.
//
//   ./bazelw run //sim -- --seeds 1000
//   ./bazelw run //sim -- --seed 42 --trace
//   ./bazelw run //sim -- --seed 42 --minimize
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "faults/fault_model.h"
#include "manifold/options.h"
#include "manifold/version.h"
#include "sim/minimize.h"
#include "sim/progress.h"
#include "sim/runner.h"
#include "sim/sweep.h"

namespace {

using manifold::sim::RunConfig;
using manifold::sim::RunResult;

struct Flags {
  uint64_t seed = 0;
  uint64_t seeds = 0;
  std::string seed_range;
  uint64_t first_seed = 1;
  uint32_t ops = 300;
  uint32_t page_bytes = 0;
  uint32_t heavy_op_bytes_max = manifold::sim::WorkloadOptions::kHeavyOpBytesMaxDefault;
  std::string profile = std::string(manifold::faults::kDefaultFaultProfile);
  bool trace = false;
  bool minimize = false;
  uint64_t minimize_runs = 3000;
  bool check_determinism = false;
  uint32_t jobs = 0;  // 0: one per hardware thread.
  std::string skip_ops;
  std::string keep_ops;
  std::string zero_faults;
  std::string plant_bug;
  bool quiet = false;
  bool no_liveness = false;
  std::string workload = "concurrent";
  std::string schedule = "random";
  uint32_t pct_depth = 3;
  std::string replay_schedule;
  bool has_replay_schedule = false;
  std::string skip_threads;
};

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// Parses a whole decimal number; false on anything else (no exceptions on bad input).
bool ParseNumber(const std::string& text, uint64_t* value) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end && !text.empty();
}

bool ParseIndexList(const std::string& text, const char* flag, std::set<uint32_t>* out,
                    std::string* error) {
  for (const std::string& part : SplitCommas(text)) {
    uint64_t index = 0;
    if (!ParseNumber(part, &index) || index > UINT32_MAX) {
      *error = std::string(flag) + ": '" + part + "' is not an operation index";
      return false;
    }
    out->insert(static_cast<uint32_t>(index));
  }
  return true;
}

std::string ProfileHelp() {
  std::string help = "Fault profiles:\n";
  for (const std::string& name : manifold::faults::FaultProfileNames()) {
    help += "  " + name + "\n";
  }
  help +=
      "  (see faults/README.md; 'storage' is the default: power cuts with lost and torn unsynced\n"
      "   sectors and lost directory operations, EIO/ENOSPC, delayed syncs, bit flips on read,\n"
      "   and the engine's libfiu fault points)\n"
      "Exit codes: 0 every seed passed, 1 a seed failed, 2 usage error.";
  return help;
}

bool BuildConfig(const Flags& flags, uint64_t seed, RunConfig* config, std::string* error) {
  if (!manifold::sim::ConfigureProfile(flags.profile, config, error)) return false;
  config->seed = seed;
  config->trace = flags.trace;
  config->planted_bug = flags.plant_bug;
  config->liveness = !flags.no_liveness;
  if (!manifold::sim::ParseWorkloadKind(flags.workload, &config->workload_kind)) {
    *error = "--workload takes sequential or concurrent, not '" + flags.workload + "'";
    return false;
  }
  config->schedule = flags.schedule;
  config->pct_depth = flags.pct_depth;
  if (flags.has_replay_schedule) {
    config->has_replay_schedule = true;
    if (!manifold::sim::ParseSchedule(flags.replay_schedule, &config->replay_schedule, error)) {
      return false;
    }
  }
  if (!ParseIndexList(flags.skip_threads, "--skip-threads", &config->skip_threads, error)) {
    return false;
  }
  config->workload.ops = flags.ops;
  config->workload.page_bytes =
      flags.page_bytes != 0 ? flags.page_bytes : manifold::sim::PageBytesForSeed(seed);
  config->workload.heavy_op_bytes_max = flags.heavy_op_bytes_max;
  if (!ParseIndexList(flags.skip_ops, "--skip-ops", &config->skip_ops, error)) return false;
  if (!flags.keep_ops.empty()) {
    std::set<uint32_t> keep;
    if (!ParseIndexList(flags.keep_ops, "--keep-ops", &keep, error)) return false;
    for (uint32_t index = 0; index < flags.ops; ++index) {
      if (keep.count(index) == 0) config->skip_ops.insert(index);
    }
  }
  for (const std::string& name : SplitCommas(flags.zero_faults)) {
    if (!manifold::sim::ZeroFaultClass(name, config)) {
      *error = "unknown fault class '" + name + "' in --zero-faults";
      return false;
    }
  }
  return true;
}

void PrintTrace(const RunResult& result) {
  for (const std::string& line : result.trace) std::printf("%s\n", line.c_str());
}

int RunOne(const Flags& flags, uint64_t seed) {
  RunConfig config;
  std::string error;
  if (!BuildConfig(flags, seed, &config, &error)) {
    std::fprintf(stderr, "sim: %s\n", error.c_str());
    return 2;
  }
  RunResult result = manifold::sim::RunSeed(config);
  if (flags.trace) PrintTrace(result);
  if (flags.check_determinism) {
    RunResult again = manifold::sim::RunSeed(config);
    if (again.trace_hash != result.trace_hash || again.state_hash != result.state_hash ||
        again.decisions_hash != result.decisions_hash || again.decisions != result.decisions) {
      std::printf(
          "seed %llu is NOT deterministic: trace %016llx vs %016llx, state %016llx vs %016llx, "
          "decisions %llu (hash %016llx) vs %llu (hash %016llx)\n",
          (unsigned long long)seed, (unsigned long long)result.trace_hash,
          (unsigned long long)again.trace_hash, (unsigned long long)result.state_hash,
          (unsigned long long)again.state_hash, (unsigned long long)result.decisions,
          (unsigned long long)result.decisions_hash, (unsigned long long)again.decisions,
          (unsigned long long)again.decisions_hash);
      return 1;
    }
  }
  if (result.passed) {
    std::printf("seed %llu passed: %llu ops, %llu commits, %llu crashes, state %016llx",
                (unsigned long long)seed, (unsigned long long)result.stats.ops,
                (unsigned long long)result.stats.commits_acknowledged,
                (unsigned long long)result.stats.crashes, (unsigned long long)result.state_hash);
    if (config.workload_kind == manifold::sim::WorkloadKind::kConcurrent) {
      std::printf(", %llu decisions (hash %016llx), %llu steps, %zu preemptions",
                  (unsigned long long)result.decisions, (unsigned long long)result.decisions_hash,
                  (unsigned long long)result.steps, result.schedule.size());
    }
    std::printf("\n");
    return 0;
  }
  // "op #N" as in the trace and the failure text (docs/simulator.md, "Numbering").
  const std::string at =
      result.failed_at_op >= 0
          ? "op #" + std::to_string(result.failed_at_op)
          : std::string("no single operation (an open, an epoch's end or the final checks)");
  std::printf("seed %llu FAILED at %s: %s\nreplay: %s\n", (unsigned long long)seed, at.c_str(),
              result.failure.c_str(), manifold::sim::ReplayCommand(config).c_str());
  if (!flags.minimize) return 1;
  // Redrawn on a terminal, one whole line per interval in a log (sim/progress.h, as sweeps).
  manifold::sim::ProgressLine progress(stderr);
  // The minimizer cannot tell which run is its last, so the final line is passed again with
  // `last` once it returns: a log then always ends with it, however soon after the previous one.
  std::string last_line;
  manifold::sim::MinimizeResult min =
      manifold::sim::Minimize(config, result, flags.minimize_runs, [&](const std::string& line) {
        last_line = line;
        if (!flags.quiet) progress.Update(line);
      });
  if (!flags.quiet && !last_line.empty()) progress.Update(last_line, /*last=*/true);
  progress.Finish();
  std::printf("minimized in %llu runs to %zu operations", (unsigned long long)min.runs,
              min.ops_kept);
  if (!min.faults_removed.empty()) {
    std::string removed;
    for (const std::string& name : min.faults_removed) removed += " " + name;
    std::printf(" (fault classes not needed:%s)", removed.c_str());
  }
  if (config.workload_kind == manifold::sim::WorkloadKind::kConcurrent) {
    std::printf(", %zu threads dropped, preemptions %zu -> %zu", min.threads_dropped,
                min.preemptions_before, min.preemptions_after);
  }
  if (min.candidates_died > 0) {
    std::printf(" (%llu candidates died in their child process and counted as other failures)",
                (unsigned long long)min.candidates_died);
  }
  std::printf("\nfailure: %s\nreplay: %s\n", min.result.failure.c_str(),
              manifold::sim::ReplayCommand(min.config).c_str());
  RunConfig traced = min.config;
  traced.trace = true;
  PrintTrace(manifold::sim::RunSeed(traced));
  return 1;
}

bool ParseSeedRange(const Flags& flags, uint64_t* first, uint64_t* count, std::string* error) {
  if (!flags.seed_range.empty()) {
    size_t colon = flags.seed_range.find(':');
    if (colon == std::string::npos) {
      *error = "--seed-range takes FIRST:LAST (inclusive)";
      return false;
    }
    uint64_t last = 0;
    if (!ParseNumber(flags.seed_range.substr(0, colon), first) ||
        !ParseNumber(flags.seed_range.substr(colon + 1), &last)) {
      *error = "--seed-range takes FIRST:LAST (inclusive), two whole numbers";
      return false;
    }
    if (last < *first) {
      *error = "--seed-range: LAST is below FIRST";
      return false;
    }
    *count = last - *first + 1;
    return true;
  }
  *first = flags.first_seed;
  *count = flags.seeds;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "Manifold's deterministic simulator: seeded random workloads against the real engine over a "
      "simulated disk and clock, with power cuts and storage faults; every read and every "
      "recovery is checked against a reference model. A failing seed prints a command that "
      "replays it bit for bit."};
  app.footer(ProfileHelp());
  app.set_version_flag("--version", std::string("manifold sim ") + MANIFOLD_VERSION,
                       "Print the library version and exit");
  app.add_option("--seed", flags.seed, "Run one seed (with --trace, --minimize)");
  app.add_option("--seeds", flags.seeds, "Run this many seeds, starting at --first-seed");
  app.add_option("--first-seed", flags.first_seed, "First seed of --seeds")->capture_default_str();
  app.add_option("--seed-range", flags.seed_range, "Run seeds FIRST:LAST (inclusive)");
  app.add_option("--ops", flags.ops, "Workload operations per seed")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--page-bytes", flags.page_bytes,
                 "Page size (default: 1024 or 4096, chosen by the seed)");
  app.add_option("--heavy-op-bytes-max", flags.heavy_op_bytes_max,
                 "Concurrent workload: most value bytes one operation of a log-heavy epoch writes "
                 "(its values are 8-24 KiB each); the default keeps every log record inside a "
                 "64 KiB segment, 0 means no cap (records larger than a segment)")
      ->capture_default_str();
  app.add_option("--faults", flags.profile, "Fault profile: none, crash, storage, chaos")
      ->capture_default_str();
  app.add_flag("--trace", flags.trace, "Print every operation, outcome and fault decision");
  app.add_flag("--minimize", flags.minimize,
               "On failure, shrink the workload and fault schedule (delta debugging)");
  app.add_option("--minimize-runs", flags.minimize_runs, "Most runs --minimize may spend")
      ->capture_default_str();
  app.add_flag("--check-determinism", flags.check_determinism,
               "Run every seed twice and compare trace and final state hashes");
  app.add_option("--jobs", flags.jobs,
                 "Seeds run in parallel (default: one per hardware thread; results do not depend "
                 "on it)")
      ->check(CLI::Range(1u, 64u));
  app.add_option("--workload", flags.workload,
                 "concurrent: writer and reader threads beside the background checkpointer under "
                 "the deterministic scheduler; sequential: one operation at a time")
      ->capture_default_str()
      ->check(CLI::IsMember({"concurrent", "sequential"}));
  app.add_option("--schedule", flags.schedule,
                 "Concurrent workload's scheduling strategy, seeded by the seed: random or pct")
      ->capture_default_str()
      ->check(CLI::IsMember({"random", "pct"}));
  app.add_option("--pct-depth", flags.pct_depth, "PCT's bug depth d (d-1 priority changes)")
      ->capture_default_str()
      ->check(CLI::Range(1u, 20u));
  app.add_option("--replay-schedule", flags.replay_schedule,
                 "Follow this schedule exactly (DECISION:THREAD preemptions, comma-separated, "
                 "as --minimize prints it; empty: no preemptions)")
      ->each([&](const std::string&) { flags.has_replay_schedule = true; });
  app.add_option("--skip-threads", flags.skip_threads,
                 "Concurrent workload: comma-separated thread numbers (epoch*8+thread) whose "
                 "operations are left out");
  app.add_option("--skip-ops", flags.skip_ops, "Comma-separated operation indexes to leave out");
  app.add_option("--keep-ops", flags.keep_ops,
                 "Comma-separated operation indexes to keep (all others are left out)");
  app.add_option("--zero-faults", flags.zero_faults,
                 "Comma-separated fault classes to switch off: crash,lost,torn,garble,dir,delay,"
                 "eio,enospc,flip,misdirect,segment,pool,points");
  std::string bugs;
  for (const std::string& name : manifold::sim::PlantedBugNames()) bugs += " " + name;
  app.add_option("--plant-bug", flags.plant_bug,
                 "Switch on a planted engine bug, to see the simulator catch it:" + bugs)
      ->check(CLI::IsMember(manifold::sim::PlantedBugNames()));
  app.add_flag("--no-liveness", flags.no_liveness,
               "Skip the liveness phase at the end of each seed (faults off: a reopen, two "
               "writers' durable writes, a forced checkpoint that must retire the log, reads "
               "back, a close; docs/simulator.md)");
  app.add_flag("--quiet", flags.quiet, "No progress line");
  CLI11_PARSE(app, argc, argv);

  uint64_t first = 0, count = 0;
  std::string error;
  if (!flags.plant_bug.empty() && !manifold::sim::PlantedBugsCompiledIn()) {
    std::fprintf(stderr,
                 "sim: --plant-bug %s: this build has no planted bugs (they are compiled only "
                 "into --config=sim builds, --define=manifold_planted_bugs=1 on the scheduled "
                 "engine); rebuild with ./bazelw build --config=sim //sim\n",
                 flags.plant_bug.c_str());
    return 2;
  }
  if (flags.page_bytes != 0 && ((flags.page_bytes & (flags.page_bytes - 1)) != 0 ||
                                flags.page_bytes < manifold::Limits::kPageBytesMin ||
                                flags.page_bytes > manifold::Limits::kPageBytesMax)) {
    std::fprintf(stderr, "sim: --page-bytes must be a power of two from %u to %u\n",
                 manifold::Limits::kPageBytesMin, manifold::Limits::kPageBytesMax);
    return 2;
  }
  if (flags.seeds == 0 && flags.seed_range.empty()) {
    return RunOne(flags, flags.seed == 0 ? 1 : flags.seed);
  }
  if (!ParseSeedRange(flags, &first, &count, &error)) {
    std::fprintf(stderr, "sim: %s\n", error.c_str());
    return 2;
  }
  RunConfig base;
  if (!BuildConfig(flags, first, &base, &error)) {
    std::fprintf(stderr, "sim: %s\n", error.c_str());
    return 2;
  }
  manifold::sim::SweepOptions sweep;
  sweep.first_seed = first;
  sweep.count = count;
  sweep.jobs =
      flags.jobs != 0 ? flags.jobs : std::clamp(std::thread::hardware_concurrency(), 1u, 64u);
  sweep.check_determinism = flags.check_determinism;
  sweep.progress = !flags.quiet;
  sweep.make_config = [&](uint64_t seed, RunConfig* config) {
    std::string ignored;
    return BuildConfig(flags, seed, config, &ignored);
  };
  manifold::sim::SweepResult result = manifold::sim::Sweep(sweep);
  std::printf("%s", manifold::sim::SweepSummary(sweep, result).c_str());
  return result.failures.empty() ? 0 : 1;
}
