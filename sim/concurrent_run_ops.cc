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
  // The pin was held across whatever ran since: other threads' commits, checkpoints merging
  // and freeing the page it points into, cache evictions.
  CheckHeldPins(w, false);
  if (failed()) return;
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
      // A third of the scans turn round part way (Prev after Next and back, SeekToLast and
      // SeekToFirst at the ends), the rest read one way.
      if (op.index % 3 == 2) return DoTurningScan(w, op, 0, nullptr);
      return DoScan(w, op, 0, nullptr);
    case OpKind::kTakeSnapshot:
      return DoTakeSnapshot(w, op);
    case OpKind::kReadSnapshot: {
      HeldSnapshot& held = w.snapshots[op.snapshot_slot];
      if (held.engine == nullptr) return;
      DoGet(w, op, held.view, held.engine.get());
      if (failed()) return;
      if (op.index % 3 == 2) return DoTurningScan(w, op, held.view, held.engine.get());
      return DoScan(w, op, held.view, held.engine.get());
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
    const ColumnFamilyHandle* handle = HandleFor(op, m.cf);
    if (handle != nullptr) {
      m.kind == model::Op::kPut ? batch.Put(*handle, m.key, m.value) : batch.Delete(*handle, m.key);
    } else {
      m.kind == model::Op::kPut ? batch.Put(m.cf, m.key, m.value) : batch.Delete(m.cf, m.key);
    }
  }
  uint64_t sequence = 0;
  WriteOptions write;
  write.sync = op.sync;
  write.assigned_sequence = &sequence;
  const model::Op& first = event.commit.commit.ops[0];
  const ColumnFamilyHandle* handle = HandleFor(op, first.cf);
  event.invoke_step = port::sched::CurrentStep();
  Status status;
  if (op.kind == OpKind::kPut) {
    status = handle ? db_->Put(write, *handle, first.key, first.value)
                    : db_->Put(write, first.cf, first.key, first.value);
  } else if (op.kind == OpKind::kDelete) {
    status =
        handle ? db_->Delete(write, *handle, first.key) : db_->Delete(write, first.cf, first.key);
  } else {
    status = db_->Write(write, batch);
  }
  event.return_step = port::sched::CurrentStep();
  if (sequence != 0) event.commit.sequence = sequence;
  if (!ClassifyCommit(&event, status, op.sync)) return;
  Trace(CommitLine(event, status));
  Record(std::move(event));
  if (status.ok()) ReadBack(w, op);
}

void ConcurrentRun::ReadBack(Worker& w, const WorkloadOp& op) {
  WorkloadOp get;
  get.kind = OpKind::kGet;
  get.index = op.index;
  get.cf = op.writes[0].cf;
  get.key = op.writes[0].key;
  DoGet(w, get, 0, nullptr, /*pinned=*/true);
}

void ConcurrentRun::DoTransaction(Worker& w, const WorkloadOp& op) {
  HistoryEvent event = CommitEvent(w, op);
  event.invoke_step = port::sched::CurrentStep();
  const ColumnFamilyHandle* handle = HandleFor(op, op.cf);
  auto txn = handle ? db_->BeginTransaction(*handle) : db_->BeginTransaction(op.cf);
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

void ConcurrentRun::CheckHeldPins(Worker& w, bool release) {
  for (Worker::HeldPin& pin : w.pins) {
    if (!failed() && pin.value.pinned() && pin.value.value() != pin.expected) {
      Fail(FailureKind::kReadMismatch,
           "pinned value of " + pin.what + " changed while pinned (I43): was " +
               Show(pin.expected) + ", now " + Show(std::string(pin.value.value())));
    }
    if (release) pin.value.Reset();
  }
}

void ConcurrentRun::DoGet(Worker& w, const WorkloadOp& op, uint32_t view, const Snapshot* snapshot,
                          bool pinned) {
  ReadOptions read;
  read.snapshot = snapshot;
  // Half the gets are DB::GetPinned (by name: it has no handle overload), the others Get, by
  // handle or by name.
  pinned = pinned || op.index % 2 == 1;
  const ColumnFamilyHandle* handle = pinned ? nullptr : HandleFor(op, op.cf);
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kRead;
  event.thread = w.number;
  event.view = view;
  event.description = std::string(view ? "snapshot " : "") + (pinned ? "pinned " : "") + "get " +
                      Show(op.cf) + "/" + Show(op.key) + (handle ? " by handle" : "");
  PinnableValue pin;
  event.invoke_step = port::sched::CurrentStep();
  StatusOr<std::string> got = Status::OK();
  if (pinned) {
    Status status = db_->GetPinned(read, op.cf, op.key, &pin);
    got = status.ok() ? StatusOr<std::string>(std::string(pin.value()))
                      : StatusOr<std::string>(status);
  } else {
    got = handle ? db_->Get(read, *handle, op.key) : db_->Get(read, op.cf, op.key);
  }
  event.return_step = port::sched::CurrentStep();
  Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) + " -> " +
        (got.ok() ? Show(*got) : got.status().ToString()));
  if (!CfExists(op.cf)) return;  // Not judged: the engine's answer for a missing cf.
  if (!got.ok() && !got.status().IsNotFound()) {
    (void)ReadError(op.index, event.description, got.status());
    return;
  }
  if (!got.ok() && pin.size() != 0) {
    return Fail(FailureKind::kReadMismatch, "op #" + std::to_string(op.index) + " " +
                                                event.description +
                                                ": NotFound left the PinnableValue non-empty");
  }
  event.read.kind = HistoryRead::kGet;
  event.read.cf = op.cf;
  event.read.key = op.key;
  if (got.ok()) event.read.value = *got;
  if (got.ok() && pin.pinned()) {
    // Kept until a later pinned get takes its slot (checked before each of the thread's ops).
    Worker::HeldPin& held = w.pins[op.index % kSnapshotSlots];
    held.what = "op #" + std::to_string(op.index) + " " + Show(op.cf) + "/" + Show(op.key);
    held.expected = *got;
    held.value = std::move(pin);
  }
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

