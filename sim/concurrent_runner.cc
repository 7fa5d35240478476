#include "sim/concurrent_runner.h"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "manifold/db.h"
#include "model/history.h"
#include "model/model.h"
#include "sim/concurrent_workload.h"
#include "sim/engine_options.h"
#include "sim/fault_points.h"
#include "sim/liveness.h"
#include "sim/report_text.h"
#include "sim/sched/explore.h"
#include "sim/sched/strategies.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/sim_time_clock.h"

namespace manifold::sim {
namespace {

namespace sched = port::sched;
using model::HistoryEvent;
using model::HistoryRead;
using model::StateMap;

constexpr char kDbPath[] = "/db";
constexpr int kReadAttemptsMax = 1000;
// Scheduling points per run before it is a livelock: far above what a run of a few hundred
// operations takes (measured: tens of thousands to a few hundred thousand).
constexpr uint64_t kStepsMax = 50'000'000;

std::optional<std::string> Bound(const std::string& key) {
  return key.empty() ? std::nullopt : std::optional<std::string>(key);
}

class ConcurrentRun final : public FaultPointSink {
 public:
  explicit ConcurrentRun(const RunConfig& config)
      : config_(config),
        workload_(GenerateConcurrentWorkload(config.seed, config.workload)),
        fs_(config.seed, config.faults, &disk_latency_),
        fault_rng_(config.seed ^ 0xfa17ull) {
    options_.file_system = &fs_;
    options_.clock = &clock_;
    SetSmallDatabaseOptions(config.workload.page_bytes, &options_);
    // The configuration users run: checkpoints on the engine's thread, racing the committers;
    // small triggers so it runs many times per epoch. The group-commit window is on: its wait is
    // on simulated time, so it is as deterministic as the rest.
    options_.background_checkpoints = true;
    options_.checkpoint_interval_us = 5'000;
    options_.group_commit_window_us = 50;
    // Half the seeds get a page cache of a few pages, so readers holding old versions read their
    // pages back from the disk after eviction, beside checkpoints that free and reuse pages (I4):
    // a large cache would keep serving the old contents and hide a page reused too early.
    Rng cache_rng(config.seed ^ 0xcac4e5eedull);
    if (cache_rng.OneIn(2)) {
      options_.cache_bytes_max = (4 + cache_rng.Uniform(29)) * uint64_t{config.workload.page_bytes};
    }
    fs_.set_trace([this](const std::string& line) { Trace("  fault: " + line); });
  }

  RunResult Execute() {
    ScopedFaultPointSink sink(this);
    if (config_.fault_point_probability > 0 || !config_.planted_bug.empty()) {
      EnableFaultPointsOnce();
      SetPlantedBugForEngineThreads(config_.planted_bug);
    }
    std::unique_ptr<sched::Strategy> inner;
    if (config_.has_replay_schedule) {
      inner =
          std::make_unique<ScheduleStrategy>(config_.replay_schedule, !config_.lenient_schedule);
    } else if (config_.schedule == "pct") {
      inner = std::make_unique<sim::sched::PctStrategy>(
          config_.seed ^ 0x5c4edull, static_cast<int>(config_.pct_depth),
          std::max<uint64_t>(1, workload_.ops) * kStepsPerConcurrentOp);
    } else {
      inner = std::make_unique<sim::sched::RandomStrategy>(config_.seed ^ 0x5c4edull);
    }
    RecordingStrategy strategy(inner.get());
    sched::RunOptions run_options;
    run_options.steps_max = kStepsMax;
    const sched::RunResult run = sched::Run(
        [this] {
          ScopedFaultPointSink controller_sink(this);
          Controller();
        },
        &strategy, run_options);
    if (!run.ok()) {
      // The scheduler's report names what each thread was doing or blocked on.
      result_.passed = true;  // The scheduler's verdict comes first.
      if (liveness_ != nullptr && liveness_->started()) {
        Fail(FailureKind::kLiveness, liveness_->HangFailure(run), LivenessDetail(run));
      } else {
        Fail(FailureKind::kScheduler,
             std::string("scheduler ") + sched::OutcomeName(run.outcome) + ": " + run.report,
             sched::OutcomeName(run.outcome));
      }
    }
    result_.decisions = strategy.decisions();
    result_.decisions_hash = sim::sched::DecisionsHash(run.decisions);
    result_.schedule = strategy.schedule();
    result_.steps = run.steps;
    Trace("decisions " + std::to_string(result_.decisions) + " hash " +
          std::to_string(result_.decisions_hash) + " steps " + std::to_string(run.steps) +
          " preemptions " + std::to_string(result_.schedule.size()));
    result_.state_hash = final_state_hash_ ^
                         (fs_hash_before_liveness_ ? *fs_hash_before_liveness_ : fs_.StateHash());
    Trace("final state hash " + std::to_string(result_.state_hash));
    CollectFsStats();
    return std::move(result_);
  }

