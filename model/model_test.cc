#include "model/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace manifold::model {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr Outcome kDurable = Outcome::kAcknowledgedDurable;
constexpr Outcome kNonDurable = Outcome::kAcknowledgedNonDurable;
constexpr Outcome kFailed = Outcome::kFailedClean;
constexpr Outcome kUncertain = Outcome::kUncertain;

Commit Put(std::string_view cf, std::string_view key, std::string_view value) {
  return Commit::Batch({Op::Put(cf, key, value)});
}

void MustRecord(Model& m, Commit c, Outcome o) {
  const Verdict v = m.Record(std::move(c), o);
  ASSERT_TRUE(v.ok) << v.explanation;
}

// An independent, naive application of a commit to a plain map (invalid commits change nothing).
void NaiveApply(StateMap& s, const Commit& c) {
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

StateMap Initial() { return StateMap{{"default", {}}}; }

// ---- Basics -------------------------------------------------------------------------------------

TEST(ModelTest, InitialStateHasEmptyDefault) {
  Model m;
  EXPECT_TRUE(m.HasColumnFamily("default"));
  EXPECT_EQ(m.ColumnFamilies(), std::vector<std::string>{"default"});
  EXPECT_EQ(m.Visible().ToMap(), Initial());
  EXPECT_EQ(m.Visible().hash(), StateHash(Initial()));
  EXPECT_NE(StateHash(Initial()), StateHash(StateMap{}));  // Empty cf != no cf.
  EXPECT_EQ(m.sequence(), 0u);
  const CrashVerdict v = m.CheckRecovered(Initial());
  EXPECT_TRUE(v.legal) << v.explanation;
  EXPECT_FALSE(m.CheckRecovered(StateMap{}).legal);
}

TEST(ModelTest, ReadsSeeAcknowledgedCommitsOnly) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kDurable);
  MustRecord(m, Put("default", "b", "2"), kNonDurable);
  MustRecord(m, Put("default", "c", "3"), kFailed);
  EXPECT_EQ(m.Get("default", "a"), "1");
  EXPECT_EQ(m.Get("default", "b"), "2");
  EXPECT_EQ(m.Get("default", "c"), std::nullopt);
  EXPECT_EQ(m.sequence(), 2u);
  MustRecord(m, Put("default", "d", "4"), kUncertain);
  EXPECT_EQ(m.Get("default", "d"), std::nullopt);  // Not published before recovery.
  EXPECT_TRUE(m.has_uncertain());
  EXPECT_EQ(m.sequence(), 2u);
  EXPECT_TRUE(m.CheckGet("default", "a", std::string("1")).ok);
  const Verdict bad = m.CheckGet("default", "d", std::string("4"));
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(bad.explanation, HasSubstr("expected absent, got \"4\""));
  EXPECT_THAT(bad.explanation, HasSubstr("#4"));
  EXPECT_THAT(bad.explanation, HasSubstr("beyond the prefix"));
}

TEST(ModelTest, BatchLaterOpsWinOnSameKey) {
  Model m;
  MustRecord(m,
             Commit::Batch({Op::Put("default", "k", "1"), Op::Delete("default", "k"),
                            Op::Put("default", "k", "2"), Op::Put("default", "j", "x"),
                            Op::Delete("default", "j")}),
             kDurable);
  EXPECT_EQ(m.Visible().ToMap(), (StateMap{{"default", {{"k", "2"}}}}));
  EXPECT_EQ(m.Visible().hash(), StateHash(m.Visible().ToMap()));
}

TEST(ModelTest, FromWriteBatch) {
  WriteBatch b;
  b.Put("default", "k", "v");
  b.Delete("default", "j");
  const Commit c = Commit::FromWriteBatch(b);
  ASSERT_EQ(c.ops.size(), 2u);
  EXPECT_EQ(c.ops[0].kind, Op::kPut);
  EXPECT_EQ(c.ops[1].kind, Op::kDelete);
  EXPECT_EQ(c.ops[1].key, "j");
}

// ---- Prefix rules -------------------------------------------------------------------------------

// A recovered state whose entries are legal but whose sequence number is not: the explanation
// names the sequence numbers that would have been right, not "0 differences".
TEST(ModelTest, SequenceMismatchNamesExpectedAndGot) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kDurable);
  MustRecord(m, Put("default", "a", "1"), kUncertain);  // Changes no entry.
  const CrashVerdict v = m.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}, Reopen::kCrash, 7);
  EXPECT_FALSE(v.legal);
  EXPECT_THAT(v.explanation,
              HasSubstr("recovered sequence number: expected 1 (the state after #1) or 2 (the "
                        "state after #2), got 7"));
  EXPECT_THAT(v.explanation, Not(HasSubstr("differences")));
  EXPECT_TRUE(v.sequence_only);
  EXPECT_TRUE(m.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}, Reopen::kCrash, 2).legal);
}

