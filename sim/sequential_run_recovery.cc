#include <algorithm>
#include <optional>

#include "engine/wal/log_format.h"
#include "sim/liveness.h"
#include "sim/report_text.h"
#include "sim/run_bookkeeping.h"
#include "sim/sequential_run.h"

namespace manifold::sim {
namespace {}  // namespace

void SequentialRun::Reopen(bool after_failure) {
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

void SequentialRun::Recover(const std::string& why) {
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

void SequentialRun::DamageLogAtRest() {
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

Status SequentialRun::DamageOneSegment(bool lose) {
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

bool SequentialRun::OpenAndCheck(const std::string& what, model::Reopen kind) {
  Status last;  // The last attempt's error, for the report.
  std::optional<FaultPause> paused;
  for (int attempt = 0; attempt < kOpenAttemptsMax; ++attempt) {
    if (attempt == kOpenAttemptsFaultyMax) {
      paused.emplace(&fs_);
      Trace("  open: " + std::to_string(attempt) + " attempts failed; faults paused for the rest");
    }
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

StatusOr<SequentialRun::StateMap> SequentialRun::ReadWholeState() {
  return sim::ReadWholeState(
      db_.get(), [] {}, [this] { return FaultExplains(); });
}

bool SequentialRun::CheckRecoveredState(const std::string& what, model::Reopen kind) {
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

bool SequentialRun::DamageDetected(const Status& status) {
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

void SequentialRun::Finish() {
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

void SequentialRun::CheckLiveness() {
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

}  // namespace manifold::sim
