#include "model/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace manifold::model {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr Outcome kDurable = Outcome::kAcknowledgedDurable;
constexpr Outcome kNonDurable = Outcome::kAcknowledgedNonDurable;
constexpr Outcome kFailed = Outcome::kFailedClean;
constexpr Outcome kUncertain = Outcome::kUncertain;

Commit Put(std::string_view key, std::string_view value) {
  return Commit::Batch({Op::Put("default", key, value)});
}

// Builds a history one event at a time; ids are positions.
class Builder {
 public:
  explicit Builder(uint64_t base = 0, StateMap state = {{"default", {}}}) {
    h.base_sequence = base;
    h.base_state = std::move(state);
  }

  HistoryEvent& Add(HistoryEvent::Kind kind, uint32_t thread, uint64_t invoke, uint64_t ret) {
    HistoryEvent e;
    e.kind = kind;
    e.id = static_cast<uint32_t>(h.events.size());
    e.thread = thread;
    e.invoke_step = invoke;
    e.return_step = ret;
    e.description = "event " + std::to_string(e.id);
    h.events.push_back(std::move(e));
    return h.events.back();
  }
  HistoryEvent& Write(uint32_t thread, uint64_t invoke, uint64_t ret, Commit c, Outcome o,
                      std::optional<uint64_t> seq, bool sync = true) {
    HistoryEvent& e = Add(HistoryEvent::kCommit, thread, invoke, ret);
    e.commit.commit = std::move(c);
    e.commit.outcome = o;
    e.commit.sequence = seq;
    e.commit.sync = sync;
    return e;
  }
  HistoryEvent& Get(uint32_t thread, uint64_t invoke, uint64_t ret, std::string_view key,
                    std::optional<std::string> value, uint32_t view = 0,
                    std::string_view cf = "default") {
    HistoryEvent& e = Add(HistoryEvent::kRead, thread, invoke, ret);
    e.read.kind = HistoryRead::kGet;
    e.read.cf = std::string(cf);
    e.read.key = std::string(key);
    e.read.value = std::move(value);
    e.view = view;
    return e;
  }
  HistoryEvent& Scan(uint32_t thread, uint64_t invoke, uint64_t ret, ScanSpec spec, Entries entries,
                     uint32_t view = 0) {
    HistoryEvent& e = Add(HistoryEvent::kRead, thread, invoke, ret);
    e.read.kind = HistoryRead::kScan;
    e.read.cf = "default";
    e.read.scan = std::move(spec);
    e.read.entries = std::move(entries);
    e.view = view;
    return e;
  }
  HistoryEvent& Snapshot(uint32_t thread, uint64_t invoke, uint64_t ret, uint32_t view,
                         uint64_t seq) {
    HistoryEvent& e = Add(HistoryEvent::kSnapshot, thread, invoke, ret);
    e.view = view;
    e.snapshot_sequence = seq;
    return e;
  }
  HistoryEvent& Iterator(uint32_t thread, uint64_t invoke, uint64_t ret, uint32_t view) {
    HistoryEvent& e = Add(HistoryEvent::kIterator, thread, invoke, ret);
    e.view = view;
    return e;
  }

  HistoryVerdict Check(const RecoveredState* r = nullptr) const { return CheckHistory(h, r); }

  History h;
};

#define EXPECT_PASSES(verdict)                     \
  do {                                             \
    const HistoryVerdict v_ = (verdict);           \
    EXPECT_TRUE(v_.ok) << v_.failure;              \
    EXPECT_TRUE(v_.failure.empty()) << v_.failure; \
  } while (0)

#define EXPECT_FAILS(verdict, signature)                                              \
  do {                                                                                \
    const HistoryVerdict v_ = (verdict);                                              \
    EXPECT_FALSE(v_.ok);                                                              \
    EXPECT_THAT(v_.failure, StartsWith(std::string(signature) + "\n")) << v_.failure; \
  } while (0)

// ---- ApplyScan ----------------------------------------------------------------------------------

