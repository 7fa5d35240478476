// The sequential workload's run (RunWorkload, sim/runner.h): one operation at a time on thread 0
// of a port::sched::Run, plus the scripted two-thread group-commit hand-off; every read and every
// recovery is checked against the reference model. Internal to //sim:sim_lib. The member
// functions live in three files: sequential_run.cc (the run, its bookkeeping, the writes and the
// hand-off), sequential_run_reads.cc (gets, scans, snapshots, kept iterators) and
// sequential_run_recovery.cc (reopens, power cuts, log damage at rest, the recovery checks, the
// final reopen and the liveness phase).
#ifndef MANIFOLD_SIM_SEQUENTIAL_RUN_H_
#define MANIFOLD_SIM_SEQUENTIAL_RUN_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "manifold/db.h"
#include "manifold/options.h"
#include "model/model.h"
#include "sim/fault_points.h"
#include "sim/hand_off_fs.h"
#include "sim/hand_off_strategy.h"
#include "sim/runner.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/workload.h"

namespace manifold::sim {

class SequentialRun final : public FaultPointSink {
  using State = model::State;
  using StateMap = model::StateMap;
  using Entries = model::Entries;

 public:
  explicit SequentialRun(const RunConfig& config);

  RunResult Execute(const std::vector<WorkloadOp>& ops);

  // libfiu asks whether a fault point fires.
  int DecideFaultPoint(const char* name) override;

 private:
  // Thread 0 of the run: the open, every operation, then the final reopen and check.
  void RunOperations(const std::vector<WorkloadOp>& ops);

  static constexpr char kDbPath[] = "/db";

  // A commit is named after the operation that made it, so the model's explanations, the trace
  // and the report number them alike (docs/simulator.md, "Numbering").
  static std::string OpName(const WorkloadOp& op) { return "op #" + std::to_string(op.index); }

  // --- Bookkeeping ---------------------------------------------------------------------------

  void Trace(const std::string& line);

  void Fail(FailureKind kind, const std::string& what);

  uint64_t FsFaultCount() const;

  // True if an error from the engine during the current step can be blamed on an injected
  // fault: an injected error or flipped bit during the step, a fault point, or earlier damage
  // that no checksum can undo (a misdirected write).
  bool FaultExplains() const;

  // A checkpoint runs after the commit that triggered it was acknowledged; if a fault fails it
  // mid-write, the engine refuses writes (ReadOnly) from then on. Any fault since the open
  // explains that.
  bool FaultExplainsReadOnly() const;

  // Runs an engine call with fault points armed and counts what fired.
  template <typename F>
  auto Engine(F&& call) {
    ++in_engine_calls_;
    auto result = call();
    --in_engine_calls_;
    return result;
  }

  // --- Steps ---------------------------------------------------------------------------------

  void Step(const WorkloadOp& op);

  // Classifies a write's status, tells the model, and reopens after an uncertain outcome.
  void EndWrite(uint64_t commit_id, const Status& status, StatusCode expected_error,
                bool sync = true);

  enum class WriteVerdict { kDone, kReopen, kFailed };

  // The engine's wording for commits it undid after a log NoSpace (docs/errors.md).
  static bool IsUndoneForNoSpace(const Status& status);

  // Tells the model how commit `commit_id` ended. kReopen: the engine may refuse writes until
  // reopened (or the power is off), and the caller must reopen or recover.
  WriteVerdict ClassifyWrite(uint64_t commit_id, const Status& status, StatusCode expected_error,
                             bool sync);

  // --- Checkpoints and the group-commit hand-off ------------------------------------------------

  void DoCheckpoint();

  // Two durable puts from two threads of the run. The first (this thread) leads a group: at the
  // start of its log sync (the hook) it starts the second and lets it run one scheduling point at
  // a time (sim/hand_off_strategy.h) until it has appended its record (or returned); then the
  // leader holds the disk (sim/hand_off_fs.h) until its own commit returns, so its sync, which
  // must not acknowledge the second record (I17), runs with the second thread stopped at its next
  // disk call. The second thread leads its own sync afterwards. A lost wake-up or a hang in the
  // hand-off ends the run as the scheduler's report (Execute), naming what each thread waits on,
  // and replays bit for bit.
  void DoConcurrentCommit(const WorkloadOp& op);

  void Judge(const model::Verdict& verdict);

