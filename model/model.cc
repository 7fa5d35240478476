#include "model/model.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "manifold/options.h"
#include "model/model_check.h"
#include "model/state_editor.h"

namespace manifold::model {
namespace {

std::string ValueText(const std::optional<std::string>& v) {
  return v.has_value() ? Printable(*v) : std::string("absent");
}

const std::string* Lookup(const StateMap& map, std::string_view cf, std::string_view key) {
  auto c = map.find(std::string(cf));
  if (c == map.end()) return nullptr;
  auto k = c->second.find(std::string(key));
  return k == c->second.end() ? nullptr : &k->second;
}

}  // namespace

// ---- Model: commits -----------------------------------------------------------------------------

Model::Model(ModelOptions options) : options_(options), visible_(State::Initial()) {}

uint64_t Model::BeginCommit(Commit commit) {
  MODEL_CHECK(!open_, "BeginCommit while commit #" + std::to_string(pending_.back().id) +
                          " is still open (one commit at a time)");
  Entry entry;
  entry.id = next_id_++;
  entry.commit = std::make_shared<const Commit>(std::move(commit));
  pending_.push_back(std::move(entry));
  open_ = true;
  return pending_.back().id;
}

size_t Model::AppliedCount() const {
  size_t a = 0;
  while (a < pending_.size() && pending_[a].applied) ++a;
  return a;
}

bool Model::has_uncertain() const {
  for (const Entry& e : pending_) {
    if (!e.applied && !e.open) return true;
  }
  return false;
}

void Model::ApplyToVisible(Entry& entry) {
  entry.hash_before = visible_.hash();
  entry.sequence_before = visible_sequence_;
  entry.took_effect = StateEditor::Apply(visible_, *entry.commit, &entry.undo);
  entry.applied = true;
  if (entry.took_effect) ++visible_sequence_;
  visible_last_id_ = entry.id;
}

void Model::Remember(const Entry& entry) {
  history_.push_back(Remembered{entry.id, entry.commit, entry.outcome});
  while (history_.size() > options_.history_commits) {
    history_.pop_front();
    history_truncated_ = true;
  }
}

void Model::CollapsePending(size_t count) {
  if (count == 0) return;
  for (size_t i = 0; i < count; ++i) Remember(pending_[i]);
  base_last_id_ = pending_[count - 1].id;
  base_name_ = Label(base_last_id_, *pending_[count - 1].commit);
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(count));
}

Verdict Model::EndCommit(uint64_t id, Outcome outcome) {
  MODEL_CHECK(open_ && !pending_.empty() && pending_.back().id == id,
              "EndCommit(" + std::to_string(id) + ") but the open commit is " +
                  (open_ ? "#" + std::to_string(pending_.back().id) : std::string("none")));
  open_ = false;
  Entry& entry = pending_.back();
  entry.open = false;
  switch (outcome) {
    case Outcome::kFailedClean:
      pending_.pop_back();
      return {};
    case Outcome::kUncertain:
      entry.outcome = Outcome::kUncertain;
      return {};
    case Outcome::kAcknowledgedDurable:
    case Outcome::kAcknowledgedNonDurable:
      break;
  }
  Verdict verdict;
  std::string what = Label(id, *entry.commit) + " " + entry.commit->Describe();
  const size_t last = pending_.size() - 1;
  const size_t applied = AppliedCount();
  if (applied < last) {
    verdict.ok = false;
    verdict.explanation =
        "the engine acknowledged " + what + " (" + OutcomeName(outcome) +
        ") while uncertain commit(s) before it are unresolved: " + DescribeEntryAt(applied) +
        (last - applied > 1 ? " and more" : "") +
        "; expected a refusal (after a failed commit the engine must refuse writes until "
        "reopened), got OK. "
        "The model now assumes them present (only prefixes are legal).";
    for (size_t i = applied; i < last; ++i) ApplyToVisible(pending_[i]);
  }
  if (std::optional<Rejection> rejection = StateEditor::Check(visible_, *entry.commit)) {
    if (!verdict.ok) verdict.explanation += " Also: ";
    verdict.ok = false;
    verdict.explanation += "the engine acknowledged " + what + " (" + OutcomeName(outcome) +
                           ") but it must fail with " + StatusCodeName(rejection->code) + ": " +
                           rejection->reason + "; expected " + StatusCodeName(rejection->code) +
                           ", got OK. The model treats it as failed.";
    pending_.pop_back();
    return verdict;
  }
  entry.outcome = outcome;
  ApplyToVisible(entry);
  if (outcome == Outcome::kAcknowledgedDurable) CollapsePending(pending_.size());
  return verdict;
}