TEST(ApplyScanTest, BoundsStartDirectionAndLimit) {
  const KeyMap cf = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}};
  auto keys = [&](const ScanSpec& s) {
    std::string out;
    for (const auto& [k, v] : ApplyScan(cf, s)) out += k;
    return out;
  };
  ScanSpec s;
  EXPECT_EQ(keys(s), "abcde");
  s.reverse = true;
  EXPECT_EQ(keys(s), "edcba");
  s = {};
  s.lower = "b";
  s.upper = "e";
  EXPECT_EQ(keys(s), "bcd");
  s.reverse = true;
  EXPECT_EQ(keys(s), "dcb");
  s.start = "c";
  EXPECT_EQ(keys(s), "cb");
  s.start_inclusive = false;
  EXPECT_EQ(keys(s), "b");
  s.reverse = false;
  EXPECT_EQ(keys(s), "d");
  s.start_inclusive = true;
  EXPECT_EQ(keys(s), "cd");
  s.start = "a";  // Below the lower bound: starts at it.
  EXPECT_EQ(keys(s), "bcd");
  s.reverse = true;
  EXPECT_EQ(keys(s), "");
  s.start = "z";  // Above the upper bound: starts below it.
  EXPECT_EQ(keys(s), "dcb");
  s.limit = 2;
  EXPECT_EQ(keys(s), "dc");
  s = {};
  s.start = "bb";
  s.limit = 1;
  EXPECT_EQ(keys(s), "c");
  s.reverse = true;
  EXPECT_EQ(keys(s), "b");
  s = {};
  s.upper = "";
  EXPECT_EQ(keys(s), "");
  EXPECT_EQ(ApplyScan(cf, ScanSpec{}).front(), (std::pair<std::string, std::string>{"a", "1"}));
}

// ---- (a), (b) Plain reads -----------------------------------------------------------------------

TEST(HistoryTest, SequentialHistoryPasses) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, 1);
  b.Get(2, 3, 4, "x", "1");
  b.Write(1, 5, 6, Put("x", "2"), kNonDurable, 2, false);
  b.Get(2, 7, 8, "x", "2");
  b.Scan(2, 9, 10, {}, {{"x", "2"}});
  const HistoryVerdict v = b.Check();
  EXPECT_PASSES(v);
  EXPECT_EQ(v.reads_checked, 3u);
  EXPECT_EQ(v.commits_ordered, 2u);
}

TEST(HistoryTest, StaleReadFails) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, 1);
  b.Get(2, 3, 4, "x", std::nullopt);  // Began after the put was acknowledged.
  const HistoryVerdict v = b.Check();
  EXPECT_FAILS(v, "history: read matches no state in its window");
  EXPECT_THAT(v.failure, HasSubstr("window [1, 1]"));
  EXPECT_THAT(v.failure, HasSubstr("observed: NotFound"));
  EXPECT_THAT(v.failure, HasSubstr("s=1 (after op #0): \"1\""));
}

TEST(HistoryTest, ReadFromTheFutureFails) {
  Builder b;
  b.Get(2, 1, 4, "x", "1");
  b.Write(1, 5, 6, Put("x", "1"), kDurable, 1);  // Invoked after the read returned.
  EXPECT_FAILS(b.Check(), "history: read matches no state in its window");
}

TEST(HistoryTest, OverlappingCommitMayOrMayNotBeSeen) {
  for (const std::optional<std::string>& seen : {std::optional<std::string>(), {"1"}}) {
    Builder b;
    b.Write(1, 5, 15, Put("x", "1"), kDurable, 1);
    b.Get(2, 8, 12, "x", seen);
    EXPECT_PASSES(b.Check());
  }
  Builder b;
  b.Write(1, 5, 15, Put("x", "1"), kDurable, 1);
  b.Get(2, 8, 12, "x", "2");
  EXPECT_FAILS(b.Check(), "history: read matches no state in its window");
}

TEST(HistoryTest, RealTimeOrderViolationFails) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, 2);
  b.Write(2, 3, 4, Put("y", "1"), kDurable, 1);
  const HistoryVerdict v = b.Check();
  EXPECT_FAILS(v, "history: real-time order contradicts the sequence order");
  EXPECT_THAT(v.failure, HasSubstr("op #0"));
  EXPECT_THAT(v.failure, HasSubstr("op #1"));
}

TEST(HistoryTest, ReadsGoingBackInTimeFail) {
  Builder b;
  b.Write(1, 1, 20, Put("x", "1"), kDurable, 1);
  b.Get(2, 2, 3, "x", "1");
  b.Get(3, 4, 5, "x", std::nullopt);  // After a read that already saw the put.
  EXPECT_FAILS(b.Check(), "history: reads go back in time");
}