  int DecideFaultPoint(const char* name) override {
    constexpr std::string_view kBugPrefix = "manifold/bug/";
    if (std::string_view(name).substr(0, kBugPrefix.size()) == kBugPrefix) {
      return name + kBugPrefix.size() == config_.planted_bug ? 1 : 0;
    }
    if (config_.fault_point_probability <= 0 || !armed_) return 0;
    if (fault_rng_.Unit() >= config_.fault_point_probability) return 0;
    ++result_.stats.fault_points_fired;
    ++faults_this_epoch_;
    Trace(std::string("  fault point: ") + name);
    return 1;
  }

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
    bool ended = false;
  };
  struct Worker {
    uint32_t number = 0;  // History thread number (1...; the controller is 0).
    std::array<HeldSnapshot, kSnapshotSlots> snapshots;
    std::array<HeldIterator, kSnapshotSlots> iterators;
  };

  // --- Bookkeeping ---------------------------------------------------------------------------

  void Trace(const std::string& line) {
    result_.trace_hash = Fnv1a(result_.trace_hash ^ 0x9e37ull, line);
    if (config_.trace) result_.trace.push_back(line);
  }

  // `detail`: what splits the kind further for the minimizer (the history rule, the scheduler's
  // outcome), see RunResult::kind_detail.
  void Fail(FailureKind kind, const std::string& what, const std::string& detail = "") {
    if (!result_.passed) return;
    result_.passed = false;
    result_.kind = kind;
    result_.kind_detail = detail;
    result_.failed_at_op = current_op_;
    result_.failure = what;
    Trace("FAILURE: " + what);
  }

  bool failed() const { return !result_.passed || stopped_; }

  uint64_t FsFaultCount() const {
    const SimFsCounters& c = fs_.counters();
    return c.eio + c.enospc + c.bit_flips + c.misdirected;
  }

  // Operations overlap, so an error is blamed on any fault injected since the epoch began (the
  // engine refuses writes after a failed log write or checkpoint until reopened, so one fault
  // explains the errors of every later operation of the epoch), or on a power cut.
  bool FaultExplains() const {
    return faults_this_epoch_ > 0 || FsFaultCount() != fs_faults_at_epoch_ ||
           fs_.counters().misdirected > 0 || fs_.crashed();
  }

  void CollectFsStats() {
    const SimFsCounters& c = fs_.counters();
    RunStats& s = result_.stats;
    s.fs_eio = c.eio;
    s.fs_enospc = c.enospc;
    s.fs_bit_flips = c.bit_flips;
    s.fs_misdirected = c.misdirected;
    s.fs_delayed_syncs = c.delayed_syncs;
    s.fs_sectors_lost = c.sectors_lost;
    s.fs_sectors_torn = c.sectors_torn;
    s.fs_dir_ops_undone = c.dir_ops_undone;
  }

  // `event.id` is already its operation's index (WorkloadOp::index), so the history's messages
  // and the trace name operations alike ("op #12"); a snapshot read records two events under one.
  HistoryEvent& Record(HistoryEvent event) {
    history_.events.push_back(std::move(event));
    return history_.events.back();
  }

  // One trace line: thread, scheduler steps, the operation's number (as in the report and the
  // history's messages) and what it did.
  std::string Line(uint32_t thread, uint32_t op, uint64_t invoke, uint64_t ret,
                   const std::string& what) {
    return "t" + std::to_string(thread) + " @" + std::to_string(invoke) + "-" +
           std::to_string(ret) + " op #" + std::to_string(op) + " " + what;
  }

  bool CfExists(const std::string& cf) const { return cfs_.count(cf) > 0; }

  // --- The controlling thread ----------------------------------------------------------------

  void Controller() {
    Trace("seed " + std::to_string(config_.seed) + " profile " + config_.profile + " page_bytes " +
          std::to_string(options_.page_bytes) + " workload concurrent, " +
          std::to_string(workload_.epochs.size()) + " epochs, schedule " +
          (config_.has_replay_schedule ? "replayed" : config_.schedule) +
          (config_.planted_bug.empty() ? "" : " planted bug " + config_.planted_bug));
    std::optional<model::RecoveredState> opened = OpenAndRead("open");
    if (!opened) return Close();
    StartEpoch(*opened);
    for (uint32_t e = 0; e < workload_.epochs.size() && !failed(); ++e) RunEpoch(e);
    if (!failed()) {
      IntegrityReport report;
      const uint64_t faults_before = FsFaultCount();
      const uint64_t points_before = result_.stats.fault_points_fired;
      Status verified = db_->VerifyIntegrity(&report);
      // A fault injected during the walk explains its error: a disk fault, or an engine fault
      // point such as a short read that fails its retry too (chaos seeds 688, 1201, 2295).
      if (!verified.ok() && fs_.counters().misdirected == 0 && FsFaultCount() == faults_before &&
          result_.stats.fault_points_fired == points_before && !fs_.crashed()) {
        Fail(FailureKind::kIntegrity, "VerifyIntegrity: expected OK, got " + verified.ToString());
      }
    }
    Close();
    if (!failed() && config_.liveness) {
      // The state the workload left: hashed before the liveness phase, whose writes would double
      // the hashing (its outcome is in the trace hash, its schedule in the decisions).
      fs_hash_before_liveness_ = fs_.StateHash();
      CheckLiveness();
    }
  }

