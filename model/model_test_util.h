// Helpers shared by the model's tests: outcome shorthands, one-put commits, and a naive
// application of a commit that the tests check the model against.
#ifndef MANIFOLD_MODEL_MODEL_TEST_UTIL_H_
#define MANIFOLD_MODEL_MODEL_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string_view>
#include <utility>

#include "model/model.h"

namespace manifold::model {

constexpr Outcome kDurable = Outcome::kAcknowledgedDurable;
constexpr Outcome kNonDurable = Outcome::kAcknowledgedNonDurable;
constexpr Outcome kFailed = Outcome::kFailedClean;
constexpr Outcome kUncertain = Outcome::kUncertain;

inline Commit Put(std::string_view cf, std::string_view key, std::string_view value) {
  return Commit::Batch({Op::Put(cf, key, value)});
}

inline void MustRecord(Model& m, Commit c, Outcome o) {
  const Verdict v = m.Record(std::move(c), o);
  ASSERT_TRUE(v.ok) << v.explanation;
}

// An independent, naive application of a commit to a plain map (invalid commits change nothing).
inline void NaiveApply(StateMap& s, const Commit& c) {
  switch (c.kind) {
    case Commit::kBatch:
      for (const Op& op : c.ops) {
        if (!s.count(op.cf)) return;
      }
      for (const Op& op : c.ops) {
        if (op.kind == Op::kPut) {
          s[op.cf][op.key] = op.value;
        } else {
          s[op.cf].erase(op.key);
        }
      }
      return;
    case Commit::kCreateCf:
      if (!c.cf.empty() && !s.count(c.cf)) s[c.cf];
      return;
    case Commit::kDropCf:
      if (c.cf != "default") s.erase(c.cf);
      return;
  }
}

inline StateMap Initial() { return StateMap{{"default", {}}}; }

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_MODEL_TEST_UTIL_H_
