#include <algorithm>

#include "model/history.h"
#include "sim/report_text.h"
#include "sim/sequential_run.h"

namespace manifold::sim {
namespace {

using Entries = model::Entries;

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

}  // namespace

void SequentialRun::CheckTransactionRead(
    Transaction& txn, const WorkloadOp& op,
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

void SequentialRun::CompareGet(const std::string& what, const std::string& cf,
                               const std::string& key, const StatusOr<std::string>& got,
                               const std::optional<std::string>& expected) {
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
                                         ", got " + (found ? Show(*got) : std::string("NotFound")));
  }
}

void SequentialRun::CheckHeldPin() {
  if (held_pin_.pinned() && held_pin_.value() != held_pin_expected_) {
    Fail(FailureKind::kReadMismatch,
         "pinned value of " + held_pin_what_ + " changed while pinned (I43): was " +
             Show(held_pin_expected_) + ", now " + Show(std::string(held_pin_.value())));
  }
  held_pin_.Reset();
}

void SequentialRun::DoGet(const WorkloadOp& op, const Snapshot* snapshot, const State& state) {
  ReadOptions read;
  read.snapshot = snapshot;
  CheckHeldPin();
  const std::optional<std::string> expected = state.Get(op.cf, op.key);
  if (++gets_ % 2 == 0) {
    // At a snapshot, by name only: a handle is of the column family `op.cf` names now, which may
    // be a newer one than the snapshot holds under that name.
    const ColumnFamilyHandle* handle = snapshot == nullptr ? HandleFor(op, op.cf) : nullptr;
    auto got = Engine(
        [&] { return handle ? db_->Get(read, *handle, op.key) : db_->Get(read, op.cf, op.key); });
    CompareGet(snapshot ? "snapshot get" : "get", op.cf, op.key, got, expected);
    return;
  }
  PinnableValue pinned;
  const Status status = Engine([&] { return db_->GetPinned(read, op.cf, op.key, &pinned); });
  StatusOr<std::string> got = status.ok() ? StatusOr<std::string>(std::string(pinned.value()))
                                          : StatusOr<std::string>(status);
  CompareGet(snapshot ? "snapshot pinned get" : "pinned get", op.cf, op.key, got, expected);
  if (status.ok() && pinned.pinned()) {
    held_pin_what_ = Show(op.cf) + "/" + Show(op.key);
    held_pin_expected_ = *got;
    held_pin_ = std::move(pinned);
  }
}

void SequentialRun::PinnedGet(const std::string& what, const std::string& cf,
                              const std::string& key, const Snapshot* snapshot,
                              const std::optional<std::string>& expected) {
  ReadOptions read;
  read.snapshot = snapshot;
  PinnableValue pinned;
  const Status status = Engine([&] { return db_->GetPinned(read, cf, key, &pinned); });
  StatusOr<std::string> got = status.ok() ? StatusOr<std::string>(std::string(pinned.value()))
                                          : StatusOr<std::string>(status);
  CompareGet(what, cf, key, got, expected);
}

void SequentialRun::ReadBack(const WorkloadOp& op) {
  if (!result_.passed || stopped_ || db_ == nullptr || op.writes.empty() || FaultExplains()) {
    return;
  }
  const KeyOp& last = op.writes.back();
  const std::string& cf = op.kind == OpKind::kTransaction ? op.cf : last.cf;
  if (!model_.HasColumnFamily(cf)) return;
  PinnedGet("pinned get of the key just written", cf, last.key, nullptr,
            model_.Visible().Get(cf, last.key));
  for (uint32_t slot = 0; slot < kSnapshotSlots && result_.passed; ++slot) {
    const HeldSnapshot& held = snapshots_[slot];
    if (held.engine == nullptr) continue;
    const State& state = model_.SnapshotState(held.model_id);
    // A column family dropped and created again since the snapshot: the snapshot reads the old
    // one by name, as DoGet does.
    if (state.Find(cf) == nullptr) continue;
    PinnedGet("snapshot pinned get (slot " + std::to_string(slot) + ") of a key written since", cf,
              last.key, held.engine.get(), state.Get(cf, last.key));
  }
}