  // The liveness phase (sim/liveness.h), on the controller, inside this run: a hang ends the run
  // and Execute reports it through HangFailure. Skipped after a misdirected write.
  void CheckLiveness() {
    // A failing run (the scheduler unwinds its threads, the controller goes on) has its verdict.
    if (fs_.counters().misdirected > 0 || sched::Failing()) return;
    liveness_ = std::make_unique<LivenessPhase>(LivenessSetup{
        &fs_, options_, kDbPath, this, [this](const std::string& line) { Trace(line); }});
    const std::string failure = liveness_->Run();
    if (!failure.empty()) return Fail(FailureKind::kLiveness, failure, LivenessDetail(failure));
    ++result_.stats.liveness_checked;
    result_.stats.liveness_writes += liveness_->writes();
  }

  void Close() {
    armed_ = false;
    db_.reset();
  }

  void StartEpoch(const model::RecoveredState& recovered) {
    history_ = model::History{};
    history_.base_sequence = recovered.sequence;
    history_.base_state = recovered.state;
    cfs_.clear();
    uncertain_cfs_.clear();
    for (const auto& [cf, entries] : recovered.state) cfs_.insert(cf);
    final_state_hash_ = model::StateHash(recovered.state);
    faults_this_epoch_ = 0;
    fs_faults_at_epoch_ = FsFaultCount();
    next_view_ = 1;
    armed_ = true;
  }

  void RunEpoch(uint32_t e) {
    const Epoch& epoch = workload_.epochs[e];
    Trace("epoch " + std::to_string(e) + ": " + std::to_string(epoch.threads.size()) +
          " threads, ends with " + EpochEndName(epoch.end) +
          (epoch.end == EpochEnd::kPowerCutAt
               ? " at mutation " + std::to_string(epoch.cut_at_mutation)
               : ""));
    bool lossy = false;
    for (const WorkloadOp& op : epoch.cf_ops) {
      if (config_.skip_ops.count(op.index) > 0) continue;
      if (!ColumnFamilyOp(op)) lossy = true;
      if (failed()) return;
    }
    if (epoch.end == EpochEnd::kPowerCutAt && !fs_.crashed()) {
      fs_.ScheduleCrashAtMutation(epoch.cut_at_mutation);
    }
    {
      std::vector<Worker> workers(epoch.threads.size());
      std::vector<std::unique_ptr<port::Thread>> threads;
      for (uint32_t t = 0; t < epoch.threads.size(); ++t) {
        workers[t].number = t + 1;
        if (config_.skip_threads.count(ThreadNumber(e, t)) > 0) continue;
        const ConcurrentThread* thread = &epoch.threads[t];
        Worker* worker = &workers[t];
        // `new` here, not std::make_unique: a thread's start is where scheduler reports place waits
        // for it in its destructor.
        threads.emplace_back(
            new port::Thread(thread->writer ? "writer" : "reader", [this, thread, worker] {
              ScopedFaultPointSink sink(this);
              for (const WorkloadOp& op : thread->ops) {
                if (failed()) break;
                if (config_.skip_ops.count(op.index) > 0) continue;
                ++result_.stats.ops;
                DoOp(*worker, op);
              }
              for (HeldIterator& it : worker->iterators) it.engine.reset();
              for (HeldSnapshot& s : worker->snapshots) s.engine.reset();
            }));
      }
      threads.clear();  // Joins them.
    }
    if (failed()) return;
    if (epoch.end == EpochEnd::kPowerCutAt) fs_.ScheduleCrashAtMutation(0);
    if (epoch.end == EpochEnd::kCrashAtEnd && !fs_.crashed()) {
      Trace("power cut at the end of the epoch");
      fs_.CrashNow();
    }
    EndEpoch(e, lossy || epoch.end != EpochEnd::kCleanClose);
  }

