#include "model/history.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <utility>

namespace manifold::model {

// ---- ApplyScan ----------------------------------------------------------------------------------

namespace {

// Calls visit(key, value) for each entry a scan of `cf` returns, in order, until it returns
// false or the scan ends.
template <typename Visit>
void VisitScan(const KeyMap& cf, const ScanSpec& spec, Visit visit) {
  size_t left = spec.limit == 0 ? std::numeric_limits<size_t>::max() : spec.limit;
  if (!spec.reverse) {
    KeyMap::const_iterator it = cf.begin();
    if (spec.start.has_value()) {
      it = spec.start_inclusive ? cf.lower_bound(*spec.start) : cf.upper_bound(*spec.start);
    }
    // Keys below the lower bound are invisible: the first visible key is at or above it.
    if (spec.lower.has_value() && it != cf.end() && it->first < *spec.lower) {
      it = cf.lower_bound(*spec.lower);
    }
    for (; it != cf.end() && left > 0; ++it, --left) {
      if (spec.upper.has_value() && it->first >= *spec.upper) break;
      if (!visit(it->first, it->second)) return;
    }
    return;
  }
  // Reverse: `it` is one past the first entry returned.
  KeyMap::const_iterator it = cf.end();
  if (spec.start.has_value()) {
    it = spec.start_inclusive ? cf.upper_bound(*spec.start) : cf.lower_bound(*spec.start);
  }
  if (spec.upper.has_value()) {
    const KeyMap::const_iterator u = cf.lower_bound(*spec.upper);
    if (u != cf.end() && (it == cf.end() || u->first < it->first)) it = u;
  }
  for (; it != cf.begin() && left > 0; --left) {
    --it;
    if (spec.lower.has_value() && it->first < *spec.lower) break;
    if (!visit(it->first, it->second)) return;
  }
}

// Whether a scan of `cf` returns exactly `want`; stops at the first difference.
bool ScanReturns(const KeyMap& cf, const ScanSpec& spec, const Entries& want) {
  size_t i = 0;
  bool same = true;
  VisitScan(cf, spec, [&](const std::string& key, const std::string& value) {
    same = i < want.size() && want[i].first == key && want[i].second == value;
    ++i;
    return same;
  });
  return same && i == want.size();
}

}  // namespace

Entries ApplyScan(const KeyMap& cf, const ScanSpec& spec) {
  Entries out;
  VisitScan(cf, spec, [&](const std::string& key, const std::string& value) {
    out.emplace_back(key, value);
    return true;
  });
  return out;
}

namespace {

// A state of the sequence order: column families shared between consecutive states unless a
// commit changed them (copy-on-write), so one state per sequence number costs only the column
// families each commit touches.
using CfPtr = std::shared_ptr<const KeyMap>;
using Snap = std::map<std::string, CfPtr, std::less<>>;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr size_t kListedMax = 8;  // Candidate states, differences, etc. named in a message.

bool Acknowledged(Outcome o) {
  return o == Outcome::kAcknowledgedDurable || o == Outcome::kAcknowledgedNonDurable;
}

std::string ValueText(const std::optional<std::string>& v) {
  return v.has_value() ? Printable(*v) : std::string("NotFound");
}

std::string EntriesText(const Entries& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i == 4) {
      out += ", ...";
      break;
    }
    if (i > 0) out += ", ";
    out += Printable(entries[i].first) + "=" + Printable(entries[i].second);
  }
  out +=
      "] (" + std::to_string(entries.size()) + " entr" + (entries.size() == 1 ? "y" : "ies") + ")";
  return out;
}

std::string ScanText(const ScanSpec& s) {
  std::string out = s.reverse ? "reverse scan" : "scan";
  if (s.start.has_value()) {
    out += std::string(" from ") + (s.start_inclusive ? "" : "after ") + Printable(*s.start);
  }
  if (s.lower.has_value()) out += " lower " + Printable(*s.lower);
  if (s.upper.has_value()) out += " upper " + Printable(*s.upper);
  if (s.limit != 0) out += " limit " + std::to_string(s.limit);
  return out;
}