TEST(ModelTest, DurableCommitIsNeverLost) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kDurable);
  MustRecord(m, Commit::Batch({Op::Put("default", "k7", "v3"), Op::Put("default", "k8", "v4")}),
             kDurable);
  const CrashVerdict v = m.CheckRecovered(StateMap{{"default", {{"a", "1"}}}});
  EXPECT_FALSE(v.legal);
  EXPECT_EQ(v.candidates, 1u);
  EXPECT_THAT(v.explanation, HasSubstr("key \"k7\": expected \"v3\""));
  EXPECT_THAT(v.explanation, HasSubstr("got absent"));
  EXPECT_THAT(v.explanation, HasSubstr("#2 batch of 2 ops"));
  EXPECT_THAT(v.explanation, HasSubstr("Writes missing from: #2"));
  std::printf("example explanation:\n%s\n", v.explanation.c_str());
  // Not adopted: the full state is still what must be recovered.
  EXPECT_TRUE(
      m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"k7", "v3"}, {"k8", "v4"}}}}).legal);
}

TEST(ModelTest, NonDurableSuffixMayBeLost) {
  for (int keep = 0; keep <= 3; ++keep) {
    Model m;
    MustRecord(m, Put("default", "a", "0"), kDurable);
    StateMap expected{{"default", {{"a", "0"}}}};
    StateMap recovered = expected;
    for (int i = 1; i <= 3; ++i) {
      MustRecord(m, Put("default", "a", std::to_string(i)), kNonDurable);
      if (i <= keep) recovered["default"]["a"] = std::to_string(i);
    }
    const CrashVerdict v = m.CheckRecovered(recovered);
    ASSERT_TRUE(v.legal) << v.explanation;
    EXPECT_EQ(v.matched_last_id, static_cast<uint64_t>(1 + keep));
    EXPECT_EQ(v.matched_sequence, static_cast<uint64_t>(1 + keep));
    EXPECT_EQ(v.min_last_id, 1u);
    EXPECT_EQ(v.max_last_id, 4u);
    EXPECT_EQ(v.candidates, 4u);
    EXPECT_EQ(m.Visible().ToMap(), recovered);
    EXPECT_EQ(m.pending_commits(), 0u);
  }
}

TEST(ModelTest, DurableCommitPinsEverythingBeforeIt) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kNonDurable);
  MustRecord(m, Put("default", "b", "2"), kNonDurable);
  MustRecord(m, Put("default", "c", "3"), kDurable);
  EXPECT_EQ(m.pending_commits(), 0u);
  EXPECT_FALSE(m.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}).legal);
  EXPECT_FALSE(m.CheckRecovered(Initial()).legal);
}

TEST(ModelTest, UncertainTailMayBeInOrOut) {
  for (bool present : {false, true}) {
    Model m;
    MustRecord(m, Put("default", "a", "1"), kDurable);
    MustRecord(m, Commit::Batch({Op::Put("default", "b", "2"), Op::Put("default", "c", "3")}),
               kUncertain);
    StateMap recovered{{"default", {{"a", "1"}}}};
    if (present) recovered["default"].insert({{"b", "2"}, {"c", "3"}});
    const CrashVerdict v = m.CheckRecovered(recovered);
    ASSERT_TRUE(v.legal) << v.explanation;
    EXPECT_EQ(v.matched_last_id, present ? 2u : 1u);
    EXPECT_EQ(m.Get("default", "b"), present ? std::optional<std::string>("2") : std::nullopt);
    EXPECT_FALSE(m.has_uncertain());
    EXPECT_EQ(m.sequence(), present ? 2u : 1u);
  }
}

TEST(ModelTest, OpenCommitAtCrashIsUncertain) {
  for (bool present : {false, true}) {
    Model m;
    const uint64_t id = m.BeginCommit(Commit::CreateCf("x"));
    StateMap recovered = Initial();
    if (present) recovered["x"];
    const CrashVerdict v = m.CheckRecovered(recovered);
    ASSERT_TRUE(v.legal) << v.explanation;
    EXPECT_EQ(v.matched_last_id, present ? id : 0u);
    EXPECT_EQ(m.HasColumnFamily("x"), present);
  }
}

TEST(ModelTest, PartialBatchIsIllegal) {
  Model m;
  MustRecord(m,
             Commit::Batch({Op::Put("default", "a", "1"), Op::Put("default", "b", "2"),
                            Op::Put("default", "c", "3"), Op::Delete("default", "z")}),
             kUncertain);
  const CrashVerdict v = m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}}}});
  EXPECT_FALSE(v.legal);
  EXPECT_EQ(v.candidates, 2u);
  // Closest is the full batch: "c" missing.
  EXPECT_THAT(v.explanation, HasSubstr("key \"c\": expected \"3\""));
  EXPECT_THAT(v.explanation, HasSubstr("1 difference"));
}

TEST(ModelTest, PartialBatchAcrossColumnFamiliesIsIllegal) {
  Model m;
  MustRecord(m, Commit::CreateCf("a"), kDurable);
  MustRecord(m, Commit::Batch({Op::Put("a", "k", "1"), Op::Put("default", "k", "2")}), kNonDurable);
  EXPECT_FALSE(m.CheckRecovered(StateMap{{"default", {}}, {"a", {{"k", "1"}}}}).legal);
  EXPECT_FALSE(m.CheckRecovered(StateMap{{"default", {{"k", "2"}}}, {"a", {}}}).legal);
  EXPECT_TRUE(m.CheckRecovered(StateMap{{"default", {{"k", "2"}}}, {"a", {{"k", "1"}}}}).legal);
}

