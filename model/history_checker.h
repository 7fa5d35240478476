// Internal to //model:history: the checker behind CheckHistory (history.h) and the read
// evaluation it shares, split by concern: history.cc validates the history and builds the
// sequence order and its states (check (a)), history_reads.cc judges reads and views (checks
// (b) and (c)), history_recovery.cc the recovered state (check (d)), and history_eval.cc what a
// read returns from one state and how it is written in messages.
#ifndef MANIFOLD_MODEL_HISTORY_CHECKER_H_
#define MANIFOLD_MODEL_HISTORY_CHECKER_H_

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/history.h"

namespace manifold::model::history_internal {

// A state of the sequence order: column families shared between consecutive states unless a
// commit changed them (copy-on-write), so one state per sequence number costs only the column
// families each commit touches.
using CfPtr = std::shared_ptr<const KeyMap>;
using Snap = std::map<std::string, CfPtr, std::less<>>;

constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
constexpr size_t kListedMax = 8;  // Candidate states, differences, etc. named in a message.

inline bool Acknowledged(Outcome o) {
  return o == Outcome::kAcknowledgedDurable || o == Outcome::kAcknowledgedNonDurable;
}

std::string ValueText(const std::optional<std::string>& v);
std::string EntriesText(const Entries& entries);
std::string ReadText(const HistoryRead& r);
std::string ObservedText(const HistoryRead& r);

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
                size_t overlay_n = 0);

// Evaluate(...).Matches(read), without building a scan's entries when there is no overlay.
bool Explained(const KeyMap* cf, const HistoryRead& read, const std::vector<Op>* overlay,
               size_t overlay_n);

inline const KeyMap* FindCf(const Snap& s, std::string_view cf) {
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

  HistoryVerdict Run();

 private:
  // history.cc: validation, (a) the sequence order, the states of the order.
  bool Fail(const std::string& message);
  std::string Name(const HistoryEvent& e) const;
  std::string StateName(uint64_t s) const;
  const Placed* AtSequence(uint64_t s) const;
  bool Validate();
  bool Order();
  static bool Fits(const HistoryEvent& u, uint64_t g,
                   const std::map<uint64_t, const HistoryEvent*>& kept);
  std::pair<uint64_t, uint64_t> Window(uint64_t invoke, uint64_t ret) const;
  bool Replay();
  const Snap& StateAt(uint64_t s) const { return states_[s - h_.base_sequence]; }

  // history_reads.cc: (b), (c) reads, views and their real-time order.
  std::vector<bool> Explains(const HistoryRead& read, uint64_t lo, uint64_t hi,
                             const std::vector<model::Op>* overlay = nullptr, size_t overlay_n = 0,
                             bool missing_as_empty = false) const;
  std::string Candidates(const HistoryRead& read, uint64_t lo, uint64_t hi,
                         const std::vector<model::Op>* overlay = nullptr, size_t overlay_n = 0,
                         bool missing_as_empty = false) const;
  std::string CommitsAround(uint64_t lo, uint64_t hi) const;
  std::string WindowText(uint64_t lo, uint64_t hi) const;
  bool CheckViewsAndReads();
  std::pair<uint64_t, uint64_t> VisibleWindow(const HistoryEvent& e) const;
  bool EmptyWindow(const HistoryEvent& e, uint64_t lo, uint64_t hi);
  void Observe(const HistoryEvent& e, uint64_t lo, const std::vector<bool>& ok);
  bool CheckPlainRead(const HistoryEvent& e);
  bool CheckSnapshot(const HistoryEvent& e, const std::vector<const HistoryEvent*>& reads);
  bool CheckIterator(const HistoryEvent& e, const std::vector<const HistoryEvent*>& reads);
  bool CheckTransaction(const HistoryEvent& e);
  bool CheckMonotonic();

  // history_recovery.cc: (d) the recovered state.
  bool CheckRecovery();
  std::string Source(const std::string& cf, const std::string& key,
                     const std::optional<std::string>& value, uint64_t r) const;
  std::string LastCfChange(const std::string& cf) const;

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

}  // namespace manifold::model::history_internal

#endif  // MANIFOLD_MODEL_HISTORY_CHECKER_H_
