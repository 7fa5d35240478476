// The simulator's workload: a list of operations over the whole public API, generated from a seed.
// Generating the list up front (rather than deciding as the run goes) lets --minimize delete
// operations and replay the rest.
#ifndef MANIFOLD_SIM_WORKLOAD_H_
#define MANIFOLD_SIM_WORKLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/util/random.h"

namespace manifold::sim {

// The workload's generator: splitmix64 (engine/util/random.h), whose stream every recorded seed
// was dealt from.
using Rng = SplitMix64;

enum class OpKind {
  kPut,              // Single put through DB::Put.
  kDelete,           // Single delete through DB::Delete.
  kBatch,            // WriteBatch across column families.
  kTransaction,      // Transaction on one column family: puts/deletes/reads, then commit or abort.
  kGet,              // Point read of the latest state.
  kScan,             // Iterator scan with bounds, forward or backward.
  kTakeSnapshot,     // Take a snapshot and keep it.
  kReadSnapshot,     // Get and scan at a held snapshot.
  kReleaseSnapshot,  // Release a held snapshot.
  kCreateCf,         // CreateColumnFamily.
  kDropCf,           // DropColumnFamily.
  kReopen,           // Clean close and reopen.
  kCrash,            // Power cut between operations, then recovery.
  kCrashDuringNext,  // Power cut at the k-th file-system mutation from now (lands inside a commit).
  kOpenIterator,     // Open an iterator and keep it (it must keep seeing its snapshot).
  kStepIterator,     // Read a few more entries from a kept iterator.
  kCheckpoint,       // DB::Checkpoint.
  // Two durable single puts on two column families from two threads, staged so that the second
  // appends its log record while the first (the group-commit leader) is inside its log sync.
  kConcurrentCommit,
};

const char* OpKindName(OpKind kind);

struct KeyOp {
  bool is_delete = false;
  std::string cf;
  std::string key;
  uint32_t value_bytes = 0;  // Value content is derived from (op index, sub-index, size).
};

struct WorkloadOp {
  OpKind kind;
  uint32_t index = 0;          // Position in the generated workload (stable under deletion).
  std::vector<KeyOp> writes;   // Put/Delete/Batch/Transaction.
  std::string cf;              // Get/Scan/Transaction/CreateCf/DropCf.
  std::string key;             // Get; Scan seek target.
  std::string lower, upper;    // Scan bounds; empty means none.
  bool reverse = false;        // Scan direction.
  uint32_t limit = 0;          // Scan: most entries to read. kStepIterator: entries to read.
  bool commit = true;          // Transaction: commit (true) or abort.
  uint32_t snapshot_slot = 0;  // Snapshot and kept-iterator ops: which slot.
  uint32_t crash_after_mutations = 0;  // kCrashDuringNext.
  bool sync = true;                    // Put/Delete/Batch/Transaction: WriteOptions::sync.
  bool crash_after = false;            // kConcurrentCommit: power cut right after both return.

  // "op #12 put cf=default key=k3 ...": the number is `index`, which the simulator's report, its
  // trace, the model's explanations and the concurrent history all use (docs/simulator.md).
  std::string Describe() const;
  // The same without the number.
  std::string What() const;
};

struct WorkloadOptions {
  uint32_t ops = 300;          // Operations to generate.
  uint32_t page_bytes = 1024;  // Page size of the database (bounds key sizes).
  uint32_t keys_per_cf = 120;  // Key space per column family: small, so overwrites are common.
  // Concurrent workload: most value bytes one log-heavy epoch's operation writes. The default
  // keeps every record inside a 64 KiB log segment; 0 takes off the cap, so batch records can be
  // larger than a segment (sim --heavy-op-bytes-max 0).
  uint32_t heavy_op_bytes_max = kHeavyOpBytesMaxDefault;
  static constexpr uint32_t kHeavyOpBytesMaxDefault = 48u << 10;
};

// The value stored by write `sub` of operation `op_index`, `bytes` long. Derived, not stored, so
// traces stay short and replays are exact.
std::string ValueFor(uint32_t op_index, uint32_t sub, uint32_t bytes);

// Fills the operands of `op` (whose kind is set) from `rng`: keys, values, column families, bounds,
// slots, sync. Shared by the sequential and the concurrent workload.
void FillWorkloadOp(Rng& rng, const WorkloadOptions& options, WorkloadOp* op);

std::vector<WorkloadOp> GenerateWorkload(uint64_t seed, const WorkloadOptions& options);

// Column family names the workload uses (besides "default").
inline constexpr const char* kWorkloadColumnFamilies[] = {"alpha", "beta", "gamma"};
inline constexpr uint32_t kSnapshotSlots = 3;

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_WORKLOAD_H_