TEST(ModelTest, HoleIsIllegal) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kNonDurable);  // #1
  MustRecord(m, Put("default", "b", "2"), kNonDurable);  // #2
  const CrashVerdict v = m.CheckRecovered(StateMap{{"default", {{"b", "2"}}}});
  EXPECT_FALSE(v.legal);
  EXPECT_THAT(v.explanation, HasSubstr("the initial state through the state after #2"));
  EXPECT_THAT(v.explanation, HasSubstr("expected \"1\""));
  // The other orders are fine.
  Model m2 = m;
  EXPECT_TRUE(m2.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}).legal);
  Model m3 = m;
  EXPECT_TRUE(m3.CheckRecovered(Initial()).legal);
}

TEST(ModelTest, FailedCleanIsNeverPresent) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kDurable);
  MustRecord(m, Put("default", "x", "bad"), kFailed);
  MustRecord(m, Put("default", "b", "2"), kNonDurable);
  const CrashVerdict v =
      m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}, {"x", "bad"}}}});
  EXPECT_FALSE(v.legal);
  EXPECT_THAT(v.explanation, HasSubstr("key \"x\": expected absent"));
  EXPECT_THAT(v.explanation, HasSubstr("matches no remembered commit"));
  // Failed commits take no place in the order: ids 1 and 3 are adjacent.
  const CrashVerdict ok = m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}}}});
  ASSERT_TRUE(ok.legal) << ok.explanation;
  EXPECT_EQ(ok.matched_last_id, 3u);
  EXPECT_EQ(ok.matched_sequence, 2u);
}

TEST(ModelTest, CreateDropSequences) {
  Model m;
  MustRecord(m, Commit::CreateCf("a"), kDurable);     // #1
  MustRecord(m, Put("a", "k", "old"), kNonDurable);   // #2
  MustRecord(m, Commit::DropCf("a"), kNonDurable);    // #3
  MustRecord(m, Commit::CreateCf("a"), kNonDurable);  // #4
  EXPECT_TRUE(m.HasColumnFamily("a"));
  EXPECT_EQ(m.Get("a", "k"), std::nullopt);          // Recreated empty.
  MustRecord(m, Put("a", "j", "new"), kNonDurable);  // #5
  EXPECT_EQ(m.ColumnFamilies(), (std::vector<std::string>{"a", "default"}));

  const std::vector<StateMap> legal = {
      {{"default", {}}, {"a", {}}}, {{"default", {}}, {"a", {{"k", "old"}}}}, {{"default", {}}},
      {{"default", {}}, {"a", {}}}, {{"default", {}}, {"a", {{"j", "new"}}}},
  };
  for (size_t i = 0; i < legal.size(); ++i) {
    Model copy = m;
    const CrashVerdict v = copy.CheckRecovered(legal[i]);
    EXPECT_TRUE(v.legal) << i << ": " << v.explanation;
    EXPECT_EQ(copy.Visible().ToMap(), legal[i]);
  }
  // The old data resurfacing in the new column family is illegal.
  Model copy = m;
  const CrashVerdict v =
      copy.CheckRecovered({{"default", {}}, {"a", {{"k", "old"}, {"j", "new"}}}});
  EXPECT_FALSE(v.legal);
  EXPECT_THAT(v.explanation, HasSubstr("key \"k\": expected absent"));
  // A missing column family is reported as such.
  Model m2;
  MustRecord(m2, Commit::CreateCf("b"), kDurable);
  const CrashVerdict v2 = m2.CheckRecovered(Initial());
  EXPECT_FALSE(v2.legal);
  EXPECT_THAT(v2.explanation, HasSubstr("cf 'b': expected present with 0 entries"));
  EXPECT_THAT(v2.explanation, HasSubstr("#1 create cf 'b'"));
}

TEST(ModelTest, MustFailAndAcknowledgedInvalidCommits) {
  Model m;
  EXPECT_EQ(m.MustFail(Commit::DropCf("default"))->code, StatusCode::kInvalidArgument);
  EXPECT_EQ(m.MustFail(Commit::DropCf("x"))->code, StatusCode::kNotFound);
  EXPECT_EQ(m.MustFail(Commit::CreateCf("default"))->code, StatusCode::kAlreadyExists);
  EXPECT_EQ(m.MustFail(Commit::CreateCf(""))->code, StatusCode::kInvalidArgument);
  EXPECT_EQ(m.MustFail(Commit::CreateCf(std::string(101, 'n')))->code,
            StatusCode::kInvalidArgument);
  EXPECT_EQ(m.MustFail(Put("x", "k", "v"))->code, StatusCode::kNotFound);
  EXPECT_FALSE(m.MustFail(Put("default", "k", "v")).has_value());
  EXPECT_FALSE(m.MustFail(Commit::CreateCf("x")).has_value());

  const Verdict v = m.Record(Put("x", "k", "v"), kDurable);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.explanation, HasSubstr("must fail with NotFound"));
  EXPECT_EQ(m.Visible().ToMap(), Initial());
  EXPECT_EQ(m.sequence(), 0u);
}

