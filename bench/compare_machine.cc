#include "bench/compare_machine.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace manifold::bench {
namespace {

// The value after "key:" on the first line of `path` that starts with `key`.
std::string ProcField(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "unknown";
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string Cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  const int usable = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
  return std::to_string(std::thread::hardware_concurrency()) + " hardware threads (" +
         std::to_string(usable) + " usable by this process)";
}

std::string Memory() {
  const std::string kib = ProcField("/proc/meminfo", "MemTotal");  // "24684096 kB"
  char buf[64];
  snprintf(buf, sizeof(buf), "%.1f GiB", std::strtoull(kib.c_str(), nullptr, 10) / 1048576.0);
  return buf;
}

std::string Kernel() {
  utsname u{};
  if (uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " (" + u.machine + ")";
}

// The /proc/mounts entry with the longest mount point that contains `dir`.
std::string FileSystemOf(const std::string& dir) {
  char* real = realpath(dir.c_str(), nullptr);
  const std::string path = real ? real : dir;
  free(real);
  std::ifstream in("/proc/mounts");
  std::string device, mount, type, options, best = "unknown";
  size_t best_len = 0;
  while (in >> device >> mount >> type >> options) {
    in.ignore(1 << 10, '\n');
    const bool contains =
        path.rfind(mount, 0) == 0 &&
        (mount == "/" || path.size() == mount.size() || path[mount.size()] == '/');
    if (contains && mount.size() >= best_len) {
      best_len = mount.size();
      best = type + " on " + device + " mounted at " + mount + " (" + options + ")";
    }
  }
  return path + ": " + best;
}

// Output of a short shell command (first line), or "" when it fails.
std::string Command(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return "";
  char buf[256] = {0};
  const bool got = fgets(buf, sizeof(buf), p) != nullptr;
  pclose(p);
  std::string s = got ? buf : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The workspace's git revision (bazel run sets BUILD_WORKSPACE_DIRECTORY), and whether the
// engine had uncommitted changes: the engine is under active development.
std::string ManifoldRevision() {
  const char* ws = getenv("BUILD_WORKSPACE_DIRECTORY");
  if (ws == nullptr) return "unknown (not run through bazel run)";
  const std::string git = "git -C '" + std::string(ws) + "' ";
  const std::string rev = Command(git + "rev-parse --short HEAD 2>/dev/null");
  if (rev.empty()) return "unknown";
  const std::string dirty = Command(git + "status --porcelain -- engine 2>/dev/null | wc -l");
  return rev + (dirty.empty() || dirty == "0"
                    ? ""
                    : " + uncommitted changes in engine/ (" + dirty + " files)");
}

std::string CompilerName() {
#ifdef __clang__
  return "clang";
#else
  return "gcc";
#endif
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return buf;
}

}  // namespace

bool OptimizedBuild() {
#ifdef NDEBUG
  return true;
#else
  return false;
#endif
}

std::vector<std::pair<std::string, std::string>> MachineInfo(const std::string& data_dir) {
  return {
      {"date", UtcNow()},
      {"CPU", ProcField("/proc/cpuinfo", "model name")},
      {"cores", Cores()},
      {"memory", Memory()},
      {"kernel", Kernel()},
      {"data directory", FileSystemOf(data_dir)},
      {"load average at start", FirstLine("/proc/loadavg")},
      {"compiler",
       CompilerName() + " " + __VERSION__ + ", __cplusplus " + std::to_string(__cplusplus)},
      {"build", OptimizedBuild() ? "optimized (NDEBUG; -c opt)"
                                 : "NOT optimized (no NDEBUG): do not quote these numbers"},
      {"manifold revision", ManifoldRevision()},
  };
}

}  // namespace manifold::bench
