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
#include "sim/concurrent_run.h"
#include "sim/concurrent_workload.h"
#include "sim/engine_options.h"
#include "sim/fault_points.h"
#include "sim/liveness.h"
#include "sim/report_text.h"
#include "sim/run_bookkeeping.h"
#include "sim/sched/explore.h"
#include "sim/sched/strategies.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/sim_time_clock.h"

namespace manifold::sim {
namespace {

constexpr char kDbPath[] = "/db";
// Scheduling points per run before it is a livelock: far above what a run of a few hundred
// operations takes (measured: tens of thousands to a few hundred thousand).
constexpr uint64_t kStepsMax = 50'000'000;

}  // namespace

ConcurrentRun::ConcurrentRun(const RunConfig& config)
    : config_(config),
      workload_(GenerateConcurrentWorkload(config.seed, config.workload)),
      fs_(config.seed, config.faults, &disk_latency_),
      fault_rng_(config.seed ^ 0xfa17ull) {
  options_.file_system = &fs_;
  options_.clock = &clock_;
  SetSmallDatabaseOptions(config.seed, config.workload.page_bytes, &options_);
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
  // Half the seeds checkpoint after 64 KiB of log instead of 96 KiB (one segment's worth): more
  // checkpoints, each retiring segments sooner, so the recycle pool fills and is drawn from more
  // often while writers roll over beside a checkpoint (I21, I22, I28).
  if (cache_rng.OneIn(2)) options_.checkpoint_log_bytes = 64 << 10;
  fs_.set_trace([this](const std::string& line) { Trace("  fault: " + line); });
}

RunResult ConcurrentRun::Execute() {
  ScopedFaultPointSink sink(this);
  if (config_.fault_point_probability > 0 || !config_.planted_bug.empty()) {
    EnableFaultPointsOnce();
    SetPlantedBugForEngineThreads(config_.planted_bug);
  }
  std::unique_ptr<port::sched::Strategy> inner;
  if (config_.has_replay_schedule) {
    inner = std::make_unique<ScheduleStrategy>(config_.replay_schedule, !config_.lenient_schedule);
  } else if (config_.schedule == "pct") {
    inner = std::make_unique<sim::sched::PctStrategy>(
        config_.seed ^ 0x5c4edull, static_cast<int>(config_.pct_depth),
        std::max<uint64_t>(1, workload_.ops) * kStepsPerConcurrentOp);
  } else {
    inner = std::make_unique<sim::sched::RandomStrategy>(config_.seed ^ 0x5c4edull);
  }
  RecordingStrategy strategy(inner.get());
  port::sched::RunOptions run_options;
  run_options.steps_max = kStepsMax;
  const port::sched::RunResult run = port::sched::Run(
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
           std::string("scheduler ") + port::sched::OutcomeName(run.outcome) + ": " + run.report,
           port::sched::OutcomeName(run.outcome));
    }
  }
  result_.decisions = strategy.decisions();
  result_.decisions_hash = sim::sched::DecisionsHash(run.decisions);
  result_.schedule = strategy.schedule();
  result_.steps = run.steps;
  Trace("decisions " + std::to_string(result_.decisions) + " hash " +
        std::to_string(result_.decisions_hash) + " steps " + std::to_string(run.steps) +
        " preemptions " + std::to_string(result_.schedule.size()));
  result_.state_hash =
      final_state_hash_ ^ (fs_hash_before_liveness_ ? *fs_hash_before_liveness_ : fs_.StateHash());
  Trace("final state hash " + std::to_string(result_.state_hash));
  CollectFsStats(fs_.counters(), &result_.stats);
  return std::move(result_);
}