TEST(ModelTest, AcknowledgementAfterUncertainIsFlagged) {
  Model m;
  uint64_t uncertain = 0;
  ASSERT_TRUE(m.Record(Put("default", "a", "1"), kUncertain, &uncertain).ok);
  // Refused writes recorded as failed or uncertain are fine.
  MustRecord(m, Put("default", "b", "2"), kFailed);
  MustRecord(m, Put("default", "c", "3"), kUncertain);
  EXPECT_TRUE(m.has_uncertain());
  const Verdict v = m.Record(Put("default", "d", "4"), kNonDurable);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.explanation, HasSubstr("while uncertain commit(s) before it are unresolved"));
  EXPECT_THAT(v.explanation, HasSubstr("#1 put 'default' \"a\""));
  // The model took the uncertain ones as present.
  EXPECT_EQ(m.Visible().ToMap(), (StateMap{{"default", {{"a", "1"}, {"c", "3"}, {"d", "4"}}}}));
  EXPECT_FALSE(m.has_uncertain());
  // Only prefixes of #1, #3, #4 remain legal.
  Model copy = m;
  EXPECT_FALSE(copy.CheckRecovered(StateMap{{"default", {{"d", "4"}}}}).legal);
  EXPECT_TRUE(copy.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}).legal);
}

TEST(ModelTest, CleanReopenKeepsEveryAcknowledgedCommit) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kDurable);
  MustRecord(m, Put("default", "b", "2"), kNonDurable);  // #2
  MustRecord(m, Put("default", "c", "3"), kUncertain);   // #3
  {
    Model copy = m;
    const CrashVerdict v = copy.CheckCleanReopen(StateMap{{"default", {{"a", "1"}}}});
    EXPECT_FALSE(v.legal);
    EXPECT_THAT(v.explanation, HasSubstr("clean reopen must keep every acknowledged commit"));
    EXPECT_THAT(v.explanation, HasSubstr("#2 put 'default' \"b\""));
  }
  {
    Model copy = m;
    const CrashVerdict v = copy.CheckCleanReopen(StateMap{{"default", {{"a", "1"}, {"b", "2"}}}});
    EXPECT_TRUE(v.legal) << v.explanation;
    EXPECT_EQ(v.candidates, 2u);
  }
  {
    Model copy = m;
    const CrashVerdict v =
        copy.CheckCleanReopen(StateMap{{"default", {{"a", "1"}, {"b", "2"}, {"c", "3"}}}});
    EXPECT_TRUE(v.legal) << v.explanation;
  }
  {
    Model copy = m;  // Crash instead: losing the non-durable one is fine.
    EXPECT_TRUE(copy.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}).legal);
  }
}

// ---- Adoption -----------------------------------------------------------------------------------

TEST(ModelTest, RecoveryAdoptsMatchedPrefix) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kDurable);     // #1
  MustRecord(m, Put("default", "b", "2"), kNonDurable);  // #2
  MustRecord(m, Put("default", "c", "3"), kNonDurable);  // #3
  const uint64_t snap = m.TakeSnapshot();
  EXPECT_EQ(m.live_snapshots(), 1u);
  const CrashVerdict v = m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}}}});
  ASSERT_TRUE(v.legal) << v.explanation;
  EXPECT_EQ(v.matched_last_id, 2u);
  EXPECT_EQ(m.live_snapshots(), 0u);  // Engine snapshots do not survive a reopen.
  (void)snap;
  EXPECT_EQ(m.Get("default", "c"), std::nullopt);
  EXPECT_EQ(m.sequence(), 2u);
  EXPECT_EQ(m.last_visible_id(), 2u);
  // New commits build on the adopted state; #3 is gone from the order.
  uint64_t id = 0;
  ASSERT_TRUE(m.Record(Put("default", "d", "4"), kNonDurable, &id).ok);
  EXPECT_EQ(id, 4u);
  EXPECT_EQ(m.sequence(), 3u);
  EXPECT_FALSE(m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}, {"c", "3"}}}}).legal);
  EXPECT_FALSE(m.CheckRecovered(StateMap{{"default", {{"a", "1"}}}}).legal);  // Now durable.
  const CrashVerdict v2 = m.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}}}});
  ASSERT_TRUE(v2.legal) << v2.explanation;
  EXPECT_EQ(v2.matched_last_id, 2u);
}

TEST(ModelTest, RecoveryThatDoesNotSyncKeepsCommitsPending) {
  ModelOptions options;
  options.recovery_makes_durable = false;
  Model m(options);
  MustRecord(m, Put("default", "a", "1"), kDurable);
  MustRecord(m, Put("default", "b", "2"), kNonDurable);  // #2
  MustRecord(m, Put("default", "c", "3"), kUncertain);   // #3
  const StateMap all{{"default", {{"a", "1"}, {"b", "2"}, {"c", "3"}}}};
  ASSERT_TRUE(m.CheckRecovered(all).legal);
  EXPECT_EQ(m.pending_commits(), 2u);
  EXPECT_EQ(m.Visible().ToMap(), all);
  MustRecord(m, Put("default", "d", "4"), kNonDurable);  // #4
  // A second crash may still lose #2..#4 (as a suffix), but not make a hole.
  {
    Model copy = m;
    const CrashVerdict v = copy.CheckRecovered(StateMap{{"default", {{"a", "1"}}}});
    ASSERT_TRUE(v.legal) << v.explanation;
    EXPECT_EQ(v.matched_last_id, 1u);
  }
  {
    Model copy = m;
    const CrashVerdict v = copy.CheckRecovered(StateMap{{"default", {{"a", "1"}, {"b", "2"}}}});
    ASSERT_TRUE(v.legal) << v.explanation;
    EXPECT_EQ(v.matched_last_id, 2u);
  }
  EXPECT_FALSE(Model(m).CheckRecovered(StateMap{{"default", {{"a", "1"}, {"c", "3"}}}}).legal);
  // A clean reopen makes everything durable.
  ASSERT_TRUE(
      m.CheckCleanReopen(StateMap{{"default", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}}}})
          .legal);
  EXPECT_EQ(m.pending_commits(), 0u);
}

