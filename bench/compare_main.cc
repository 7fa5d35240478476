// //bench:compare: runs the same workloads against Manifold, RocksDB, LevelDB, LMDB and SQLite
// and reports ops/s, commit latency, syncs per commit, bytes written, write amplification and
// peak memory per phase.
//
//   ./bazelw run -c opt //bench:compare -- --scale 0.02 --runs 1
//
// Every (workload, engine, run) runs in its own forked process in a fresh directory: peak RSS is
// then per engine, one engine's crash or leftover threads cannot disturb another, and the
// recovery workload can kill a writer without killing the benchmark. See bench/README.md.
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "bench/compare_engine.h"
#include "bench/compare_io.h"
#include "bench/compare_machine.h"
#include "bench/compare_report.h"
#include "bench/compare_result.h"
#include "bench/compare_targets.h"
#include "bench/compare_workloads.h"

namespace manifold::bench {
namespace {

struct Flags {
  std::string engines = "manifold,rocksdb,leveldb,lmdb,sqlite";
  std::string workloads = "cfwrite,read,commit,bulk,recovery,overwrite,readwhilewriting,uncached";
  int runs = 5;
  double scale = 1.0;
  BaseSizes sizes;
  std::string dir;
  bool keep = false;
  std::string out_dir;
  std::string windows;  // --group_commit_window_us
};

std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::string item;
  for (char c : list + ",") {
    if (c != ',') {
      item += c;
    } else if (!item.empty()) {
      out.push_back(item);
      item.clear();
    }
  }
  return out;
}

// One EngineKind per engine, in the canonical order; Manifold once per group-commit window.
StatusOr<std::vector<EngineKind>> EngineKinds(const Flags& flags) {
  const std::vector<std::string> wanted = SplitList(flags.engines);
  for (const std::string& name : wanted) {
    const auto& all = EngineFamilies();
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      return Status::InvalidArgument("unknown engine '" + name + "'");
    }
  }
  std::vector<EngineKind> kinds;
  for (const std::string& family : EngineFamilies()) {
    if (std::find(wanted.begin(), wanted.end(), family) == wanted.end()) continue;
    if (family != "manifold" || flags.windows.empty()) {
      // Without --group_commit_window_us Manifold runs with its default window.
      kinds.push_back({family, family, family == "manifold" ? ManifoldDefaultWindowUs() : 0});
      continue;
    }
    for (const std::string& w : SplitList(flags.windows)) {
      if (w.find_first_not_of("0123456789") != std::string::npos || w.size() > 9) {
        return Status::InvalidArgument("bad --group_commit_window_us value '" + w + "'");
      }
      kinds.push_back({"manifold(w=" + w + "us)", family, std::stoull(w)});
    }
  }
  if (kinds.empty()) return Status::InvalidArgument("no engines selected");
  return kinds;
}

StatusOr<std::vector<std::string>> Workloads(const Flags& flags) {
  const std::vector<std::string> wanted = SplitList(flags.workloads);
  const auto& all = WorkloadNames();
  for (const std::string& name : wanted) {
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      return Status::InvalidArgument("unknown workload '" + name + "'");
    }
  }
  std::vector<std::string> out;
  for (const std::string& w : all) {
    if (std::find(wanted.begin(), wanted.end(), w) != wanted.end()) out.push_back(w);
  }
  if (out.empty()) return Status::InvalidArgument("no workloads selected");
  return out;
}

// --- Running a job in a child process ----------------------------------------------------------

void WriteAll(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void ChildMain(const Job& job, int fd) {
  std::vector<PhaseResult> results = RunJob(job);
  // Phases measure their own peak when the kernel lets them reset it; else the whole job's.
  const uint64_t rss = PeakRssKib();
  for (PhaseResult& r : results) {
    if (!r.rss_per_phase) r.peak_rss_kib = rss;
  }
  WriteAll(fd, SerializeResults(results));
  _exit(0);  // No static destructors or atexit handlers of the parent's state.
}

std::string ExitDescription(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

std::vector<PhaseResult> RunInChild(const Job& job) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ChildMain(job, fds[1]);
  }
  close(fds[1]);
  std::string text;
  char buf[1 << 16];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) text.append(buf, n);
  close(fds[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  std::vector<PhaseResult> results = ParseResults(text);
  const std::vector<std::string> rows = JobRows(job);
  if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && results.size() == rows.size()) {
    return results;
  }
  const std::string why = pid < 0 ? "fork failed" : "benchmark process " + ExitDescription(status);
  results.clear();
  for (const std::string& row : rows) results.push_back(PhaseResult::Failed(row, why));
  return results;
}

// --- The whole run -----------------------------------------------------------------------------