TEST(HistoryTest, ReadSeeingAFailedCommitFails) {
  Builder b;
  b.Write(1, 1, 5, Put("x", "1"), kUncertain, 1);  // Returned IOError.
  b.Get(2, 2, 7, "x", "1");
  EXPECT_FAILS(b.Check(), "history: read matches no state in its window");
  b.h.events[1].read.value = std::nullopt;
  EXPECT_PASSES(b.Check());
}

TEST(HistoryTest, CommitCutOffMayBeSeen) {
  Builder b;
  b.Write(1, 1, 9, Put("x", "1"), kUncertain, 1).commit.returned = false;
  b.Get(2, 2, 7, "x", "1");
  EXPECT_PASSES(b.Check());
}

TEST(HistoryTest, AcknowledgedAfterAFailedCommitFails) {
  Builder b;
  b.Write(1, 1, 5, Put("x", "1"), kUncertain, 1);
  b.Write(2, 2, 6, Put("y", "1"), kDurable, 2);
  EXPECT_FAILS(b.Check(), "history: commit acknowledged after an earlier commit failed");
}

TEST(HistoryTest, ColumnFamilyCreateAndDrop) {
  Builder b;
  b.Get(2, 1, 2, "k", std::nullopt, 0, "x").read.cf_missing = true;
  b.Write(1, 3, 4, Commit::CreateCf("x"), kDurable, 1);
  b.Write(1, 5, 6, Commit::Batch({Op::Put("x", "k", "v")}), kDurable, 2);
  b.Get(2, 7, 8, "k", "v", 0, "x");
  b.Write(1, 9, 10, Commit::DropCf("x"), kDurable, 3);
  b.Get(2, 11, 12, "k", std::nullopt, 0, "x").read.cf_missing = true;
  EXPECT_PASSES(b.Check());
  b.h.events[5].read.cf_missing = false;  // A NotFound key in a dropped column family.
  EXPECT_FAILS(b.Check(), "history: read matches no state in its window");
  b.h.events[5].read.value = "v";
  EXPECT_FAILS(b.Check(), "history: read matches no state in its window");
}

TEST(HistoryTest, CreateAndDropWithoutSequenceFillTheGaps) {
  Builder b;
  b.Write(1, 1, 2, Commit::CreateCf("x"), kDurable, std::nullopt);
  b.Write(1, 3, 4, Commit::Batch({Op::Put("x", "k", "v")}), kDurable, 2);
  b.Write(1, 5, 6, Commit::DropCf("x"), kDurable, std::nullopt);
  b.Write(1, 7, 8, Put("y", "1"), kDurable, 4);
  b.Get(2, 9, 10, "k", std::nullopt, 0, "x").read.cf_missing = true;
  const HistoryVerdict v = b.Check();
  EXPECT_PASSES(v);
  EXPECT_EQ(v.commits_ordered, 4u);
}

TEST(HistoryTest, CreateWithoutSequenceAboveEveryRecordedNumber) {
  Builder b;
  b.Write(1, 1, 2, Put("y", "1"), kDurable, 1);
  b.Write(1, 3, 4, Commit::CreateCf("x"), kDurable, std::nullopt);
  b.Get(2, 5, 6, "k", std::nullopt, 0, "x");
  RecoveredState r;
  r.sequence = 2;
  r.state = {{"default", {{"y", "1"}}}, {"x", {}}};
  EXPECT_PASSES(b.Check(&r));
  r.sequence = 1;  // The create was acknowledged durable.
  EXPECT_FAILS(b.Check(&r), "history: recovery lost an acknowledged durable commit");
}

TEST(HistoryTest, CommitCutOffWithoutSequenceExplainsAGap) {
  Builder b;
  b.Write(1, 1, 30, Put("a", "1"), kUncertain, std::nullopt).commit.returned = false;
  b.Write(2, 3, 4, Put("b", "1"), kDurable, 2);
  b.Get(3, 5, 6, "a", "1");
  EXPECT_PASSES(b.Check());
  // A batch that returned an error without a number took none: the gap stays unexplained.
  b.h.events[0].commit.returned = true;
  EXPECT_FAILS(b.Check(), "history: gap in the sequence order");
}