std::string ReadText(const HistoryRead& r) {
  if (r.kind == HistoryRead::kGet) return "get '" + r.cf + "' " + Printable(r.key);
  return ScanText(r.scan) + " of '" + r.cf + "'";
}

std::string ObservedText(const HistoryRead& r) {
  if (r.cf_missing) return "column family " + Printable(r.cf) + " does not exist";
  return r.kind == HistoryRead::kGet ? ValueText(r.value) : EntriesText(r.entries);
}

// What one read returns from one state.
struct Result {
  bool cf_exists = false;
  std::optional<std::string> value;
  Entries entries;

  bool Matches(const HistoryRead& r) const {
    if (r.cf_missing || !cf_exists) return r.cf_missing == !cf_exists;
    return r.kind == HistoryRead::kGet ? value == r.value : entries == r.entries;
  }
  std::string Text(const HistoryRead& r) const {
    if (!cf_exists) return "no column family " + Printable(r.cf);
    return r.kind == HistoryRead::kGet ? ValueText(value) : EntriesText(entries);
  }
};

// `read` evaluated on column family `cf` (null: absent) with the first `overlay_n` of `overlay`
// applied on top (a transaction's own writes, all on `read.cf`).
Result Evaluate(const KeyMap* cf, const HistoryRead& read, const std::vector<Op>* overlay = nullptr,
                size_t overlay_n = 0) {
  Result r;
  r.cf_exists = cf != nullptr;
  if (cf == nullptr) return r;
  if (overlay == nullptr || overlay_n == 0) {
    if (read.kind == HistoryRead::kGet) {
      auto it = cf->find(read.key);
      if (it != cf->end()) r.value = it->second;
    } else {
      r.entries = ApplyScan(*cf, read.scan);
    }
    return r;
  }
  if (read.kind == HistoryRead::kGet) {
    auto it = cf->find(read.key);
    if (it != cf->end()) r.value = it->second;
    for (size_t i = 0; i < overlay_n; ++i) {
      const Op& op = (*overlay)[i];
      if (op.cf != read.cf || op.key != read.key) continue;
      r.value = op.kind == Op::kPut ? std::optional<std::string>(op.value) : std::nullopt;
    }
    return r;
  }
  KeyMap copy = *cf;
  for (size_t i = 0; i < overlay_n; ++i) {
    const Op& op = (*overlay)[i];
    if (op.cf != read.cf) continue;
    if (op.kind == Op::kPut) {
      copy[op.key] = op.value;
    } else {
      copy.erase(op.key);
    }
  }
  r.entries = ApplyScan(copy, read.scan);
  return r;
}

// Evaluate(...).Matches(read), without building a scan's entries when there is no overlay.
bool Explained(const KeyMap* cf, const HistoryRead& read, const std::vector<Op>* overlay,
               size_t overlay_n) {
  if (cf != nullptr && !read.cf_missing && read.kind == HistoryRead::kScan &&
      (overlay == nullptr || overlay_n == 0)) {
    return ScanReturns(*cf, read.scan, read.entries);
  }
  return Evaluate(cf, read, overlay, overlay_n).Matches(read);
}

const KeyMap* FindCf(const Snap& s, std::string_view cf) {
  auto it = s.find(cf);
  return it == s.end() ? nullptr : it->second.get();
}

// A commit of the sequence order.
struct Placed {
  uint64_t sequence = 0;
  const HistoryEvent* event = nullptr;
  bool inferred = false;  // Its sequence number was not recorded; the check gave it a gap.
};

class Checker {
 public:
  Checker(const History& h, const RecoveredState* r) : h_(h), recovered_(r) {}

  HistoryVerdict Run() {
    if (Validate() && Order() && Replay() && CheckViewsAndReads() && CheckMonotonic() &&
        CheckRecovery()) {
      verdict_.ok = true;
    }
    return verdict_;
  }

 private:
  bool Fail(const std::string& message) {
    verdict_.ok = false;
    verdict_.failure = message;
    return false;
  }

