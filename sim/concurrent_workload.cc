#include "sim/concurrent_workload.h"

#include <algorithm>
#include <cassert>

namespace manifold::sim {
namespace {

struct Weighted {
  OpKind kind;
  uint32_t weight;
};

// Writers: commits of every shape, now and then an explicit checkpoint beside them.
constexpr Weighted kWriterMix[] = {
    {OpKind::kPut, 30},         {OpKind::kDelete, 8},     {OpKind::kBatch, 16},
    {OpKind::kTransaction, 10}, {OpKind::kCheckpoint, 2},
};

// Readers: point reads and scans of the newest state, snapshots and iterators held across other
// threads' commits.
constexpr Weighted kReaderMix[] = {
    {OpKind::kGet, 20},          {OpKind::kScan, 10},           {OpKind::kTakeSnapshot, 6},
    {OpKind::kReadSnapshot, 10}, {OpKind::kReleaseSnapshot, 3}, {OpKind::kOpenIterator, 5},
    {OpKind::kStepIterator, 12}, {OpKind::kCheckpoint, 1},
};

template <size_t N>
OpKind Pick(Rng& rng, const Weighted (&mix)[N]) {
  uint32_t total = 0;
  for (const Weighted& w : mix) total += w.weight;
  uint64_t pick = rng.Uniform(total);
  for (const Weighted& w : mix) {
    if (pick < w.weight) return w.kind;
    pick -= w.weight;
  }
  return mix[0].kind;
}

// A writer on a disjoint range gets keys of its own (a first letter no other thread uses; the
// length, which may be at the key size limit, stays), so some commits race only for the log and
// the checkpointer, others for the same keys.
void MakeDisjoint(uint32_t thread, WorkloadOp* op) {
  const char first = static_cast<char>('m' + thread);
  for (KeyOp& write : op->writes) write.key[0] = first;
  if (!op->key.empty()) op->key[0] = first;
}

// A log-heavy epoch's write: values of 8 to 24 KiB, up to `op_bytes_max` an operation (by default
// 48 KiB, so a record still fits a 64 KiB segment; 0: no cap, so a batch record may span more than
// a segment's bytes), so the log rolls over every few commits while checkpoints, which come
// every 96 KiB of log (sim/engine_options.h), run beside the writers: a checkpoint's window
// between retiring the segments it covers and its durable header (I21, I28) then often sees a
// writer take a recycled segment, which recycle_before_checkpoint needs to show.
void MakeLogHeavy(Rng& rng, uint32_t op_bytes_max, WorkloadOp* op) {
  uint32_t budget = op_bytes_max;
  for (KeyOp& write : op->writes) {
    if (write.is_delete || write.value_bytes == 0) continue;
    const uint32_t bytes = (8u << 10) + static_cast<uint32_t>(rng.Uniform(16u << 10));
    if (op_bytes_max != 0) {
      if (bytes > budget) break;
      budget -= bytes;
    }
    write.value_bytes = bytes;
  }
}

}  // namespace

const char* EpochEndName(EpochEnd end) {
  switch (end) {
    case EpochEnd::kCleanClose:
      return "clean close";
    case EpochEnd::kCrashAtEnd:
      return "crash at the end";
    case EpochEnd::kPowerCutAt:
      return "power cut";
  }
  return "?";
}

ConcurrentWorkload GenerateConcurrentWorkload(uint64_t seed, const WorkloadOptions& options) {
  Rng rng(seed ^ 0xc0c0ull);
  // Log-heavy epochs draw from a stream of their own: the other epochs generate as before.
  Rng heavy_rng(seed ^ 0x4ea7ull);
  // A third of the seeds run short epochs: twice the reopens and recoveries in the same
  // operations, so states that need several recovery cycles (a segment retired by one epoch's
  // checkpoint and recycled by the next epoch's writer) come within a few hundred operations.
  Rng shape_rng(seed ^ 0x5a0e7ull);
  const bool short_epochs = shape_rng.OneIn(3);
  ConcurrentWorkload workload;
  uint32_t index = 0;
  auto next_op = [&](OpKind kind) {
    WorkloadOp op;
    op.kind = kind;
    op.index = index++;
    FillWorkloadOp(rng, options, &op);
    return op;
  };
  while (index < options.ops) {
    Epoch epoch;
    // Create or drop a column family now and then, between epochs.
    if (rng.OneIn(3)) {
      epoch.cf_ops.push_back(next_op(rng.OneIn(4) ? OpKind::kDropCf : OpKind::kCreateCf));
    }
    uint32_t wanted = 30 + static_cast<uint32_t>(rng.Uniform(61));
    if (short_epochs) wanted = 12 + wanted / 3;
    const uint32_t budget = index < options.ops ? std::min(options.ops - index, wanted) : 0;
    // Half of the epochs are log-heavy, with two more writers: the log rolls over, checkpoints
    // retire segments and writers take them back from the recycle pool many times per seed.
    const bool log_heavy = heavy_rng.OneIn(2);
    const uint32_t writers = 2 + static_cast<uint32_t>(rng.Uniform(3)) + (log_heavy ? 2 : 0);
    const uint32_t readers = 1 + static_cast<uint32_t>(rng.Uniform(2));
    assert(writers + readers <= kThreadsPerEpochMax);
    for (uint32_t t = 0; t < writers + readers; ++t) {
      ConcurrentThread thread;
      thread.writer = t < writers;
      epoch.threads.push_back(std::move(thread));
    }
    std::vector<bool> disjoint(writers);
    for (uint32_t t = 0; t < writers; ++t) disjoint[t] = rng.OneIn(2);
    for (uint32_t i = 0; i < budget; ++i) {
      // Writers get about two thirds of the operations.
      const uint32_t t = rng.Uniform(3) < 2 ? static_cast<uint32_t>(rng.Uniform(writers))
                                            : writers + static_cast<uint32_t>(rng.Uniform(readers));
      ConcurrentThread& thread = epoch.threads[t];
      WorkloadOp op = next_op(thread.writer ? Pick(rng, kWriterMix) : Pick(rng, kReaderMix));
      if (thread.writer && disjoint[t]) MakeDisjoint(t, &op);
      if (thread.writer && log_heavy) MakeLogHeavy(heavy_rng, options.heavy_op_bytes_max, &op);
      thread.ops.push_back(std::move(op));
    }
    switch (rng.Uniform(3)) {
      case 0:
        epoch.end = EpochEnd::kCleanClose;
        break;
      case 1:
        epoch.end = EpochEnd::kCrashAtEnd;
        break;
      default:
        epoch.end = EpochEnd::kPowerCutAt;
        // Spread over the epoch: a few hundred mutations in a busy one.
        epoch.cut_at_mutation = 1 + static_cast<uint32_t>(rng.Uniform(std::max(1u, budget * 4)));
        // Half of the cuts land just after a namespace operation: a segment created, recycled or
        // retired, the protocol steps whose following writes and syncs a crash must not split
        // in a way recovery misreads (I21, I22, I28).
        if (shape_rng.OneIn(2)) {
          epoch.cut_after_namespace_op = 1 + static_cast<uint32_t>(shape_rng.Uniform(8));
          epoch.cut_delay = static_cast<uint32_t>(shape_rng.Uniform(6));
        }
        break;
    }
    workload.epochs.push_back(std::move(epoch));
  }
  workload.ops = index;
  return workload;
}

}  // namespace manifold::sim