TEST(HistoryTest, InvalidCommitAtItsPlaceFails) {
  Builder b;
  b.Write(1, 1, 2, Commit::Batch({Op::Put("x", "k", "v")}), kDurable, 1);
  EXPECT_FAILS(b.Check(), "history: commit invalid at its place in the sequence order");
}

TEST(HistoryTest, EmptyBatchWithoutSequenceChangesNothing) {
  Builder b;
  b.Write(1, 1, 2, Commit::Batch({}), kDurable, std::nullopt);
  b.Write(1, 3, 4, Put("x", "1"), kDurable, 1);
  b.Get(2, 5, 6, "x", "1");
  EXPECT_PASSES(b.Check());
}

TEST(HistoryTest, AcknowledgedBatchWithoutSequenceIsMalformed) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, std::nullopt);
  EXPECT_FAILS(b.Check(), "history: malformed event");
}

// ---- Sequence numbers ---------------------------------------------------------------------------

TEST(HistoryTest, NoSpaceReusedSequenceNumbersPass) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kFailed, 1);  // Rolled back (I26); 1 is reused.
  b.Write(1, 3, 4, Put("b", "2"), kDurable, 1);
  b.Get(2, 5, 6, "b", "2");
  b.Get(2, 7, 8, "a", std::nullopt);
  RecoveredState r;
  r.sequence = 1;
  r.state = {{"default", {{"b", "2"}}}};
  EXPECT_PASSES(b.Check(&r));
  b.h.events[3].read.value = "1";  // The rolled-back write is never visible.
  EXPECT_FAILS(b.Check(&r), "history: read matches no state in its window");
}

TEST(HistoryTest, DuplicateSequenceFails) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kDurable, 1);
  b.Write(2, 1, 2, Put("b", "1"), kDurable, 1);
  EXPECT_FAILS(b.Check(), "history: sequence number used by two commits");
}

TEST(HistoryTest, SequenceAtOrBelowTheBaseFails) {
  Builder b(5);
  b.Write(1, 1, 2, Put("a", "1"), kDurable, 5);
  EXPECT_FAILS(b.Check(), "history: sequence number not above the base");
}

TEST(HistoryTest, GapInTheSequenceOrderFails) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kDurable, 1);
  b.Write(1, 3, 4, Put("b", "1"), kDurable, 3);
  const HistoryVerdict v = b.Check();
  EXPECT_FAILS(v, "history: gap in the sequence order");
  EXPECT_THAT(v.failure, HasSubstr("sequence 2"));
}

// ---- (c) Views ----------------------------------------------------------------------------------

TEST(HistoryTest, SnapshotReadsAtExactlyItsSequence) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, 1);
  b.Snapshot(2, 3, 4, 7, 1);
  b.Write(1, 5, 6, Put("x", "2"), kDurable, 2);
  b.Get(2, 7, 8, "x", "1", 7);
  EXPECT_PASSES(b.Check());
  b.h.events[3].read.value = "2";
  EXPECT_FAILS(b.Check(), "history: snapshot read differs from the state at its sequence");
}

TEST(HistoryTest, SnapshotSequenceOutsideItsWindowFails) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, 1);
  b.Snapshot(2, 3, 4, 7, 0);
  EXPECT_FAILS(b.Check(), "history: snapshot sequence outside its window");
}

TEST(HistoryTest, IteratorStepsFromDifferentStatesFail) {
  Builder b;
  b.Write(1, 5, 20, Commit::Batch({Op::Put("default", "a", "1"), Op::Put("default", "b", "1")}),
          kDurable, 1);
  b.Iterator(2, 6, 10, 3);
  ScanSpec first;
  first.limit = 1;
  b.Scan(2, 11, 12, first, {{"a", "1"}}, 3);  // Sees the batch.
  ScanSpec rest;
  rest.start = "a";
  rest.start_inclusive = false;
  b.Scan(2, 13, 14, rest, {}, 3);  // Does not.
  const HistoryVerdict v = b.Check();
  EXPECT_FAILS(v, "history: iterator reads match no single state in its window");
  EXPECT_THAT(v.failure, HasSubstr("op #2"));
  EXPECT_THAT(v.failure, HasSubstr("op #3"));
  b.h.events[3].read.entries = {{"b", "1"}};
  EXPECT_PASSES(b.Check());
}

