// The concurrent workload's run (RunConcurrentSeed, sim/concurrent_runner.h): the controller
// (thread 0 of one port::sched::Run) opens, runs each epoch's writer and reader threads, closes or
// cuts the power, recovers and judges the epoch's history. Internal to //sim:sim_lib. The member
// functions live in two files: concurrent_runner.cc (the run, the controller, epochs, column
// family operations, opens and recovery reads) and concurrent_run_ops.cc (the operations of the
// writer and reader threads, each recorded as a model::HistoryEvent).
#ifndef MANIFOLD_SIM_CONCURRENT_RUN_H_
#define MANIFOLD_SIM_CONCURRENT_RUN_H_

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "manifold/db.h"
#include "manifold/options.h"
#include "model/history.h"
#include "model/model.h"
#include "sim/concurrent_workload.h"
#include "sim/fault_points.h"
#include "sim/liveness.h"
#include "sim/runner.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/sim_time_clock.h"
#include "sim/workload.h"

namespace manifold::sim {

class ConcurrentRun final : public FaultPointSink {
  using HistoryEvent = model::HistoryEvent;
  using StateMap = model::StateMap;

 public:
  explicit ConcurrentRun(const RunConfig& config);

  RunResult Execute();

  int DecideFaultPoint(const char* name) override;

 private:
  // Every worker's record of its open snapshots and iterators (slots are per thread).
  struct HeldSnapshot {
    std::shared_ptr<const Snapshot> engine;
    uint32_t view = 0;
  };
  struct HeldIterator {
    std::unique_ptr<Iterator> engine;
    uint32_t view = 0;
    WorkloadOp open;                  // The kOpenIterator op (cf, bounds, direction, start).
    std::optional<std::string> last;  // Last key returned.
    // No key returned since the iterator turned at an end (SeekToFirst / SeekToLast): the next
    // step starts at that end.
    bool from_end = false;
    bool ended = false;
  };
  struct Worker {
    uint32_t number = 0;  // History thread number (1...; the controller is 0).
    std::array<HeldSnapshot, kSnapshotSlots> snapshots;
    std::array<HeldIterator, kSnapshotSlots> iterators;
    // The values of the thread's last pinned gets (slot: the op's index mod kSnapshotSlots),
    // each held across its later operations (other threads' commits, checkpoints, its own
    // other pins): their bytes must not change while held (I43).
    struct HeldPin {
      PinnableValue value;
      std::string expected;
      std::string what;
    };
    std::array<HeldPin, kSnapshotSlots> pins;
  };

  // --- Bookkeeping ---------------------------------------------------------------------------

  void Trace(const std::string& line);

  // `detail`: what splits the kind further for the minimizer (the history rule, the scheduler's
  // outcome), see RunResult::kind_detail.
  void Fail(FailureKind kind, const std::string& what, const std::string& detail = "");

  bool failed() const { return !result_.passed || stopped_; }

  uint64_t FsFaultCount() const;

  // Operations overlap, so an error is blamed on any fault injected since the epoch began (the
  // engine refuses writes after a failed log write or checkpoint until reopened, so one fault
  // explains the errors of every later operation of the epoch), or on a power cut.
  bool FaultExplains() const;

  // `event.id` is already its operation's index (WorkloadOp::index), so the history's messages
  // and the trace name operations alike ("op #12"); a snapshot read records two events under one.
  HistoryEvent& Record(HistoryEvent event);

  // One trace line: thread, scheduler steps, the operation's number (as in the report and the
  // history's messages) and what it did.
  std::string Line(uint32_t thread, uint32_t op, uint64_t invoke, uint64_t ret,
                   const std::string& what);

  bool CfExists(const std::string& cf) const { return cfs_.count(cf) > 0; }

  // --- Column-family handles (concurrent_run_handles.cc, I46) --------------------------------
  // Operations whose (index / 2) is odd reach their column family through the epoch's handles,
  // the others by name; drawn from nothing, so workloads and seeds are unchanged.
  static bool UsesHandles(const WorkloadOp& op) { return (op.index / 2) % 2 == 1; }
  // The handle `op` uses for `cf`, or null (by name): taken by the controller after the epoch's
  // column-family operations, read-only while the threads run.
  const ColumnFamilyHandle* HandleFor(const WorkloadOp& op, const std::string& cf) const;
  // Takes the epoch's handles (every column family that exists now).
  void TakeHandles();
  // Drops `op.cf` and creates it again at once (the controller, no thread running): the old
  // handle must be refused with NotFound by every call, the new column family must be empty.
  void RecreateColumnFamily(const WorkloadOp& op);
  // Every handle of a dropped column family (and one from an earlier open) must be refused by
  // every call that takes a handle: NotFound (InvalidArgument for the earlier open), no data.
  void CheckStaleHandles();
  void CheckStaleHandle(const ColumnFamilyHandle& handle, bool earlier_open);
  // The by-handle calls on `cf`'s new handle see an empty column family.
  void CheckEmpty(const ColumnFamilyHandle& handle);

  // --- Memory bound (run_bookkeeping.h, CheckBufferBound) -------------------------------------
  // The write buffers' bytes within the configured bound, plus what the epoch's writers could
  // each have added past the throttle (`in_flight`, EpochInFlight: the sum of each writer's
  // largest commit): at the end of an epoch, threads joined, and after each of a reader's
  // operations while the writers run (a bound the buffers overshoot and come back under by the
  // epoch's end would go unseen at its end alone).
  uint64_t EpochInFlight(const Epoch& epoch) const;
  void CheckMemoryBound(uint64_t in_flight, const std::string& where, bool trace);

  // --- The controlling thread ----------------------------------------------------------------

  void Controller();