Verdict Model::Record(Commit commit, Outcome outcome, uint64_t* id) {
  const uint64_t assigned = BeginCommit(std::move(commit));
  if (id != nullptr) *id = assigned;
  return EndCommit(assigned, outcome);
}

std::optional<Rejection> Model::MustFail(const Commit& commit) const {
  return StateEditor::Check(visible_, commit);
}

// ---- Model: reads and snapshots -----------------------------------------------------------------

std::optional<std::string> Model::Get(std::string_view cf, std::string_view key) const {
  return visible_.Get(cf, key);
}

bool Model::HasColumnFamily(std::string_view cf) const { return visible_.HasColumnFamily(cf); }

std::vector<std::string> Model::ColumnFamilies() const { return visible_.ColumnFamilies(); }

uint64_t Model::TakeSnapshot() {
  const uint64_t id = next_snapshot_++;
  snapshots_.emplace(id, SnapshotRecord{visible_, visible_sequence_});
  return id;
}

void Model::ReleaseSnapshot(uint64_t snapshot) {
  MODEL_CHECK(snapshots_.erase(snapshot) == 1,
              "ReleaseSnapshot of unknown snapshot " + std::to_string(snapshot));
}

const State& Model::SnapshotState(uint64_t snapshot) const {
  auto it = snapshots_.find(snapshot);
  MODEL_CHECK(it != snapshots_.end(), "unknown snapshot " + std::to_string(snapshot) +
                                          " (released, or forgotten at a reopen)");
  return it->second.state;
}

uint64_t Model::SnapshotSequence(uint64_t snapshot) const {
  auto it = snapshots_.find(snapshot);
  MODEL_CHECK(it != snapshots_.end(), "unknown snapshot " + std::to_string(snapshot));
  return it->second.sequence;
}

Verdict Model::CheckGet(std::string_view cf, std::string_view key,
                        const std::optional<std::string>& got,
                        std::optional<uint64_t> snapshot) const {
  const State& state = snapshot.has_value() ? SnapshotState(*snapshot) : visible_;
  const std::optional<std::string> expected = state.Get(cf, key);
  if (expected == got) return {};
  std::ostringstream out;
  out << "Get(cf " << CfName(cf) << ", key " << Printable(key) << ") ";
  if (snapshot.has_value()) {
    out << "at snapshot " << *snapshot << " (sequence " << SnapshotSequence(*snapshot) << ")";
  } else {
    out << "of the latest state (sequence " << visible_sequence_ << ", last commit #"
        << visible_last_id_ << ")";
  }
  if (!state.HasColumnFamily(cf)) out << " [cf does not exist there]";
  out << ": expected " << ValueText(expected) << ", got " << ValueText(got);
  if (!snapshot.has_value()) {
    const size_t applied = AppliedCount();
    out << "; key last written by " << Writer(cf, key, applied);
    if (got.has_value()) out << "; got value " << Source(cf, key, got, applied);
  }
  return Verdict{false, out.str()};
}

