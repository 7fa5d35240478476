#include <algorithm>
#include <string>

#include "engine/port/sched.h"
#include "sim/concurrent_run.h"
#include "sim/report_text.h"

namespace manifold::sim {
namespace {
using model::HistoryRead;

std::optional<std::string> Bound(const std::string& key) {
  return key.empty() ? std::nullopt : std::optional<std::string>(key);
}

}  // namespace

void ConcurrentRun::DoOp(Worker& w, const WorkloadOp& op) {
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

model::Commit ConcurrentRun::ModelCommit(const WorkloadOp& op) const {
  std::vector<model::Op> ops;
  for (uint32_t i = 0; i < op.writes.size(); ++i) {
    const KeyOp& k = op.writes[i];
    ops.push_back(k.is_delete ? model::Op::Delete(k.cf, k.key)
                              : model::Op::Put(k.cf, k.key, ValueFor(op.index, i, k.value_bytes)));
  }
  return model::Commit::Batch(std::move(ops));
}

bool ConcurrentRun::TouchesMissingCf(const model::Commit& commit) const {
  for (const model::Op& m : commit.ops) {
    if (!CfExists(m.cf) && uncertain_cfs_.count(m.cf) == 0) return true;
  }
  return false;
}

bool ConcurrentRun::TouchesUncertainCf(const model::Commit& commit) const {
  for (const model::Op& m : commit.ops) {
    if (uncertain_cfs_.count(m.cf) > 0) return true;
  }
  return false;
}

bool ConcurrentRun::ClassifyCommit(HistoryEvent* event, const Status& status, bool sync) {
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
    Fail(FailureKind::kWriteError,
         "write op #" + std::to_string(event->id) + " " + event->description +
             ": expected OK (no injected fault explains an error), " + "got " + status.ToString());
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

std::string ConcurrentRun::CommitLine(const HistoryEvent& event, const Status& status) {
  std::string line =
      Line(event.thread, event.id, event.invoke_step, event.return_step, event.description) +
      " -> " + (status.ok() ? std::string("OK") : status.ToString());
  if (event.commit.sequence) line += " seq " + std::to_string(*event.commit.sequence);
  return line;
}

ConcurrentRun::HistoryEvent ConcurrentRun::CommitEvent(const Worker& w,
                                                       const WorkloadOp& op) const {
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kCommit;
  event.thread = w.number;
  event.commit.commit = ModelCommit(op);
  event.commit.sync = op.sync;
  event.description = op.What();
  return event;
}

void ConcurrentRun::DoWrite(Worker& w, const WorkloadOp& op) {
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
  event.invoke_step = port::sched::CurrentStep();
  Status status = op.kind == OpKind::kPut      ? db_->Put(write, first.cf, first.key, first.value)
                  : op.kind == OpKind::kDelete ? db_->Delete(write, first.cf, first.key)
                                               : db_->Write(write, batch);
  event.return_step = port::sched::CurrentStep();
  if (sequence != 0) event.commit.sequence = sequence;
  if (!ClassifyCommit(&event, status, op.sync)) return;
  Trace(CommitLine(event, status));
  Record(std::move(event));
}

void ConcurrentRun::DoTransaction(Worker& w, const WorkloadOp& op) {
  HistoryEvent event = CommitEvent(w, op);
  event.invoke_step = port::sched::CurrentStep();
  auto txn = db_->BeginTransaction(op.cf);
  if (!txn.ok()) {
    const uint64_t ret = port::sched::CurrentStep();
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
    Status status = m.kind == model::Op::kPut ? (*txn)->Put(m.key, m.value) : (*txn)->Delete(m.key);
    if (!status.ok()) {
      if (!FaultExplains()) {
        return Fail(FailureKind::kWriteError, op.Describe() + ": transaction write " + Show(m.cf) +
                                                  "/" + Show(m.key) + ": expected OK, got " +
                                                  status.ToString());
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
  event.return_step = port::sched::CurrentStep();
  if (sequence != 0) event.commit.sequence = sequence;
  if (!abandoned && op.commit && !ClassifyCommit(&event, status, op.sync)) return;
  Trace(CommitLine(event, status) + (op.commit ? "" : " (aborted)"));
  Record(std::move(event));
}

bool ConcurrentRun::ReadError(uint32_t op, const std::string& what, const Status& status) {
  if (FaultExplains()) return true;
  Fail(FailureKind::kReadError, "op #" + std::to_string(op) + " " + what +
                                    ": expected OK (no injected fault explains an error), got " +
                                    status.ToString());
  return false;
}

void ConcurrentRun::DoGet(Worker& w, const WorkloadOp& op, uint32_t view,
                          const Snapshot* snapshot) {
  ReadOptions read;
  read.snapshot = snapshot;
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kRead;
  event.thread = w.number;
  event.view = view;
  event.description =
      std::string(view ? "snapshot " : "") + "get " + Show(op.cf) + "/" + Show(op.key);
  event.invoke_step = port::sched::CurrentStep();
  auto got = db_->Get(read, op.cf, op.key);
  event.return_step = port::sched::CurrentStep();
  Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) + " -> " +
        (got.ok() ? Show(*got) : got.status().ToString()));
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

model::ScanSpec ConcurrentRun::Spec(const WorkloadOp& op) const {
  model::ScanSpec spec;
  spec.start = op.key;
  spec.reverse = op.reverse;
  spec.lower = Bound(op.lower);
  spec.upper = Bound(op.upper);
  spec.limit = op.limit;
  return spec;
}

void ConcurrentRun::DoScan(Worker& w, const WorkloadOp& op, uint32_t view,
                           const Snapshot* snapshot) {
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
  event.invoke_step = port::sched::CurrentStep();
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
  event.return_step = port::sched::CurrentStep();
  Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) + " -> " +
        std::to_string(event.read.entries.size()) + " entries " + status.ToString());
  if (!status.ok()) {
    (void)ReadError(op.index, event.description, status);
    return;
  }
  event.read.kind = HistoryRead::kScan;
  event.read.cf = op.cf;
  event.read.scan = Spec(op);
  Record(std::move(event));
}

void ConcurrentRun::DoTakeSnapshot(Worker& w, const WorkloadOp& op) {
  HeldSnapshot& held = w.snapshots[op.snapshot_slot];
  held.engine.reset();
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kSnapshot;
  event.thread = w.number;
  event.invoke_step = port::sched::CurrentStep();
  held.engine = db_->GetSnapshot();
  event.return_step = port::sched::CurrentStep();
  held.view = next_view_++;
  event.view = held.view;
  event.snapshot_sequence = held.engine->sequence();
  event.description = "snapshot view " + std::to_string(held.view);
  Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) + " at " +
        std::to_string(event.snapshot_sequence));
  Record(std::move(event));
}

void ConcurrentRun::DoOpenIterator(Worker& w, const WorkloadOp& op) {
  HeldIterator& held = w.iterators[op.snapshot_slot];
  held = HeldIterator{};
  ReadOptions read;
  read.lower_bound = Bound(op.lower);
  read.upper_bound = Bound(op.upper);
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kIterator;
  event.thread = w.number;
  event.invoke_step = port::sched::CurrentStep();
  auto it = db_->NewIterator(read, op.cf);
  event.return_step = port::sched::CurrentStep();
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

void ConcurrentRun::DoStepIterator(Worker& w, const WorkloadOp& op) {
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
  event.invoke_step = port::sched::CurrentStep();
  // The iterator sits on the next entry to return (positioned by the open or the last step).
  while (iter.Valid() && event.read.entries.size() < op.limit) {
    event.read.entries.emplace_back(std::string(iter.key()), std::string(iter.value()));
    held.open.reverse ? iter.Prev() : iter.Next();
  }
  event.return_step = port::sched::CurrentStep();
  Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) + " -> " +
        std::to_string(event.read.entries.size()) + " entries");
  if (!iter.Valid() && !iter.status().ok()) {
    (void)ReadError(op.index, "kept iterator on " + Show(held.open.cf), iter.status());
    held = HeldIterator{};
    return;
  }
  if (!event.read.entries.empty()) held.last = event.read.entries.back().first;
  held.ended = event.read.entries.size() < op.limit;
  Record(std::move(event));
}

void ConcurrentRun::DoCheckpoint(Worker& w, const WorkloadOp& op) {
  const uint64_t invoke = port::sched::CurrentStep();
  Status status = db_->Checkpoint();
  Trace(Line(w.number, op.index, invoke, port::sched::CurrentStep(), op.What()) + " -> " +
        status.ToString());
  if (status.ok() || status.IsBusy() || FaultExplains()) return;
  // A checkpoint writes: a write error, as in the sequential runner.
  Fail(FailureKind::kWriteError, "op #" + std::to_string(op.index) +
                                     " Checkpoint: expected OK (no injected fault explains an "
                                     "error), got " +
                                     status.ToString());
}

}  // namespace manifold::sim