TEST(HistoryTest, TransactionReadsTheStateBeforeItsCommit) {
  Builder b;
  b.Write(1, 1, 2, Put("x", "1"), kDurable, 1);
  HistoryEvent& t = b.Write(2, 3, 9, Commit::Batch({Op::Put("default", "y", "2")}), kDurable, 2);
  HistoryRead r;
  r.cf = "default";
  r.key = "x";
  r.value = "1";
  t.commit.txn_reads.push_back(r);
  t.commit.txn_read_after.push_back(0);
  r.key = "y";
  r.value = "2";  // Its own write.
  t.commit.txn_reads.push_back(r);
  t.commit.txn_read_after.push_back(1);
  EXPECT_PASSES(b.Check());
  b.h.events[1].commit.txn_reads[0].value = std::nullopt;
  EXPECT_FAILS(b.Check(), "history: transaction read differs from the state before its commit");
  b.h.events[1].commit.txn_reads[0].value = "1";
  b.h.events[1].commit.txn_read_after[1] = 0;  // Before its own write: y was absent.
  EXPECT_FAILS(b.Check(), "history: transaction read differs from the state before its commit");
}

TEST(HistoryTest, AbortedTransactionReadsOneStateInItsWindow) {
  Builder b;
  b.Write(1, 5, 20, Commit::Batch({Op::Put("default", "a", "1"), Op::Put("default", "b", "1")}),
          kDurable, 1);
  HistoryEvent& t = b.Write(2, 6, 15, Commit::Batch({}), kFailed, std::nullopt);
  HistoryRead r;
  r.cf = "default";
  r.key = "a";
  r.value = "1";
  t.commit.txn_reads = {r, r};
  t.commit.txn_reads[1].key = "b";
  t.commit.txn_read_after = {0, 0};
  EXPECT_PASSES(b.Check());
  b.h.events[1].commit.txn_reads[1].value = std::nullopt;
  EXPECT_FAILS(b.Check(), "history: transaction reads match no single state in its window");
}

// ---- (d) Recovery -------------------------------------------------------------------------------

TEST(HistoryTest, RecoveryMissingADurableCommitFails) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kDurable, 1);
  RecoveredState r;
  r.sequence = 0;
  r.state = {{"default", {}}};
  EXPECT_FAILS(b.Check(&r), "history: recovery lost an acknowledged durable commit");
}

TEST(HistoryTest, RecoveryWithAHoleFails) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kNonDurable, 1, false);
  b.Write(1, 3, 4, Put("b", "2"), kNonDurable, 2, false);
  RecoveredState r;
  r.sequence = 2;
  r.state = {{"default", {{"b", "2"}}}};  // The later commit without the earlier one.
  HistoryVerdict v = b.Check(&r);
  EXPECT_FAILS(v, "history: recovered state is not the state at the recovered sequence");
  EXPECT_THAT(v.failure,
              HasSubstr("column family \"default\" key \"a\": expected \"1\", got NotFound"));
  r.sequence = 1;
  v = b.Check(&r);
  EXPECT_FAILS(v, "history: recovered state is not the state at the recovered sequence");
  EXPECT_THAT(v.failure, HasSubstr("above the recovered sequence"));
  r.sequence = 3;
  EXPECT_FAILS(b.Check(&r), "history: recovered sequence beyond every commit of the history");
}

TEST(HistoryTest, NonDurableSuffixMayBeLostOnlyByACrash) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kDurable, 1);
  b.Write(1, 3, 4, Put("b", "2"), kNonDurable, 2, false);
  RecoveredState r;
  r.sequence = 1;
  r.state = {{"default", {{"a", "1"}}}};
  EXPECT_PASSES(b.Check(&r));
  r.clean_close = true;
  EXPECT_FAILS(b.Check(&r), "history: recovery lost an acknowledged commit after a clean close");
  r.sequence = 2;
  r.state = {{"default", {{"a", "1"}, {"b", "2"}}}};
  EXPECT_PASSES(b.Check(&r));
}