  // The liveness phase (sim/liveness.h), on the controller, inside this run: a hang ends the run
  // and Execute reports it through HangFailure. Skipped after a misdirected write.
  void CheckLiveness();

  void Close();

  void StartEpoch(const model::RecoveredState& recovered);

  void RunEpoch(uint32_t e);

  // Closes (or finds the power cut), recovers, and judges the epoch's history against what the
  // open found. `lossy`: a crash, or a fault made the close unable to promise everything.
  void EndEpoch(uint32_t e, bool lossy);

  // Creates or drops a column family on the controller, with no other thread running: the
  // sequence number it took is the engine's before plus one. False if the outcome is uncertain.
  bool ColumnFamilyOp(const WorkloadOp& op);

  // --- Worker operations ---------------------------------------------------------------------

  void DoOp(Worker& w, const WorkloadOp& op);

  model::Commit ModelCommit(const WorkloadOp& op) const;

  // True if the engine must refuse the batch: it names a column family that does not exist.
  bool TouchesMissingCf(const model::Commit& commit) const;
  bool TouchesUncertainCf(const model::Commit& commit) const;

  // Classifies a finished commit's status into `event` (outcome) and stats; false on a failure.
  bool ClassifyCommit(HistoryEvent* event, const Status& status, bool sync);

  std::string CommitLine(const HistoryEvent& event, const Status& status);

  // The history event of a write or transaction by `w`, before it runs.
  HistoryEvent CommitEvent(const Worker& w, const WorkloadOp& op) const;

  void DoWrite(Worker& w, const WorkloadOp& op);

  void DoTransaction(Worker& w, const WorkloadOp& op);

  // A read error: fine if a fault explains it (the read is left out of the history).
  bool ReadError(uint32_t op, const std::string& what, const Status& status);

  // Half the gets (odd op indexes) are DB::GetPinned; `pinned` makes this one one of them.
  void DoGet(Worker& w, const WorkloadOp& op, uint32_t view, const Snapshot* snapshot,
             bool pinned = false);
  // After an acknowledged put, delete or batch: a pinned get of its first key, judged by the
  // history like any get. Other readers rarely ask for the key the newest commit wrote, so a
  // GetPinned that reads its buffers at a stale sequence number went unnoticed (docs/simulator.md).
  void ReadBack(Worker& w, const WorkloadOp& op);

  // Fails if bytes `w` holds pinned changed since their pinned get (I43); `release` drops them.
  void CheckHeldPins(Worker& w, bool release);

  // Reads the entries of one direction from `iter`'s position into `out`, at most `limit`.
  static void ReadEntries(Iterator& iter, bool reverse, size_t limit, model::Entries* out);

  // A scan that turns: reads part of the range in the op's direction, then turns the iterator
  // round (Prev after Next, or Next after Prev; SeekToLast / SeekToFirst once it ran off the
  // end) and reads back the other way, each part judged as a read of one iterator view.
  void DoTurningScan(Worker& w, const WorkloadOp& op, uint32_t view, const Snapshot* snapshot);

  model::ScanSpec Spec(const WorkloadOp& op) const;

  void DoScan(Worker& w, const WorkloadOp& op, uint32_t view, const Snapshot* snapshot);
  // The iterator a scan of `op` reads, opened at `invoke_step`; null when there is nothing to
  // judge (its column family is missing, or a read error, reported unless a fault explains it).
  std::unique_ptr<Iterator> OpenScanIterator(const WorkloadOp& op, const Snapshot* snapshot,
                                             uint64_t* invoke_step);

  void DoTakeSnapshot(Worker& w, const WorkloadOp& op);

  void DoOpenIterator(Worker& w, const WorkloadOp& op);

  // Reads up to op.limit more entries from a kept iterator: one read through its view, a scan
  // starting just past the last key it returned.
  void DoStepIterator(Worker& w, const WorkloadOp& op);

  void DoCheckpoint(Worker& w, const WorkloadOp& op);

  // --- Opens and recovery --------------------------------------------------------------------

  // Opens (retrying through injected errors and crashes during recovery) and reads the whole
  // state back. Empty after a failure or detected damage.
  std::optional<model::RecoveredState> OpenAndRead(const std::string& what);

  StatusOr<StateMap> ReadWholeState();

  // A misdirected write can destroy a committed page for good; the engine must then report
  // Corruption, and the run ends there as a detection.
  bool DamageDetected(const Status& status);

  const RunConfig& config_;
  const ConcurrentWorkload workload_;
  SimClock disk_latency_;
  SimTimeClock clock_{&disk_latency_};
  SimFileSystem fs_;
  Rng fault_rng_;
  Options options_;
  std::unique_ptr<DB> db_;
  model::History history_;
  std::set<std::string> cfs_;            // Column families of this epoch (fixed while it runs).
  std::set<std::string> uncertain_cfs_;  // Created or dropped with an uncertain outcome.
  std::map<std::string, ColumnFamilyHandle, std::less<>> handles_;  // See HandleFor.
  std::vector<ColumnFamilyHandle> dropped_handles_;  // Of this open's dropped column families.
  ColumnFamilyHandle earlier_open_handle_;           // Of "default", taken before the last close.
  RunResult result_;
  uint64_t final_state_hash_ = 0;
  int64_t current_op_ = -1;
  uint64_t faults_this_epoch_ = 0;
  uint64_t fs_faults_at_epoch_ = 0;
  uint32_t next_view_ = 1;
  std::unique_ptr<LivenessPhase> liveness_;
  std::optional<uint64_t> fs_hash_before_liveness_;
  bool armed_ = false;    // Random fault points fire only while the epoch's threads run.
  bool stopped_ = false;  // Ended early by detected storage damage.
};

}  // namespace manifold::sim

#endif  // MANIFOLD_SIM_CONCURRENT_RUN_H_
