#include "sim/runner.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <semaphore>
#include <thread>

#include "engine/port/sched.h"
#include "engine/util/check.h"
#include "engine/util/fault_point.h"
#include "engine/wal/log_format.h"
#include "manifold/db.h"
#include "model/model.h"
#include "sim/concurrent_runner.h"
#include "sim/engine_options.h"
#include "sim/fault_points.h"
#include "sim/liveness.h"
#include "sim/report_text.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/turnstile_fs.h"

namespace manifold::sim {
namespace {

constexpr char kDbPath[] = "/db";
constexpr int kReadAttemptsMax =
    1000;  // Injected read errors tolerated while reading a full state.

using State = model::State;
using StateMap = model::StateMap;
using Entries = model::Entries;
using VersionPtrHolder = std::shared_ptr<const Snapshot>;

// What the scan of a workload op should return from one column family of a model state.
Entries ExpectedScan(const model::KeyMap& cf, const WorkloadOp& op) {
  Entries out;
  const size_t limit = op.limit == 0 ? SIZE_MAX : op.limit;
  auto in_bounds = [&](const std::string& key) {
    return (op.lower.empty() || key >= op.lower) && (op.upper.empty() || key < op.upper);
  };
  if (!op.reverse) {
    auto it = cf.lower_bound(std::max(op.key, op.lower));
    for (; it != cf.end() && out.size() < limit && in_bounds(it->first); ++it) out.push_back(*it);
    return out;
  }
  // Reverse: start at the last key <= target (and < upper).
  auto it = cf.upper_bound(op.key);
  while (it != cf.begin() && out.size() < limit) {
    --it;
    if (!op.upper.empty() && it->first >= op.upper) continue;
    if (!in_bounds(it->first)) break;
    out.push_back(*it);
  }
  return out;
}

// A commit is named after the operation that made it, so the model's explanations, the trace and
// the report number them alike (docs/simulator.md, "Numbering").
std::string OpName(const WorkloadOp& op) { return "op #" + std::to_string(op.index); }

class Run final : public FaultPointSink {
 public:
  explicit Run(const RunConfig& config)
      : config_(config),
        fs_(config.seed, config.faults, &clock_),
        fault_rng_(config.seed ^ 0xfa17ull) {
    options_.file_system = &turnstile_;
    options_.clock = &clock_;
    SetSmallDatabaseOptions(config.workload.page_bytes, &options_);
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

  RunResult Execute(const std::vector<WorkloadOp>& ops) {
    ScopedFaultPointSink sink(this);
    if (config_.fault_point_probability > 0 || !config_.planted_bug.empty()) {
      EnableFaultPointsOnce();
    }
    Trace("seed " + std::to_string(config_.seed) + " profile " + config_.profile + " page_bytes " +
          std::to_string(options_.page_bytes) +
          (config_.planted_bug.empty() ? "" : " planted bug " + config_.planted_bug));
    if (OpenAndCheck("open", model::Reopen::kClean)) {
      for (const WorkloadOp& op : ops) {
        if (config_.skip_ops.count(op.index) > 0) continue;
        current_op_ = op.index;
        ++result_.stats.ops;
        Step(op);
        if (!result_.passed || stopped_) break;
        if (fs_.crashed()) {
          Recover(op.kind == OpKind::kCrash ? "between operations"
                                            : "during " + std::string(OpKindName(op.kind)));
        }
        if (!result_.passed || stopped_) break;
      }
    }
    if (result_.passed && !stopped_) Finish();
    ReleaseAll();
    db_.reset();
    // The state the workload left: hashed before the liveness phase, whose writes would double
    // the hashing (its outcome is in the trace hash).
    const uint64_t fs_hash = fs_.StateHash();
    if (result_.passed && !stopped_ && config_.liveness) CheckLiveness();
    result_.state_hash = model_.Visible().hash() ^ fs_hash;
    Trace("final state hash " + std::to_string(result_.state_hash));
    CollectFsStats();
    return std::move(result_);
  }

  // libfiu asks whether a fault point fires.
  int DecideFaultPoint(const char* name) override {
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

 private:
  // --- Bookkeeping ---------------------------------------------------------------------------

  void Trace(const std::string& line) {
    result_.trace_hash = Fnv1a(result_.trace_hash ^ 0x9e37ull, line);
    if (config_.trace) result_.trace.push_back(line);
  }

  void Fail(FailureKind kind, const std::string& what) {
    if (!result_.passed) return;
    result_.passed = false;
    result_.kind = kind;
    result_.failed_at_op = current_op_;
    result_.failure = what;
    Trace("FAILURE: " + what);
  }

  uint64_t FsFaultCount() const {
    const SimFsCounters& c = fs_.counters();
    return c.eio + c.enospc + c.bit_flips + c.misdirected;
  }

  // True if an error from the engine during the current step can be blamed on an injected
  // fault: an injected error or flipped bit during the step, a fault point, or earlier damage
  // that no checksum can undo (a misdirected write).
  bool FaultExplains() const {
    return faults_this_op_ > 0 || FsFaultCount() != fs_faults_at_step_ ||
           fs_.counters().misdirected > 0 || fs_.crashed();
  }

  // A checkpoint runs after the commit that triggered it was acknowledged; if a fault fails it
  // mid-write, the engine refuses writes (ReadOnly) from then on. Any fault since the open
  // explains that.
  bool FaultExplainsReadOnly() const {
    return FaultExplains() || faults_since_open_ > 0 || FsFaultCount() != fs_faults_at_open_;
  }

  // Runs an engine call with fault points armed and counts what fired.
  template <typename F>
  auto Engine(F&& call) {
    ++in_engine_calls_;
    auto result = call();
    --in_engine_calls_;
    return result;
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

  // --- Steps ---------------------------------------------------------------------------------

  void Step(const WorkloadOp& op) {
    faults_this_op_ = 0;
    fs_faults_at_step_ = FsFaultCount();
    Trace(op.Describe());
    switch (op.kind) {
      case OpKind::kPut:
      case OpKind::kDelete:
      case OpKind::kBatch:
        return DoBatch(op);
      case OpKind::kTransaction:
        return DoTransaction(op);
      case OpKind::kGet:
        return DoGet(op, nullptr, model_.Visible());
      case OpKind::kScan:
        return DoScan(op, nullptr, model_.Visible());
      case OpKind::kTakeSnapshot:
        return DoTakeSnapshot(op);
      case OpKind::kReadSnapshot:
        return DoReadSnapshot(op);
      case OpKind::kReleaseSnapshot:
        return ReleaseSnapshot(op.snapshot_slot);
      case OpKind::kCreateCf:
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

  // Classifies a write's status, tells the model, and reopens after an uncertain outcome.
  void EndWrite(uint64_t commit_id, const Status& status, StatusCode expected_error,
                bool sync = true) {
    const WriteVerdict verdict = ClassifyWrite(commit_id, status, expected_error, sync);
    if (verdict == WriteVerdict::kReopen) Reopen(/*after_failure=*/true);
  }

  enum class WriteVerdict { kDone, kReopen, kFailed };

  // The engine's wording for commits it undid after a log NoSpace (docs/errors.md).
  static bool IsUndoneForNoSpace(const Status& status) {
    return status.message().find(" were not applied: ") != std::string::npos;
  }

  // Tells the model how commit `commit_id` ended. kReopen: the engine may refuse writes until
  // reopened (or the power is off), and the caller must reopen or recover.
  WriteVerdict ClassifyWrite(uint64_t commit_id, const Status& status, StatusCode expected_error,
                             bool sync) {
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

  // --- Checkpoints and the group-commit hand-off ------------------------------------------------

  void DoCheckpoint() {
    Status status = Engine([&] { return db_->Checkpoint(); });
    Trace("  -> " + status.ToString());
    if (status.ok() || fs_.crashed()) return;
    const bool explained = status.IsReadOnly() ? FaultExplainsReadOnly() : FaultExplains();
    if (!explained) {
      return Fail(FailureKind::kWriteError,
                  "Checkpoint: expected OK (no injected fault explains an error), got " +
                      status.ToString());
    }
    // A failure before writing leaves the engine writable; after, it refuses writes. Either way
    // a reopen is legal, and it makes the next writes meaningful.
    Reopen(/*after_failure=*/true);
  }

  // Two durable puts from two threads. The first thread's commit leads a group: while it is
  // inside its log sync (the turnstile's hook), the second thread commits and appends its record,
  // then waits. Only one thread may touch the file system at a time (the turnstile), so the run
  // stays deterministic. The second record was appended during the first sync, so that sync must
  // not acknowledge it (I17); the second thread leads its own sync afterwards.
  // The two committers of a concurrent commit are real threads ordered by the turnstile, not
  // scheduled ones, so an engine hang here (a lost wakeup, say) would hang the whole sweep with no
  // report. Wait a generous real-time bound instead (a follower's commit takes milliseconds), then
  // end the process with a report; the concurrent workload and the liveness phase run such
  // commits under the scheduler, which reports what each thread waits on. Real time here decides
  // only whether to give up, never a result.
  void AwaitFollowerOrDie(const WorkloadOp& op, std::binary_semaphore& follower_returned) {
    constexpr auto kFollowerWaitMax = std::chrono::seconds(60);
    if (follower_returned.try_acquire_for(kFollowerWaitMax)) return;
    std::fprintf(stderr,
                 "seed %llu FAILED at %s: hang: the follower's commit did not return within %llds "
                 "of real time (the sequential workload runs it on a real thread, so it cannot say "
                 "where it waits; the liveness phase and --workload concurrent run commits under "
                 "the scheduler, which can). Replay: %s\n",
                 static_cast<unsigned long long>(config_.seed), OpName(op).c_str(),
                 static_cast<long long>(kFollowerWaitMax.count()), ReplayCommand(config_).c_str());
    std::fflush(stderr);
    std::_Exit(3);
  }

  void DoConcurrentCommit(const WorkloadOp& op) {
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
    std::atomic<bool> follower_done{false};
    std::atomic<bool> follower_started{false};
    std::binary_semaphore follower_returned{0};  // Released when the follower's thread is done.
    std::thread follower;
    auto run_follower = [&] {
      status[1] = Engine([&] {
        return db_->Put({}, commits[1].ops[0].cf, commits[1].ops[0].key, commits[1].ops[0].value);
      });
      follower_done = true;
    };
    const uint64_t records_before = db_->GetStats().log_records;
    turnstile_.SetTurn(std::this_thread::get_id());
    turnstile_.SetLogSyncHook([&] {
      // Runs on the leader's thread, inside its log sync.
      follower_started = true;
      follower = std::thread([&] {
        // Fault points and planted bugs act on this run in this thread too.
        ScopedFaultPointSink sink(this);
        turnstile_.AwaitTurn();
        run_follower();
        follower_returned.release();
      });
      turnstile_.SetTurn(follower.get_id());
      TurnstileFileSystem::Bypass bypass;
      while (!follower_done && db_->GetStats().log_records == records_before + 1) {
        std::this_thread::yield();
      }
      turnstile_.SetTurn(std::this_thread::get_id());
    });
    status[0] = Engine([&] {
      return db_->Put({}, commits[0].ops[0].cf, commits[0].ops[0].key, commits[0].ops[0].value);
    });
    turnstile_.SetLogSyncHook(nullptr);
    const int committers = follower_started || status[0].ok() ? 2 : 1;
    if (follower_started) {
      turnstile_.SetTurn(follower.get_id());
      AwaitFollowerOrDie(op, follower_returned);
      follower.join();
    } else if (committers == 2) {
      run_follower();  // The leader never synced the log (e.g. a checkpoint did): commit after.
    }
    turnstile_.SetTurn(std::nullopt);
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

  void Judge(const model::Verdict& verdict) {
    if (!verdict.ok) Fail(FailureKind::kWriteAccepted, "model: " + verdict.explanation);
  }

  StatusCode ExpectedError(const model::Commit& commit) const {
    std::optional<model::Rejection> rejection = model_.MustFail(commit);
    return rejection ? rejection->code : StatusCode::kOk;
  }

  model::Commit ModelCommit(const WorkloadOp& op) const {
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

  void DoBatch(const WorkloadOp& op) {
    model::Commit commit = ModelCommit(op);
    const StatusCode expected = ExpectedError(commit);
    WriteBatch batch;
    for (const model::Op& m : commit.ops) {
      if (m.kind == model::Op::kPut) {
        batch.Put(m.cf, m.key, m.value);
      } else {
        batch.Delete(m.cf, m.key);
      }
    }
    const uint64_t id = model_.BeginCommit(commit);
    WriteOptions write_options;
    write_options.sync = op.sync;
    Status status;
    if (op.kind == OpKind::kPut) {
      status = Engine([&] {
        return db_->Put(write_options, commit.ops[0].cf, commit.ops[0].key, commit.ops[0].value);
      });
    } else if (op.kind == OpKind::kDelete) {
      status =
          Engine([&] { return db_->Delete(write_options, commit.ops[0].cf, commit.ops[0].key); });
    } else {
      status = Engine([&] { return db_->Write(write_options, batch); });
    }
    EndWrite(id, status, expected, op.sync);
  }

  void DoTransaction(const WorkloadOp& op) {
    const bool cf_exists = model_.HasColumnFamily(op.cf);
    auto txn = Engine([&] { return db_->BeginTransaction(op.cf); });
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
      return Fail(FailureKind::kWriteAccepted,
                  "BeginTransaction(" + Show(op.cf) +
                      "): expected NotFound (no such column family), got OK");
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
        return Fail(FailureKind::kWriteError, "transaction write " + Show(op.cf) + "/" +
                                                  Show(m.key) + ": expected OK, got " +
                                                  status.ToString());
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

  void CheckTransactionRead(Transaction& txn, const WorkloadOp& op,
                            const std::map<std::string, std::optional<std::string>>& own) {
    std::optional<std::string> expected;
    auto mine = own.find(op.key);
    if (mine != own.end()) {
      expected = mine->second;
    } else {
      expected = model_.Get(op.cf, op.key);
    }
    auto got = Engine([&] { return txn.Get(op.key); });
    CompareGet("transaction get", op.cf, op.key, got, expected);
  }

  void CompareGet(const std::string& what, const std::string& cf, const std::string& key,
                  const StatusOr<std::string>& got, const std::optional<std::string>& expected) {
    ++result_.stats.reads_checked;
    if (!got.ok() && !got.status().IsNotFound()) {
      if (FaultExplains()) return;  // An injected error, reported as an error: fine.
      return Fail(FailureKind::kReadError,
                  what + " " + Show(cf) + "/" + Show(key) + ": expected " +
                      (expected ? Show(*expected) : std::string("NotFound")) + ", got " +
                      got.status().ToString());
    }
    const bool found = got.ok();
    if (found != expected.has_value() || (found && *got != *expected)) {
      Fail(FailureKind::kReadMismatch, what + " " + Show(cf) + "/" + Show(key) + ": expected " +
                                           (expected ? Show(*expected) : std::string("NotFound")) +
                                           ", got " +
                                           (found ? Show(*got) : std::string("NotFound")));
    }
  }

  void DoGet(const WorkloadOp& op, const Snapshot* snapshot, const State& state) {
    ReadOptions read;
    read.snapshot = snapshot;
    auto got = Engine([&] { return db_->Get(read, op.cf, op.key); });
    CompareGet(snapshot ? "snapshot get" : "get", op.cf, op.key, got, state.Get(op.cf, op.key));
  }

  // Whether NewIterator's outcome `status` is what the model says for column family `cf_name`
  // (`cf`, null when it does not exist), so the caller may go on reading. A NotFound for a missing
  // column family, or an error a fault explains, ends the operation quietly; anything else fails
  // the run.
  bool IteratorOpenedAsModelSays(const std::string& cf_name, const Status& status,
                                 const model::KeyMap* cf) {
    if (!status.ok()) {
      if ((cf == nullptr && status.IsNotFound()) || FaultExplains()) return false;
      Fail(FailureKind::kReadError,
           "NewIterator(" + Show(cf_name) + "): expected " +
               (cf == nullptr ? "NotFound (no such column family)" : "OK") + ", got " +
               status.ToString());
      return false;
    }
    if (cf == nullptr) {
      Fail(FailureKind::kReadMismatch,
           "NewIterator(" + Show(cf_name) + "): expected NotFound (no such column family), got OK");
      return false;
    }
    return true;
  }

  void DoScan(const WorkloadOp& op, const Snapshot* snapshot, const State& state) {
    ReadOptions read;
    read.snapshot = snapshot;
    if (!op.lower.empty()) read.lower_bound = op.lower;
    if (!op.upper.empty()) read.upper_bound = op.upper;
    auto it = Engine([&] { return db_->NewIterator(read, op.cf); });
    const model::KeyMap* cf = state.Find(op.cf);
    if (!IteratorOpenedAsModelSays(op.cf, it.status(), cf)) return;
    Entries got;
    Engine([&] {
      Iterator& iter = **it;
      op.reverse ? iter.SeekForPrev(op.key) : iter.Seek(op.key);
      const size_t limit = op.limit == 0 ? SIZE_MAX : op.limit;
      while (iter.Valid() && got.size() < limit) {
        got.emplace_back(std::string(iter.key()), std::string(iter.value()));
        op.reverse ? iter.Prev() : iter.Next();
      }
      return 0;
    });
    if (!(*it)->status().ok()) {
      if (FaultExplains()) return;
      return Fail(FailureKind::kReadError,
                  "scan of " + Show(op.cf) + ": expected OK, got " + (*it)->status().ToString());
    }
    CompareScan(op, got, ExpectedScan(*cf, op));
  }

  void CompareScan(const WorkloadOp& op, const Entries& got, const Entries& expected) {
    result_.stats.reads_checked += got.size() + 1;
    for (size_t i = 0; i < std::max(got.size(), expected.size()); ++i) {
      if (i < got.size() && i < expected.size() && got[i] == expected[i]) continue;
      std::string g = i < got.size() ? Show(got[i].first) + "=" + Show(got[i].second) : "end";
      std::string e =
          i < expected.size() ? Show(expected[i].first) + "=" + Show(expected[i].second) : "end";
      return Fail(FailureKind::kReadMismatch,
                  std::string(op.reverse ? "reverse " : "") + "scan of " + Show(op.cf) + " entry " +
                      std::to_string(i) + ": expected " + e + ", got " + g);
    }
  }

  struct HeldSnapshot {
    std::shared_ptr<const Snapshot> engine;
    uint64_t model_id = 0;
  };

  void DoTakeSnapshot(const WorkloadOp& op) {
    ReleaseSnapshot(op.snapshot_slot);
    HeldSnapshot& held = snapshots_[op.snapshot_slot];
    held.engine = db_->GetSnapshot();
    held.model_id = model_.TakeSnapshot();
  }

  void DoReadSnapshot(const WorkloadOp& op) {
    HeldSnapshot& held = snapshots_[op.snapshot_slot];
    if (held.engine == nullptr) return;
    const State& state = model_.SnapshotState(held.model_id);
    DoGet(op, held.engine.get(), state);
    if (result_.passed) DoScan(op, held.engine.get(), state);
  }

  void ReleaseSnapshot(uint32_t slot) {
    HeldSnapshot& held = snapshots_[slot];
    if (held.engine == nullptr) return;
    held.engine.reset();
    model_.ReleaseSnapshot(held.model_id);
  }

  // An iterator kept open across operations: whatever commits happen meanwhile, it must go on
  // returning exactly the entries of the state it was opened on (I4).
  struct HeldIterator {
    std::unique_ptr<Iterator> engine;
    std::string cf;
    bool reverse = false;
    Entries expected;  // Every entry it must return, from its first position.
    size_t next = 0;   // Entries returned so far.
  };

  void DoOpenIterator(const WorkloadOp& op) {
    iterators_[op.snapshot_slot] = HeldIterator{};
    ReadOptions read;
    if (!op.lower.empty()) read.lower_bound = op.lower;
    if (!op.upper.empty()) read.upper_bound = op.upper;
    auto it = Engine([&] { return db_->NewIterator(read, op.cf); });
    const model::KeyMap* cf = model_.Visible().Find(op.cf);
    if (!IteratorOpenedAsModelSays(op.cf, it.status(), cf)) return;
    Engine([&] {
      op.reverse ? (*it)->SeekForPrev(op.key) : (*it)->Seek(op.key);
      return 0;
    });
    if (!(*it)->Valid() && !(*it)->status().ok()) {
      if (FaultExplains()) return;  // An injected error while positioning: not kept.
      return Fail(FailureKind::kReadError, "kept iterator on " + Show(op.cf) +
                                               ": expected OK, got " + (*it)->status().ToString());
    }
    WorkloadOp all = op;
    all.limit = 0;
    iterators_[op.snapshot_slot] =
        HeldIterator{std::move(it).value(), op.cf, op.reverse, ExpectedScan(*cf, all), 0};
  }

  void DoStepIterator(const WorkloadOp& op) {
    HeldIterator& held = iterators_[op.snapshot_slot];
    if (held.engine == nullptr) return;
    Iterator& iter = *held.engine;
    for (uint32_t i = 0; i < op.limit; ++i) {
      ++result_.stats.reads_checked;
      if (!iter.Valid()) {
        if (!iter.status().ok()) {
          if (FaultExplains()) return ReleaseIterator(op.snapshot_slot);
          return Fail(FailureKind::kReadError, "kept iterator on " + Show(held.cf) +
                                                   ": expected OK, got " +
                                                   iter.status().ToString());
        }
        if (held.next != held.expected.size()) {
          return Fail(FailureKind::kReadMismatch,
                      "kept iterator on " + Show(held.cf) + " entry " + std::to_string(held.next) +
                          ": expected " + Show(held.expected[held.next].first) + "=" +
                          Show(held.expected[held.next].second) + " (its snapshot holds " +
                          std::to_string(held.expected.size()) + " entries), got the end");
        }
        return ReleaseIterator(op.snapshot_slot);
      }
      if (held.next >= held.expected.size() || iter.key() != held.expected[held.next].first ||
          iter.value() != held.expected[held.next].second) {
        const std::string expected =
            held.next < held.expected.size()
                ? Show(held.expected[held.next].first) + "=" + Show(held.expected[held.next].second)
                : "the end";
        return Fail(FailureKind::kReadMismatch, "kept iterator on " + Show(held.cf) + " entry " +
                                                    std::to_string(held.next) + ": expected " +
                                                    expected + ", got " + Show(iter.key()) + "=" +
                                                    Show(iter.value()));
      }
      ++held.next;
      Engine([&] {
        held.reverse ? iter.Prev() : iter.Next();
        return 0;
      });
      // An injected error on this move is judged now, while this step's faults are known.
      if (!iter.Valid() && !iter.status().ok() && FaultExplains()) {
        return ReleaseIterator(op.snapshot_slot);
      }
    }
  }

  void ReleaseIterator(uint32_t slot) { iterators_[slot] = HeldIterator{}; }

  void ReleaseAll() {
    for (uint32_t slot = 0; slot < kSnapshotSlots; ++slot) {
      ReleaseSnapshot(slot);
      ReleaseIterator(slot);
    }
  }

  void DoColumnFamily(const WorkloadOp& op) {
    model::Commit commit = op.kind == OpKind::kCreateCf ? model::Commit::CreateCf(op.cf)
                                                        : model::Commit::DropCf(op.cf);
    commit.name = OpName(op);
    const StatusCode expected = ExpectedError(commit);
    const uint64_t id = model_.BeginCommit(commit);
    Status status = Engine([&] {
      return op.kind == OpKind::kCreateCf ? db_->CreateColumnFamily(op.cf)
                                          : db_->DropColumnFamily(op.cf);
    });
    EndWrite(id, status, expected);
  }

  // --- Crash, reopen and recovery checks ----------------------------------------------------

  // `after_failure`: the engine reported a failed write (it refuses writes until reopened).
  void Reopen(bool after_failure = false) {
    ReleaseAll();
    const uint64_t faults_before = FsFaultCount();
    db_.reset();  // Runs the final checkpoint.
    if (fs_.crashed()) return Recover("during the close");
    ++result_.stats.reopens;
    // After a failure, or if a fault failed the close's checkpoint, commits that were not durable
    // may be gone, as after a crash (their log write may be what failed): the log holds every
    // durable one.
    const bool lossy = after_failure || FsFaultCount() != faults_before;
    OpenAndCheck(lossy ? "reopen after a failure" : "reopen",
                 lossy ? model::Reopen::kCrash : model::Reopen::kClean);
  }

  void Recover(const std::string& why) {
    ReleaseAll();
    db_.reset();
    ++result_.stats.crashes;
    Trace("power cut (" + why + "); restarting the file system");
    Status restarted = fs_.Restart();
    if (!restarted.ok())
      return Fail(FailureKind::kHarness, "SimFileSystem::Restart: " + restarted.ToString());
    DamageLogAtRest();
    if (!result_.passed) return;
    ++result_.stats.reopens;
    const bool damaged = segment_damage_;
    if (OpenAndCheck("recovery", model::Reopen::kCrash) && damaged) {
      ++result_.stats.segment_damage_harmless;
    }
    // The open checkpointed what it replayed and removed the old segments: the damage is gone.
    if (!stopped_) segment_damage_ = false;
  }

  // Deletes one log segment, or cuts one at a random offset, with the profile's probabilities
  // (faults::FaultOptions::segment_lost, segment_truncated): damage at rest, which the file
  // system makes durable at once (faults are off meanwhile). Recovery must then report
  // Corruption or recover a state the model accepts; a silent loss of an acknowledged commit is
  // a failure like any other.
  void DamageLogAtRest() {
    const faults::FaultOptions& f = config_.faults;
    const bool lose = f.segment_lost > 0 && fault_rng_.Unit() < f.segment_lost;
    const bool cut = !lose && f.segment_truncated > 0 && fault_rng_.Unit() < f.segment_truncated;
    if (!lose && !cut) return;
    const faults::FaultOptions saved = fs_.options();
    fs_.set_options(faults::FaultOptions());
    Status status = DamageOneSegment(lose);
    fs_.set_options(saved);
    if (!status.ok())
      Fail(FailureKind::kHarness, "damaging a log segment at rest: " + status.ToString());
  }

  Status DamageOneSegment(bool lose) {
    MANIFOLD_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListDir(kDbPath));
    std::vector<std::string> segments;
    for (const std::string& name : names) {
      uint64_t number = 0;
      if (wal::ParseSegmentFileName(name, &number)) segments.push_back(name);
    }
    if (segments.empty()) return Status::OK();
    std::sort(segments.begin(), segments.end());
    const std::string path =
        std::string(kDbPath) + "/" + segments[fault_rng_.Uniform(segments.size())];
    segment_damage_ = true;
    if (lose) {
      ++result_.stats.segments_lost;
      Trace("  at rest: delete " + path);
      MANIFOLD_RETURN_IF_ERROR(fs_.Remove(path));
      return fs_.SyncDir(kDbPath);
    }
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, fs_.OpenFile(path, OpenFileOptions{}));
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    const uint64_t cut_at = size == 0 ? 0 : fault_rng_.Uniform(size);
    ++result_.stats.segments_truncated;
    Trace("  at rest: truncate " + path + " from " + std::to_string(size) + " to " +
          std::to_string(cut_at) + " bytes");
    MANIFOLD_RETURN_IF_ERROR(file->Truncate(cut_at));
    return file->Sync();
  }

  // Opens the database (retrying through injected errors and crashes during recovery), reads
  // its whole state and asks the model whether that state is legal.
  bool OpenAndCheck(const std::string& what, model::Reopen kind) {
    Status last;  // The last attempt's error, for the report.
    for (int attempt = 0; attempt < kOpenAttemptsMax; ++attempt) {
      fs_faults_at_step_ = FsFaultCount();
      faults_this_op_ = 0;
      auto db = Engine([&] { return DB::Open(options_, kDbPath); });
      if (db.ok() && fs_.crashed()) {
        // The power went after the open had done its work (writing the info log, which the open
        // does not wait for): what the open found is moot, as after any crash.
        Trace("  open: OK, but the power went during it (info log)");
        // Closing after a power cut can only fail, and what it says is moot too.
        (void)Engine([&] {
          db->reset();
          return Status::OK();
        });
        ++result_.stats.crashes;
        Status restarted = fs_.Restart();
        if (!restarted.ok()) break;
        continue;
      }
      if (db.ok()) {
        db_ = std::move(db).value();
        fs_faults_at_open_ = FsFaultCount();
        faults_since_open_ = 0;
        return CheckRecoveredState(what, kind);
      }
      Trace("  open: " + db.status().ToString());
      last = db.status();
      if (DamageDetected(db.status())) return false;
      if (fs_.crashed()) {
        ++result_.stats.crashes;
        Status restarted = fs_.Restart();
        if (!restarted.ok()) break;
        continue;
      }
      if (!FaultExplains()) {
        Fail(FailureKind::kOpen,
             what + ": DB::Open: expected OK (no injected fault explains an error), got " +
                 db.status().ToString());
        return false;
      }
    }
    Fail(FailureKind::kOpen, OpenKeptFailing(what, last));
    return false;
  }

  // Reads every column family in full. An injected read error restarts the scan where it
  // stopped (a fresh iterator seeks past the last key read), so progress survives a high error
  // rate; a persistent error is returned.
  StatusOr<StateMap> ReadWholeState() {
    StateMap state;
    const VersionPtrHolder snapshot{db_->GetSnapshot()};
    ReadOptions read;
    read.snapshot = snapshot.get();
    int errors = 0, corruptions = 0;
    for (const std::string& cf : db_->ListColumnFamilies()) {
      model::KeyMap& entries = state[cf];
      std::optional<std::string> last;
      for (;;) {
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
        // Corruption that survives the engine's own re-read and three more attempts is on disk.
        if (iter.status().IsCorruption() && ++corruptions > 3) return iter.status();
        if (++errors > kReadAttemptsMax || !FaultExplains()) {
          return iter.status().WithContext("after " + std::to_string(errors) + " read errors");
        }
      }
    }
    return state;
  }

  bool CheckRecoveredState(const std::string& what, model::Reopen kind) {
    fs_faults_at_step_ = FsFaultCount();
    StatusOr<StateMap> state = Engine([&] { return ReadWholeState(); });
    if (!state.ok()) {
      if (!DamageDetected(state.status())) {
        Fail(FailureKind::kRecoveryRead,
             what + ": reading the recovered state: expected OK, got " + state.status().ToString());
      }
      return false;
    }
    ++result_.stats.recoveries_checked;
    // The engine's sequence number must match the prefix too: it tells apart prefixes whose
    // states are equal (an uncertain commit that changed no entry).
    const uint64_t engine_sequence = db_->GetStats().sequence;
    model::CrashVerdict verdict = model_.CheckRecovered(*state, kind, engine_sequence);
    if (!verdict.legal) {
      Fail(verdict.sequence_only ? FailureKind::kRecoveredSequence : FailureKind::kRecoveredState,
           what + ": illegal recovered state: " + verdict.explanation);
      return false;
    }
    if (engine_sequence != verdict.matched_sequence) {
      Fail(FailureKind::kRecoveredSequence,
           what + ": recovered sequence number: expected " +
               std::to_string(verdict.matched_sequence) + " (the state after " +
               (verdict.matched_last_id == 0 ? std::string("no commit")
                                             : model_.CommitName(verdict.matched_last_id)) +
               "), got " + std::to_string(engine_sequence));
      return false;
    }
    Trace("  " + what + " OK: state after " +
          (verdict.matched_last_id == 0 ? std::string("no commit")
                                        : model_.CommitName(verdict.matched_last_id)) +
          " (sequence " + std::to_string(verdict.matched_sequence) + ")");
    return true;
  }

  // A misdirected write can destroy a committed page for good. The engine must then report
  // Corruption rather than return data; when it does, the run ends here as a detection (nothing
  // after it could be compared with the model).
  bool DamageDetected(const Status& status) {
    if (!status.IsCorruption()) return false;
    if (segment_damage_) {
      ++result_.stats.segment_damage_detected;
      stopped_ = true;
      Trace("  log damage at rest detected: " + status.ToString());
      return true;
    }
    if (fs_.counters().misdirected == 0) return false;
    ++result_.stats.damage_detected;
    stopped_ = true;
    Trace("  storage damage detected after a misdirected write: " + status.ToString());
    return true;
  }

  void Finish() {
    current_op_ = -1;
    ReleaseAll();
    const uint64_t faults_before = FsFaultCount();
    db_.reset();  // Runs the final checkpoint, which a fault or a power cut may interrupt.
    model::Reopen kind = model::Reopen::kClean;
    if (fs_.crashed()) {
      ++result_.stats.crashes;
      Trace("power cut (during the final close); restarting the file system");
      Status restarted = fs_.Restart();
      if (!restarted.ok())
        return Fail(FailureKind::kHarness, "SimFileSystem::Restart: " + restarted.ToString());
      kind = model::Reopen::kCrash;
    } else if (FsFaultCount() != faults_before) {
      kind = model::Reopen::kCrash;
    }
    if (!OpenAndCheck("final reopen", kind)) return;
    IntegrityReport report;
    Status verified = Engine([&] { return db_->VerifyIntegrity(&report); });
    if (!verified.ok() && fs_.counters().misdirected == 0 && !FaultExplains()) {
      Fail(FailureKind::kIntegrity, "VerifyIntegrity: expected OK, got " + verified.ToString());
    }
    db_.reset();
  }

  // The liveness phase (sim/liveness.h), in a scheduled run of its own: the workload ran outside
  // the scheduler. Skipped after a misdirected write (data may be lost for good).
  void CheckLiveness() {
    if (fs_.counters().misdirected > 0) return;
    LivenessSetup setup{&fs_, options_, kDbPath, this, [this](const std::string& l) { Trace(l); }};
    setup.options.file_system = &fs_;
    LivenessPhase phase(std::move(setup));
    std::string detail;
    const std::string failure = phase.RunScheduled(config_.seed, &detail);
    if (!failure.empty()) {
      Fail(FailureKind::kLiveness, failure);
      result_.kind_detail = detail;
      return;
    }
    ++result_.stats.liveness_checked;
    result_.stats.liveness_writes += phase.writes();
  }

  const RunConfig& config_;
  SimClock clock_;
  SimFileSystem fs_;
  TurnstileFileSystem turnstile_{&fs_};
  Rng fault_rng_;
  Options options_;
  model::Model model_;
  std::unique_ptr<DB> db_;
  std::array<HeldSnapshot, kSnapshotSlots> snapshots_;
  std::array<HeldIterator, kSnapshotSlots> iterators_;
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
};

}  // namespace

bool ConfigureProfile(const std::string& profile, RunConfig* config, std::string* error) {
  StatusOr<faults::FaultOptions> options = faults::FaultProfile(profile);
  if (!options.ok()) {
    *error = options.status().message();
    return false;
  }
  config->profile = profile;
  config->faults = *options;
  // Engine fault points fire in the profiles that inject errors.
  config->fault_point_probability = profile == "storage" ? 0.002 : profile == "chaos" ? 0.01 : 0;
  return true;
}

void RunStats::Add(const RunStats& o) {
  ops += o.ops;
  commits_acknowledged += o.commits_acknowledged;
  commits_refused += o.commits_refused;
  commits_uncertain += o.commits_uncertain;
  reads_checked += o.reads_checked;
  crashes += o.crashes;
  reopens += o.reopens;
  recoveries_checked += o.recoveries_checked;
  fault_points_fired += o.fault_points_fired;
  damage_detected += o.damage_detected;
  segments_lost += o.segments_lost;
  segments_truncated += o.segments_truncated;
  segment_damage_detected += o.segment_damage_detected;
  segment_damage_harmless += o.segment_damage_harmless;
  fs_eio += o.fs_eio;
  fs_enospc += o.fs_enospc;
  fs_bit_flips += o.fs_bit_flips;
  fs_misdirected += o.fs_misdirected;
  fs_delayed_syncs += o.fs_delayed_syncs;
  fs_sectors_lost += o.fs_sectors_lost;
  fs_sectors_torn += o.fs_sectors_torn;
  fs_dir_ops_undone += o.fs_dir_ops_undone;
  liveness_checked += o.liveness_checked;
  liveness_writes += o.liveness_writes;
}

const char* FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kNone:
      return "none";
    case FailureKind::kReadMismatch:
      return "read-mismatch";
    case FailureKind::kReadError:
      return "read-error";
    case FailureKind::kWriteAccepted:
      return "write-accepted";
    case FailureKind::kWriteError:
      return "write-error";
    case FailureKind::kRecoveredState:
      return "recovered-state";
    case FailureKind::kRecoveredSequence:
      return "recovered-sequence";
    case FailureKind::kRecoveryRead:
      return "recovery-read";
    case FailureKind::kOpen:
      return "open";
    case FailureKind::kIntegrity:
      return "integrity";
    case FailureKind::kHistory:
      return "history";
    case FailureKind::kScheduler:
      return "scheduler";
    case FailureKind::kLiveness:
      return "liveness";
    case FailureKind::kHarness:
      return "harness";
  }
  return "unknown";
}

std::string RunResult::Signature() const {
  if (passed) return "";
  std::string signature = FailureKindName(kind);
  if (!kind_detail.empty()) signature += ": " + kind_detail;
  return signature;
}

RunResult RunWorkload(const RunConfig& config, const std::vector<WorkloadOp>& ops) {
  Run run(config);
  return run.Execute(ops);
}

namespace {

// A failed MANIFOLD_CHECK on a thread of a scheduled run ends that run as a reported failure (the
// seed fails with the check's text and a replay command) instead of aborting the whole sweep.
// Elsewhere (the sequential workload, which runs outside the scheduler) the default applies:
// print and abort.
void CheckFailedInRun(const char* condition, const char* message, const char* file, int line) {
  if (!port::sched::InRun()) return;  // check::Failed then prints and aborts.
  port::sched::Fail(std::string("MANIFOLD_CHECK(") + condition + ") failed: " + message + " (" +
                    file + ":" + std::to_string(line) + ")");
}

}  // namespace

RunResult RunSeed(const RunConfig& config) {
  static const bool handler_installed = [] {
    check::SetFailureHandler(&CheckFailedInRun);
    return true;
  }();
  (void)handler_installed;
  if (config.workload_kind == WorkloadKind::kConcurrent) {
    if (!ConcurrentWorkloadAvailable()) {
      RunResult result;
      result.passed = false;
      result.kind = FailureKind::kHarness;
      result.failure =
          "concurrent workload unavailable: this build's engine is not on the scheduled port "
          "layer (build with --define=manifold_sim_scheduler=1, or use --workload sequential)";
      return result;
    }
    return RunConcurrentSeed(config);
  }
  return RunWorkload(config, GenerateWorkload(config.seed, config.workload));
}

bool ParseWorkloadKind(const std::string& name, WorkloadKind* kind) {
  if (name == "sequential") {
    *kind = WorkloadKind::kSequential;
  } else if (name == "concurrent") {
    *kind = WorkloadKind::kConcurrent;
  } else {
    return false;
  }
  return true;
}

const char* WorkloadKindName(WorkloadKind kind) {
  return kind == WorkloadKind::kSequential ? "sequential" : "concurrent";
}

bool ConcurrentWorkloadAvailable() {
#if MANIFOLD_SIM_SCHEDULER
  return true;
#else
  return false;
#endif
}

std::string ReplayCommand(const RunConfig& config) {
  std::string cmd = "./bazelw run //sim -- --seed " + std::to_string(config.seed) + " --ops " +
                    std::to_string(config.workload.ops) + " --faults " + config.profile +
                    " --page-bytes " + std::to_string(config.workload.page_bytes);
  if (!config.skip_ops.empty()) {
    // Name whichever list is shorter: the operations left out, or those kept.
    std::string skip, keep;
    for (uint32_t index = 0; index < config.workload.ops; ++index) {
      std::string& list = config.skip_ops.count(index) > 0 ? skip : keep;
      list += (list.empty() ? "" : ",") + std::to_string(index);
    }
    cmd += config.skip_ops.size() * 2 <= config.workload.ops ? " --skip-ops " + skip
                                                             : " --keep-ops " + keep;
  }
  if (!config.zeroed_faults.empty()) {
    std::string zeroed;
    for (const std::string& name : config.zeroed_faults)
      zeroed += (zeroed.empty() ? "" : ",") + name;
    cmd += " --zero-faults " + zeroed;
  }
  if (!config.planted_bug.empty()) cmd += " --plant-bug " + config.planted_bug;
  if (!config.liveness) cmd += " --no-liveness";
  cmd += std::string(" --workload ") + WorkloadKindName(config.workload_kind);
  if (config.workload_kind == WorkloadKind::kConcurrent) {
    if (config.has_replay_schedule) {
      cmd += " --replay-schedule '" + FormatSchedule(config.replay_schedule) + "'";
    } else {
      cmd += " --schedule " + config.schedule;
      if (config.schedule == "pct") cmd += " --pct-depth " + std::to_string(config.pct_depth);
    }
    if (!config.skip_threads.empty()) {
      std::string threads;
      for (uint32_t t : config.skip_threads) {
        threads += (threads.empty() ? "" : ",") + std::to_string(t);
      }
      cmd += " --skip-threads " + threads;
    }
  }
  return cmd + " --trace";
}

std::vector<std::string> PlantedBugNames() {
  std::vector<std::string> names;
  for (std::string_view name : kPlantedBugs) {
    names.emplace_back(name.substr(name.rfind('/') + 1));
  }
  return names;
}

bool PlantedBugsCompiledIn() { return kPlantedBugsCompiledIn; }

}  // namespace manifold::sim