TEST(HistoryTest, UncertainCommitMayBeRecoveredOrNot) {
  Builder b;
  b.Write(1, 1, 2, Put("a", "1"), kDurable, 1);
  b.Write(1, 3, 4, Put("b", "2"), kUncertain, 2);
  RecoveredState r;
  r.sequence = 1;
  r.state = {{"default", {{"a", "1"}}}};
  EXPECT_PASSES(b.Check(&r));
  r.sequence = 2;
  r.state = {{"default", {{"a", "1"}, {"b", "2"}}}};
  EXPECT_PASSES(b.Check(&r));
  r.sequence = 1;  // Present, but the sequence says it is not.
  EXPECT_FAILS(b.Check(&r), "history: recovered state is not the state at the recovered sequence");
}

TEST(HistoryTest, MalformedEventsAreReported) {
  Builder b;
  b.Get(1, 5, 4, "x", std::nullopt);
  EXPECT_FAILS(b.Check(), "history: malformed event");
  Builder c;
  c.Get(1, 1, 2, "x", std::nullopt, 9);
  EXPECT_FAILS(c.Check(), "history: malformed event");
}

// ---- A randomized property: legal histories pass, one impossible observation fails -----------

// A sequential simulation: every operation takes effect at one point of time (its linearization
// point), inside [invoke, return] with random slack so that operations overlap.
struct Generated {
  Builder b;
  RecoveredState recovered;
};

Generated Generate(std::mt19937_64& rng) {
  Generated g;
  Builder& b = g.b;
  auto pick = [&](uint64_t n) { return static_cast<uint64_t>(rng() % n); };
  const uint64_t base = pick(3) * 10;
  StateMap state = {{"default", {{"k0", "base"}}}};
  b = Builder(base, state);
  std::vector<StateMap> states = {state};  // states[i]: at base + i.
  uint64_t seq = base;
  uint64_t durable_top = base;
  uint64_t acked_top = base;
  uint64_t t = 100;
  bool failed = false;  // After a failed commit (IOError) every later one fails too (I8).
  const int ops = 20 + static_cast<int>(pick(40));
  uint32_t next_view = 1;
  struct Pending {
    uint32_t view;
    uint64_t s;
    bool iterator;
  };
  std::vector<Pending> views;
  const std::vector<std::string> keys = {"k0", "k1", "k2", "k3"};
  uint64_t visible_top = base;  // Highest visible number.
  for (int i = 0; i < ops; ++i) {
    t += 10;
    const uint64_t slack_before = pick(25), slack_after = pick(25);
    const uint32_t thread = static_cast<uint32_t>(pick(4));
    const uint64_t kind = pick(10);
    if (kind < 4) {
      // A commit.
      std::vector<Op> batch;
      const uint64_t n = 1 + pick(2);
      for (uint64_t j = 0; j < n; ++j) {
        const std::string& key = keys[pick(keys.size())];
        if (pick(4) == 0) {
          batch.push_back(Op::Delete("default", key));
        } else {
          batch.push_back(
              Op::Put("default", key, "v" + std::to_string(i) + "." + std::to_string(j)));
        }
      }
      // A transaction reads the newest state in commit order plus its own earlier writes.
      const bool txn = pick(3) == 0;
      std::vector<HistoryRead> txn_reads;
      std::vector<uint32_t> txn_read_after;
      if (txn) {
        for (uint32_t k = 0; k <= batch.size(); ++k) {
          if (pick(2) == 0) continue;
          HistoryRead r;
          r.cf = "default";
          r.key = keys[pick(keys.size())];
          KeyMap cf = states.back().at("default");
          for (uint32_t j = 0; j < k; ++j) {
            if (batch[j].kind == Op::kPut) {
              cf[batch[j].key] = batch[j].value;
            } else {
              cf.erase(batch[j].key);
            }
          }
          if (cf.count(r.key) != 0) r.value = cf.at(r.key);
          txn_reads.push_back(r);
          txn_read_after.push_back(k);
        }
      }
      auto write = [&](Outcome o, std::optional<uint64_t> sequence, bool sync) {
        HistoryEvent& e = b.Write(thread, t - slack_before, t + slack_after, Commit::Batch(batch),
                                  o, sequence, sync);
        e.commit.txn_reads = txn_reads;
        e.commit.txn_read_after = txn_read_after;
      };
      const uint64_t roll = pick(20);
      if (txn && roll == 2) {
        write(kFailed, std::nullopt, true);  // Aborted.
        continue;
      }
      if (!failed && roll == 0) {
        write(kFailed, seq + 1, true);  // NoSpace: rolled back; its number is reused.
        continue;
      }
      StateMap next = states.back();
      for (const Op& op : batch) {
        if (op.kind == Op::kPut) {
          next["default"][op.key] = op.value;
        } else {
          next["default"].erase(op.key);
        }
      }
      ++seq;
      states.push_back(next);
      if (failed || roll == 1) {
        failed = true;
        write(kUncertain, seq, true);
        continue;
      }
      const bool sync = pick(2) == 0;
      write(sync ? kDurable : kNonDurable, seq, sync);
      visible_top = seq;
      acked_top = seq;
      if (sync) durable_top = seq;
    } else if (kind < 7) {
      // A plain get or scan at the visible state.
      const StateMap& s = states[visible_top - base];
      if (pick(2) == 0) {
        const std::string& key = keys[pick(keys.size())];
        auto it = s.at("default").find(key);
        std::optional<std::string> v;
        if (it != s.at("default").end()) v = it->second;
        b.Get(thread, t - slack_before, t + slack_after, key, v);
      } else {
        ScanSpec spec;
        spec.reverse = pick(2) == 0;
        if (pick(2) == 0) spec.start = keys[pick(keys.size())];
        spec.start_inclusive = pick(2) == 0;
        spec.limit = static_cast<uint32_t>(pick(3));
        b.Scan(thread, t - slack_before, t + slack_after, spec, ApplyScan(s.at("default"), spec));
      }
    } else if (kind < 8) {
      const uint32_t view = next_view++;
      if (pick(2) == 0) {
        b.Snapshot(thread, t - slack_before, t + slack_after, view, visible_top);
        views.push_back({view, visible_top, false});
      } else {
        b.Iterator(thread, t - slack_before, t + slack_after, view);
        views.push_back({view, visible_top, true});
      }
    } else if (!views.empty()) {
      // A read through a view, at the view's state, any time after it was opened.
      const Pending& p = views[pick(views.size())];
      const KeyMap& cf = states[p.s - base].at("default");
      if (p.iterator) {
        ScanSpec spec;
        spec.start = keys[pick(keys.size())];
        spec.limit = 1 + static_cast<uint32_t>(pick(2));
        b.Scan(thread, t + 30, t + 31 + slack_after, spec, ApplyScan(cf, spec), p.view);
      } else {
        const std::string& key = keys[pick(keys.size())];
        auto it = cf.find(key);
        std::optional<std::string> v;
        if (it != cf.end()) v = it->second;
        b.Get(thread, t + 30, t + 31 + slack_after, key, v, p.view);
      }
    }
  }
  // A crash recovers some prefix holding every durable commit; a clean close every
  // acknowledged one.
  g.recovered.clean_close = pick(3) == 0;
  const uint64_t low = g.recovered.clean_close ? acked_top : durable_top;
  g.recovered.sequence = low + pick(seq - low + 1);
  g.recovered.state = states[g.recovered.sequence - base];
  return g;
}