  std::string Name(const HistoryEvent& e) const {
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
  std::string StateName(uint64_t s) const {
    std::string out = "s=" + std::to_string(s);
    if (s == h_.base_sequence) return out + " (the base)";
    const Placed* p = AtSequence(s);
    if (p != nullptr) return out + " (after op #" + std::to_string(p->event->id) + ")";
    return out;
  }

  const Placed* AtSequence(uint64_t s) const {
    if (s <= h_.base_sequence || s > top_) return nullptr;
    const uint64_t i = s - h_.base_sequence - 1;
    return i < order_.size() ? &order_[i] : nullptr;
  }

  const Snap& StateAt(uint64_t s) const { return states_[s - h_.base_sequence]; }

  // ---- Validation -------------------------------------------------------------------------------
  bool Validate() {
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
  bool Order() {
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
        return Fail("history: sequence number used by two commits\n  " + Name(*it->second) +
                    "\n  " + Name(e));
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
        return Fail("history: real-time order contradicts the sequence order\n  " +
                    Name(*earliest) + "\n  returned before\n  " + Name(e) +
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
                    Name(*first_error) + "\n  returned an error, but the later\n  " +
                    Name(*p.event) +
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

  static bool Fits(const HistoryEvent& u, uint64_t g,
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
  std::pair<uint64_t, uint64_t> Window(uint64_t invoke, uint64_t ret) const {
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
  bool Replay() {
    Snap s;
    for (const auto& [cf, entries] : h_.base_state)
      s.emplace(cf, std::make_shared<KeyMap>(entries));
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

  // ---- (b), (c) Reads ---------------------------------------------------------------------------

  // Which states s in [lo, hi] explain `read`; `missing_as_empty` treats an absent column family
  // as empty. States sharing the column family's entries give the same answer, so each distinct
  // version of the column family is evaluated once: O(window) lookups plus one evaluation per
  // version, a scan compared entry by entry up to its first difference (no cap on the window:
  // it is at most the epoch's commits; 3,000 scans of 200 entries, each overlapping all of 300
  // commits, take about 0.2 s at -O1).
  std::vector<bool> Explains(const HistoryRead& read, uint64_t lo, uint64_t hi,
                             const std::vector<model::Op>* overlay = nullptr, size_t overlay_n = 0,
                             bool missing_as_empty = false) const {
    static const KeyMap kEmpty;
    std::vector<bool> out;
    const KeyMap* last = nullptr;
    bool last_valid = false, last_match = false;
    for (uint64_t s = lo; s <= hi; ++s) {
      const KeyMap* cf = FindCf(StateAt(s), read.cf);
      if (cf == nullptr && missing_as_empty) cf = &kEmpty;
      if (!last_valid || cf != last) {
        last = cf;
        last_valid = true;
        last_match = Explained(cf, read, overlay, overlay_n);
      }
      out.push_back(last_match);
    }
    return out;
  }

  // "  s=4 (after op #2): "x"" for each candidate state (at most kListedMax, then a count).
  std::string Candidates(const HistoryRead& read, uint64_t lo, uint64_t hi,
                         const std::vector<model::Op>* overlay = nullptr, size_t overlay_n = 0,
                         bool missing_as_empty = false) const {
    static const KeyMap kEmpty;
    std::string out;
    size_t listed = 0;
    for (uint64_t s = lo; s <= hi; ++s) {
      if (listed == kListedMax && s < hi) {
        out += "\n    ... (" + std::to_string(hi - s) + " more states)";
        s = hi;  // Always show the newest.
      }
      ++listed;
      const KeyMap* cf = FindCf(StateAt(s), read.cf);
      if (cf == nullptr && missing_as_empty) cf = &kEmpty;
      out += "\n    " + StateName(s) + ": " + Evaluate(cf, read, overlay, overlay_n).Text(read);
    }
    return out;
  }

  // The commits that set the window: the one at lo and those in (lo, hi + 1].
  std::string CommitsAround(uint64_t lo, uint64_t hi) const {
    std::string out = "\n  commits:";
    size_t listed = 0;
    for (uint64_t s = lo; s <= hi + 1; ++s) {
      const Placed* p = AtSequence(s);
      if (p == nullptr) continue;
      if (listed++ == kListedMax) {
        out += "\n    ...";
        break;
      }
      out += "\n    " + Name(*p->event) + (s > hi ? " (above the window)" : "");
    }
    return listed == 0 ? "" : out;
  }

  std::string WindowText(uint64_t lo, uint64_t hi) const {
    return "window [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  }

  bool CheckViewsAndReads() {
    // Reads per view, in history order.
    std::map<uint32_t, std::vector<const HistoryEvent*>> reads_of;
    for (const HistoryEvent& e : h_.events) {
      if (e.kind == HistoryEvent::kRead && e.view != 0) reads_of[e.view].push_back(&e);
    }
    for (const HistoryEvent& e : h_.events) {
      switch (e.kind) {
        case HistoryEvent::kRead:
          if (e.view == 0 && !CheckPlainRead(e)) return false;
          break;
        case HistoryEvent::kSnapshot:
          if (!CheckSnapshot(e, reads_of[e.view])) return false;
          break;
        case HistoryEvent::kIterator:
          if (!CheckIterator(e, reads_of[e.view])) return false;
          break;
        case HistoryEvent::kCommit:
          if (!e.commit.txn_reads.empty() && !CheckTransaction(e)) return false;
          break;
      }
    }
    return true;
  }

  // The visible window: not past a commit that returned an error (I19).
  std::pair<uint64_t, uint64_t> VisibleWindow(const HistoryEvent& e) const {
    auto [lo, hi] = Window(e.invoke_step, e.return_step);
    return {lo, std::min(hi, error_cap_)};
  }

  bool EmptyWindow(const HistoryEvent& e, uint64_t lo, uint64_t hi) {
    std::string why = "\n  " + Name(e) + "\n  " + WindowText(lo, hi);
    if (const Placed* p = AtSequence(lo)) why += "; lo from " + Name(*p->event);
    if (const Placed* p = AtSequence(hi + 1)) why += "; hi below " + Name(*p->event);
    return Fail("history: operation has an empty window" + why);
  }

  // Records a "now" observation (a plain read, a snapshot's or an iterator's creation) for the
  // real-time monotonicity check.
  void Observe(const HistoryEvent& e, uint64_t lo, const std::vector<bool>& ok) {
    Observation o{&e, {}};
    for (size_t i = 0; i < ok.size(); ++i) {
      if (ok[i]) o.candidates.push_back(lo + i);
    }
    observations_.push_back(std::move(o));
  }

  bool CheckPlainRead(const HistoryEvent& e) {
    ++verdict_.reads_checked;
    auto [lo, hi] = VisibleWindow(e);
    if (lo > hi) return EmptyWindow(e, lo, hi);
    const std::vector<bool> ok = Explains(e.read, lo, hi);
    if (std::find(ok.begin(), ok.end(), true) == ok.end()) {
      return Fail("history: read matches no state in its window\n  " + Name(e) + "\n  " +
                  ReadText(e.read) + ", " + WindowText(lo, hi) +
                  "\n  observed: " + ObservedText(e.read) +
                  "\n  states in the window:" + Candidates(e.read, lo, hi) + CommitsAround(lo, hi));
    }
    Observe(e, lo, ok);
    return true;
  }

  bool CheckSnapshot(const HistoryEvent& e, const std::vector<const HistoryEvent*>& reads) {
    auto [lo, hi] = VisibleWindow(e);
    const uint64_t s = e.snapshot_sequence;
    if (s < lo || s > hi) {
      return Fail("history: snapshot sequence outside its window\n  " + Name(e) + "\n  " +
                  WindowText(lo, hi) + ", snapshot sequence " + std::to_string(s));
    }
    Observe(e, s, {true});
    for (const HistoryEvent* r : reads) {
      ++verdict_.reads_checked;
      const Result got = Evaluate(FindCf(StateAt(s), r->read.cf), r->read);
      if (!got.Matches(r->read)) {
        return Fail("history: snapshot read differs from the state at its sequence\n  " + Name(e) +
                    "\n  " + Name(*r) + "\n  " + ReadText(r->read) + "\n  observed: " +
                    ObservedText(r->read) + "\n  " + StateName(s) + " holds: " + got.Text(r->read));
      }
    }
    return true;
  }

  bool CheckIterator(const HistoryEvent& e, const std::vector<const HistoryEvent*>& reads) {
    auto [lo, hi] = VisibleWindow(e);
    if (lo > hi) return EmptyWindow(e, lo, hi);
    std::vector<bool> all(hi - lo + 1, true);
    for (size_t k = 0; k < reads.size(); ++k) {
      const HistoryEvent* r = reads[k];
      ++verdict_.reads_checked;
      const std::vector<bool> ok = Explains(r->read, lo, hi);
      bool any = false;
      for (size_t i = 0; i < all.size(); ++i) {
        all[i] = all[i] && ok[i];
        any = any || all[i];
      }
      if (any) continue;
      std::string msg = "history: iterator reads match no single state in its window\n  " +
                        Name(e) + "\n  " + WindowText(lo, hi);
      for (size_t j = 0; j <= k; ++j) {
        msg += "\n  " + Name(*reads[j]) + "\n    " + ReadText(reads[j]->read) +
               "\n    observed: " + ObservedText(reads[j]->read) +
               "\n    states:" + Candidates(reads[j]->read, lo, hi);
      }
      return Fail(msg + CommitsAround(lo, hi));
    }
    Observe(e, lo, all);
    return true;
  }

  bool CheckTransaction(const HistoryEvent& e) {
    const HistoryCommit& c = e.commit;
    auto placed = placed_by_event_.find(&e);
    if (placed != placed_by_event_.end()) {
      // It held its column family from its begin to its commit (I7), so its reads are the
      // column family at c - 1 plus its own earlier writes.
      const uint64_t s = placed->second.sequence - 1;
      for (size_t i = 0; i < c.txn_reads.size(); ++i) {
        ++verdict_.reads_checked;
        const HistoryRead& r = c.txn_reads[i];
        const Result got =
            Evaluate(FindCf(StateAt(s), r.cf), r, &c.commit.ops, c.txn_read_after[i]);
        if (!got.Matches(r)) {
          return Fail("history: transaction read differs from the state before its commit\n  " +
                      Name(e) + "\n  read " + std::to_string(i) + " (after " +
                      std::to_string(c.txn_read_after[i]) + " of its writes): " + ReadText(r) +
                      "\n  observed: " + ObservedText(r) + "\n  " + StateName(s) +
                      " with its writes holds: " + got.Text(r));
        }
      }
      return true;
    }
    // Aborted or failed: one state from its begin to its end. Its base is the newest version in
    // commit order, which may hold commits not yet visible (even ones that later fail), so the
    // window is not cut at a failed commit. A failed-clean transaction may have read a column
    // family whose rolled-back creation is in no state (I26): an absent one counts as empty.
    auto [lo, hi] = Window(e.invoke_step, e.return_step);
    if (lo > hi) return EmptyWindow(e, lo, hi);
    const bool missing_as_empty = c.outcome == Outcome::kFailedClean;
    std::vector<bool> all(hi - lo + 1, true);
    for (size_t k = 0; k < c.txn_reads.size(); ++k) {
      ++verdict_.reads_checked;
      const std::vector<bool> ok =
          Explains(c.txn_reads[k], lo, hi, &c.commit.ops, c.txn_read_after[k], missing_as_empty);
      bool any = false;
      for (size_t i = 0; i < all.size(); ++i) {
        all[i] = all[i] && ok[i];
        any = any || all[i];
      }
      if (any) continue;
      std::string msg = "history: transaction reads match no single state in its window\n  " +
                        Name(e) + "\n  " + WindowText(lo, hi);
      for (size_t j = 0; j <= k; ++j) {
        msg += "\n  read " + std::to_string(j) + " (after " + std::to_string(c.txn_read_after[j]) +
               " of its writes): " + ReadText(c.txn_reads[j]) +
               "\n    observed: " + ObservedText(c.txn_reads[j]) + "\n    states:" +
               Candidates(c.txn_reads[j], lo, hi, &c.commit.ops, c.txn_read_after[j],
                          missing_as_empty);
      }
      return Fail(msg + CommitsAround(lo, hi));
    }
    return true;
  }

  // Linearizability across readers: an observation that returned before another was invoked
  // saw a state no newer than the other's. Greedy in invocation order, each takes the oldest
  // state it can; any legal choice is at least as new pointwise, so the greedy one fails only
  // when every choice does.
  bool CheckMonotonic() {
    std::vector<const Observation*> by_invoke, by_return;
    for (const Observation& o : observations_) {
      by_invoke.push_back(&o);
      by_return.push_back(&o);
    }
    std::stable_sort(by_invoke.begin(), by_invoke.end(), [](const auto* a, const auto* b) {
      return a->event->invoke_step < b->event->invoke_step;
    });
    std::stable_sort(by_return.begin(), by_return.end(), [](const auto* a, const auto* b) {
      return a->event->return_step < b->event->return_step;
    });
    std::map<const Observation*, uint64_t> chosen;
    size_t done = 0;
    uint64_t floor = 0;
    const Observation* floor_from = nullptr;
    for (const Observation* o : by_invoke) {
      while (done < by_return.size() &&
             by_return[done]->event->return_step < o->event->invoke_step) {
        const uint64_t c = chosen.at(by_return[done]);
        if (floor_from == nullptr || c > floor) {
          floor = c;
          floor_from = by_return[done];
        }
        ++done;
      }
      auto it = std::lower_bound(o->candidates.begin(), o->candidates.end(), floor);
      if (it == o->candidates.end()) {
        std::string states;
        for (size_t i = 0; i < o->candidates.size() && i < kListedMax; ++i) {
          states += (i > 0 ? ", " : "") + std::to_string(o->candidates[i]);
        }
        return Fail("history: reads go back in time\n  " + Name(*floor_from->event) +
                    "\n  returned before\n  " + Name(*o->event) +
                    "\n  was invoked, and the first saw no state older than s=" +
                    std::to_string(floor) + ", but the second matches only s in {" + states + "}");
      }
      chosen.emplace(o, *it);
    }
    return true;
  }

  // ---- (d) Recovery -----------------------------------------------------------------------------
  bool CheckRecovery() {
    if (recovered_ == nullptr) return true;
    const uint64_t r = recovered_->sequence;
    for (const Placed& p : order_) {
      const HistoryCommit& c = p.event->commit;
      const bool required = c.outcome == Outcome::kAcknowledgedDurable ||
                            (recovered_->clean_close && Acknowledged(c.outcome));
      if (required && p.sequence > r) {
        return Fail(std::string("history: recovery lost an acknowledged ") +
                    (recovered_->clean_close ? "commit after a clean close" : "durable commit") +
                    "\n  recovered sequence: expected at least " + std::to_string(p.sequence) +
                    " (its sequence), got " + std::to_string(r) + "\n  " + Name(*p.event));
      }
    }
    const Snap& expected = StateAt(r);
    std::vector<std::string> diffs;
    std::set<std::string> names;
    for (const auto& [cf, map] : expected) names.insert(cf);
    for (const auto& [cf, map] : recovered_->state) names.insert(cf);
    for (const std::string& cf : names) {
      const KeyMap* mine = FindCf(expected, cf);
      auto theirs_it = recovered_->state.find(cf);
      const KeyMap* theirs = theirs_it == recovered_->state.end() ? nullptr : &theirs_it->second;
      if ((mine == nullptr) != (theirs == nullptr)) {
        diffs.push_back("column family " + Printable(cf) + ": expected " +
                        (mine != nullptr ? "present" : "absent") + ", got " +
                        (theirs != nullptr ? "present" : "absent") + LastCfChange(cf));
        continue;
      }
      std::set<std::string> keys;
      for (const auto& kv : *mine) keys.insert(kv.first);
      for (const auto& kv : *theirs) keys.insert(kv.first);
      for (const std::string& key : keys) {
        auto a = mine->find(key);
        auto b = theirs->find(key);
        std::optional<std::string> x, y;
        if (a != mine->end()) x = a->second;
        if (b != theirs->end()) y = b->second;
        if (x == y) continue;
        diffs.push_back("column family " + Printable(cf) + " key " + Printable(key) +
                        ": expected " + ValueText(x) + ", got " + ValueText(y) +
                        Source(cf, key, y, r));
      }
    }
    if (diffs.empty()) return true;
    std::string msg =
        "history: recovered state is not the state at the recovered sequence\n  recovered "
        "sequence " +
        std::to_string(r) + " (" + StateName(r) + "), " + std::to_string(diffs.size()) +
        " difference" + (diffs.size() == 1 ? "" : "s") + ":";
    for (size_t i = 0; i < diffs.size() && i < kListedMax; ++i) msg += "\n  " + diffs[i];
    if (diffs.size() > kListedMax) {
      msg += "\n  ... (" + std::to_string(diffs.size() - kListedMax) + " more)";
    }
    return Fail(msg);
  }

  // Which commit of the order last wrote `value` (nullopt: absent) to the key, and whether it is
  // above the recovered sequence (a hole: a later commit present, an earlier one absent).
  std::string Source(const std::string& cf, const std::string& key,
                     const std::optional<std::string>& value, uint64_t r) const {
    for (size_t i = order_.size(); i-- > 0;) {
      const Commit& c = order_[i].event->commit.commit;
      if (c.kind != Commit::kBatch) continue;
      std::optional<std::optional<std::string>> left;
      for (const model::Op& op : c.ops) {
        if (op.cf == cf && op.key == key) {
          left = op.kind == model::Op::kPut ? std::optional<std::string>(op.value) : std::nullopt;
        }
      }
      if (left.has_value() && *left == value) {
        return std::string("\n    (written by ") + Name(*order_[i].event) +
               (order_[i].sequence > r ? ", above the recovered sequence)" : ")");
      }
    }
    for (const HistoryEvent& e : h_.events) {
      if (e.kind != HistoryEvent::kCommit || placed_by_event_.count(&e) != 0) continue;
      for (const model::Op& op : e.commit.commit.ops) {
        if (op.cf == cf && op.key == key && op.kind == model::Op::kPut && value == op.value) {
          return "\n    (written by " + Name(e) + ", which is not in the order)";
        }
      }
    }
    return "";
  }

  std::string LastCfChange(const std::string& cf) const {
    for (size_t i = order_.size(); i-- > 0;) {
      const Commit& c = order_[i].event->commit.commit;
      if (c.kind != Commit::kBatch && c.cf == cf) {
        return "\n    (last created or dropped by " + Name(*order_[i].event) + ")";
      }
    }
    return "";
  }

  struct Observation {
    const HistoryEvent* event;
    std::vector<uint64_t> candidates;  // Ascending.
  };

  const History& h_;
  const RecoveredState* recovered_;
  HistoryVerdict verdict_;
  std::map<uint32_t, const HistoryEvent*> views_;
  std::set<const HistoryEvent*> inferred_;
  std::vector<Placed> order_;  // order_[i] has sequence base + 1 + i.
  std::map<const HistoryEvent*, Placed> placed_by_event_;
  uint64_t top_ = 0;        // The highest sequence number of the order.
  uint64_t error_cap_ = 0;  // The highest number a read can see (below the first failed commit).
  std::vector<std::pair<uint64_t, uint64_t>> acked_by_return_;  // (return, prefix max sequence)
  std::vector<std::pair<uint64_t, uint64_t>> by_invoke_;        // (invoke, suffix min sequence)
  std::vector<Snap> states_;  // states_[i]: the state at base + i.
  std::vector<Observation> observations_;
};

}  // namespace

HistoryVerdict CheckHistory(const History& history, const RecoveredState* recovered) {
  return Checker(history, recovered).Run();
}

}  // namespace manifold::model
