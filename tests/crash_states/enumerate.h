// Exhaustive crash states (docs/simulator.md, "Exhaustive crash states"): run a small workload
// once over a RecordingFileSystem, and at every sync barrier build the post-crash disk images
// (crash_image.h), recover each with the real engine and judge it with the reference model.
//
// Per barrier, with n pending units (crash_image.h): when n <= exhaustive_units_max, every one of
// the 2^n subsets; otherwise a documented sample: the empty and the full subset, every prefix in
// issue order (an ordered disk), the full subset minus each single unit, each single unit alone,
// and sample_masks subsets drawn from a generator seeded by the workload's seed and the barrier's
// index. Each subset is checked as is and once more for each tear of its last kept write (in
// issue order; crash_image.h, TearPrefixes). With tear_every_write, when the combinations of
// lost, kept and coarse-torn over all units number at most 2^exhaustive_units_max, those with
// two or more torn writes are checked too. Images equal to one already checked at the
// same barrier are skipped (64-bit FNV-1a of paths and bytes).
#ifndef MANIFOLD_TESTS_CRASH_STATES_ENUMERATE_H_
#define MANIFOLD_TESTS_CRASH_STATES_ENUMERATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "manifold/options.h"
#include "model/model.h"

namespace manifold::crash_states {

struct Step {
  enum Kind : uint8_t {
    kCommit,       // `commit` (a batch, create or drop of a column family).
    kCheckpoint,   // DB::Checkpoint.
    kCloseReopen,  // Clean close, then open: every acknowledged commit must be there.
    kCrashReopen,  // Power cut (unsynced data dropped), then open: a legal prefix.
  } kind = kCommit;
  model::Commit commit;
  bool sync = true;  // WriteOptions::sync of a batch.
};

struct Workload {
  std::string name;
  uint32_t page_bytes = 1024;
  uint64_t wal_segment_bytes = 64 << 10;  // The smallest allowed: large values roll over.
  uint64_t seed = 1;                      // For sampled barriers.
  std::vector<Step> steps;
};

struct EnumerateOptions {
  size_t exhaustive_units_max = 12;
  size_t sample_masks = 256;
  // Also tear writes at every 8 bytes of their first sector (crash_image.h, TearPrefixes).
  bool fine_tears = false;
  // Also every combination of lost, kept and torn (coarse tears) over all units, when there are
  // at most 2^exhaustive_units_max of them: several writes torn at once.
  bool tear_every_write = true;
  // Record the recovery of every legal image too, and check every image of its barriers against
  // the same model (a crash during recovery; one level deep).
  bool crash_during_recovery = false;
  // Full path of a planted bug (engine/util/fault_point.h) switched on for the recording run and
  // every recovery; empty for none.
  std::string planted_bug;
  // Stop checking after this many illegal images (0: never stop).
  size_t violations_max = 0;
};

struct BarrierStats {
  std::string what;  // E.g. "step 4 (batch, sync): sync /db/wal-000001.log".
  size_t units = 0;
  bool sampled = false;
  size_t images = 0;  // Distinct images recovered and checked.
};

struct EnumerateResult {
  std::string workload;
  std::string error;  // The workload itself failed (not a crash state): why.
  size_t barriers = 0;
  size_t barriers_sampled = 0;
  size_t units_max = 0;
  size_t images_built = 0;    // Every selection's image, duplicates included.
  size_t images_checked = 0;  // Distinct per barrier: recovered and judged.
  // With crash_during_recovery: barriers of the images' recoveries, and their images checked.
  size_t recovery_barriers = 0;
  size_t recovery_images_checked = 0;
  size_t violations = 0;
  std::vector<std::string> violation_reports;   // The first few, in full.
  uint64_t writes = 0, syncs = 0, dir_ops = 0;  // What the recording run issued.
  double seconds = 0;
  std::vector<BarrierStats> per_barrier;
};

EnumerateResult Enumerate(const Workload& workload, const EnumerateOptions& options);

// The fixed set `bazel test` runs, and the larger one behind the crash_states_large tag.
std::vector<Workload> SmallWorkloads();
std::vector<Workload> LargeWorkloads();
// The workload the planted-bug tests use: two column families, a rollover, checkpoints that
// retire segments, a crash recovery and a close.
Workload PlantedBugWorkload();

// One line: name, barriers, sampled barriers, images checked, violations, seconds.
std::string Summary(const EnumerateResult& result);

}  // namespace manifold::crash_states

#endif  // MANIFOLD_TESTS_CRASH_STATES_ENUMERATE_H_