std::string Sanitize(std::string s) {
  for (char& c : s) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

std::string ProgressLine(const Job& job, int run, int runs, const std::vector<PhaseResult>& results,
                         double seconds) {
  std::string line = fmt::format("{} {} run {}/{} ({:.1f} s):", job.Name(), job.engine.label,
                                 run + 1, runs, seconds);
  for (const PhaseResult& r : results) {
    line += r.error.empty() ? fmt::format(" {} {:.0f} {}", r.row, r.OpsPerSecond(), r.unit)
                            : fmt::format(" {} error: {}", r.row, r.error);
    // Issue 12's bound on every run as it finishes, so a run over it is seen at once.
    if (r.error.empty() && r.has_budget) {
      const double bound_mib = r.RssBoundBytes() / 1048576.0;
      const double rss_mib = r.peak_rss_kib / 1024.0;
      line += fmt::format(" (peak RSS {:.0f} MiB, bound {:.0f}{})", rss_mib, bound_mib,
                          rss_mib > bound_mib ? ": OVER THE BOUND" : "");
    }
  }
  return line;
}

Results RunAll(const std::vector<Job>& jobs, const std::vector<EngineKind>& kinds,
               const Flags& flags, const std::string& root, DeviceBytesSource source) {
  Results results;
  const size_t total = jobs.size() * kinds.size() * flags.runs;
  size_t done = 0;
  for (const Job& base : jobs) {
    // Engines take turns within each run, so a slow drift of the machine hits all of them.
    for (int run = 0; run < flags.runs; ++run) {
      for (const EngineKind& kind : kinds) {
        Job job = base;
        job.engine = kind;
        job.device_source = source;
        job.dir = fmt::format("{}/{}-{}-run{}", root, Sanitize(job.Name()), Sanitize(kind.label),
                              run + 1);
        std::filesystem::remove_all(job.dir);
        std::filesystem::create_directories(job.dir);
        const auto start = std::chrono::steady_clock::now();
        const std::vector<PhaseResult> phases = RunInChild(job);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        for (const PhaseResult& r : phases) results.Add(kind.label, r);
        fmt::print(stderr, "[{}/{}] {}\n", ++done, total,
                   ProgressLine(job, run, flags.runs, phases, seconds));
        if (!flags.keep) std::filesystem::remove_all(job.dir);
      }
    }
  }
  return results;
}

// The data directory: --dir, or a fresh one under $TMPDIR (removed at the end unless --keep).
std::string DataRoot(const Flags& flags, bool* temporary) {
  *temporary = flags.dir.empty();
  if (!flags.dir.empty()) {
    std::filesystem::create_directories(flags.dir);
    return flags.dir;
  }
  const char* tmp = getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/manifold-compare-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) return "";
  return templ;
}

std::string OutDir(const Flags& flags) {
  if (!flags.out_dir.empty()) return flags.out_dir;
  const char* ws = getenv("BUILD_WORKSPACE_DIRECTORY");  // Set by `bazel run`.
  return ws ? std::string(ws) + "/bench/results" : "bench/results";
}

std::string CommandLine(int argc, char** argv) {
  std::string out = "compare";
  for (int i = 1; i < argc; ++i) out += std::string(" ") + argv[i];
  return out;
}

std::string Baseline(const std::vector<EngineKind>& kinds) {
  for (const EngineKind& k : kinds) {
    if (k.family == "manifold") return k.label;
  }
  return kinds[0].label;
}

// How bytes to the device and peak RSS are measured on this machine, found out now.
std::vector<std::string> Methods(DeviceBytesSource source, const std::string& probe) {
  std::vector<std::string> out;
  if (source == DeviceBytesSource::kWriteBytes) {
    out.push_back(
        "bytes to device (`MiB to device`, `write amp`): /proc/self/io write_bytes - "
        "cancelled_write_bytes over the phase (" +
        probe + ")");
  } else {
    out.push_back("bytes to device: /proc/self/io write_bytes does not count writes here (" +
                  probe +
                  "), so `MiB to device` and `write amp` use wchar (bytes passed to write calls, "
                  "i.e. to the page cache), marked `(wchar)`");
  }
  // The parent probes the reset once; each child resets again per phase and falls back alone.
  out.push_back(ResetPeakRss()
                    ? "peak RSS: per phase (VmHWM of the process after resetting it through "
                      "/proc/self/clear_refs at the phase start)"
                    : "peak RSS: /proc/self/clear_refs refuses resets here, so each row shows "
                      "the peak of the whole job's process (ru_maxrss), marked `(job)`");
  return out;
}

ReportContext Context(const std::vector<EngineKind>& kinds, const Flags& flags,
                      const std::string& root, const std::string& command,
                      std::vector<std::string> methods) {
  ReportContext c;
  c.command = command;
  c.runs = flags.runs;
  c.baseline = Baseline(kinds);
  c.machine = MachineInfo(root);
  std::set<std::string> seen;
  for (const EngineKind& k : kinds) {
    if (seen.insert(k.family).second) c.engines.push_back({k.family, DescribeEngine(k.family)});
  }
  c.workloads = DescribeWorkloads(ScaledSizes(flags.scale, flags.sizes));
  c.methods = std::move(methods);
  return c;
}

