// The cursor and Scan (cursor.h) against the model's visible state, and against a naive
// iteration of a sorted key list.
#include "model/cursor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/model_test_util.h"

namespace manifold::model {
namespace {

using ::testing::HasSubstr;

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

}  // namespace
}  // namespace manifold::model
