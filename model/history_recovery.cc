// Check (d) of CheckHistory (history.h): the recovered state is the state at the recovered
// sequence number.
#include <set>

#include "model/history_checker.h"

namespace manifold::model::history_internal {

// ---- (d) Recovery -----------------------------------------------------------------------------
bool Checker::CheckRecovery() {
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
      diffs.push_back("column family " + Printable(cf) + " key " + Printable(key) + ": expected " +
                      ValueText(x) + ", got " + ValueText(y) + Source(cf, key, y, r));
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
std::string Checker::Source(const std::string& cf, const std::string& key,
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

std::string Checker::LastCfChange(const std::string& cf) const {
  for (size_t i = order_.size(); i-- > 0;) {
    const Commit& c = order_[i].event->commit.commit;
    if (c.kind != Commit::kBatch && c.cf == cf) {
      return "\n    (last created or dropped by " + Name(*order_[i].event) + ")";
    }
  }
  return "";
}

}  // namespace manifold::model::history_internal