// The command and the machine, so the chart says what it shows.
std::vector<std::string> ChartSubtitle(const ReportContext& context) {
  std::string machine;
  for (const auto& [what, value] : context.machine) {
    if (what == "date" || what == "CPU" || what == "cores" || what == "build") {
      machine += (machine.empty() ? "" : " | ") + value;
    }
  }
  return {context.command, machine};
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return static_cast<bool>(out);
}

int Run(const Flags& flags, const std::string& command) {
  StatusOr<std::vector<EngineKind>> kinds = EngineKinds(flags);
  StatusOr<std::vector<std::string>> workloads = Workloads(flags);
  if (!kinds.ok() || !workloads.ok()) {
    const Status& bad = kinds.ok() ? workloads.status() : kinds.status();
    fmt::print(stderr, "compare: {} (see --help)\n", bad.message());
    return 2;
  }
  bool temporary = false;
  const std::string root = DataRoot(flags, &temporary);
  if (root.empty()) {
    fmt::print(stderr, "compare: cannot create a data directory\n");
    return 1;
  }
  std::string probe;
  const DeviceBytesSource source = ProbeDeviceBytes(root, &probe);
  const ReportContext context = Context(*kinds, flags, root, command, Methods(source, probe));
  fmt::print("{}\n", RenderSetupText(context));
  std::vector<Job> jobs;
  for (const std::string& w : *workloads) {
    for (Job job : JobsFor(w)) {
      job.sizes = ScaledSizes(flags.scale, flags.sizes);
      jobs.push_back(job);
    }
  }
  const Results results = RunAll(jobs, *kinds, flags, root, source);
  if (temporary && !flags.keep) std::filesystem::remove_all(root);
  const auto table = ResultTable(results, context.baseline);
  fmt::print("{}", RenderText(table));
  // The targets are Manifold's; without a Manifold row there is nothing to compare.
  const bool has_manifold = std::any_of(kinds->begin(), kinds->end(),
                                        [](const EngineKind& k) { return k.family == "manifold"; });
  const std::string targets = has_manifold ? RenderTargets(results, context.baseline) : "";
  fmt::print("{}", targets);
  const std::string out_dir = OutDir(flags);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  const std::string md = out_dir + "/compare.md", svg = out_dir + "/compare.svg";
  if (!WriteFile(md, RenderMarkdown(context, table) + targets) ||
      !WriteFile(svg, RenderSvg(results, context.baseline, ChartSubtitle(context)))) {
    fmt::print(stderr, "compare: cannot write {} or {}\n", md, svg);
    return 1;
  }
  fmt::print("\nWrote {} and {}{}\n", md, svg, flags.keep ? "; databases kept under " + root : "");
  return 0;
}

}  // namespace
}  // namespace manifold::bench

int main(int argc, char** argv) {
  manifold::bench::Flags flags;
  CLI::App app{
      "Runs the same workloads against Manifold, RocksDB, LevelDB, LMDB and SQLite (all linked "
      "statically) and prints a table; writes compare.md and compare.svg to --out_dir. "
      "See bench/README.md."};
  app.add_option("--engines", flags.engines, "Comma-separated engines to run")
      ->capture_default_str();
  app.add_option("--workloads", flags.workloads,
                 "Comma-separated workloads: cfwrite, read, commit, bulk, recovery, overwrite, "
                 "readwhilewriting, uncached")
      ->capture_default_str();
  app.add_option("--runs", flags.runs, "Runs per cell; the table shows the median")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--scale", flags.scale, "Multiplies every key count (e.g. 0.01 for a smoke run)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--bulk_keys", flags.sizes.bulk_keys, "Keys of the bulk workload (before --scale)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--recovery_keys", flags.sizes.recovery_keys,
                 "Keys the recovery workload's crashing writer leaves in the log (before --scale)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--overwrite_keys", flags.sizes.overwrite_keys,
                 "Keys loaded by overwrite and readwhilewriting (before --scale); overwrite then "
                 "overwrites twice as many")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--uncached_cache_mib", flags.sizes.uncached_cache_mib,
                 "Cache of every engine in the uncached workload, MiB (before --scale)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--uncached_ratio", flags.sizes.uncached_ratio,
                 "User data loaded by the uncached workload, as a multiple of its cache")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--dir", flags.dir,
                 "Data directory (default: a fresh one under $TMPDIR or /tmp, removed at the end)");
  app.add_flag("--keep", flags.keep, "Keep the databases instead of removing them");
  app.add_option("--out_dir", flags.out_dir,
                 "Where compare.md and compare.svg go (default: <workspace>/bench/results)");
  app.add_option("--group_commit_window_us", flags.windows,
                 "Manifold Options::group_commit_window_us; a comma list runs one Manifold row "
                 "per value, labelled manifold(w=<value>us)");
  CLI11_PARSE(app, argc, argv);
  return manifold::bench::Run(flags, manifold::bench::CommandLine(argc, argv));
}
