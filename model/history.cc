#include "model/history.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "model/history_checker.h"

namespace manifold::model {
namespace history_internal {

HistoryVerdict Checker::Run() {
  if (Validate() && Order() && Replay() && CheckViewsAndReads() && CheckMonotonic() &&
      CheckRecovery()) {
    verdict_.ok = true;
  }
  return verdict_;
}

bool Checker::Fail(const std::string& message) {
  verdict_.ok = false;
  verdict_.failure = message;
  return false;
}

std::string Checker::Name(const HistoryEvent& e) const {
  std::string out = "op #" + std::to_string(e.id) + " (thread " + std::to_string(e.thread) +
                    ", steps " + std::to_string(e.invoke_step) + ".." +
                    std::to_string(e.return_step) + "): " + e.description;
  if (e.kind == HistoryEvent::kCommit) {
    const HistoryCommit& c = e.commit;
    out += " [" + c.commit.Describe() + "; " + OutcomeName(c.outcome);
    if (!c.returned) out += ", never returned";
    out += c.sync ? ", sync" : ", no-sync";
    auto p = placed_by_event_.find(&e);
    if (p != placed_by_event_.end()) {
      out += ", sequence " + std::to_string(p->second.sequence);
      if (p->second.inferred) out += " (inferred)";
    } else if (c.sequence.has_value()) {
      out += ", sequence " + std::to_string(*c.sequence);
      if (c.outcome == Outcome::kFailedClean) out += " (not kept)";
    } else {
      out += ", no sequence";
    }
    out += "]";
  } else if (e.kind == HistoryEvent::kSnapshot) {
    out += " [snapshot view " + std::to_string(e.view) + ", sequence " +
           std::to_string(e.snapshot_sequence) + "]";
  } else if (e.kind == HistoryEvent::kIterator) {
    out += " [iterator view " + std::to_string(e.view) + "]";
  } else if (e.view != 0) {
    out += " [through view " + std::to_string(e.view) + "]";
  }
  return out;
}

// "s=7 (after op #5)" / "s=3 (the base)".
std::string Checker::StateName(uint64_t s) const {
  std::string out = "s=" + std::to_string(s);
  if (s == h_.base_sequence) return out + " (the base)";
  const Placed* p = AtSequence(s);
  if (p != nullptr) return out + " (after op #" + std::to_string(p->event->id) + ")";
  return out;
}

const Placed* Checker::AtSequence(uint64_t s) const {
  if (s <= h_.base_sequence || s > top_) return nullptr;
  const uint64_t i = s - h_.base_sequence - 1;
  return i < order_.size() ? &order_[i] : nullptr;
}

// ---- Validation -------------------------------------------------------------------------------
bool Checker::Validate() {
  std::set<uint32_t> ids;
  for (const HistoryEvent& e : h_.events) {
    auto bad = [&](const std::string& why) {
      return Fail("history: malformed event\n  " + Name(e) + ": " + why);
    };
    if (e.invoke_step > e.return_step) return bad("returns before it is invoked");
    if (e.kind == HistoryEvent::kCommit) {
      const HistoryCommit& c = e.commit;
      if (Acknowledged(c.outcome) && !c.returned) {
        return bad("acknowledged but never returned");
      }
      if (c.txn_reads.size() != c.txn_read_after.size()) {
        return bad("txn_reads and txn_read_after differ in length");
      }
      for (uint32_t after : c.txn_read_after) {
        if (after > c.commit.ops.size()) return bad("txn_read_after beyond the commit's ops");
      }
    } else if (e.kind == HistoryEvent::kSnapshot || e.kind == HistoryEvent::kIterator) {
      if (e.view == 0) return bad("a view must have a number other than 0");
      if (!views_.emplace(e.view, &e).second) return bad("view number opened twice");
    }
  }
  for (const HistoryEvent& e : h_.events) {
    if (e.kind == HistoryEvent::kRead && e.view != 0 && views_.count(e.view) == 0) {
      return Fail("history: malformed event\n  " + Name(e) + ": read through unknown view " +
                  std::to_string(e.view));
    }
  }
  if (recovered_ != nullptr && recovered_->sequence < h_.base_sequence) {
    return Fail(
        "history: recovered sequence below the base\n  recovered sequence: expected at "
        "least the base, " +
        std::to_string(h_.base_sequence) + ", got " + std::to_string(recovered_->sequence));
  }
  return true;
}

// ---- (a) The sequence order -------------------------------------------------------------------
bool Checker::Order() {
  std::map<uint64_t, const HistoryEvent*> kept;
  std::vector<const HistoryEvent*> unsequenced;
  for (const HistoryEvent& e : h_.events) {
    if (e.kind != HistoryEvent::kCommit) continue;
    const HistoryCommit& c = e.commit;
    // A failed-clean commit was undone (or never written); its number may be reused (I26).
    if (c.outcome == Outcome::kFailedClean) continue;
    if (!c.sequence.has_value()) {
      // A batch or transaction reports its number as soon as it takes one
      // (WriteOptions::assigned_sequence), so one without a number took none: an empty batch
      // acknowledged without one changes nothing, and one that returned an error failed
      // before taking one. Create and drop report no number, and a commit cut off may have
      // taken one unreported: those are placed into gaps below.
      const bool batch = c.commit.kind == Commit::kBatch;
      if (batch && c.returned && Acknowledged(c.outcome) && !c.commit.ops.empty()) {
        return Fail("history: malformed event\n  " + Name(e) +
                    ": an acknowledged non-empty batch or transaction without a sequence "
                    "number (record WriteOptions::assigned_sequence)");
      }
      if (!batch || !c.returned) unsequenced.push_back(&e);
      continue;
    }
    const uint64_t s = *c.sequence;
    if (s <= h_.base_sequence) {
      return Fail("history: sequence number not above the base\n  " + Name(e) +
                  "\n  expected a sequence above the base, " + std::to_string(h_.base_sequence) +
                  ", got " + std::to_string(s));
    }
    auto [it, inserted] = kept.emplace(s, &e);
    if (!inserted) {
      return Fail("history: sequence number used by two commits\n  " + Name(*it->second) + "\n  " +
                  Name(e));
    }
  }
  uint64_t top = kept.empty() ? h_.base_sequence : kept.rbegin()->first;
  if (recovered_ != nullptr) top = std::max(top, recovered_->sequence);

  // Commits whose number is unknown (CreateColumnFamily and DropColumnFamily report none; a
  // commit cut off may not have) fill the gaps, in real-time order: for each gap, ascending,
  // the fitting commit that must return first, acknowledged ones before uncertain ones.
  // A commit fits gap g when every kept commit that returned before it was invoked is below g
  // and every one invoked after it returned is above g.
  // Above the highest recorded number only commits that must have (acknowledged) or may
  // have (cut off) taken one go on, one number each, while they fit.
  std::vector<bool> used(unsequenced.size(), false);
  auto may_go_above = [&](size_t i) {
    return Acknowledged(unsequenced[i]->commit.outcome) || !unsequenced[i]->commit.returned;
  };
  for (uint64_t g = h_.base_sequence + 1; !unsequenced.empty(); ++g) {
    const bool above = g > top;
    if (above) {
      bool wanted = false;
      for (size_t i = 0; i < unsequenced.size(); ++i)
        wanted = wanted || (!used[i] && may_go_above(i));
      if (!wanted) break;
    }
    if (kept.count(g) != 0) continue;
    size_t best = unsequenced.size();
    for (size_t i = 0; i < unsequenced.size(); ++i) {
      if (used[i] || (above && !may_go_above(i)) || !Fits(*unsequenced[i], g, kept)) continue;
      if (best == unsequenced.size()) {
        best = i;
        continue;
      }
      const HistoryEvent& a = *unsequenced[i];
      const HistoryEvent& b = *unsequenced[best];
      const bool a_ack = Acknowledged(a.commit.outcome);
      const bool b_ack = Acknowledged(b.commit.outcome);
      if (a_ack != b_ack ? a_ack : a.return_step < b.return_step) best = i;
    }
    if (best == unsequenced.size()) {
      if (above) break;
      continue;
    }
    used[best] = true;
    kept.emplace(g, unsequenced[best]);
    inferred_.insert(unsequenced[best]);
  }
  for (size_t i = 0; i < unsequenced.size(); ++i) {
    if (!used[i] && Acknowledged(unsequenced[i]->commit.outcome)) {
      return Fail(
          "history: acknowledged commit has no place in the sequence order\n  " +
          Name(*unsequenced[i]) +
          "\n  it reported no sequence number and no free number fits its real-time window");
    }
  }

  // Gaps: a number below the top that no commit claims. Rolled-back (failed-clean) numbers are
  // reused by the next commit, so they leave none; a gap means a commit the history does not
  // know took effect (or the engine skipped a number).
  uint64_t expect = h_.base_sequence + 1;
  for (const auto& [s, e] : kept) {
    if (s != expect) {
      return Fail("history: gap in the sequence order\n  no commit of the history has sequence " +
                  std::to_string(expect) + (s > expect + 1 ? ".." + std::to_string(s - 1) : "") +
                  "; the next is " + Name(*e));
    }
    ++expect;
  }
  if (recovered_ != nullptr && recovered_->sequence >= expect) {
    return Fail(
        "history: recovered sequence beyond every commit of the history\n  recovered "
        "sequence: expected at most the highest commit's, " +
        std::to_string(expect - 1) + ", got " + std::to_string(recovered_->sequence));
  }
  top_ = expect - 1;
  for (const auto& [s, e] : kept) {
    order_.push_back(Placed{s, e, inferred_.count(e) != 0});
    placed_by_event_.emplace(e, order_.back());
  }
  verdict_.commits_ordered = order_.size();

  // Real time: a commit that returned before another was invoked has the smaller number. Walk
  // the order from the top keeping the earliest return among higher numbers.
  const HistoryEvent* earliest = nullptr;  // Among commits with higher numbers.
  for (size_t i = order_.size(); i-- > 0;) {
    const HistoryEvent& e = *order_[i].event;
    if (earliest != nullptr && earliest->return_step < e.invoke_step) {
      return Fail("history: real-time order contradicts the sequence order\n  " + Name(*earliest) +
                  "\n  returned before\n  " + Name(e) +
                  "\n  was invoked, but has the higher sequence number");
    }
    if (e.commit.returned && (earliest == nullptr || e.return_step < earliest->return_step)) {
      earliest = &e;
    }
  }

  // I8/I19: a commit that returned an error is never visible and nothing after it becomes
  // visible, so no later commit can be acknowledged.
  error_cap_ = top_;
  const HistoryEvent* first_error = nullptr;
  for (const Placed& p : order_) {
    const HistoryCommit& c = p.event->commit;
    if (first_error == nullptr && c.outcome == Outcome::kUncertain && c.returned) {
      first_error = p.event;
      error_cap_ = p.sequence - 1;
    } else if (first_error != nullptr && Acknowledged(c.outcome)) {
      return Fail("history: commit acknowledged after an earlier commit failed\n  " +
                  Name(*first_error) + "\n  returned an error, but the later\n  " + Name(*p.event) +
                  "\n  was acknowledged (I8, I19: it cannot be visible before the failed one)");
    }
  }

  // Lookup tables for windows.
  for (const Placed& p : order_) {
    const HistoryEvent& e = *p.event;
    if (Acknowledged(e.commit.outcome)) acked_by_return_.emplace_back(e.return_step, p.sequence);
    by_invoke_.emplace_back(e.invoke_step, p.sequence);
  }
  std::sort(acked_by_return_.begin(), acked_by_return_.end());
  for (size_t i = 1; i < acked_by_return_.size(); ++i) {
    acked_by_return_[i].second =
        std::max(acked_by_return_[i].second, acked_by_return_[i - 1].second);
  }
  std::sort(by_invoke_.begin(), by_invoke_.end());
  for (size_t i = by_invoke_.size(); i-- > 1;) {
    by_invoke_[i - 1].second = std::min(by_invoke_[i - 1].second, by_invoke_[i].second);
  }
  return true;
}

bool Checker::Fits(const HistoryEvent& u, uint64_t g,
                   const std::map<uint64_t, const HistoryEvent*>& kept) {
  for (const auto& [s, e] : kept) {
    if (e->commit.returned && e->return_step < u.invoke_step && s > g) return false;
    if (u.commit.returned && e->invoke_step > u.return_step && s < g) return false;
  }
  return true;
}

// The window of an operation invoked at `invoke` and returned at `ret`: lo is the highest
// number acknowledged before it was invoked, hi the highest number below every commit invoked
// after it returned.
std::pair<uint64_t, uint64_t> Checker::Window(uint64_t invoke, uint64_t ret) const {
  uint64_t lo = h_.base_sequence;
  auto a = std::lower_bound(acked_by_return_.begin(), acked_by_return_.end(),
                            std::make_pair(invoke, uint64_t{0}));
  if (a != acked_by_return_.begin()) lo = std::max(lo, std::prev(a)->second);
  uint64_t hi = top_;
  auto b = std::upper_bound(by_invoke_.begin(), by_invoke_.end(), std::make_pair(ret, kNever));
  if (b != by_invoke_.end()) hi = std::min(hi, b->second - 1);
  return {lo, hi};
}

// ---- The states of the order ------------------------------------------------------------------
bool Checker::Replay() {
  Snap s;
  for (const auto& [cf, entries] : h_.base_state) s.emplace(cf, std::make_shared<KeyMap>(entries));
  states_.push_back(s);
  for (const Placed& p : order_) {
    const Commit& c = p.event->commit.commit;
    auto invalid = [&](const std::string& why) {
      return Fail("history: commit invalid at its place in the sequence order\n  " +
                  Name(*p.event) + "\n  " + why + " in " + StateName(p.sequence - 1));
    };
    switch (c.kind) {
      case Commit::kBatch: {
        std::map<std::string, std::shared_ptr<KeyMap>> edited;
        for (const model::Op& op : c.ops) {
          auto it = s.find(op.cf);
          if (it == s.end())
            return invalid("column family " + Printable(op.cf) + " does not exist");
          auto& mine = edited[op.cf];
          if (mine == nullptr) mine = std::make_shared<KeyMap>(*it->second);
          if (op.kind == model::Op::kPut) {
            (*mine)[op.key] = op.value;
          } else {
            mine->erase(op.key);
          }
        }
        for (auto& [cf, map] : edited) s[cf] = std::move(map);
        break;
      }
      case Commit::kCreateCf:
        if (s.count(c.cf) != 0)
          return invalid("column family " + Printable(c.cf) + " already exists");
        s.emplace(c.cf, std::make_shared<KeyMap>());
        break;
      case Commit::kDropCf:
        if (s.count(c.cf) == 0)
          return invalid("column family " + Printable(c.cf) + " does not exist");
        if (c.cf == kDefaultCf) return invalid("the default column family cannot be dropped");
        s.erase(c.cf);
        break;
    }
    states_.push_back(s);
  }
  return true;
}

}  // namespace history_internal

HistoryVerdict CheckHistory(const History& history, const RecoveredState* recovered) {
  return history_internal::Checker(history, recovered).Run();
}

}  // namespace manifold::model
