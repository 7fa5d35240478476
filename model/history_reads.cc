// Checks (b) and (c) of CheckHistory (history.h): reads outside and through views, and the
// real-time order among them.
#include <algorithm>
#include <map>

#include "model/history_checker.h"

namespace manifold::model::history_internal {

// Which states s in [lo, hi] explain `read`; `missing_as_empty` treats an absent column family
// as empty. States sharing the column family's entries give the same answer, so each distinct
// version of the column family is evaluated once: O(window) lookups plus one evaluation per
// version, a scan compared entry by entry up to its first difference (no cap on the window:
// it is at most the epoch's commits; 3,000 scans of 200 entries, each overlapping all of 300
// commits, take about 0.2 s at -O1).
std::vector<bool> Checker::Explains(const HistoryRead& read, uint64_t lo, uint64_t hi,
                                    const std::vector<model::Op>* overlay, size_t overlay_n,
                                    bool missing_as_empty) const {
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
std::string Checker::Candidates(const HistoryRead& read, uint64_t lo, uint64_t hi,
                                const std::vector<model::Op>* overlay, size_t overlay_n,
                                bool missing_as_empty) const {
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
std::string Checker::CommitsAround(uint64_t lo, uint64_t hi) const {
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

std::string Checker::WindowText(uint64_t lo, uint64_t hi) const {
  return "window [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

bool Checker::CheckViewsAndReads() {
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
std::pair<uint64_t, uint64_t> Checker::VisibleWindow(const HistoryEvent& e) const {
  auto [lo, hi] = Window(e.invoke_step, e.return_step);
  return {lo, std::min(hi, error_cap_)};
}

bool Checker::EmptyWindow(const HistoryEvent& e, uint64_t lo, uint64_t hi) {
  std::string why = "\n  " + Name(e) + "\n  " + WindowText(lo, hi);
  if (const Placed* p = AtSequence(lo)) why += "; lo from " + Name(*p->event);
  if (const Placed* p = AtSequence(hi + 1)) why += "; hi below " + Name(*p->event);
  return Fail("history: operation has an empty window" + why);
}

// Records a "now" observation (a plain read, a snapshot's or an iterator's creation) for the
// real-time monotonicity check.
void Checker::Observe(const HistoryEvent& e, uint64_t lo, const std::vector<bool>& ok) {
  Observation o{&e, {}};
  for (size_t i = 0; i < ok.size(); ++i) {
    if (ok[i]) o.candidates.push_back(lo + i);
  }
  observations_.push_back(std::move(o));
}

bool Checker::CheckPlainRead(const HistoryEvent& e) {
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

bool Checker::CheckSnapshot(const HistoryEvent& e, const std::vector<const HistoryEvent*>& reads) {
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

bool Checker::CheckIterator(const HistoryEvent& e, const std::vector<const HistoryEvent*>& reads) {
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
    std::string msg = "history: iterator reads match no single state in its window\n  " + Name(e) +
                      "\n  " + WindowText(lo, hi);
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

bool Checker::CheckTransaction(const HistoryEvent& e) {
  const HistoryCommit& c = e.commit;
  auto placed = placed_by_event_.find(&e);
  if (placed != placed_by_event_.end()) {
    // It held its column family from its begin to its commit (I7), so its reads are the
    // column family at c - 1 plus its own earlier writes.
    const uint64_t s = placed->second.sequence - 1;
    for (size_t i = 0; i < c.txn_reads.size(); ++i) {
      ++verdict_.reads_checked;
      const HistoryRead& r = c.txn_reads[i];
      const Result got = Evaluate(FindCf(StateAt(s), r.cf), r, &c.commit.ops, c.txn_read_after[i]);
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
      msg +=
          "\n  read " + std::to_string(j) + " (after " + std::to_string(c.txn_read_after[j]) +
          " of its writes): " + ReadText(c.txn_reads[j]) +
          "\n    observed: " + ObservedText(c.txn_reads[j]) + "\n    states:" +
          Candidates(c.txn_reads[j], lo, hi, &c.commit.ops, c.txn_read_after[j], missing_as_empty);
    }
    return Fail(msg + CommitsAround(lo, hi));
  }
  return true;
}

// Linearizability across readers: an observation that returned before another was invoked
// saw a state no newer than the other's. Greedy in invocation order, each takes the oldest
// state it can; any legal choice is at least as new pointwise, so the greedy one fails only
// when every choice does.
bool Checker::CheckMonotonic() {
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
    while (done < by_return.size() && by_return[done]->event->return_step < o->event->invoke_step) {
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

}  // namespace manifold::model::history_internal