Verdict Model::CheckScan(const State& state, std::string_view cf, const ScanOptions& options,
                         const Entries& got) {
  const Entries expected = Scan(state, cf, options);
  if (expected == got) return {};
  std::ostringstream out;
  out << (options.reverse ? "backward" : "forward") << " scan of cf " << CfName(cf);
  if (options.lower) out << " lower " << Printable(*options.lower);
  if (options.upper) out << " upper " << Printable(*options.upper);
  if (options.start) {
    out << (options.reverse ? " SeekForPrev " : " Seek ") << Printable(*options.start);
  }
  if (options.limit != std::numeric_limits<size_t>::max()) out << " limit " << options.limit;
  out << ": expected " << expected.size() << " entries, got " << got.size();
  size_t i = 0;
  while (i < expected.size() && i < got.size() && expected[i] == got[i]) ++i;
  auto entry = [](const Entries& e, size_t i) {
    return i < e.size() ? "(" + Printable(e[i].first) + ", " + Printable(e[i].second) + ")"
                        : std::string("end");
  };
  out << "; first difference at position " << i << ": expected " << entry(expected, i) << ", got "
      << entry(got, i);
  return Verdict{false, out.str()};
}

// ---- Model: crash and recovery ------------------------------------------------------------------

std::vector<Model::Candidate> Model::Candidates() const {
  const size_t n = pending_.size();
  const size_t a = AppliedCount();
  std::vector<Candidate> out(n + 1);
  for (size_t j = 0; j < a; ++j) {
    out[j] = Candidate{pending_[j].hash_before, pending_[j].sequence_before,
                       j == 0 ? base_last_id_ : pending_[j - 1].id};
  }
  out[a] =
      Candidate{visible_.hash(), visible_sequence_, a == 0 ? base_last_id_ : pending_[a - 1].id};
  if (a < n) {
    State tail = visible_;
    uint64_t sequence = visible_sequence_;
    for (size_t k = a; k < n; ++k) {
      if (StateEditor::Apply(tail, *pending_[k].commit, nullptr)) ++sequence;
      out[k + 1] = Candidate{tail.hash(), sequence, pending_[k].id};
    }
  }
  return out;
}

State Model::Materialize(size_t prefix, std::vector<std::vector<UndoRecord>>* forward_undo) const {
  const size_t a = AppliedCount();
  State s = visible_;
  if (prefix <= a) {
    for (size_t k = a; k > prefix; --k) StateEditor::Revert(s, pending_[k - 1].undo);
  } else {
    for (size_t k = a; k < prefix; ++k) {
      std::vector<UndoRecord> undo;
      StateEditor::Apply(s, *pending_[k].commit, forward_undo != nullptr ? &undo : nullptr);
      if (forward_undo != nullptr) forward_undo->push_back(std::move(undo));
    }
  }
  return s;
}

CrashVerdict Model::CheckCleanReopen(const StateMap& recovered) {
  return CheckRecovered(recovered, Reopen::kClean);
}