TEST(ModelTest, IllegalRecoveryChangesNothing) {
  Model m;
  MustRecord(m, Put("default", "a", "1"), kNonDurable);
  const StateMap before = m.Visible().ToMap();
  EXPECT_FALSE(m.CheckRecovered(StateMap{{"default", {{"a", "2"}}}}).legal);
  EXPECT_EQ(m.Visible().ToMap(), before);
  EXPECT_EQ(m.pending_commits(), 1u);
}

TEST(ModelTest, ExplanationNamesClosestPrefixAndCulprits) {
  Model m;
  MustRecord(m, Commit::CreateCf("a"), kDurable);  // #1
  for (int i = 0; i < 10; ++i) MustRecord(m, Put("a", "k" + std::to_string(i), "v"), kDurable);
  // #12..#14 pending; recovered has #12 and #14 but not #13 (a hole), and an alien key.
  MustRecord(m, Put("a", "p", "12"), kNonDurable);  // #12
  MustRecord(m,
             Commit::Batch({Op::Put("a", "k7", "v3"), Op::Put("a", "q", "13"),
                            Op::Delete("a", "k1"), Op::Put("default", "z", "1")}),
             kNonDurable);                         // #13
  MustRecord(m, Put("a", "r", "14"), kUncertain);  // #14
  StateMap recovered = m.Visible().ToMap();
  recovered["a"]["p"] = "12";
  recovered["a"]["r"] = "14";
  recovered["a"]["k7"] = "v";
  recovered["a"].erase("q");
  recovered["a"]["k1"] = "v";
  recovered["default"].erase("z");
  const CrashVerdict v = m.CheckRecovered(recovered);
  ASSERT_FALSE(v.legal);
  EXPECT_EQ(v.min_last_id, 11u);
  EXPECT_EQ(v.max_last_id, 14u);
  EXPECT_EQ(v.candidates, 4u);
  const std::string& e = v.explanation;
  std::printf("example explanation:\n%s\n", e.c_str());
  EXPECT_THAT(e, HasSubstr("the state after #11 through the state after #14 (4 prefixes)"));
  EXPECT_THAT(e, HasSubstr("Closest: the state after #12 (1 difference)"));
  EXPECT_THAT(e, HasSubstr("key \"r\": expected absent"));
  EXPECT_THAT(e, HasSubstr("#14 put 'a' \"r\" = \"14\" (uncertain), beyond the prefix"));
  EXPECT_THAT(e, HasSubstr("#13 batch of 4 ops on 'a','default' (keys \"k7\", \"q\", \"k1\", ...)"
                           " (acknowledged non-durable)"));
}

// ---- Snapshots ----------------------------------------------------------------------------------

TEST(ModelTest, SnapshotsAreFrozen) {
  Model m;
  MustRecord(m, Commit::CreateCf("a"), kDurable);
  MustRecord(m, Put("a", "k", "1"), kDurable);
  const uint64_t s1 = m.TakeSnapshot();
  EXPECT_EQ(m.SnapshotSequence(s1), 2u);
  MustRecord(m, Put("a", "k", "2"), kDurable);
  MustRecord(m, Put("a", "j", "x"), kNonDurable);
  const uint64_t s2 = m.TakeSnapshot();
  MustRecord(m, Commit::DropCf("a"), kDurable);
  MustRecord(m, Commit::CreateCf("a"), kDurable);
  MustRecord(m, Put("a", "k", "3"), kFailed);
  EXPECT_EQ(m.SnapshotState(s1).ToMap(), (StateMap{{"default", {}}, {"a", {{"k", "1"}}}}));
  EXPECT_EQ(m.SnapshotState(s2).ToMap(),
            (StateMap{{"default", {}}, {"a", {{"k", "2"}, {"j", "x"}}}}));
  EXPECT_EQ(m.Visible().ToMap(), (StateMap{{"default", {}}, {"a", {}}}));
  EXPECT_TRUE(m.CheckGet("a", "k", std::string("1"), s1).ok);
  const Verdict bad = m.CheckGet("a", "k", std::string("2"), s1);
  EXPECT_FALSE(bad.ok);
  EXPECT_THAT(bad.explanation, HasSubstr("at snapshot"));
  // A cursor made before later commits keeps its view too.
  Cursor cursor(m.SnapshotState(s2), "a");
  m.ReleaseSnapshot(s2);
  MustRecord(m, Put("a", "z", "z"), kDurable);
  cursor.SeekToFirst();
  ASSERT_TRUE(cursor.Valid());
  EXPECT_EQ(cursor.key(), "j");
  m.ReleaseSnapshot(s1);
  EXPECT_EQ(m.live_snapshots(), 0u);
}

TEST(ModelDeathTest, MisuseAborts) {
  EXPECT_DEATH(
      {
        Model m;
        m.BeginCommit(Put("default", "a", "1"));
        m.BeginCommit(Put("default", "b", "2"));
      },
      "still open");
  EXPECT_DEATH(
      {
        Model m;
        m.ReleaseSnapshot(7);
      },
      "unknown snapshot");
}

