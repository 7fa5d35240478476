#include "sim/fault_points.h"

#include <mutex>
#include <string_view>

#include "engine/util/fault_point.h"

#if defined(MANIFOLD_USES_FIU)
#include <fiu-control.h>
#endif

namespace manifold::sim {
namespace {

thread_local FaultPointSink* current_sink = nullptr;

std::mutex planted_mu;
std::string planted_for_engine_threads;  // Guarded by planted_mu.

constexpr std::string_view kBugPrefix = "manifold/bug/";

#if defined(MANIFOLD_USES_FIU)
int Callback(const char* name, int*, void**, unsigned int*) {
  if (current_sink != nullptr) return current_sink->DecideFaultPoint(name);
  const std::string_view point(name);
  if (point.substr(0, kBugPrefix.size()) != kBugPrefix) return 0;
  std::lock_guard<std::mutex> lock(planted_mu);
  return point.substr(kBugPrefix.size()) == planted_for_engine_threads ? 1 : 0;
}
#endif

}  // namespace

void EnableFaultPointsOnce() {
#if defined(MANIFOLD_USES_FIU)
  static const bool enabled = [] {
    if (fiu_init(0) != 0) return false;
    for (std::string_view name : kFaultPoints) {
      fiu_enable_external(std::string(name).c_str(), 1, nullptr, 0, Callback);
    }
    for (std::string_view name : kPlantedBugs) {
      fiu_enable_external(std::string(name).c_str(), 1, nullptr, 0, Callback);
    }
    return true;
  }();
  (void)enabled;
#endif
}

ScopedFaultPointSink::ScopedFaultPointSink(FaultPointSink* sink) : previous_(current_sink) {
  current_sink = sink;
}

ScopedFaultPointSink::~ScopedFaultPointSink() { current_sink = previous_; }

void SetPlantedBugForEngineThreads(const std::string& short_name) {
  std::lock_guard<std::mutex> lock(planted_mu);
  planted_for_engine_threads = short_name;
}

}  // namespace manifold::sim
