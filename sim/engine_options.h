// The engine settings both simulator workloads share: a small database whose few hundred
// operations roll, retire and recycle log segments and checkpoint many times.
#ifndef MANIFOLD_SIM_ENGINE_OPTIONS_H_
#define MANIFOLD_SIM_ENGINE_OPTIONS_H_

#include <algorithm>
#include <cstdint>

#include "manifold/options.h"

namespace manifold::sim {

// What a seed's buffer and checkpoint sizes stress (docs/simulator.md, "Engine settings in the
// simulator"). With the sizes alone a run of a few hundred small writes rarely fills a column
// family's buffer before a checkpoint takes it, so reads almost never meet an immutable buffer
// waiting for its merge, merges never write more than one chunk and the buffers never approach
// their bound.
enum class SizeProfile {
  kDefault,  // SetSmallDatabaseOptions's sizes.
  // 16 KiB column-family buffers (a large value gets one of its own), 2-4 immutable buffers per
  // column family, checkpoints late: reads land while immutable buffers wait for a merge
  // (I32, I34, I47), and merges write their output in chunks of 8 pages (I49).
  kSwapping,
  // The smallest bound (64 KiB, 16 KiB per column family), checkpoints only when the buffers
  // are full, no cap on immutable buffers that would come first: the byte bound, its slowdown
  // and its stall govern (I38), and merges write chunks of 16 pages.
  kTight,
};

// A quarter of the seeds each swap and run tight, independently of the page size (seed parity).
inline SizeProfile SizeProfileForSeed(uint64_t seed) {
  switch ((seed >> 1) % 4) {
    case 1:
      return SizeProfile::kSwapping;
    case 3:
      return SizeProfile::kTight;
    default:
      return SizeProfile::kDefault;
  }
}

inline const char* SizeProfileName(SizeProfile profile) {
  switch (profile) {
    case SizeProfile::kDefault:
      return "default";
    case SizeProfile::kSwapping:
      return "swapping";
    case SizeProfile::kTight:
      return "tight";
  }
  return "?";
}

// Sets the page size and the size-based triggers (log segments, checkpoints, write buffer) for
// `page_bytes` and the seed's size profile; each workload sets its own file system, clock and
// timing options.
inline void SetSmallDatabaseOptions(uint64_t seed, uint32_t page_bytes, Options* options) {
  options->page_bytes = page_bytes;
  options->file_growth_bytes = 16 * page_bytes;
  options->wal_segment_bytes = 64 << 10;
  options->checkpoint_log_bytes = 96 << 10;
  options->write_buffer_bytes_max = std::max<uint64_t>(64 << 10, 96 * uint64_t{page_bytes});
  options->checkpoint_dirty_bytes = 24 * uint64_t{page_bytes};
  switch (SizeProfileForSeed(seed)) {
    case SizeProfile::kDefault:
      break;
    case SizeProfile::kSwapping:
      options->write_buffer_bytes_max = 256 << 10;
      options->write_buffer_bytes_per_cf_max = 16 << 10;
      options->write_buffer_immutables_per_cf_max = 2 + (seed >> 3) % 3;
      options->checkpoint_dirty_bytes = 192 << 10;
      options->checkpoint_log_bytes = 256 << 10;
      options->checkpoint_chunk_bytes = 8 * uint64_t{page_bytes};
      break;
    case SizeProfile::kTight:
      options->write_buffer_bytes_max = 64 << 10;
      options->write_buffer_bytes_per_cf_max = 16 << 10;
      options->write_buffer_immutables_per_cf_max = 64;
      options->checkpoint_dirty_bytes = 64 << 10;
      options->checkpoint_log_bytes = 256 << 10;
      options->checkpoint_chunk_bytes = 16 * uint64_t{page_bytes};
      break;
  }
}

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_ENGINE_OPTIONS_H_