  // Closes (or finds the power cut), recovers, and judges the epoch's history against what the
  // open found. `lossy`: a crash, or a fault made the close unable to promise everything.
  void EndEpoch(uint32_t e, bool lossy) {
    const uint64_t faults_before = FsFaultCount();
    current_op_ = -1;
    db_.reset();  // The close: final checkpoint, the checkpoint thread joined.
    const bool crashed = fs_.crashed();
    if (crashed) {
      ++result_.stats.crashes;
      Trace("power cut; restarting the file system");
      Status restarted = fs_.Restart();
      if (!restarted.ok())
        return Fail(FailureKind::kHarness, "SimFileSystem::Restart: " + restarted.ToString());
    }
    const bool clean = !crashed && !lossy && FsFaultCount() == faults_before &&
                       FsFaultCount() == fs_faults_at_epoch_ && faults_this_epoch_ == 0;
    armed_ = false;
    ++result_.stats.reopens;
    std::optional<model::RecoveredState> recovered = OpenAndRead(clean ? "reopen" : "recovery");
    if (!recovered) return;
    recovered->clean_close = clean;
    ++result_.stats.recoveries_checked;
    const model::HistoryVerdict verdict = model::CheckHistory(history_, &*recovered);
    result_.stats.reads_checked += verdict.reads_checked;
    if (!verdict.ok) {
      // The history's first line names the rule broken ("history: gap in the sequence order").
      return Fail(FailureKind::kHistory,
                  "history of epoch " + std::to_string(e) + ": " + verdict.failure,
                  verdict.failure.substr(0, verdict.failure.find('\n')));
    }
    Trace("  epoch " + std::to_string(e) + " OK: " + std::to_string(verdict.commits_ordered) +
          " commits ordered, " + std::to_string(verdict.reads_checked) +
          " reads checked, recovered sequence " + std::to_string(recovered->sequence));
    StartEpoch(*recovered);
  }

  // Creates or drops a column family on the controller, with no other thread running: the
  // sequence number it took is the engine's before plus one. False if the outcome is uncertain.
  bool ColumnFamilyOp(const WorkloadOp& op) {
    current_op_ = op.index;
    ++result_.stats.ops;
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kCommit;
    event.thread = 0;
    event.commit.commit = op.kind == OpKind::kCreateCf ? model::Commit::CreateCf(op.cf)
                                                       : model::Commit::DropCf(op.cf);
    event.description = event.commit.commit.Describe();
    const uint64_t before = db_->GetStats().sequence;
    event.invoke_step = sched::CurrentStep();
    Status status = op.kind == OpKind::kCreateCf ? db_->CreateColumnFamily(op.cf)
                                                 : db_->DropColumnFamily(op.cf);
    event.return_step = sched::CurrentStep();
    Trace(Line(0, op.index, event.invoke_step, event.return_step, op.What()) + " -> " +
          status.ToString());
    const bool refused =
        op.kind == OpKind::kCreateCf ? CfExists(op.cf) : (!CfExists(op.cf) || op.cf == "default");
    if (status.ok()) {
      if (refused) {
        Fail(FailureKind::kWriteAccepted,
             op.Describe() + ": expected " +
                 (op.kind == OpKind::kCreateCf ? "AlreadyExists (the column family exists)"
                  : op.cf == "default"         ? "InvalidArgument (\"default\" cannot be dropped)"
                                               : "NotFound (no such column family)") +
                 ", got OK");
        return false;
      }
      ++result_.stats.commits_acknowledged;
      event.commit.outcome = model::Outcome::kAcknowledgedDurable;
      event.commit.sequence = before + 1;
      op.kind == OpKind::kCreateCf ? (void)cfs_.insert(op.cf) : (void)cfs_.erase(op.cf);
      Record(std::move(event));
      return true;
    }
    if (refused && !status.IsIOError() && !status.IsReadOnly() && !status.IsNoSpace()) {
      ++result_.stats.commits_refused;
      event.commit.outcome = model::Outcome::kFailedClean;
      Record(std::move(event));
      return true;
    }
    if (!FaultExplains()) {
      Fail(FailureKind::kWriteError,
           op.Describe() + ": expected OK (no injected fault explains an error), got " +
               status.ToString());
      return false;
    }
    ++result_.stats.commits_uncertain;
    event.commit.outcome = model::Outcome::kUncertain;
    Record(std::move(event));
    // Whether it exists now is unknown: the workers' expectations would be guesses. Writes to it
    // are judged by the history either way; only "refused" classification needs to know.
    uncertain_cfs_.insert(op.cf);
    return false;
  }

  // --- Worker operations ---------------------------------------------------------------------

  void DoOp(Worker& w, const WorkloadOp& op) {
    current_op_ = op.index;
    switch (op.kind) {
      case OpKind::kPut:
      case OpKind::kDelete:
      case OpKind::kBatch:
        return DoWrite(w, op);
      case OpKind::kTransaction:
        return DoTransaction(w, op);
      case OpKind::kGet:
        return DoGet(w, op, 0, nullptr);
      case OpKind::kScan:
        return DoScan(w, op, 0, nullptr);
      case OpKind::kTakeSnapshot:
        return DoTakeSnapshot(w, op);
      case OpKind::kReadSnapshot: {
        HeldSnapshot& held = w.snapshots[op.snapshot_slot];
        if (held.engine == nullptr) return;
        DoGet(w, op, held.view, held.engine.get());
        if (!failed()) DoScan(w, op, held.view, held.engine.get());
        return;
      }
      case OpKind::kReleaseSnapshot:
        w.snapshots[op.snapshot_slot].engine.reset();
        return;
      case OpKind::kOpenIterator:
        return DoOpenIterator(w, op);
      case OpKind::kStepIterator:
        return DoStepIterator(w, op);
      case OpKind::kCheckpoint:
        return DoCheckpoint(w, op);
      default:
        return Fail(FailureKind::kHarness,
                    std::string("concurrent workload has no ") + OpKindName(op.kind) + " op");
    }
  }

