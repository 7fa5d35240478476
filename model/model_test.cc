#include "model/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "model/model_test_util.h"

namespace manifold::model {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
