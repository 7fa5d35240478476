#include "sim/sequential_run.h"

#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "sim/engine_options.h"
#include "sim/report_text.h"
#include "sim/run_bookkeeping.h"
#include "sim/sched/explore.h"

namespace manifold::sim {
namespace {

// Scheduling points per run before it is a livelock: far above what a sequential run takes.
constexpr uint64_t kStepsMax = 50'000'000;
// Rounds of the hand-off leader's wait for the follower's record (see DoConcurrentCommit).
constexpr uint64_t kHandOffRoundsMax = 100'000;

}  // namespace

SequentialRun::SequentialRun(const RunConfig& config)
    : config_(config),
      fs_(config.seed, config.faults, &clock_),
      fault_rng_(config.seed ^ 0xfa17ull) {
  options_.file_system = &hand_off_fs_;
  options_.clock = &clock_;
  SetSmallDatabaseOptions(config.seed, config.workload.page_bytes, &options_);
  // Checkpoints run inline on the committing thread so the I/O order depends on the seed alone.
  options_.background_checkpoints = false;
  options_.checkpoint_interval_us = 0;
  // No group-commit window: whether a leader waits it out depends on how many threads are
  // inside Commit at that instant, which in the two-thread step is a race. The wait advances
  // the simulated clock, whose readings the info log (the LOG file) records, so it would make
  // the final file-system state differ between runs of one seed.
  options_.group_commit_window_us = 0;
  fs_.set_trace([this](const std::string& line) { Trace("  fault: " + line); });
}

RunResult SequentialRun::Execute(const std::vector<WorkloadOp>& ops) {
  ScopedFaultPointSink sink(this);
  if (config_.fault_point_probability > 0 || !config_.planted_bug.empty()) {
    EnableFaultPointsOnce();
  }
  // The workload, its final reopen included, is one scheduled run: thread 0 runs the
  // operations, and the hand-off's second committer is a thread of the run. Between hand-offs
  // the run has one thread, so the strategy only decides inside them.
  port::sched::RunOptions run_options;
  run_options.steps_max = kStepsMax;
  const port::sched::RunResult run = port::sched::Run(
      [&] {
        ScopedFaultPointSink body_sink(this);
        RunOperations(ops);
      },
      &strategy_, run_options);
  if (!run.ok()) {
    result_.passed = true;  // The scheduler's verdict comes first.
    Fail(FailureKind::kScheduler,
         std::string("scheduler ") + port::sched::OutcomeName(run.outcome) + ": " + run.report);
    result_.kind_detail = port::sched::OutcomeName(run.outcome);
  }
  result_.decisions = run.decisions.size();
  result_.decisions_hash = sim::sched::DecisionsHash(run.decisions);
  result_.steps = run.steps;
  Trace("decisions " + std::to_string(result_.decisions) + " hash " +
        std::to_string(result_.decisions_hash) + " steps " + std::to_string(run.steps));
  // A run the scheduler ended may leave the database open; it closes here, with every thread
  // of the run finished.
  ReleaseAll();
  db_.reset();
  // The state the workload left: hashed before the liveness phase, whose writes would double
  // the hashing (its outcome is in the trace hash).
  const uint64_t fs_hash = fs_.StateHash();
  if (result_.passed && !stopped_ && config_.liveness) CheckLiveness();
  result_.state_hash = model_.Visible().hash() ^ fs_hash;
  Trace("final state hash " + std::to_string(result_.state_hash));
  CollectFsStats(fs_.counters(), &result_.stats);
  return std::move(result_);
}

int SequentialRun::DecideFaultPoint(const char* name) {
  constexpr std::string_view kBugPrefix = "manifold/bug/";
  if (std::string_view(name).substr(0, kBugPrefix.size()) == kBugPrefix) {
    return name + kBugPrefix.size() == config_.planted_bug ? 1 : 0;
  }
  if (in_engine_calls_.load() == 0 || config_.fault_point_probability <= 0) return 0;
  if (fault_rng_.Unit() >= config_.fault_point_probability) return 0;
  ++result_.stats.fault_points_fired;
  ++faults_this_op_;
  ++faults_since_open_;
  Trace(std::string("  fault point: ") + name);
  return 1;
}

void SequentialRun::RunOperations(const std::vector<WorkloadOp>& ops) {
  Trace("seed " + std::to_string(config_.seed) + " profile " + config_.profile + " page_bytes " +
        std::to_string(options_.page_bytes) + " sizes " +
        SizeProfileName(SizeProfileForSeed(config_.seed)) +
        (config_.planted_bug.empty() ? "" : " planted bug " + config_.planted_bug));
  if (OpenAndCheck("open", model::Reopen::kClean)) {
    for (const WorkloadOp& op : ops) {
      if (config_.skip_ops.count(op.index) > 0) continue;
      current_op_ = op.index;
      ++result_.stats.ops;
      Step(op);
      if (!result_.passed || stopped_) break;
      CheckMemory(op);
      if (!result_.passed) break;
      if (fs_.crashed()) {
        Recover(op.kind == OpKind::kCrash ? "between operations"
                                          : "during " + std::string(OpKindName(op.kind)));
      }
      if (!result_.passed || stopped_) break;
    }
  }
  if (result_.passed && !stopped_) Finish();
}

void SequentialRun::Trace(const std::string& line) { TraceLine(config_, &result_, line); }

void SequentialRun::Fail(FailureKind kind, const std::string& what) {
  RecordFailure(config_, &result_, kind, what, "", current_op_);
}

uint64_t SequentialRun::FsFaultCount() const { return InjectedFsFaults(fs_.counters()); }

bool SequentialRun::FaultExplains() const {
  return faults_this_op_ > 0 || FsFaultCount() != fs_faults_at_step_ ||
         fs_.counters().misdirected > 0 || fs_.crashed();
}

bool SequentialRun::FaultExplainsReadOnly() const {
  return FaultExplains() || faults_since_open_ > 0 || FsFaultCount() != fs_faults_at_open_;
}

void SequentialRun::Step(const WorkloadOp& op) {
  faults_this_op_ = 0;
  checkpointed_ = false;
  fs_faults_at_step_ = FsFaultCount();
  Trace(op.Describe());
  switch (op.kind) {
    case OpKind::kPut:
    case OpKind::kDelete:
    case OpKind::kBatch:
      DoBatch(op);
      return ReadBack(op);
    case OpKind::kTransaction:
      DoTransaction(op);
      return ReadBack(op);
    case OpKind::kGet:
      return DoGet(op, nullptr, model_.Visible());
    case OpKind::kScan:
      if (op.index % 3 == 2) return DoTurningScan(op, nullptr, model_.Visible());
      return DoScan(op, nullptr, model_.Visible());
    case OpKind::kTakeSnapshot:
      return DoTakeSnapshot(op);
    case OpKind::kReadSnapshot:
      return DoReadSnapshot(op);
    case OpKind::kReleaseSnapshot:
      return ReleaseSnapshot(op.snapshot_slot);
    case OpKind::kCreateCf:
      if (op.index % 2 == 0 && model_.Visible().Find(op.cf) != nullptr) {
        return RecreateColumnFamily(op);
      }
      return DoColumnFamily(op);
    case OpKind::kDropCf:
      return DoColumnFamily(op);
    case OpKind::kReopen:
      return Reopen();
    case OpKind::kCrash:
      fs_.CrashNow();
      return;  // Execute() recovers.
    case OpKind::kCrashDuringNext:
      fs_.ScheduleCrashAtMutation(op.crash_after_mutations);
      return;
    case OpKind::kOpenIterator:
      return DoOpenIterator(op);
    case OpKind::kStepIterator:
      return DoStepIterator(op);
    case OpKind::kCheckpoint:
      return DoCheckpoint();
    case OpKind::kConcurrentCommit:
      return DoConcurrentCommit(op);
  }
}

void SequentialRun::EndWrite(uint64_t commit_id, const Status& status, StatusCode expected_error,
                             bool sync) {
  const WriteVerdict verdict = ClassifyWrite(commit_id, status, expected_error, sync);
  if (verdict == WriteVerdict::kReopen) Reopen(/*after_failure=*/true);
}

bool SequentialRun::IsUndoneForNoSpace(const Status& status) {
  return status.message().find(" were not applied: ") != std::string::npos;
}

SequentialRun::WriteVerdict SequentialRun::ClassifyWrite(uint64_t commit_id, const Status& status,
                                                         StatusCode expected_error, bool sync) {
  if (status.ok()) {
    if (expected_error != StatusCode::kOk) {
      Fail(FailureKind::kWriteAccepted, "write " + model_.DescribeCommit(commit_id) +
                                            ": expected " + StatusCodeName(expected_error) +
                                            ", got OK");
      return WriteVerdict::kFailed;
    }
    ++result_.stats.commits_acknowledged;
    Trace(sync ? "  -> OK" : "  -> OK (not durable)");
    Judge(model_.EndCommit(commit_id, sync ? model::Outcome::kAcknowledgedDurable
                                           : model::Outcome::kAcknowledgedNonDurable));
    return WriteVerdict::kDone;
  }
  Trace("  -> " + status.ToString());
  if (fs_.crashed()) {
    ++result_.stats.commits_uncertain;
    Judge(model_.EndCommit(commit_id, model::Outcome::kUncertain));  // Then recovery.
    return WriteVerdict::kDone;
  }
  if (status.code() == expected_error) {
    ++result_.stats.commits_refused;
    Judge(model_.EndCommit(commit_id, model::Outcome::kFailedClean));
    return WriteVerdict::kDone;
  }
  const bool fault_error =
      status.IsIOError() || status.IsNoSpace() || status.IsCorruption() || status.IsReadOnly();
  const bool explained = status.IsReadOnly() ? FaultExplainsReadOnly() : FaultExplains();
  if (status.IsNoSpace() && explained && IsUndoneForNoSpace(status)) {
    // I26: the engine undid the commit (nothing of it was written) and stays writable. Judge
    // it not applied and go on with the same handle, so the commits after it (which reuse its
    // sequence number) are checked too.
    ++result_.stats.commits_refused;
    Judge(model_.EndCommit(commit_id, model::Outcome::kFailedClean));
    return WriteVerdict::kDone;
  }
  if (!fault_error || !explained) {
    const std::string described = model_.DescribeCommit(commit_id);
    Judge(model_.EndCommit(commit_id, model::Outcome::kUncertain));
    Fail(FailureKind::kWriteError,
         "write " + described + ": expected " +
             (expected_error == StatusCode::kOk ? std::string("OK")
                                                : StatusCodeName(expected_error)) +
             (fault_error ? " (no injected fault explains an error)" : "") + ", got " +
             status.ToString());
    return WriteVerdict::kFailed;
  }
  // An injected fault interrupted the commit: it may or may not be on disk, and the engine
  // may refuse writes until reopened. Reopen and let the model judge what survived.
  ++result_.stats.commits_uncertain;
  Judge(model_.EndCommit(commit_id, model::Outcome::kUncertain));
  return WriteVerdict::kReopen;
}

void SequentialRun::DoCheckpoint() {
  Status status = Engine([&] { return db_->Checkpoint(); });
  Trace("  -> " + status.ToString());
  checkpointed_ = status.ok() && !fs_.crashed();
  if (status.ok() || fs_.crashed()) return;
  const bool explained = status.IsReadOnly() ? FaultExplainsReadOnly() : FaultExplains();
  if (!explained) {
    return Fail(
        FailureKind::kWriteError,
        "Checkpoint: expected OK (no injected fault explains an error), got " + status.ToString());
  }
  // A failure before writing leaves the engine writable; after, it refuses writes. Either way
  // a reopen is legal, and it makes the next writes meaningful.
  Reopen(/*after_failure=*/true);
}

void SequentialRun::DoConcurrentCommit(const WorkloadOp& op) {
  model::Commit commits[2];
  StatusCode expected[2];
  for (int i = 0; i < 2; ++i) {
    const KeyOp& w = op.writes[i];
    commits[i] =
        model::Commit::Batch({model::Op::Put(w.cf, w.key, ValueFor(op.index, i, w.value_bytes))});
    commits[i].name = OpName(op) + (i == 0 ? " (leader)" : " (follower)");
    expected[i] = ExpectedError(commits[i]);
  }
  Status status[2];
  // A std::atomic, not a port::Atomic: the leader's wait below must not add scheduling points
  // of its own beyond its Yield.
  std::atomic<bool> follower_done{false};
  std::unique_ptr<port::Thread> follower;
  auto run_follower = [&] {
    status[1] = Engine([&] {
      return db_->Put({}, commits[1].ops[0].cf, commits[1].ops[0].key, commits[1].ops[0].value);
    });
    follower_done = true;
  };
  const uint64_t records_before = db_->GetStats().log_records;
  hand_off_fs_.SetLogSyncHook([&] {
    // On the leader's thread, inside its log sync. `new`, not std::make_unique: a thread's
    // start is where a scheduler report places a wait for it in its destructor.
    follower.reset(new port::Thread("follower", [&] {
      ScopedFaultPointSink sink(this);  // Fault points and planted bugs act on this thread too.
      run_follower();
    }));
    // The follower's commit appends its record within a few hundred scheduling points; one
    // blocked before that for good would leave the leader waiting without end.
    for (uint64_t round = 0; !follower_done && db_->GetStats().log_records == records_before + 1;
         ++round) {
      if (round == kHandOffRoundsMax) {
        port::sched::Fail(OpName(op) +
                          ": the follower's commit neither appended its log record "
                          "nor returned in " +
                          std::to_string(kHandOffRoundsMax) +
                          " rounds of the leader's wait inside its log sync");
      }
      strategy_.PassOnce();  // One scheduling point of the follower's, then check again.
      port::sched::Yield();
    }
    hand_off_fs_.HoldDisk();
  });
  status[0] = Engine([&] {
    return db_->Put({}, commits[0].ops[0].cf, commits[0].ops[0].key, commits[0].ops[0].value);
  });
  hand_off_fs_.SetLogSyncHook(nullptr);
  const bool follower_started = follower != nullptr;
  if (follower_started) hand_off_fs_.ReleaseDisk();
  const int committers = follower_started || status[0].ok() ? 2 : 1;
  if (follower_started) {
    follower.reset();  // Joins it.
  } else if (committers == 2) {
    run_follower();  // The leader never synced the log (e.g. a checkpoint did): commit after.
  }
  // A deadlock or a failed check ended the run while the two committed: the scheduler's report
  // is the verdict, and the statuses are those of unwound calls.
  if (port::sched::Failing()) {
    stopped_ = true;
    return;
  }
  // The engine's commit order is leader first; record both before any reopen. (A leader that
  // failed before its log sync had no follower: the model wants a reopen after it first.)
  bool reopen = false;
  for (int i = 0; i < committers; ++i) {
    Trace(std::string(i == 0 ? "  leader " : "  follower ") + commits[i].Describe());
    const uint64_t id = model_.BeginCommit(commits[i]);
    const WriteVerdict verdict = ClassifyWrite(id, status[i], expected[i], /*sync=*/true);
    if (verdict == WriteVerdict::kFailed) return;
    reopen = reopen || verdict == WriteVerdict::kReopen;
  }
  if (op.crash_after && !fs_.crashed()) {
    fs_.CrashNow();  // Execute() recovers: both acknowledged commits must survive.
    return;
  }
  if (reopen && !fs_.crashed()) Reopen(/*after_failure=*/true);
}

void SequentialRun::Judge(const model::Verdict& verdict) {
  if (!verdict.ok) Fail(FailureKind::kWriteAccepted, "model: " + verdict.explanation);
}

StatusCode SequentialRun::ExpectedError(const model::Commit& commit) const {
  std::optional<model::Rejection> rejection = model_.MustFail(commit);
  return rejection ? rejection->code : StatusCode::kOk;
}

model::Commit SequentialRun::ModelCommit(const WorkloadOp& op) const {
  model::Commit commit;
  commit.kind = model::Commit::kBatch;
  commit.name = OpName(op);
  for (uint32_t i = 0; i < op.writes.size(); ++i) {
    const KeyOp& w = op.writes[i];
    model::Op m;
    m.kind = w.is_delete ? model::Op::kDelete : model::Op::kPut;
    m.cf = w.cf;
    m.key = w.key;
    if (!w.is_delete) m.value = ValueFor(op.index, i, w.value_bytes);
    commit.ops.push_back(std::move(m));
  }
  return commit;
}

void SequentialRun::DoBatch(const WorkloadOp& op) {
  model::Commit commit = ModelCommit(op);
  const StatusCode expected = ExpectedError(commit);
  WriteBatch batch;
  for (const model::Op& m : commit.ops) {
    const ColumnFamilyHandle* handle = HandleFor(op, m.cf);
    if (m.kind == model::Op::kPut) {
      handle ? batch.Put(*handle, m.key, m.value) : batch.Put(m.cf, m.key, m.value);
    } else {
      handle ? batch.Delete(*handle, m.key) : batch.Delete(m.cf, m.key);
    }
  }
  const ColumnFamilyHandle* first = commit.ops.empty() ? nullptr : HandleFor(op, commit.ops[0].cf);
  const uint64_t id = model_.BeginCommit(commit);
  WriteOptions write_options;
  write_options.sync = op.sync;
  Status status;
  if (op.kind == OpKind::kPut) {
    status = Engine([&] {
      const model::Op& m = commit.ops[0];
      return first ? db_->Put(write_options, *first, m.key, m.value)
                   : db_->Put(write_options, m.cf, m.key, m.value);
    });
  } else if (op.kind == OpKind::kDelete) {
    status = Engine([&] {
      const model::Op& m = commit.ops[0];
      return first ? db_->Delete(write_options, *first, m.key)
                   : db_->Delete(write_options, m.cf, m.key);
    });
  } else {
    status = Engine([&] { return db_->Write(write_options, batch); });
  }
  EndWrite(id, status, expected, op.sync);
}

void SequentialRun::DoTransaction(const WorkloadOp& op) {
  const bool cf_exists = model_.HasColumnFamily(op.cf);
  const ColumnFamilyHandle* handle = HandleFor(op, op.cf);
  auto txn = Engine(
      [&] { return handle ? db_->BeginTransaction(*handle) : db_->BeginTransaction(op.cf); });
  if (!txn.ok()) {
    Trace("  -> " + txn.status().ToString());
    if (!cf_exists && txn.status().IsNotFound()) return;
    if (txn.status().IsReadOnly() && FaultExplainsReadOnly()) return Reopen(true);
    return Fail(FailureKind::kWriteError, "BeginTransaction(" + Show(op.cf) + "): expected " +
                                              (cf_exists ? "OK (the column family exists)"
                                                         : "NotFound (no such column family)") +
                                              ", got " + txn.status().ToString());
  }
  if (!cf_exists) {
    return Fail(
        FailureKind::kWriteAccepted,
        "BeginTransaction(" + Show(op.cf) + "): expected NotFound (no such column family), got OK");
  }
  model::Commit commit = ModelCommit(op);
  std::map<std::string, std::optional<std::string>> own;  // The transaction's own writes.
  for (const model::Op& m : commit.ops) {
    Status status = Engine([&] {
      return m.kind == model::Op::kPut ? (*txn)->Put(m.key, m.value) : (*txn)->Delete(m.key);
    });
    if (!status.ok()) {
      if (FaultExplains()) {
        Trace("  -> " + status.ToString() + " (transaction abandoned)");
        return;  // Destroying the transaction aborts it; nothing was committed.
      }
      return Fail(FailureKind::kWriteError, "transaction write " + Show(op.cf) + "/" + Show(m.key) +
                                                ": expected OK, got " + status.ToString());
    }
    own[m.key] = m.kind == model::Op::kPut ? std::optional<std::string>(m.value) : std::nullopt;
  }
  CheckTransactionRead(**txn, op, own);
  if (!result_.passed) return;
  if (!op.commit) {
    (*txn)->Abort();
    Trace("  -> aborted");
    return;
  }
  const uint64_t id = model_.BeginCommit(commit);
  WriteOptions write_options;
  write_options.sync = op.sync;
  Status status = Engine([&] { return (*txn)->Commit(write_options); });
  EndWrite(id, status, StatusCode::kOk, op.sync);
}

void SequentialRun::DoColumnFamily(const WorkloadOp& op) {
  model::Commit commit =
      op.kind == OpKind::kCreateCf ? model::Commit::CreateCf(op.cf) : model::Commit::DropCf(op.cf);
  commit.name = OpName(op);
  const StatusCode expected = ExpectedError(commit);
  const uint64_t id = model_.BeginCommit(commit);
  auto before = db_->GetColumnFamily(op.cf);  // Reads no file: no fault point fires.
  Status status = Engine([&] {
    return op.kind == OpKind::kCreateCf ? db_->CreateColumnFamily(op.cf)
                                        : db_->DropColumnFamily(op.cf);
  });
  // Every create or drop empties the cache, whatever its outcome (see HandleFor).
  handles_.clear();
  if (status.ok() && op.kind == OpKind::kDropCf && before.ok()) dropped_handle_ = *before;
  EndWrite(id, status, expected);
  if (result_.passed && db_ != nullptr) CheckStaleHandles();
}

}  // namespace manifold::sim
