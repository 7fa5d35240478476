// The engine settings both simulator workloads share: a small database whose few hundred
// operations roll, retire and recycle log segments and checkpoint many times.
#ifndef MANIFOLD_SIM_ENGINE_OPTIONS_H_
#define MANIFOLD_SIM_ENGINE_OPTIONS_H_

#include <algorithm>
#include <cstdint>

#include "manifold/options.h"

namespace manifold::sim {

// Sets the page size and the size-based triggers (log segments, checkpoints, write buffer) for
// `page_bytes`; each workload sets its own file system, clock and timing options.
inline void SetSmallDatabaseOptions(uint32_t page_bytes, Options* options) {
  options->page_bytes = page_bytes;
  options->file_growth_bytes = 16 * page_bytes;
  options->wal_segment_bytes = 64 << 10;
  options->checkpoint_log_bytes = 96 << 10;
  options->write_buffer_bytes_max = std::max<uint64_t>(64 << 10, 96 * uint64_t{page_bytes});
  options->checkpoint_dirty_bytes = 24 * uint64_t{page_bytes};
}

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_ENGINE_OPTIONS_H_