bool SequentialRun::IteratorOpenedAsModelSays(const std::string& cf_name, const Status& status,
                                              const model::KeyMap* cf) {
  if (!status.ok()) {
    if ((cf == nullptr && status.IsNotFound()) || FaultExplains()) return false;
    Fail(FailureKind::kReadError, "NewIterator(" + Show(cf_name) + "): expected " +
                                      (cf == nullptr ? "NotFound (no such column family)" : "OK") +
                                      ", got " + status.ToString());
    return false;
  }
  if (cf == nullptr) {
    Fail(FailureKind::kReadMismatch,
         "NewIterator(" + Show(cf_name) + "): expected NotFound (no such column family), got OK");
    return false;
  }
  return true;
}

std::unique_ptr<Iterator> SequentialRun::OpenScanIterator(const WorkloadOp& op,
                                                          const Snapshot* snapshot,
                                                          const State& state,
                                                          const model::KeyMap** cf) {
  ReadOptions read;
  read.snapshot = snapshot;
  if (!op.lower.empty()) read.lower_bound = op.lower;
  if (!op.upper.empty()) read.upper_bound = op.upper;
  const ColumnFamilyHandle* handle = snapshot == nullptr ? HandleFor(op, op.cf) : nullptr;
  auto it = Engine(
      [&] { return handle ? db_->NewIterator(read, *handle) : db_->NewIterator(read, op.cf); });
  *cf = state.Find(op.cf);
  if (!IteratorOpenedAsModelSays(op.cf, it.status(), *cf)) return nullptr;
  return std::move(*it);
}

void SequentialRun::DoScan(const WorkloadOp& op, const Snapshot* snapshot, const State& state) {
  const model::KeyMap* cf = nullptr;
  std::unique_ptr<Iterator> it = OpenScanIterator(op, snapshot, state, &cf);
  if (it == nullptr) return;
  Entries got;
  Engine([&] {
    Iterator& iter = *it;
    op.reverse ? iter.SeekForPrev(op.key) : iter.Seek(op.key);
    const size_t limit = op.limit == 0 ? SIZE_MAX : op.limit;
    while (iter.Valid() && got.size() < limit) {
      got.emplace_back(std::string(iter.key()), std::string(iter.value()));
      op.reverse ? iter.Prev() : iter.Next();
    }
    return 0;
  });
  if (!it->status().ok()) {
    if (FaultExplains()) return;
    return Fail(FailureKind::kReadError,
                "scan of " + Show(op.cf) + ": expected OK, got " + it->status().ToString());
  }
  CompareScan(op, got, ExpectedScan(*cf, op));
}

void SequentialRun::DoTurningScan(const WorkloadOp& op, const Snapshot* snapshot,
                                  const State& state) {
  const model::KeyMap* cf = nullptr;
  std::unique_ptr<Iterator> it = OpenScanIterator(op, snapshot, state, &cf);
  if (it == nullptr) return;
  Iterator& iter = *it;
  model::ScanSpec spec;
  spec.reverse = op.reverse;
  if (!op.lower.empty()) spec.lower = op.lower;
  if (!op.upper.empty()) spec.upper = op.upper;
  spec.limit = op.limit != 0 ? op.limit : 1 + (op.index / 6) % 8;
  // Every other one starts at an end (SeekToFirst / SeekToLast), the others at the target.
  const bool from_end = (op.index / 3) % 2 == 1;
  if (!from_end) spec.start = op.key;
  Engine([&] {
    if (from_end) {
      op.reverse ? iter.SeekToLast() : iter.SeekToFirst();
    } else {
      op.reverse ? iter.SeekForPrev(op.key) : iter.Seek(op.key);
    }
    return 0;
  });
  for (int part = 0; part < 2 && result_.passed; ++part) {
    Entries got;
    Engine([&] {
      while (iter.Valid() && got.size() < spec.limit) {
        got.emplace_back(std::string(iter.key()), std::string(iter.value()));
        spec.reverse ? iter.Prev() : iter.Next();
      }
      return 0;
    });
    if (!iter.status().ok()) {
      if (FaultExplains()) return;
      return Fail(FailureKind::kReadError, "turning scan of " + Show(op.cf) +
                                               ": expected OK, got " + iter.status().ToString());
    }
    WorkloadOp shown = op;
    shown.reverse = spec.reverse;
    CompareScan(shown, got, model::ApplyScan(*cf, spec));
    if (part == 1) break;
    // Turn round: one step back from the entry it sits on, or from the far end past an end.
    spec.reverse = !spec.reverse;
    spec.limit += 2;
    Engine([&] {
      if (iter.Valid()) {
        spec.start = std::string(iter.key());
        spec.start_inclusive = false;
        spec.reverse ? iter.Prev() : iter.Next();
      } else {
        spec.start = std::nullopt;
        spec.start_inclusive = true;
        spec.reverse ? iter.SeekToLast() : iter.SeekToFirst();
      }
      return 0;
    });
  }
}