  model::Commit ModelCommit(const WorkloadOp& op) const {
    std::vector<model::Op> ops;
    for (uint32_t i = 0; i < op.writes.size(); ++i) {
      const KeyOp& k = op.writes[i];
      ops.push_back(k.is_delete
                        ? model::Op::Delete(k.cf, k.key)
                        : model::Op::Put(k.cf, k.key, ValueFor(op.index, i, k.value_bytes)));
    }
    return model::Commit::Batch(std::move(ops));
  }

  // True if the engine must refuse the batch: it names a column family that does not exist.
  bool TouchesMissingCf(const model::Commit& commit) const {
    for (const model::Op& m : commit.ops) {
      if (!CfExists(m.cf) && uncertain_cfs_.count(m.cf) == 0) return true;
    }
    return false;
  }
  bool TouchesUncertainCf(const model::Commit& commit) const {
    for (const model::Op& m : commit.ops) {
      if (uncertain_cfs_.count(m.cf) > 0) return true;
    }
    return false;
  }

  // Classifies a finished commit's status into `event` (outcome) and stats; false on a failure.
  bool ClassifyCommit(HistoryEvent* event, const Status& status, bool sync) {
    model::HistoryCommit& c = event->commit;
    if (status.ok()) {
      ++result_.stats.commits_acknowledged;
      c.outcome =
          sync ? model::Outcome::kAcknowledgedDurable : model::Outcome::kAcknowledgedNonDurable;
      return true;
    }
    const bool missing = TouchesMissingCf(c.commit) || TouchesUncertainCf(c.commit);
    if ((missing && (status.IsNotFound() || status.IsInvalidArgument())) || status.IsBusy()) {
      ++result_.stats.commits_refused;
      c.outcome = model::Outcome::kFailedClean;
      return true;
    }
    if (!FaultExplains()) {
      Fail(FailureKind::kWriteError, "write op #" + std::to_string(event->id) + " " +
                                         event->description +
                                         ": expected OK (no injected fault explains an error), " +
                                         "got " + status.ToString());
      return false;
    }
    if (status.IsNoSpace() && status.message().find(" were not applied: ") != std::string::npos) {
      ++result_.stats.commits_refused;  // I26: undone, its sequence number reused.
      c.outcome = model::Outcome::kFailedClean;
      return true;
    }
    ++result_.stats.commits_uncertain;
    c.outcome = model::Outcome::kUncertain;
    return true;
  }

  std::string CommitLine(const HistoryEvent& event, const Status& status) {
    std::string line =
        Line(event.thread, event.id, event.invoke_step, event.return_step, event.description) +
        " -> " + (status.ok() ? std::string("OK") : status.ToString());
    if (event.commit.sequence) line += " seq " + std::to_string(*event.commit.sequence);
    return line;
  }

  // The history event of a write or transaction by `w`, before it runs.
  HistoryEvent CommitEvent(const Worker& w, const WorkloadOp& op) const {
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kCommit;
    event.thread = w.number;
    event.commit.commit = ModelCommit(op);
    event.commit.sync = op.sync;
    event.description = op.What();
    return event;
  }

  void DoWrite(Worker& w, const WorkloadOp& op) {
    HistoryEvent event = CommitEvent(w, op);
    WriteBatch batch;
    for (const model::Op& m : event.commit.commit.ops) {
      m.kind == model::Op::kPut ? batch.Put(m.cf, m.key, m.value) : batch.Delete(m.cf, m.key);
    }
    uint64_t sequence = 0;
    WriteOptions write;
    write.sync = op.sync;
    write.assigned_sequence = &sequence;
    const model::Op& first = event.commit.commit.ops[0];
    event.invoke_step = sched::CurrentStep();
    Status status = op.kind == OpKind::kPut      ? db_->Put(write, first.cf, first.key, first.value)
                    : op.kind == OpKind::kDelete ? db_->Delete(write, first.cf, first.key)
                                                 : db_->Write(write, batch);
    event.return_step = sched::CurrentStep();
    if (sequence != 0) event.commit.sequence = sequence;
    if (!ClassifyCommit(&event, status, op.sync)) return;
    Trace(CommitLine(event, status));
    Record(std::move(event));
  }