CrashVerdict Model::CheckRecovered(const StateMap& recovered, Reopen kind,
                                   std::optional<uint64_t> sequence) {
  if (open_) {
    open_ = false;
    pending_.back().open = false;
    pending_.back().outcome = Outcome::kUncertain;
  }
  const std::vector<Candidate> candidates = Candidates();
  const size_t n = pending_.size();
  const size_t a = AppliedCount();
  const size_t min_prefix = kind == Reopen::kClean ? a : 0;
  const uint64_t recovered_hash = model::StateHash(recovered);

  CrashVerdict verdict;
  verdict.min_last_id = candidates[min_prefix].last_id;
  verdict.max_last_id = candidates[n].last_id;
  verdict.candidates = n + 1 - min_prefix;

  auto matches = [&](size_t j, std::vector<std::vector<UndoRecord>>* forward_undo,
                     State* out) -> bool {
    if (candidates[j].hash != recovered_hash) return false;
    if (sequence.has_value() && candidates[j].sequence != *sequence) return false;
    State s = Materialize(j, forward_undo);
    if (!s.Equals(recovered)) {
      if (forward_undo != nullptr) forward_undo->clear();
      return false;
    }
    if (out != nullptr) *out = std::move(s);
    return true;
  };

  std::vector<std::vector<UndoRecord>> forward_undo;
  State matched_state;
  std::optional<size_t> matched;
  for (size_t j = n + 1; j-- > min_prefix;) {
    if (matches(j, &forward_undo, &matched_state)) {
      matched = j;
      break;
    }
  }
  if (!matched.has_value()) {
    std::optional<size_t> below_min;
    for (size_t j = min_prefix; j-- > 0;) {
      if (matches(j, nullptr, nullptr)) {
        below_min = j;
        break;
      }
    }
    // The legal prefixes whose entries equal the recovered ones (so only the sequence number
    // disagrees): computed once, for the verdict and for Explain.
    std::vector<size_t> entries_equal;
    if (sequence.has_value()) {
      for (size_t j = min_prefix; j <= n; ++j) {
        if (candidates[j].hash == recovered_hash && Materialize(j, nullptr).Equals(recovered)) {
          entries_equal.push_back(j);
        }
      }
    }
    verdict.sequence_only = !entries_equal.empty();
    verdict.explanation =
        Explain(recovered, candidates, min_prefix, kind, below_min, sequence, entries_equal);
    if (sequence.has_value() && !verdict.sequence_only) {
      verdict.explanation +=
          "\n  (matching the engine's sequence number " + std::to_string(*sequence) + " too)";
    }
    return verdict;
  }

  // Adopt prefix `j`.
  const size_t j = *matched;
  verdict.legal = true;
  verdict.matched_last_id = candidates[j].last_id;
  verdict.matched_sequence = candidates[j].sequence;
  for (size_t k = a; k < j; ++k) {
    Entry& e = pending_[k];
    e.applied = true;
    e.undo = std::move(forward_undo[k - a]);
    e.hash_before = candidates[k].hash;
    e.sequence_before = candidates[k].sequence;
    e.took_effect = candidates[k + 1].sequence != candidates[k].sequence;
  }
  pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(j), pending_.end());
  visible_ = std::move(matched_state);
  visible_sequence_ = candidates[j].sequence;
  visible_last_id_ = candidates[j].last_id;
  if (kind == Reopen::kClean || options_.recovery_makes_durable) CollapsePending(pending_.size());
  snapshots_.clear();
  return verdict;
}

// ---- Model: explanations ------------------------------------------------------------------------

std::string Model::DescribeEntryAt(size_t index) const {
  const Entry& e = pending_[index];
  std::string status;
  if (e.open) {
    status = "open";
  } else if (e.outcome == Outcome::kUncertain && e.applied) {
    status = "uncertain, taken as present";
  } else {
    status = OutcomeName(e.outcome);
  }
  if (e.applied && !e.took_effect) status += ", had no effect";
  return Label(e.id, *e.commit) + " " + e.commit->Describe() + " (" + status + ")";
}

std::string Model::Label(uint64_t id, const Commit& commit) {
  return commit.name.empty() ? "#" + std::to_string(id) : commit.name;
}

std::string Model::CommitName(uint64_t id) const {
  for (const Entry& e : pending_) {
    if (e.id == id) return Label(id, *e.commit);
  }
  for (const Remembered& r : history_) {
    if (r.id == id) return Label(id, *r.commit);
  }
  if (id == base_last_id_ && !base_name_.empty()) return base_name_;
  return "#" + std::to_string(id);
}

std::string Model::PendingList() const {
  const size_t n = pending_.size();
  std::string out;
  for (size_t k = 0; k < n; ++k) {
    if (n > 10 && k == 5) {
      out += " ... (" + std::to_string(n - 10) + " more)";
      k = n - 5;
    }
    out += (k > 0 ? "; " : " ") + DescribeEntryAt(k);
  }
  return out;
}