std::unique_ptr<Iterator> ConcurrentRun::OpenScanIterator(const WorkloadOp& op,
                                                          const Snapshot* snapshot,
                                                          uint64_t* invoke_step) {
  ReadOptions read;
  read.snapshot = snapshot;
  read.lower_bound = Bound(op.lower);
  read.upper_bound = Bound(op.upper);
  const ColumnFamilyHandle* handle = HandleFor(op, op.cf);
  *invoke_step = port::sched::CurrentStep();
  auto it = handle ? db_->NewIterator(read, *handle) : db_->NewIterator(read, op.cf);
  if (!it.ok()) {
    if (it.status().IsNotFound() && !CfExists(op.cf)) return nullptr;
    (void)ReadError(op.index, "NewIterator(" + Show(op.cf) + ")", it.status());
    return nullptr;
  }
  if (!CfExists(op.cf)) return nullptr;
  return std::move(*it);
}

void ConcurrentRun::DoScan(Worker& w, const WorkloadOp& op, uint32_t view,
                           const Snapshot* snapshot) {
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kRead;
  event.thread = w.number;
  event.view = view;
  event.description = std::string(view ? "snapshot " : "") + (op.reverse ? "reverse " : "") +
                      "scan " + Show(op.cf) + " from " + Show(op.key);
  std::unique_ptr<Iterator> it = OpenScanIterator(op, snapshot, &event.invoke_step);
  if (it == nullptr) return;
  Iterator& iter = *it;
  op.reverse ? iter.SeekForPrev(op.key) : iter.Seek(op.key);
  ReadEntries(iter, op.reverse, op.limit == 0 ? SIZE_MAX : op.limit, &event.read.entries);
  const Status status = iter.status();
  it.reset();
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
  const ColumnFamilyHandle* handle = HandleFor(op, op.cf);
  event.invoke_step = port::sched::CurrentStep();
  auto it = handle ? db_->NewIterator(read, *handle) : db_->NewIterator(read, op.cf);
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

void ConcurrentRun::ReadEntries(Iterator& iter, bool reverse, size_t limit, model::Entries* out) {
  while (iter.Valid() && out->size() < limit) {
    out->emplace_back(std::string(iter.key()), std::string(iter.value()));
    reverse ? iter.Prev() : iter.Next();
  }
}

namespace {

// Turns `iter` round for a scan the other way (`reverse`: the new direction) and sets `spec`'s
// start: one step back from the entry it sits on (whose key is then the exclusive start), or,
// past an end, the far end of the new direction (SeekToLast / SeekToFirst; no start).
void TurnRound(Iterator& iter, bool reverse, model::ScanSpec* spec) {
  spec->reverse = reverse;
  if (iter.Valid()) {
    spec->start = std::string(iter.key());
    spec->start_inclusive = false;
    reverse ? iter.Prev() : iter.Next();
    return;
  }
  spec->start = std::nullopt;
  spec->start_inclusive = true;
  reverse ? iter.SeekToLast() : iter.SeekToFirst();
}

}  // namespace

void ConcurrentRun::DoTurningScan(Worker& w, const WorkloadOp& op, uint32_t view,
                                  const Snapshot* snapshot) {
  const std::string what = std::string(view ? "snapshot " : "") + "turning scan " + Show(op.cf);
  uint64_t invoke = 0;
  std::unique_ptr<Iterator> it = OpenScanIterator(op, snapshot, &invoke);
  const uint64_t opened = port::sched::CurrentStep();
  if (it == nullptr) return;
  Iterator& iter = *it;
  if (view == 0) {
    // Both parts read one state: the iterator's, fixed when it was created.
    HistoryEvent open;
    open.id = op.index;
    open.kind = HistoryEvent::kIterator;
    open.thread = w.number;
    open.invoke_step = invoke;
    open.return_step = opened;
    open.view = view = next_view_++;
    open.description = "iterator view " + std::to_string(view) + " of a turning scan";
    Record(std::move(open));
  }
  // Part one starts at the seek target, or (every other such scan) at an end.
  model::ScanSpec spec = Spec(op);
  if ((op.index / 3) % 2 == 1) {
    spec.start = std::nullopt;
    op.reverse ? iter.SeekToLast() : iter.SeekToFirst();
  } else {
    op.reverse ? iter.SeekForPrev(op.key) : iter.Seek(op.key);
  }
  spec.limit = op.limit != 0 ? op.limit : 1 + (op.index / 6) % 8;
  for (int part = 0; part < 2; ++part) {
    HistoryEvent event;
    event.id = op.index;
    event.kind = HistoryEvent::kRead;
    event.thread = w.number;
    event.view = view;
    event.read.kind = HistoryRead::kScan;
    event.read.cf = op.cf;
    event.read.scan = spec;
    event.description = what + (part == 0 ? " from " + Show(op.key) : " turned round") +
                        (spec.reverse ? " reverse" : "");
    event.invoke_step = port::sched::CurrentStep();
    ReadEntries(iter, spec.reverse, spec.limit, &event.read.entries);
    event.return_step = port::sched::CurrentStep();
    Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) +
          " -> " + std::to_string(event.read.entries.size()) + " entries " +
          iter.status().ToString());
    if (!iter.status().ok()) {
      (void)ReadError(op.index, event.description, iter.status());
      return;
    }
    Record(std::move(event));
    if (part == 0) {
      TurnRound(iter, !spec.reverse, &spec);
      spec.limit += 2;
    }
  }
}