  void DoTransaction(Worker& w, const WorkloadOp& op) {
    HistoryEvent event = CommitEvent(w, op);
    event.invoke_step = sched::CurrentStep();
    auto txn = db_->BeginTransaction(op.cf);
    if (!txn.ok()) {
      const uint64_t ret = sched::CurrentStep();
      Trace(Line(w.number, op.index, event.invoke_step, ret, op.What()) + " -> begin " +
            txn.status().ToString());
      if (txn.status().IsNotFound() && (!CfExists(op.cf) || uncertain_cfs_.count(op.cf) > 0)) {
        return;
      }
      if (txn.status().IsBusy() || FaultExplains()) return;
      return Fail(FailureKind::kWriteError,
                  op.Describe() + ": BeginTransaction(" + Show(op.cf) +
                      "): expected OK (no injected fault explains an error), got " +
                      txn.status().ToString());
    }
    const size_t read_after = event.commit.commit.ops.size() / 2;
    bool abandoned = false;
    for (size_t i = 0; i <= event.commit.commit.ops.size() && !abandoned; ++i) {
      if (i == read_after) {
        auto got = (*txn)->Get(op.key);
        if (got.ok() || got.status().IsNotFound()) {
          HistoryRead read;
          read.kind = HistoryRead::kGet;
          read.cf = op.cf;
          read.key = op.key;
          if (got.ok()) read.value = *got;
          event.commit.txn_reads.push_back(std::move(read));
          event.commit.txn_read_after.push_back(static_cast<uint32_t>(read_after));
        } else if (!FaultExplains()) {
          return Fail(FailureKind::kReadError,
                      op.Describe() + ": transaction get " + Show(op.cf) + "/" + Show(op.key) +
                          ": expected a value or NotFound, got " + got.status().ToString());
        }
      }
      if (i == event.commit.commit.ops.size()) break;
      const model::Op& m = event.commit.commit.ops[i];
      Status status =
          m.kind == model::Op::kPut ? (*txn)->Put(m.key, m.value) : (*txn)->Delete(m.key);
      if (!status.ok()) {
        if (!FaultExplains()) {
          return Fail(FailureKind::kWriteError, op.Describe() + ": transaction write " +
                                                    Show(m.cf) + "/" + Show(m.key) +
                                                    ": expected OK, got " + status.ToString());
        }
        abandoned = true;
      }
    }
    Status status;
    uint64_t sequence = 0;
    if (abandoned || !op.commit) {
      (*txn)->Abort();
      event.commit.outcome = model::Outcome::kFailedClean;
      event.description += abandoned ? " (abandoned after an error)" : "";
    } else {
      WriteOptions write;
      write.sync = op.sync;
      write.assigned_sequence = &sequence;
      status = (*txn)->Commit(write);
    }
    txn->reset();
    event.return_step = sched::CurrentStep();
    if (sequence != 0) event.commit.sequence = sequence;
    if (!abandoned && op.commit && !ClassifyCommit(&event, status, op.sync)) return;
    Trace(CommitLine(event, status) + (op.commit ? "" : " (aborted)"));
    Record(std::move(event));
  }

  // A read error: fine if a fault explains it (the read is left out of the history).
  bool ReadError(uint32_t op, const std::string& what, const Status& status) {
    if (FaultExplains()) return true;
    Fail(FailureKind::kReadError, "op #" + std::to_string(op) + " " + what +
                                      ": expected OK (no injected fault explains an error), got " +
                                      status.ToString());
    return false;
  }