std::string Model::DescribeCommit(uint64_t id) const {
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (pending_[i].id == id) return DescribeEntryAt(i);
  }
  for (const Remembered& r : history_) {
    if (r.id == id) {
      const char* status = r.outcome == Outcome::kAcknowledgedDurable ? "acknowledged durable"
                           : r.outcome == Outcome::kAcknowledgedNonDurable
                               ? "acknowledged non-durable, durable since"
                               : "uncertain, recovered present, durable since";
      return Label(id, *r.commit) + " " + r.commit->Describe() + " (" + status + ")";
    }
  }
  return CommitName(id) + " (not remembered)";
}

namespace {

// Whether `c` writes key (cf, key): an op on it, or a create/drop of its column family. Without
// a key: whether it creates or drops the column family.
bool Touches(const Commit& c, std::string_view cf, std::optional<std::string_view> key) {
  if (c.kind != Commit::kBatch) return c.cf == cf;
  if (!key.has_value()) return false;
  for (const Op& op : c.ops) {
    if (op.cf == cf && op.key == *key) return true;
  }
  return false;
}

// Whether `c`, applied alone, would leave (cf, key) holding `value` (nullopt: absent).
bool Leaves(const Commit& c, std::string_view cf, std::string_view key,
            const std::optional<std::string>& value) {
  if (c.kind == Commit::kDropCf) return c.cf == cf && !value.has_value();
  if (c.kind == Commit::kCreateCf) return false;
  for (auto op = c.ops.rbegin(); op != c.ops.rend(); ++op) {
    if (op->cf != cf || op->key != key) continue;
    return op->kind == Op::kPut ? value == op->value : !value.has_value();
  }
  return false;
}

// The column families of `state` and of `recovered`, each name once, in byte order.
std::set<std::string> CfNamesOfEither(const State& state, const StateMap& recovered) {
  std::set<std::string> names;
  for (const std::string& cf : state.ColumnFamilies()) names.insert(cf);
  for (const auto& entry : recovered) names.insert(entry.first);
  return names;
}

// `recovered`'s column family `cf`, or null when it has none.
const KeyMap* FindCf(const StateMap& recovered, const std::string& cf) {
  auto it = recovered.find(cf);
  return it == recovered.end() ? nullptr : &it->second;
}

}  // namespace

// The last commit in the first `prefix` pending ones (then history) that wrote (cf, key).
std::string Model::Writer(std::string_view cf, std::optional<std::string_view> key,
                          size_t prefix) const {
  for (size_t i = prefix; i-- > 0;) {
    if (pending_[i].took_effect && Touches(*pending_[i].commit, cf, key)) {
      return DescribeEntryAt(i);
    }
  }
  for (auto r = history_.rbegin(); r != history_.rend(); ++r) {
    if (Touches(*r->commit, cf, key)) return DescribeCommit(r->id);
  }
  if (!history_truncated_) {
    return key.has_value() ? "no commit (never written)" : "the initial state";
  }
  return "a commit older than the remembered history (everything through " +
         CommitName(base_last_id_) + " is durable)";
}

// Which commit would leave (cf, key) at `value`, searching every pending commit (noting whether it
// is within the first `prefix`) and then history.
std::string Model::Source(std::string_view cf, std::string_view key,
                          const std::optional<std::string>& value, size_t prefix) const {
  for (size_t i = pending_.size(); i-- > 0;) {
    if (Leaves(*pending_[i].commit, cf, key, value)) {
      return "matches " + DescribeEntryAt(i) +
             (i < prefix ? ", inside the prefix" : ", beyond the prefix");
    }
  }
  for (auto r = history_.rbegin(); r != history_.rend(); ++r) {
    if (Leaves(*r->commit, cf, key, value)) {
      return "matches older " + DescribeCommit(r->id) + " (since overwritten)";
    }
  }
  return "matches no remembered commit";
}