void ConcurrentRun::DoStepIterator(Worker& w, const WorkloadOp& op) {
  HeldIterator& held = w.iterators[op.snapshot_slot];
  // Half the steps turn the kept iterator round first (an ended one from the far end).
  const bool turn = op.index % 2 == 1;
  if (held.engine == nullptr || (held.ended && !turn)) return;
  Iterator& iter = *held.engine;
  HistoryEvent event;
  event.id = op.index;
  event.kind = HistoryEvent::kRead;
  event.thread = w.number;
  event.view = held.view;
  event.read.kind = HistoryRead::kScan;
  event.read.cf = held.open.cf;
  event.description =
      std::string(turn ? "turn and " : "") + "step iterator view " + std::to_string(held.view);
  event.invoke_step = port::sched::CurrentStep();
  if (turn) {
    model::ScanSpec turned = Spec(held.open);
    TurnRound(iter, !held.open.reverse, &turned);
    held.open.reverse = turned.reverse;
    held.last = turned.start;
    held.from_end = !turned.start.has_value();
    held.ended = false;
  }
  event.read.scan = Spec(held.open);
  if (held.last) {
    event.read.scan.start = held.last;
    event.read.scan.start_inclusive = false;
  } else if (held.from_end) {
    event.read.scan.start = std::nullopt;
  }
  event.read.scan.limit = op.limit;
  // The iterator sits on the next entry to return (positioned by the open or the last step).
  ReadEntries(iter, held.open.reverse, op.limit, &event.read.entries);
  event.return_step = port::sched::CurrentStep();
  Trace(Line(w.number, event.id, event.invoke_step, event.return_step, event.description) + " -> " +
        std::to_string(event.read.entries.size()) + " entries");
  if (!iter.Valid() && !iter.status().ok()) {
    (void)ReadError(op.index, "kept iterator on " + Show(held.open.cf), iter.status());
    held = HeldIterator{};
    return;
  }
  if (!event.read.entries.empty()) {
    held.last = event.read.entries.back().first;
    held.from_end = false;
  }
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