  StatusCode ExpectedError(const model::Commit& commit) const;

  model::Commit ModelCommit(const WorkloadOp& op) const;

  void DoBatch(const WorkloadOp& op);

  void DoTransaction(const WorkloadOp& op);

  void CheckTransactionRead(Transaction& txn, const WorkloadOp& op,
                            const std::map<std::string, std::optional<std::string>>& own);

  void CompareGet(const std::string& what, const std::string& cf, const std::string& key,
                  const StatusOr<std::string>& got, const std::optional<std::string>& expected);

  void DoGet(const WorkloadOp& op, const Snapshot* snapshot, const State& state);
  // Every other get is a DB::GetPinned (same pages read, so the same faults fire); its handle is
  // kept until the next get, which checks that the pinned bytes did not change meanwhile (I43).
  void CheckHeldPin();
  // After a write that no fault touched: DB::GetPinned of its last key at the latest state and at
  // every held snapshot, each against the model at that reader's sequence number (I35). A random
  // get rarely asks for the key the last commit wrote, or for a key overwritten since its
  // snapshot while the newer entry still sits in a buffer, so a pinned lookup that reads its
  // buffers at a stale or a later sequence number went unnoticed.
  void ReadBack(const WorkloadOp& op);
  void PinnedGet(const std::string& what, const std::string& cf, const std::string& key,
                 const Snapshot* snapshot, const std::optional<std::string>& expected);

  // Whether NewIterator's outcome `status` is what the model says for column family `cf_name`
  // (`cf`, null when it does not exist), so the caller may go on reading. A NotFound for a missing
  // column family, or an error a fault explains, ends the operation quietly; anything else fails
  // the run.
  bool IteratorOpenedAsModelSays(const std::string& cf_name, const Status& status,
                                 const model::KeyMap* cf);

  // The iterator a scan of `op` reads (by handle when it has one and reads the latest state),
  // and in `cf` the model's column family; null when the open went as the model says it fails.
  std::unique_ptr<Iterator> OpenScanIterator(const WorkloadOp& op, const Snapshot* snapshot,
                                             const State& state, const model::KeyMap** cf);

  void DoScan(const WorkloadOp& op, const Snapshot* snapshot, const State& state);

  // A third of the scans turn round part way: read a few entries one way (from the seek target,
  // or from an end with SeekToFirst / SeekToLast), then step back the other way (Prev after Next,
  // Next after Prev; past an end, the far end) and read on; both parts compared with the model.
  void DoTurningScan(const WorkloadOp& op, const Snapshot* snapshot, const State& state);

  void CompareScan(const WorkloadOp& op, const Entries& got, const Entries& expected);

  struct HeldSnapshot {
    std::shared_ptr<const Snapshot> engine;
    uint64_t model_id = 0;
  };

  void DoTakeSnapshot(const WorkloadOp& op);

  void DoReadSnapshot(const WorkloadOp& op);

  void ReleaseSnapshot(uint32_t slot);

  // An iterator kept open across operations: whatever commits happen meanwhile, it must go on
  // returning exactly the entries of the state it was opened on (I4).
  struct HeldIterator {
    std::unique_ptr<Iterator> engine;
    std::string cf;
    bool reverse = false;
    Entries expected;  // Every entry it must return, from its first position.
    size_t next = 0;   // Entries returned so far.
  };

  void DoOpenIterator(const WorkloadOp& op);

  void DoStepIterator(const WorkloadOp& op);

  void ReleaseIterator(uint32_t slot) { iterators_[slot] = HeldIterator{}; }

  void ReleaseAll();

  void DoColumnFamily(const WorkloadOp& op);

  // Half the creates of an existing column family drop it and create it again instead: the
  // dropped one's handle must be refused (CheckStaleHandles), the new one must be empty.
  void RecreateColumnFamily(const WorkloadOp& op);

  // After each operation, with no commit running: the write buffers within their bound
  // (CheckBufferBound, run_bookkeeping.h); after a checkpoint that returned OK, empty.
  void CheckMemory(const WorkloadOp& op);