// ---- Scans --------------------------------------------------------------------------------------

Entries Keys(std::initializer_list<const char*> keys) {
  Entries out;
  for (const char* k : keys) out.emplace_back(k, std::string("v") + k);
  return out;
}

TEST(ModelTest, ScansWithBoundsBothDirections) {
  Model m;
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    MustRecord(m, Put("default", k, std::string("v") + k), kDurable);
  }
  const State& s = m.Visible();
  auto scan = [&](std::optional<std::string> lower, std::optional<std::string> upper, bool reverse,
                  std::optional<std::string> start = std::nullopt,
                  size_t limit = std::numeric_limits<size_t>::max()) {
    ScanOptions o;
    o.lower = std::move(lower);
    o.upper = std::move(upper);
    o.reverse = reverse;
    o.start = std::move(start);
    o.limit = limit;
    return Scan(s, "default", o);
  };
  EXPECT_EQ(scan({}, {}, false), Keys({"a", "b", "c", "d", "e"}));
  EXPECT_EQ(scan({}, {}, true), Keys({"e", "d", "c", "b", "a"}));
  EXPECT_EQ(scan("b", "d", false), Keys({"b", "c"}));
  EXPECT_EQ(scan("b", "d", true), Keys({"c", "b"}));
  EXPECT_EQ(scan("bb", "dd", false), Keys({"c", "d"}));
  EXPECT_EQ(scan("bb", "dd", true), Keys({"d", "c"}));
  EXPECT_EQ(scan("d", "b", false), Keys({}));
  EXPECT_EQ(scan("d", "b", true), Keys({}));
  // Seek targets, clamped by the bounds.
  EXPECT_EQ(scan({}, {}, false, "c"), Keys({"c", "d", "e"}));
  EXPECT_EQ(scan({}, {}, false, "cc"), Keys({"d", "e"}));
  EXPECT_EQ(scan("c", {}, false, "a"), Keys({"c", "d", "e"}));
  EXPECT_EQ(scan({}, "d", false, "e"), Keys({}));
  EXPECT_EQ(scan({}, {}, true, "c"), Keys({"c", "b", "a"}));
  EXPECT_EQ(scan({}, {}, true, "cc"), Keys({"c", "b", "a"}));
  EXPECT_EQ(scan({}, "c", true, "z"), Keys({"b", "a"}));
  EXPECT_EQ(scan({}, "c", true, "c"), Keys({"b", "a"}));
  EXPECT_EQ(scan("c", {}, true, "b"), Keys({}));
  EXPECT_EQ(scan({}, {}, true, "0"), Keys({}));
  EXPECT_EQ(scan({}, {}, false, "z"), Keys({}));
  EXPECT_EQ(scan({}, {}, false, {}, 2), Keys({"a", "b"}));
  EXPECT_EQ(scan("b", {}, true, {}, 2), Keys({"e", "d"}));
  // Missing column family: empty.
  EXPECT_EQ(Scan(s, "nope", {}), Keys({}));
  // Bytewise order: 0xff sorts after ASCII, "a" before "a\0".
  MustRecord(m, Put("default", "\xff", "hi"), kDurable);
  MustRecord(m, Put("default", std::string("a\0", 2), "nul"), kDurable);
  const Entries all = Scan(m.Visible(), "default", {});
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[1].first, std::string("a\0", 2));
  EXPECT_EQ(all.back().first, "\xff");
  // CheckScan explains the first difference.
  Entries wrong = scan("b", "d", false);
  wrong[1].second = "oops";
  const Verdict v = Model::CheckScan(s, "default", ScanOptions{"b", "d", false, {}, 10}, wrong);
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.explanation, HasSubstr("first difference at position 1"));
  EXPECT_TRUE(
      Model::CheckScan(s, "default", ScanOptions{"b", "d", false, {}, 10}, scan("b", "d", false))
          .ok);
}

TEST(ModelTest, CursorSteps) {
  Model m;
  for (const char* k : {"a", "c", "e"}) MustRecord(m, Put("default", k, "v"), kDurable);
  Cursor c(m.Visible(), "default", std::string("b"), std::string("e"));
  c.SeekToFirst();
  ASSERT_TRUE(c.Valid());
  EXPECT_EQ(c.key(), "c");
  c.Prev();
  EXPECT_FALSE(c.Valid());  // "a" is below the lower bound.
  c.SeekToLast();
  ASSERT_TRUE(c.Valid());
  EXPECT_EQ(c.key(), "c");
  c.Next();
  EXPECT_FALSE(c.Valid());  // "e" is the (exclusive) upper bound.
  c.SeekForPrev("d");
  ASSERT_TRUE(c.Valid());
  EXPECT_EQ(c.key(), "c");
  c.Seek("a");
  ASSERT_TRUE(c.Valid());
  EXPECT_EQ(c.key(), "c");
}

// ---- Hashing ------------------------------------------------------------------------------------

