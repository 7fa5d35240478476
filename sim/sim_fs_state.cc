// SimFileSystem::State: the path helpers and the decisions several layers share (see
// sim_fs_state.h).
#include "sim/sim_fs_state.h"

#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>

#include "faults/fault_model.h"
#include "manifold/status.h"

namespace manifold::sim {
namespace sim_fs_internal {

std::string Message(std::string_view op, std::string_view path, std::string_view what) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += what;
  return message;
}

std::string AtOffset(std::string_view op, std::string_view path, uint64_t offset) {
  return std::string(op) + " " + std::string(path) + " at offset " + std::to_string(offset);
}

StatusOr<std::string> Normalize(std::string_view op, const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return Status::InvalidArgument(
        Message(op, "'" + path + "'", "SimFileSystem needs an absolute path"));
  }
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsRoot(const std::string& path) { return path == kRoot; }

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  assert(slash != std::string::npos && "paths are absolute");
  return slash == 0 ? std::string(kRoot) : path.substr(0, slash);
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string Join(const std::string& dir, const std::string& name) {
  return IsRoot(dir) ? dir + name : dir + "/" + name;
}

bool IsLogSegmentName(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  constexpr std::string_view kPrefix = "wal-", kSuffix = ".log";
  constexpr size_t kDigits = 16;
  if (name.size() != kPrefix.size() + kDigits + kSuffix.size()) return false;
  if (name.substr(0, kPrefix.size()) != kPrefix) return false;
  if (name.substr(name.size() - kSuffix.size()) != kSuffix) return false;
  for (char c : name.substr(kPrefix.size(), kDigits)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace sim_fs_internal

using faults::OpClass;

Status SimFileSystem::State::CheckLive(const std::string& what, const uint64_t* handle_generation) {
  ++counters.ops;
  if (crashed) return Status::IOError("simulated power cut: " + what + " refused until Restart()");
  if (handle_generation != nullptr && *handle_generation != generation) {
    return Status::IOError("stale handle after restart: " + what + " uses a file opened " +
                           "before restart " + std::to_string(generation));
  }
  return Status::OK();
}

Status SimFileSystem::State::Mutate(const std::string& what) {
  assert(!crashed);
  ++counters.mutations;
  // The callers name their operation first ("open ", "rename ", "remove ": see
  // sim_fault_layers.cc); opening counts as a mutation only when it may create the file.
  const bool namespace_op =
      what.starts_with("open ") || what.starts_with("rename ") || what.starts_with("remove ");
  if (namespace_op && namespace_ops_until_cut != 0 && --namespace_ops_until_cut == 0) {
    crash_at_mutation = counters.mutations + cut_delay_after_namespace_op;
  }
  const bool scheduled = crash_at_mutation != 0 && counters.mutations == crash_at_mutation;
  // Drawn even when a cut is scheduled here, so the draws before it match an unscheduled run.
  const bool random = random_crashes && prng.Chance(options.crash_per_mutation);
  if (!scheduled && !random) return Status::OK();
  const std::string n = std::to_string(counters.mutations);
  Cut();
  Trace("crash: power cut at mutation " + n + " (" + what + "), " +
        (scheduled ? "scheduled" : "random"));
  return Status::IOError("power cut during " + what + " (mutation " + n +
                         "): the operation did not complete");
}

void SimFileSystem::State::Cut() {
  crashed = true;
  crash_at_mutation = 0;
  namespace_ops_until_cut = 0;
  ++counters.crashes;
}

Status SimFileSystem::State::InjectError(OpClass op_class, const std::string& what) {
  const faults::ErrorRates& rates = options.error_rates(op_class);
  if (prng.Chance(rates.eio)) {
    ++counters.eio;
    Trace("injected EIO: " + what);
    return Status::IOError("injected EIO: " + what);
  }
  if (prng.Chance(rates.enospc)) {
    ++counters.enospc;
    Trace("injected ENOSPC: " + what);
    return Status::NoSpace("injected ENOSPC: " + what);
  }
  return Status::OK();
}

}  // namespace manifold::sim