  void DoGet(Worker& w, const WorkloadOp& op, uint32_t view, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kRead;
    event.thread = w.number;
    event.view = view;
    event.description =
        std::string(view ? "snapshot " : "") + "get " + Show(op.cf) + "/" + Show(op.key);
    event.invoke_step = sched::CurrentStep();
    auto got = db_->Get(read, op.cf, op.key);
    event.return_step = sched::CurrentStep();
    Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) +
          " -> " + (got.ok() ? Show(*got) : got.status().ToString()));
    if (!CfExists(op.cf)) return;  // Not judged: the engine's answer for a missing cf.
    if (!got.ok() && !got.status().IsNotFound()) {
      (void)ReadError(op.index, event.description, got.status());
      return;
    }
    event.read.kind = HistoryRead::kGet;
    event.read.cf = op.cf;
    event.read.key = op.key;
    if (got.ok()) event.read.value = *got;
    Record(std::move(event));
  }

  model::ScanSpec Spec(const WorkloadOp& op) const {
    model::ScanSpec spec;
    spec.start = op.key;
    spec.reverse = op.reverse;
    spec.lower = Bound(op.lower);
    spec.upper = Bound(op.upper);
    spec.limit = op.limit;
    return spec;
  }

  void DoScan(Worker& w, const WorkloadOp& op, uint32_t view, const Snapshot* snapshot) {
    ReadOptions read;
    read.snapshot = snapshot;
    read.lower_bound = Bound(op.lower);
    read.upper_bound = Bound(op.upper);
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kRead;
    event.thread = w.number;
    event.view = view;
    event.description = std::string(view ? "snapshot " : "") + (op.reverse ? "reverse " : "") +
                        "scan " + Show(op.cf) + " from " + Show(op.key);
    event.invoke_step = sched::CurrentStep();
    auto it = db_->NewIterator(read, op.cf);
    if (!it.ok()) {
      if (it.status().IsNotFound() && !CfExists(op.cf)) return;
      (void)ReadError(op.index, "NewIterator(" + Show(op.cf) + ")", it.status());
      return;
    }
    if (!CfExists(op.cf)) return;
    Iterator& iter = **it;
    op.reverse ? iter.SeekForPrev(op.key) : iter.Seek(op.key);
    const size_t limit = op.limit == 0 ? SIZE_MAX : op.limit;
    while (iter.Valid() && event.read.entries.size() < limit) {
      event.read.entries.emplace_back(std::string(iter.key()), std::string(iter.value()));
      op.reverse ? iter.Prev() : iter.Next();
    }
    const Status status = iter.status();
    it->reset();
    event.return_step = sched::CurrentStep();
    Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) +
          " -> " + std::to_string(event.read.entries.size()) + " entries " + status.ToString());
    if (!status.ok()) {
      (void)ReadError(op.index, event.description, status);
      return;
    }
    event.read.kind = HistoryRead::kScan;
    event.read.cf = op.cf;
    event.read.scan = Spec(op);
    Record(std::move(event));
  }

  void DoTakeSnapshot(Worker& w, const WorkloadOp& op) {
    HeldSnapshot& held = w.snapshots[op.snapshot_slot];
    held.engine.reset();
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kSnapshot;
    event.thread = w.number;
    event.invoke_step = sched::CurrentStep();
    held.engine = db_->GetSnapshot();
    event.return_step = sched::CurrentStep();
    held.view = next_view_++;
    event.view = held.view;
    event.snapshot_sequence = held.engine->sequence();
    event.description = "snapshot view " + std::to_string(held.view);
    Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) +
          " at " + std::to_string(event.snapshot_sequence));
    Record(std::move(event));
  }

  void DoOpenIterator(Worker& w, const WorkloadOp& op) {
    HeldIterator& held = w.iterators[op.snapshot_slot];
    held = HeldIterator{};
    ReadOptions read;
    read.lower_bound = Bound(op.lower);
    read.upper_bound = Bound(op.upper);
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kIterator;
    event.thread = w.number;
    event.invoke_step = sched::CurrentStep();
    auto it = db_->NewIterator(read, op.cf);
    event.return_step = sched::CurrentStep();
    if (!it.ok()) {
      if (it.status().IsNotFound() && !CfExists(op.cf)) return;
      (void)ReadError(op.index, "NewIterator(" + Show(op.cf) + ")", it.status());
      return;
    }
    if (!CfExists(op.cf)) return;
    op.reverse ? (*it)->SeekForPrev(op.key) : (*it)->Seek(op.key);
    if (!(*it)->Valid() && !(*it)->status().ok()) {
      (void)ReadError(op.index, "kept iterator on " + Show(op.cf), (*it)->status());
      return;
    }
    held.engine = std::move(it).value();
    held.view = next_view_++;
    held.open = op;
    event.view = held.view;
    event.description = "iterator view " + std::to_string(held.view) + " on " + Show(op.cf);
    Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description));
    Record(std::move(event));
  }

  // Reads up to op.limit more entries from a kept iterator: one read through its view, a scan
  // starting just past the last key it returned.
  void DoStepIterator(Worker& w, const WorkloadOp& op) {
    HeldIterator& held = w.iterators[op.snapshot_slot];
    if (held.engine == nullptr || held.ended) return;
    Iterator& iter = *held.engine;
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kRead;
    event.thread = w.number;
    event.view = held.view;
    event.read.kind = HistoryRead::kScan;
    event.read.cf = held.open.cf;
    event.read.scan = Spec(held.open);
    if (held.last) {
      event.read.scan.start = held.last;
      event.read.scan.start_inclusive = false;
    }
    event.read.scan.limit = op.limit;
    event.description = "step iterator view " + std::to_string(held.view);
    event.invoke_step = sched::CurrentStep();
    // The iterator sits on the next entry to return (positioned by the open or the last step).
    while (iter.Valid() && event.read.entries.size() < op.limit) {
      event.read.entries.emplace_back(std::string(iter.key()), std::string(iter.value()));
      held.open.reverse ? iter.Prev() : iter.Next();
    }
    event.return_step = sched::CurrentStep();
    Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) +
          " -> " + std::to_string(event.read.entries.size()) + " entries");
    if (!iter.Valid() && !iter.status().ok()) {
      (void)ReadError(op.index, "kept iterator on " + Show(held.open.cf), iter.status());
      held = HeldIterator{};
      return;
    }
    if (!event.read.entries.empty()) held.last = event.read.entries.back().first;
    held.ended = event.read.entries.size() < op.limit;
    Record(std::move(event));
  }

  void DoCheckpoint(Worker& w, const WorkloadOp& op) {
    const uint64_t invoke = sched::CurrentStep();
    Status status = db_->Checkpoint();
    Trace(Line(w.number, op.index, invoke, sched::CurrentStep(), op.What()) + " -> " +
          status.ToString());
    if (status.ok() || status.IsBusy() || FaultExplains()) return;
    // A checkpoint writes: a write error, as in the sequential runner.
    Fail(FailureKind::kWriteError, "op #" + std::to_string(op.index) +
                                       " Checkpoint: expected OK (no injected fault explains an "
                                       "error), got " +
                                       status.ToString());
  }

  // --- Opens and recovery --------------------------------------------------------------------

  // Opens (retrying through injected errors and crashes during recovery) and reads the whole
  // state back. Empty after a failure or detected damage.
  std::optional<model::RecoveredState> OpenAndRead(const std::string& what) {
    Status last;  // The last attempt's error, for the report.
    for (int attempt = 0; attempt < kOpenAttemptsMax; ++attempt) {
      const uint64_t faults_before = FsFaultCount();
      auto db = DB::Open(options_, kDbPath);
      if (db.ok() && fs_.crashed()) {
        Trace("  open: OK, but the power went during it");
        db->reset();
        ++result_.stats.crashes;
        if (!fs_.Restart().ok()) break;
        continue;
      }
      if (db.ok()) {
        db_ = std::move(db).value();
        StatusOr<StateMap> state = ReadWholeState();
        if (!state.ok()) {
          if (!DamageDetected(state.status())) {
            Fail(FailureKind::kRecoveryRead,
                 what + ": reading the recovered state: expected OK, got " +
                     state.status().ToString());
          }
          return std::nullopt;
        }
        model::RecoveredState recovered;
        recovered.sequence = db_->GetStats().sequence;
        recovered.state = std::move(state).value();
        Trace("  " + what + ": sequence " + std::to_string(recovered.sequence) + ", state " +
              std::to_string(model::StateHash(recovered.state)));
        return recovered;
      }
      Trace("  open: " + db.status().ToString());
      last = db.status();
      if (DamageDetected(db.status())) return std::nullopt;
      if (fs_.crashed()) {
        ++result_.stats.crashes;
        if (!fs_.Restart().ok()) break;
        continue;
      }
      if (FsFaultCount() == faults_before) {
        Fail(FailureKind::kOpen,
             what + ": DB::Open: expected OK (no injected fault explains an error), got " +
                 db.status().ToString());
        return std::nullopt;
      }
    }
    Fail(FailureKind::kOpen, OpenKeptFailing(what, last));
    return std::nullopt;
  }

  StatusOr<StateMap> ReadWholeState() {
    StateMap state;
    const std::shared_ptr<const Snapshot> snapshot = db_->GetSnapshot();
    ReadOptions read;
    read.snapshot = snapshot.get();
    int errors = 0, corruptions = 0;
    for (const std::string& cf : db_->ListColumnFamilies()) {
      model::KeyMap& entries = state[cf];
      std::optional<std::string> last;
      for (;;) {
        const uint64_t faults_before = FsFaultCount();
        auto it = db_->NewIterator(read, cf);
        if (!it.ok()) return it.status();
        Iterator& iter = **it;
        last ? iter.Seek(*last) : iter.SeekToFirst();
        if (last && iter.Valid() && iter.key() == *last) iter.Next();
        for (; iter.Valid(); iter.Next()) {
          last = std::string(iter.key());
          entries.emplace(*last, std::string(iter.value()));
        }
        if (iter.status().ok()) break;
        if (iter.status().IsCorruption() && ++corruptions > 3) return iter.status();
        if (++errors > kReadAttemptsMax ||
            (FsFaultCount() == faults_before && fs_.counters().misdirected == 0)) {
          return iter.status().WithContext("after " + std::to_string(errors) + " read errors");
        }
      }
    }
    return state;
  }

  // A misdirected write can destroy a committed page for good; the engine must then report
  // Corruption, and the run ends there as a detection.
  bool DamageDetected(const Status& status) {
    if (!status.IsCorruption() || fs_.counters().misdirected == 0) return false;
    ++result_.stats.damage_detected;
    stopped_ = true;
    Trace("  storage damage detected after a misdirected write: " + status.ToString());
    return true;
  }

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

}  // namespace

RunResult RunConcurrentSeed(const RunConfig& config) {
  ConcurrentRun run(config);
  return run.Execute();
}

}  // namespace manifold::sim