TEST(ModelTest, HashIsStableAndOrderIndependent) {
  // Pinned values: the hash must not change across builds (it may be printed and compared).
  EXPECT_EQ(StateHash(StateMap{}), 0u);
  EXPECT_EQ(StateHash(Initial()), HashColumnFamily("default"));
  const uint64_t pinned_cf = HashColumnFamily("default");
  const uint64_t pinned_entry = HashEntry("default", "k", "v");
  EXPECT_EQ(pinned_cf, HashColumnFamily(std::string("default")));
  EXPECT_NE(HashEntry("default", "k", "v"), HashEntry("default", "kv", ""));
  EXPECT_NE(HashEntry("a", "bc", "d"), HashEntry("ab", "c", "d"));
  EXPECT_EQ(StateHash(StateMap{{"default", {{"k", "v"}}}}), pinned_cf + pinned_entry);

  Model x, y;
  MustRecord(x, Put("default", "a", "1"), kDurable);
  MustRecord(x, Commit::CreateCf("c"), kNonDurable);
  MustRecord(x, Put("c", "k", "2"), kDurable);
  MustRecord(x, Put("default", "b", "0"), kDurable);
  MustRecord(x, Put("default", "b", "3"), kDurable);

  MustRecord(y, Commit::CreateCf("c"), kDurable);
  MustRecord(y,
             Commit::Batch(
                 {Op::Put("default", "b", "3"), Op::Put("c", "k", "2"), Op::Put("c", "junk", "x")}),
             kDurable);
  MustRecord(y, Commit::CreateCf("tmp"), kDurable);
  MustRecord(y, Commit::Batch({Op::Delete("c", "junk"), Op::Put("default", "a", "1")}), kDurable);
  MustRecord(y, Commit::DropCf("tmp"), kDurable);

  EXPECT_EQ(x.Visible().hash(), y.Visible().hash());
  EXPECT_TRUE(x.Visible() == y.Visible());
  EXPECT_EQ(x.Visible().hash(), StateHash(y.Visible().ToMap()));
  EXPECT_EQ(State::FromMap(x.Visible().ToMap()), y.Visible());
}

// ---- Properties ---------------------------------------------------------------------------------

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

// Equal states have equal hashes however they were built; the incremental hash is StateHash.
RC_GTEST_PROP(ModelProperty, HashDependsOnlyOnState, ()) {
  const auto entries = *rc::gen::container<std::map<std::string, std::string>>(
      rc::gen::nonEmpty(rc::gen::string<std::string>()), rc::gen::string<std::string>());
  const StateMap target{{"default", entries}};
  Model a, b;
  std::vector<std::pair<std::string, std::string>> order(entries.begin(), entries.end());
  for (const auto& [k, v] : order) MustRecord(a, Put("default", k, v), kDurable);
  std::vector<size_t> perm(order.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(*rc::gen::arbitrary<uint64_t>()));
  for (size_t i : perm) {
    MustRecord(b, Put("default", order[i].first, "tmp"), kNonDurable);
    MustRecord(b, Put("default", order[i].first + "~junk", "x"), kNonDurable);
  }
  for (size_t i : perm) {
    MustRecord(b,
               Commit::Batch({Op::Delete("default", order[i].first + "~junk"),
                              Op::Put("default", order[i].first, order[i].second)}),
               kDurable);
  }
  // A key that is both some k and some k + "~junk" would collide; rebuild from the target then.
  if (b.Visible().ToMap() != target) return;
  RC_ASSERT(a.Visible().hash() == b.Visible().hash());
  RC_ASSERT(a.Visible().hash() == StateHash(target));
  RC_ASSERT(a.Visible() == b.Visible());
}

// Short strings over {a, b, c}, so that keys, bounds and targets collide often.
rc::Gen<std::string> SmallString() {
  return rc::gen::resize(3, rc::gen::container<std::string>(rc::gen::element('a', 'b', 'c')));
}

std::optional<std::string> MaybeBound() {
  if (*rc::gen::inRange(0, 3) == 0) return std::nullopt;
  return *SmallString();
}

// The cursor follows a naive position in the bounded, sorted key list.
RC_GTEST_PROP(ModelProperty, CursorMatchesNaiveIteration, ()) {
  const auto keys = *rc::gen::container<std::set<std::string>>(SmallString());
  Model m;
  for (const std::string& k : keys) MustRecord(m, Put("default", k, "v" + k), kDurable);
  const std::optional<std::string> lower = MaybeBound();
  const std::optional<std::string> upper = MaybeBound();
  std::vector<std::string> view;
  for (const std::string& k : keys) {
    if ((!lower || k >= *lower) && (!upper || k < *upper)) view.push_back(k);
  }
  Cursor cursor(m.Visible(), "default", lower, upper);
  std::optional<size_t> pos;  // Naive position in `view`.
  const int steps = *rc::gen::inRange(1, 30);
  for (int i = 0; i < steps; ++i) {
    const int action = *rc::gen::inRange(0, 6);
    const std::string target = *SmallString();
    if ((action == 4 || action == 5) && !pos) continue;
    switch (action) {
      case 0:
        cursor.SeekToFirst();
        pos = view.empty() ? std::nullopt : std::optional<size_t>(0);
        break;
      case 1:
        cursor.SeekToLast();
        pos = view.empty() ? std::nullopt : std::optional<size_t>(view.size() - 1);
        break;
      case 2: {
        cursor.Seek(target);
        auto it = std::lower_bound(view.begin(), view.end(), target);
        pos = it == view.end() ? std::nullopt
                               : std::optional<size_t>(static_cast<size_t>(it - view.begin()));
        break;
      }
      case 3: {
        cursor.SeekForPrev(target);
        auto it = std::upper_bound(view.begin(), view.end(), target);
        pos = it == view.begin()
                  ? std::nullopt
                  : std::optional<size_t>(static_cast<size_t>(it - view.begin()) - 1);
        break;
      }
      case 4:
        cursor.Next();
        pos = *pos + 1 < view.size() ? std::optional<size_t>(*pos + 1) : std::nullopt;
        break;
      case 5:
        cursor.Prev();
        pos = *pos > 0 ? std::optional<size_t>(*pos - 1) : std::nullopt;
        break;
    }
    RC_ASSERT(cursor.Valid() == pos.has_value());
    if (pos) {
      RC_ASSERT(cursor.key() == view[*pos]);
      RC_ASSERT(cursor.value() == "v" + view[*pos]);
    }
  }
}

