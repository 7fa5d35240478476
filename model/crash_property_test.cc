// The prefix rule as a property: random workloads with crashes and clean reopens, the model
// against a naive reference of the legal recovered states.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/model_test_util.h"

namespace manifold::model {
namespace {

// A naive reference for the prefix rule: the states after each commit of the order.
struct Naive {
  std::vector<StateMap> states{Initial()};  // states[i]: after the first i commits.
  std::vector<Outcome> outcomes;            // outcomes[i]: of commit i+1.
  std::vector<uint64_t> ids;

  size_t Visible() const {
    size_t i = 0;
    while (i < outcomes.size() && outcomes[i] != kUncertain) ++i;
    return i;
  }
  size_t MinPrefix(bool clean) const {
    size_t min = 0;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i] == kDurable || (clean && outcomes[i] == kNonDurable)) min = i + 1;
    }
    return min;
  }
  bool HasUncertain() const { return Visible() < outcomes.size(); }
  // The largest legal prefix equal to `s`, if any.
  std::optional<size_t> Match(const StateMap& s, bool clean) const {
    for (size_t i = states.size(); i-- > MinPrefix(clean);) {
      if (states[i] == s) return i;
    }
    return std::nullopt;
  }
  void Adopt(size_t prefix, bool keep_pending) {
    if (!keep_pending) {
      states = {states[prefix]};
      outcomes.clear();
      ids.clear();
      return;
    }
    states.resize(prefix + 1);
    outcomes.resize(prefix);
    ids.resize(prefix);
    for (Outcome& o : outcomes) {
      if (o == kUncertain) o = kNonDurable;
    }
  }
};

Commit RandomCommit() {
  const std::vector<std::string> cfs = {"default", "a", "b"};
  const int kind = *rc::gen::inRange(0, 10);
  if (kind == 0) return Commit::CreateCf(*rc::gen::elementOf(cfs));
  if (kind == 1) return Commit::DropCf(*rc::gen::elementOf(cfs));
  const int n = *rc::gen::inRange(0, 4);
  std::vector<Op> ops;
  for (int i = 0; i < n; ++i) {
    const std::string cf = *rc::gen::element<std::string>("default", "default", "a", "b");
    const std::string key(1, *rc::gen::inRange('a', 'f'));
    if (*rc::gen::inRange(0, 4) == 0) {
      ops.push_back(Op::Delete(cf, key));
    } else {
      ops.push_back(Op::Put(cf, key, std::to_string(*rc::gen::inRange(0, 3))));
    }
  }
  return Commit::Batch(std::move(ops));
}

// Random workloads with crashes: the model accepts exactly the legal states, adopts them like the
// naive reference, and its visible state and hash follow every commit.
void RunCrashProperty(bool recovery_makes_durable) {
  ModelOptions options;
  options.recovery_makes_durable = recovery_makes_durable;
  Model model(options);
  Naive naive;
  const int steps = *rc::gen::inRange(1, 60);
  int legal_crashes = 0, illegal_crashes = 0;
  for (int step = 0; step < steps; ++step) {
    if (*rc::gen::inRange(0, 6) != 0) {
      Commit c = RandomCommit();
      Outcome o = *rc::gen::element(kDurable, kNonDurable, kNonDurable, kFailed, kUncertain);
      const bool must_fail = model.MustFail(c).has_value();
      // Like the engine: invalid commits fail; nothing is acknowledged after an uncertain one.
      if ((must_fail || naive.HasUncertain()) && (o == kDurable || o == kNonDurable)) {
        o = must_fail ? kFailed : kUncertain;
      }
      uint64_t id = 0;
      const Verdict v = model.Record(c, o, &id);
      RC_ASSERT(v.ok);
      if (o != kFailed) {
        naive.ids.push_back(id);
        StateMap next = naive.states.back();
        NaiveApply(next, c);
        naive.states.push_back(std::move(next));
        naive.outcomes.push_back(o);
      }
      RC_ASSERT(model.Visible().ToMap() == naive.states[naive.Visible()]);
      RC_ASSERT(model.Visible().hash() == StateHash(naive.states[naive.Visible()]));
      RC_ASSERT(model.has_uncertain() == naive.HasUncertain());
      continue;
    }
    // A crash (or clean reopen). Pick a candidate state, maybe damaged.
    const bool clean = *rc::gen::inRange(0, 4) == 0;
    const size_t pick = *rc::gen::inRange<size_t>(0, naive.states.size());
    StateMap recovered = naive.states[pick];
    const int damage = *rc::gen::inRange(0, 5);
    if (damage == 1 && pick + 2 < naive.states.size()) {
      // A hole: skip commit pick+1, keep the effect of pick+2 (as a diff).
      const StateMap& a = naive.states[pick + 1];
      const StateMap& b = naive.states[pick + 2];
      for (const auto& [cf, m] : b) {
        if (!a.count(cf)) recovered[cf];
        for (const auto& [k, v] : m) {
          auto ac = a.find(cf);
          if (ac == a.end() || !ac->second.count(k) || ac->second.at(k) != v) {
            recovered[cf][k] = v;
          }
        }
      }
    } else if (damage == 2 && pick + 1 < naive.states.size()) {
      // Part of the next commit: one key's change from it.
      const StateMap& next = naive.states[pick + 1];
      for (const auto& [cf, m] : next) {
        bool done = false;
        for (const auto& [k, v] : m) {
          if (recovered.count(cf) && (!recovered[cf].count(k) || recovered[cf][k] != v)) {
            recovered[cf][k] = v;
            done = true;
            break;
          }
        }
        if (done) break;
      }
    } else if (damage == 3) {
      recovered["default"][std::string(1, *rc::gen::inRange('a', 'g'))] = "x";
    }
    const std::optional<size_t> expected = naive.Match(recovered, clean);
    const CrashVerdict v =
        clean ? model.CheckCleanReopen(recovered) : model.CheckRecovered(recovered);
    RC_ASSERT(v.legal == expected.has_value());
    ++(v.legal ? legal_crashes : illegal_crashes);
    if (!v.legal) {
      RC_ASSERT(!v.explanation.empty());
      // The run would stop here; recover to the newest legal state instead.
      recovered = naive.states.back();
      const CrashVerdict again = model.CheckRecovered(recovered);
      RC_ASSERT(again.legal);
      naive.Adopt(naive.states.size() - 1, !recovery_makes_durable);
    } else {
      if (*expected > 0) RC_ASSERT(v.matched_last_id == naive.ids[*expected - 1]);
      naive.Adopt(*expected, !recovery_makes_durable && !clean);
    }
    RC_ASSERT(model.Visible().ToMap() == recovered);
    RC_ASSERT(model.Visible().ToMap() == naive.states.back());
    RC_ASSERT(model.pending_commits() == naive.outcomes.size() - naive.MinPrefix(false));
  }
  RC_TAG(legal_crashes > 0 ? "some legal" : "no legal",
         illegal_crashes > 0 ? "some illegal" : "no illegal");
}

RC_GTEST_PROP(ModelProperty, AcceptsExactlyLegalRecoveredStates, ()) { RunCrashProperty(true); }

RC_GTEST_PROP(ModelProperty, AcceptsExactlyLegalStatesWhenRecoveryDoesNotSync, ()) {
  RunCrashProperty(false);
}

}  // namespace
}  // namespace manifold::model
