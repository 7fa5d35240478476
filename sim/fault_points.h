// Routes the engine's libfiu fault points (engine/util/fault_point.h) to the simulator run that
// decides them. libfiu's callback is process-wide; each harness thread names its run
// (ScopedFaultPointSink). The engine's own threads (the background checkpointer) belong to no
// harness thread: random fault points never fire there, so decisions stay a function of the
// seed, but the planted bug set with SetPlantedBugForEngineThreads does (all runs of one process
// plant the same bug, so that too is the same with any --jobs).
#ifndef MANIFOLD_SIM_FAULT_POINTS_H_
#define MANIFOLD_SIM_FAULT_POINTS_H_

#include <string>

namespace manifold::sim {

class FaultPointSink {
 public:
  virtual ~FaultPointSink() = default;
  // Whether fault point `name` fires now (1) or not (0).
  virtual int DecideFaultPoint(const char* name) = 0;
};

// Arms every fault point and planted bug, once per process. No-op without fault points.
void EnableFaultPointsOnce();

// Sets the calling thread's sink for its lifetime.
class ScopedFaultPointSink {
 public:
  explicit ScopedFaultPointSink(FaultPointSink* sink);
  ~ScopedFaultPointSink();
  ScopedFaultPointSink(const ScopedFaultPointSink&) = delete;
  ScopedFaultPointSink& operator=(const ScopedFaultPointSink&) = delete;

 private:
  FaultPointSink* const previous_;
};

// The planted bug (short name, "" for none) that fires on threads without a sink.
void SetPlantedBugForEngineThreads(const std::string& short_name);

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_FAULT_POINTS_H_