// ---- Performance sanity -------------------------------------------------------------------------

// 10k commits (mostly non-durable, some uncertain tails) and 200 crashes, each recovered state
// checked and adopted. Must stay well under a few seconds even in debug/ASan builds.
TEST(ModelTest, ManyCommitsAndCrashesStayFast) {
  std::mt19937_64 rng(12345);
  Model m;
  StateMap durable = Initial();
  std::vector<Commit> pending;  // Since `durable`.
  MustRecord(m, Commit::CreateCf("a"), kDurable);
  durable["a"];
  const int kCommits = 10000, kCrashes = 200;
  int crashes = 0, legal = 0, illegal_probes = 0;
  for (int i = 0; i < kCommits; ++i) {
    std::vector<Op> ops;
    const int n = 1 + static_cast<int>(rng() % 5);
    for (int j = 0; j < n; ++j) {
      const char* cf = rng() % 2 ? "a" : "default";
      const std::string key = "key" + std::to_string(rng() % 2000);
      if (rng() % 5 == 0) {
        ops.push_back(Op::Delete(cf, key));
      } else {
        ops.push_back(Op::Put(cf, key, std::string(10 + rng() % 20, 'a' + rng() % 26)));
      }
    }
    Commit c = Commit::Batch(std::move(ops));
    const bool uncertain_tail = (i + 1) % (kCommits / kCrashes) == 0 && rng() % 2;
    const Outcome o = uncertain_tail ? kUncertain : rng() % 20 == 0 ? kDurable : kNonDurable;
    ASSERT_TRUE(m.Record(c, o).ok);
    if (o == kDurable) {
      for (const Commit& p : pending) NaiveApply(durable, p);
      NaiveApply(durable, c);
      pending.clear();
    } else {
      pending.push_back(std::move(c));
    }
    if ((i + 1) % (kCommits / kCrashes) == 0) {
      ++crashes;
      const size_t keep = rng() % (pending.size() + 1);
      StateMap recovered = durable;
      for (size_t k = 0; k < keep; ++k) NaiveApply(recovered, pending[k]);
      if (crashes % 20 == 0) {
        // An illegal probe first: a value nobody wrote.
        StateMap bad = recovered;
        bad["default"]["alien"] = "x";
        ASSERT_FALSE(m.CheckRecovered(bad).legal);
        ++illegal_probes;
      }
      const CrashVerdict v = m.CheckRecovered(recovered);
      ASSERT_TRUE(v.legal) << v.explanation;
      ++legal;
      durable = recovered;
      pending.clear();
    }
  }
  EXPECT_EQ(crashes, kCrashes);
  EXPECT_EQ(legal, kCrashes);
  EXPECT_EQ(illegal_probes, kCrashes / 20);
  EXPECT_EQ(m.Visible().ToMap(), durable);
}

}  // namespace
}  // namespace manifold::model

int main(int argc, char** argv) {
  setenv("RC_PARAMS", "max_success=300", /*overwrite=*/0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

namespace manifold::model {
namespace {

// An uncertain commit that changed no entry leaves two prefixes with equal states; the engine's
// sequence number tells which one it recovered.
TEST(ModelSequenceTest, SequenceTellsApartPrefixesWithEqualStates) {
  for (uint64_t engine_sequence : {1u, 2u}) {
    Model m;
    ASSERT_TRUE(
        m.Record(Commit::Batch({Op::Put("default", "a", "1")}), Outcome::kAcknowledgedDurable).ok);
    ASSERT_TRUE(m.Record(Commit::Batch({Op::Delete("default", "absent")}), Outcome::kUncertain).ok);
    StateMap recovered = {{"default", {{"a", "1"}}}};
    CrashVerdict verdict = m.CheckRecovered(recovered, Reopen::kCrash, engine_sequence);
    ASSERT_TRUE(verdict.legal) << verdict.explanation;
    EXPECT_EQ(verdict.matched_sequence, engine_sequence);
    EXPECT_EQ(m.sequence(), engine_sequence);
  }
  Model m;
  ASSERT_TRUE(
      m.Record(Commit::Batch({Op::Put("default", "a", "1")}), Outcome::kAcknowledgedDurable).ok);
  CrashVerdict lost = m.CheckRecovered({{"default", {{"a", "1"}}}}, Reopen::kCrash, 0);
  EXPECT_FALSE(lost.legal) << "sequence 0 would mean the acknowledged commit is missing";
}

}  // namespace
}  // namespace manifold::model