void SequentialRun::CompareScan(const WorkloadOp& op, const Entries& got, const Entries& expected) {
  result_.stats.reads_checked += got.size() + 1;
  for (size_t i = 0; i < std::max(got.size(), expected.size()); ++i) {
    if (i < got.size() && i < expected.size() && got[i] == expected[i]) continue;
    std::string g = i < got.size() ? Show(got[i].first) + "=" + Show(got[i].second) : "end";
    std::string e =
        i < expected.size() ? Show(expected[i].first) + "=" + Show(expected[i].second) : "end";
    return Fail(FailureKind::kReadMismatch, std::string(op.reverse ? "reverse " : "") + "scan of " +
                                                Show(op.cf) + " entry " + std::to_string(i) +
                                                ": expected " + e + ", got " + g);
  }
}

void SequentialRun::DoTakeSnapshot(const WorkloadOp& op) {
  ReleaseSnapshot(op.snapshot_slot);
  HeldSnapshot& held = snapshots_[op.snapshot_slot];
  held.engine = db_->GetSnapshot();
  held.model_id = model_.TakeSnapshot();
}

void SequentialRun::DoReadSnapshot(const WorkloadOp& op) {
  HeldSnapshot& held = snapshots_[op.snapshot_slot];
  if (held.engine == nullptr) return;
  const State& state = model_.SnapshotState(held.model_id);
  DoGet(op, held.engine.get(), state);
  if (result_.passed) DoScan(op, held.engine.get(), state);
}

void SequentialRun::ReleaseSnapshot(uint32_t slot) {
  HeldSnapshot& held = snapshots_[slot];
  if (held.engine == nullptr) return;
  held.engine.reset();
  model_.ReleaseSnapshot(held.model_id);
}

void SequentialRun::DoOpenIterator(const WorkloadOp& op) {
  iterators_[op.snapshot_slot] = HeldIterator{};
  ReadOptions read;
  if (!op.lower.empty()) read.lower_bound = op.lower;
  if (!op.upper.empty()) read.upper_bound = op.upper;
  const ColumnFamilyHandle* handle = HandleFor(op, op.cf);
  auto it = Engine(
      [&] { return handle ? db_->NewIterator(read, *handle) : db_->NewIterator(read, op.cf); });
  const model::KeyMap* cf = model_.Visible().Find(op.cf);
  if (!IteratorOpenedAsModelSays(op.cf, it.status(), cf)) return;
  Engine([&] {
    op.reverse ? (*it)->SeekForPrev(op.key) : (*it)->Seek(op.key);
    return 0;
  });
  if (!(*it)->Valid() && !(*it)->status().ok()) {
    if (FaultExplains()) return;  // An injected error while positioning: not kept.
    return Fail(FailureKind::kReadError, "kept iterator on " + Show(op.cf) + ": expected OK, got " +
                                             (*it)->status().ToString());
  }
  WorkloadOp all = op;
  all.limit = 0;
  iterators_[op.snapshot_slot] =
      HeldIterator{std::move(it).value(), op.cf, op.reverse, ExpectedScan(*cf, all), 0};
}

void SequentialRun::DoStepIterator(const WorkloadOp& op) {
  HeldIterator& held = iterators_[op.snapshot_slot];
  if (held.engine == nullptr) return;
  Iterator& iter = *held.engine;
  for (uint32_t i = 0; i < op.limit; ++i) {
    ++result_.stats.reads_checked;
    if (!iter.Valid()) {
      if (!iter.status().ok()) {
        if (FaultExplains()) return ReleaseIterator(op.snapshot_slot);
        return Fail(FailureKind::kReadError, "kept iterator on " + Show(held.cf) +
                                                 ": expected OK, got " + iter.status().ToString());
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

void SequentialRun::ReleaseAll() {
  ForgetHandles();
  for (uint32_t slot = 0; slot < kSnapshotSlots; ++slot) {
    ReleaseSnapshot(slot);
    ReleaseIterator(slot);
  }
}

}  // namespace manifold::sim