int ConcurrentRun::DecideFaultPoint(const char* name) {
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

void ConcurrentRun::Trace(const std::string& line) { TraceLine(config_, &result_, line); }

void ConcurrentRun::Fail(FailureKind kind, const std::string& what, const std::string& detail) {
  RecordFailure(config_, &result_, kind, what, detail, current_op_);
}

uint64_t ConcurrentRun::FsFaultCount() const { return InjectedFsFaults(fs_.counters()); }

bool ConcurrentRun::FaultExplains() const {
  return faults_this_epoch_ > 0 || FsFaultCount() != fs_faults_at_epoch_ ||
         fs_.counters().misdirected > 0 || fs_.crashed();
}

ConcurrentRun::HistoryEvent& ConcurrentRun::Record(HistoryEvent event) {
  history_.events.push_back(std::move(event));
  return history_.events.back();
}

std::string ConcurrentRun::Line(uint32_t thread, uint32_t op, uint64_t invoke, uint64_t ret,
                                const std::string& what) {
  return "t" + std::to_string(thread) + " @" + std::to_string(invoke) + "-" + std::to_string(ret) +
         " op #" + std::to_string(op) + " " + what;
}

void ConcurrentRun::Controller() {
  Trace("seed " + std::to_string(config_.seed) + " profile " + config_.profile + " page_bytes " +
        std::to_string(options_.page_bytes) + " sizes " +
        SizeProfileName(SizeProfileForSeed(config_.seed)) + " workload concurrent, " +
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

void ConcurrentRun::CheckLiveness() {
  // A failing run (the scheduler unwinds its threads, the controller goes on) has its verdict.
  if (fs_.counters().misdirected > 0 || port::sched::Failing()) return;
  liveness_ = std::make_unique<LivenessPhase>(LivenessSetup{
      &fs_, options_, kDbPath, this, [this](const std::string& line) { Trace(line); }});
  const std::string failure = liveness_->Run();
  if (!failure.empty()) return Fail(FailureKind::kLiveness, failure, LivenessDetail(failure));
  ++result_.stats.liveness_checked;
  result_.stats.liveness_writes += liveness_->writes();
}

void ConcurrentRun::Close() {
  armed_ = false;
  db_.reset();
}

void ConcurrentRun::StartEpoch(const model::RecoveredState& recovered) {
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

void ConcurrentRun::RunEpoch(uint32_t e) {
  const Epoch& epoch = workload_.epochs[e];
  Trace("epoch " + std::to_string(e) + ": " + std::to_string(epoch.threads.size()) +
        " threads, ends with " + EpochEndName(epoch.end) +
        (epoch.end != EpochEnd::kPowerCutAt ? ""
         : epoch.cut_after_namespace_op != 0
             ? " " + std::to_string(epoch.cut_delay) + " mutations after namespace operation " +
                   std::to_string(epoch.cut_after_namespace_op)
             : " at mutation " + std::to_string(epoch.cut_at_mutation)));
  bool lossy = false;
  for (const WorkloadOp& op : epoch.cf_ops) {
    if (config_.skip_ops.count(op.index) > 0) continue;
    // A create of a column family that exists (and half the drops) drops it and creates it
    // again instead: old handles must then not reach the new one (I46).
    const bool certain = CfExists(op.cf) && uncertain_cfs_.count(op.cf) == 0;
    if (certain && (op.kind == OpKind::kCreateCf ||
                    (op.kind == OpKind::kDropCf && op.cf != "default" && op.index % 2 == 1))) {
      RecreateColumnFamily(op);
      if (uncertain_cfs_.count(op.cf) > 0) lossy = true;
    } else if (!ColumnFamilyOp(op)) {
      lossy = true;
    }
    if (failed()) return;
  }
  TakeHandles();
  CheckStaleHandles();
  if (failed()) return;
  if (epoch.end == EpochEnd::kPowerCutAt && !fs_.crashed()) {
    if (epoch.cut_after_namespace_op != 0) {
      // Random cuts (one every ~50 mutations in the storage profile) would almost always land
      // first; this epoch's cut is the targeted one. Every other fault stays on.
      fs_.set_random_crashes(false);
      fs_.ScheduleCrashAfterNamespaceOp(epoch.cut_after_namespace_op, epoch.cut_delay);
    } else {
      fs_.ScheduleCrashAtMutation(epoch.cut_at_mutation);
    }
  }
  const uint64_t in_flight = EpochInFlight(epoch);
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
          new port::Thread(thread->writer ? "writer" : "reader", [this, thread, worker, in_flight] {
            ScopedFaultPointSink sink(this);
            for (const WorkloadOp& op : thread->ops) {
              if (failed()) break;
              if (config_.skip_ops.count(op.index) > 0) continue;
              ++result_.stats.ops;
              DoOp(*worker, op);
              if (!thread->writer) {
                CheckMemoryBound(in_flight, "after reader op #" + std::to_string(op.index),
                                 /*trace=*/false);
              }
            }
            CheckHeldPins(*worker, true);
            for (HeldIterator& it : worker->iterators) it.engine.reset();
            for (HeldSnapshot& s : worker->snapshots) s.engine.reset();
          }));
    }
    threads.clear();  // Joins them.
  }
  if (failed()) return;
  if (!fs_.crashed()) CheckMemoryBound(in_flight, "at the end of the epoch", /*trace=*/true);
  if (failed()) return;
  if (epoch.end == EpochEnd::kPowerCutAt) {
    fs_.ScheduleCrashAtMutation(0);
    fs_.set_random_crashes(true);
  }
  if (epoch.end == EpochEnd::kCrashAtEnd && !fs_.crashed()) {
    Trace("power cut at the end of the epoch");
    fs_.CrashNow();
  }
  EndEpoch(e, lossy || epoch.end != EpochEnd::kCleanClose);
}

void ConcurrentRun::EndEpoch(uint32_t e, bool lossy) {
  const uint64_t faults_before = FsFaultCount();
  current_op_ = -1;
  // Handles of this open: one is kept to check that the next open refuses it.
  handles_.clear();
  dropped_handles_.clear();
  if (db_ != nullptr) {
    auto handle = db_->GetColumnFamily(kDefaultColumnFamily);
    if (handle.ok()) earlier_open_handle_ = *handle;
  }
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

bool ConcurrentRun::ColumnFamilyOp(const WorkloadOp& op) {
  current_op_ = op.index;
  ++result_.stats.ops;
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kCommit;
  event.thread = 0;
  event.commit.commit =
      op.kind == OpKind::kCreateCf ? model::Commit::CreateCf(op.cf) : model::Commit::DropCf(op.cf);
  event.description = event.commit.commit.Describe();
  const uint64_t before = db_->GetStats().sequence;
  auto handle = db_->GetColumnFamily(op.cf);  // Reads no file.
  event.invoke_step = port::sched::CurrentStep();
  Status status =
      op.kind == OpKind::kCreateCf ? db_->CreateColumnFamily(op.cf) : db_->DropColumnFamily(op.cf);
  event.return_step = port::sched::CurrentStep();
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
    if (op.kind == OpKind::kDropCf && handle.ok()) {
      dropped_handles_.push_back(*handle);
      // The last few: each is checked before every later epoch of this open.
      if (dropped_handles_.size() > 4) dropped_handles_.erase(dropped_handles_.begin());
    }
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
    Fail(FailureKind::kWriteError, op.Describe() +
                                       ": expected OK (no injected fault explains an error), got " +
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

std::optional<model::RecoveredState> ConcurrentRun::OpenAndRead(const std::string& what) {
  Status last;  // The last attempt's error, for the report.
  std::optional<FaultPause> paused;
  for (int attempt = 0; attempt < kOpenAttemptsMax; ++attempt) {
    if (attempt == kOpenAttemptsFaultyMax) {
      paused.emplace(&fs_);
      Trace("  open: " + std::to_string(attempt) + " attempts failed; faults paused for the rest");
    }
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
          Fail(FailureKind::kRecoveryRead, what +
                                               ": reading the recovered state: expected OK, got " +
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

StatusOr<ConcurrentRun::StateMap> ConcurrentRun::ReadWholeState() {
  uint64_t faults_before = 0;
  return sim::ReadWholeState(
      db_.get(), [&] { faults_before = FsFaultCount(); },
      [&] { return FsFaultCount() != faults_before || fs_.counters().misdirected > 0; });
}

bool ConcurrentRun::DamageDetected(const Status& status) {
  if (!status.IsCorruption() || fs_.counters().misdirected == 0) return false;
  ++result_.stats.damage_detected;
  stopped_ = true;
  Trace("  storage damage detected after a misdirected write: " + status.ToString());
  return true;
}

RunResult RunConcurrentSeed(const RunConfig& config) {
  ConcurrentRun run(config);
  return run.Execute();
}

}  // namespace manifold::sim