  // --- Column-family handles (sequential_run_handles.cc, I46) -------------------------------
  // Odd-numbered operations reach their column families through ColumnFamilyHandles, the others
  // by name, so both forms meet the same faults and model checks. The choice draws nothing from
  // the workload's generator: workloads and seeds are unchanged.
  static bool UsesHandles(const WorkloadOp& op) { return op.index % 2 == 1; }
  // A handle on `cf` taken in this open, or null when `cf` does not exist now (the by-name call
  // then gives the NotFound the model expects). Taken handles are kept until the next create,
  // drop or close, so a kept one always refers to the column family `cf` names now.
  const ColumnFamilyHandle* HandleFor(const WorkloadOp& op, const std::string& cf);
  // Before a close or a power cut: kept handles go; one of them is remembered to check that the
  // next open rejects it.
  void ForgetHandles();
  // A handle of a dropped column family must give NotFound (even after a column family of the
  // same name was created again), and one from an earlier open InvalidArgument; neither reads
  // anything (no I/O, so no fault can excuse another answer).
  void CheckStaleHandles();
  // Every call taking `handle` must be refused with `refused` (NotFound or InvalidArgument).
  void CheckRefusedHandle(const ColumnFamilyHandle& handle, const std::string& whose,
                          bool earlier_open);

  // --- Crash, reopen and recovery checks ----------------------------------------------------

  // `after_failure`: the engine reported a failed write (it refuses writes until reopened).
  void Reopen(bool after_failure = false);

  void Recover(const std::string& why);

  // Deletes one log segment, or cuts one at a random offset, with the profile's probabilities
  // (faults::FaultOptions::segment_lost, segment_truncated): damage at rest, which the file
  // system makes durable at once (faults are off meanwhile). Recovery must then report
  // Corruption or recover a state the model accepts; a silent loss of an acknowledged commit is
  // a failure like any other.
  void DamageLogAtRest();

  Status DamageOneSegment(bool lose);

  // Opens the database (retrying through injected errors and crashes during recovery), reads
  // its whole state and asks the model whether that state is legal.
  bool OpenAndCheck(const std::string& what, model::Reopen kind);

  // Reads every column family in full. An injected read error restarts the scan where it
  // stopped (a fresh iterator seeks past the last key read), so progress survives a high error
  // rate; a persistent error is returned.
  StatusOr<StateMap> ReadWholeState();

  bool CheckRecoveredState(const std::string& what, model::Reopen kind);

  // A misdirected write can destroy a committed page for good. The engine must then report
  // Corruption rather than return data; when it does, the run ends here as a detection (nothing
  // after it could be compared with the model).
  bool DamageDetected(const Status& status);

  void Finish();

  // The liveness phase (sim/liveness.h), in a scheduled run of its own after the workload's (a run
  // cannot start inside another). Skipped after a misdirected write (data may be lost for good).
  void CheckLiveness();

  const RunConfig& config_;
  SimClock clock_;
  SimFileSystem fs_;
  HandOffFileSystem hand_off_fs_{&fs_};
  HandOffStrategy strategy_;
  Rng fault_rng_;
  Options options_;
  model::Model model_;
  std::unique_ptr<DB> db_;
  std::array<HeldSnapshot, kSnapshotSlots> snapshots_;
  // WriteFootprint of the largest write so far (CheckMemory's allowance past the bound).
  uint64_t footprint_max_ = 0;
  std::array<HeldIterator, kSnapshotSlots> iterators_;
  std::map<std::string, ColumnFamilyHandle, std::less<>> handles_;  // See HandleFor.
  ColumnFamilyHandle dropped_handle_;       // Of the last column family dropped in this open.
  ColumnFamilyHandle earlier_open_handle_;  // Of "default", taken before the last close.
  RunResult result_;
  int64_t current_op_ = -1;
  uint64_t faults_this_op_ = 0;
  uint64_t fs_faults_at_step_ = 0;
  uint64_t faults_since_open_ = 0;
  uint64_t fs_faults_at_open_ = 0;
  // Engine calls in progress (two during a concurrent commit), so fault points fire only inside
  // them.
  std::atomic<int> in_engine_calls_{0};
  bool stopped_ = false;  // Ended early by detected storage damage.
  // A log segment was damaged at rest and no open has succeeded since (DamageLogAtRest).
  bool segment_damage_ = false;
  bool checkpointed_ = false;  // The current step's DB::Checkpoint returned OK.
  uint64_t gets_ = 0;
  PinnableValue held_pin_;
  std::string held_pin_expected_;
  std::string held_pin_what_;
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_SEQUENTIAL_RUN_H_