std::string Model::Explain(const StateMap& recovered, const std::vector<Candidate>& candidates,
                           size_t min_prefix, Reopen kind, std::optional<size_t> below_min,
                           std::optional<uint64_t> sequence,
                           const std::vector<size_t>& entries_equal) const {
  const size_t n = pending_.size();
  std::ostringstream out;
  auto after = [&](size_t j) {
    return candidates[j].last_id == 0 ? std::string("the initial state")
                                      : "the state after " + CommitName(candidates[j].last_id);
  };

  if (below_min.has_value()) {
    out << "recovered state is " << after(*below_min) << ", but a clean reopen must keep every "
        << "acknowledged commit (through " << CommitName(candidates[min_prefix].last_id)
        << "): expected " << after(min_prefix) << " or later, got " << after(*below_min)
        << "; lost: ";
    for (size_t k = *below_min; k < min_prefix; ++k) {
      out << (k > *below_min ? "; " : "") << DescribeEntryAt(k);
    }
    return out.str();
  }

  // The entries equal a legal prefix, and only the engine's sequence number disagrees: say which
  // numbers would have been right, rather than listing zero differences.
  if (sequence.has_value()) {
    const std::vector<size_t>& equal = entries_equal;
    if (!equal.empty()) {
      out << "recovered sequence number: expected ";
      for (size_t i = 0; i < equal.size(); ++i) {
        out << (i == 0                  ? ""
                : i + 1 == equal.size() ? " or "
                                        : ", ")
            << candidates[equal[i]].sequence << " (" << after(equal[i]) << ")";
      }
      out << ", got " << *sequence << "; the recovered entries equal "
          << (equal.size() == 1 ? "that state" : "those states");
      if (n > 0) out << ". Pending commits:" << PendingList();
      return out.str();
    }
  }

  out << "recovered state (hash " << Hex(model::StateHash(recovered))
      << ") matches no legal state. Legal after a "
      << (kind == Reopen::kClean ? "clean reopen" : "crash") << ": ";
  if (min_prefix == n) {
    out << "exactly " << after(n);
  } else {
    out << after(min_prefix) << " through " << after(n) << " (" << (n + 1 - min_prefix)
        << " prefixes)";
  }
  out << "; durable base: " << after(0) << ".";
  if (n > 0) out << " Pending commits:" << PendingList() << ".";

  // Differences from each prefix, walking forward from the base one commit at a time.
  auto item = [&](const State& s, const std::string& cf, const std::string& key) -> int {
    const std::optional<std::string> mine = s.Get(cf, key);
    const std::string* theirs = Lookup(recovered, cf, key);
    if (!mine.has_value() || theirs == nullptr) return mine.has_value() != (theirs != nullptr);
    return *mine != *theirs;
  };
  auto cf_item = [&](const State& s, const std::string& cf) -> int {
    return s.HasColumnFamily(cf) != (recovered.count(cf) > 0);
  };
  State cur = Materialize(0, nullptr);
  int64_t diff = 0;
  {
    for (const std::string& cf : CfNamesOfEither(cur, recovered)) {
      const KeyMap* mine = cur.Find(cf);
      const KeyMap* theirs = FindCf(recovered, cf);
      if ((mine == nullptr) != (theirs == nullptr)) {
        diff += 1 + static_cast<int64_t>(mine != nullptr ? mine->size() : theirs->size());
        continue;
      }
      std::set<std::string> keys;
      for (const auto& kv : *mine) keys.insert(kv.first);
      for (const auto& kv : *theirs) keys.insert(kv.first);
      for (const std::string& key : keys) diff += item(cur, cf, key);
    }
  }
  std::vector<int64_t> score(n + 1);
  score[0] = diff;
  for (size_t k = 0; k < n; ++k) {
    const Commit& c = *pending_[k].commit;
    if (!StateEditor::Check(cur, c).has_value()) {
      if (c.kind == Commit::kBatch) {
        std::set<std::pair<std::string, std::string>> keys;
        for (const Op& op : c.ops) keys.emplace(op.cf, op.key);
        for (const auto& [cf, key] : keys) diff -= item(cur, cf, key);
        StateEditor::Apply(cur, c, nullptr);
        for (const auto& [cf, key] : keys) diff += item(cur, cf, key);
      } else if (c.kind == Commit::kCreateCf) {
        diff -= cf_item(cur, c.cf);
        StateEditor::Apply(cur, c, nullptr);
        diff += cf_item(cur, c.cf);
      } else {
        std::vector<std::string> keys;
        for (const auto& kv : *cur.Find(c.cf)) keys.push_back(kv.first);
        diff -= cf_item(cur, c.cf);
        for (const std::string& key : keys) diff -= item(cur, c.cf, key);
        StateEditor::Apply(cur, c, nullptr);
        diff += cf_item(cur, c.cf);
        for (const std::string& key : keys) diff += item(cur, c.cf, key);
      }
    }
    score[k + 1] = diff;
  }
  size_t best = n;
  for (size_t j = n + 1; j-- > min_prefix;) {
    if (score[j] < score[best]) best = j;
  }

  // The differences from the closest legal prefix, with the commits behind them.
  const State closest = Materialize(best, nullptr);
  out << " Closest: " << after(best) << " (" << score[best] << " difference"
      << (score[best] == 1 ? "" : "s") << "):";
  std::set<std::string> missing, unexpected;
  size_t listed = 0;
  auto list = [&](const std::string& line) {
    if (listed++ < options_.max_differences) out << "\n  " << line;
  };
  for (const std::string& cf : CfNamesOfEither(closest, recovered)) {
    const KeyMap* mine = closest.Find(cf);
    const KeyMap* theirs = FindCf(recovered, cf);
    if (mine == nullptr && theirs == nullptr) continue;
    if ((mine == nullptr) != (theirs == nullptr)) {
      const std::string writer = Writer(cf, std::nullopt, best);
      list("cf " + CfName(cf) + ": expected " +
           (mine != nullptr ? "present with " + std::to_string(mine->size()) + " entries"
                            : std::string("absent")) +
           " (last created/dropped by " + writer + "), got " +
           (theirs != nullptr ? "present with " + std::to_string(theirs->size()) + " entries"
                              : std::string("absent")));
      if (writer.rfind("#", 0) == 0) (mine != nullptr ? missing : unexpected).insert(writer);
      continue;
    }
    auto x = mine->begin();
    auto y = theirs->begin();
    while (x != mine->end() || y != theirs->end()) {
      std::string key;
      std::optional<std::string> expected, got;
      if (y == theirs->end() || (x != mine->end() && x->first < y->first)) {
        key = x->first;
        expected = x->second;
        ++x;
      } else if (x == mine->end() || y->first < x->first) {
        key = y->first;
        got = y->second;
        ++y;
      } else {
        key = x->first;
        expected = x->second;
        got = y->second;
        ++x;
        ++y;
        if (*expected == *got) continue;
      }
      const std::string writer = Writer(cf, key, best);
      std::string line = "cf " + CfName(cf) + " key " + Printable(key) + ": expected " +
                         ValueText(expected) + " (last written by " + writer + "), got " +
                         ValueText(got);
      const std::string source = Source(cf, key, got, best);
      const bool beyond = source.find("beyond the prefix") != std::string::npos;
      if (got.has_value() || source.rfind("matches no", 0) != 0) line += " (" + source + ")";
      if (beyond) {
        const std::string commit = source.substr(std::string("matches ").size());
        unexpected.insert(commit.substr(0, commit.rfind(", beyond the prefix")));
      } else if (writer.rfind("#", 0) == 0) {
        missing.insert(writer);
      }
      list(line);
    }
  }
  if (listed > options_.max_differences) {
    out << "\n  ... and " << (listed - options_.max_differences) << " more";
  }
  if (!missing.empty()) {
    out << "\n  Writes missing from: ";
    size_t i = 0;
    for (const std::string& m : missing) out << (i++ ? "; " : "") << m;
  }
  if (!unexpected.empty()) {
    out << "\n  Writes present from commits outside the prefix: ";
    size_t i = 0;
    for (const std::string& u : unexpected) out << (i++ ? "; " : "") << u;
  }
  return out.str();
}

}  // namespace manifold::model