TEST(HistoryPropertyTest, LegalHistoriesPassAndImpossibleObservationsFail) {
  std::mt19937_64 rng(20261202);
  int mutated = 0;
  for (int round = 0; round < 300; ++round) {
    Generated g = Generate(rng);
    const HistoryVerdict v = g.b.Check(&g.recovered);
    ASSERT_TRUE(v.ok) << "round " << round << ": " << v.failure;
    // One observation changed to a value no state holds.
    std::vector<HistoryRead*> reads;
    for (HistoryEvent& e : g.b.h.events) {
      if (e.kind == HistoryEvent::kRead) reads.push_back(&e.read);
      for (HistoryRead& r : e.commit.txn_reads) reads.push_back(&r);
    }
    if (reads.empty()) continue;
    HistoryRead& r = *reads[rng() % reads.size()];
    if (r.kind == HistoryRead::kGet) {
      r.value = "impossible";
    } else if (r.entries.empty()) {
      r.entries.emplace_back("k9", "impossible");
    } else {
      r.entries.back().second = "impossible";
    }
    const HistoryVerdict bad = g.b.Check(&g.recovered);
    ASSERT_FALSE(bad.ok) << "round " << round;
    EXPECT_THAT(bad.failure, HasSubstr("impossible")) << bad.failure;
    ++mutated;
  }
  EXPECT_GT(mutated, 250);
}

}  // namespace
}  // namespace manifold::model
