// The corruption fuzzer's seeded cases: each case copies one base database (clean close, crash
// image with a live log, overflow values, many checkpoints, several column families, several
// log segments), damages the copy one way, opens it with default options, scans every column
// family, gets sampled keys and verifies it. It must end in a clear error or hold exactly the
// acknowledged data. Flags (after the gtest ones):
//   --cases=N   cases per damage group (default 500)
//   --seed=S    first seed (default 1); case i uses seed S + i, so --seed=S --cases=1 replays one
// The log-segment and missing-data-file groups fail until issue 11 items 1 and 2 are fixed; they
// run in their own manual targets (tests/BUILD).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "tests/corruption_damage.h"

namespace manifold::corruption {
namespace {

uint64_t g_cases = 500;
uint64_t g_first_seed = 1;

struct Counts {
  uint64_t exact = 0, errors = 0, skipped = 0, undetectable = 0, failed = 0;
  void Add(const CaseResult& result) {
    if (result.skipped) {
      ++skipped;
    } else if (result.undetectable_by_design) {
      ++undetectable;
    } else if (!result.check.passed) {
      ++failed;
    } else {
      ++(result.check.ended_in_error ? errors : exact);
    }
  }
  std::string ToString() const {
    return std::to_string(exact) + " exact data, " + std::to_string(errors) + " clear errors, " +
           std::to_string(skipped) + " not applicable, " + std::to_string(undetectable) +
           " undetectable by design, " + std::to_string(failed) + " failed";
  }
};

// Runs g_cases cases of `group`, reports every failure with the flags that replay it, and prints
// the outcomes per damage and per base.
Counts RunGroup(DamageGroup group, const char* filter) {
  Counts total;
  std::map<std::string, Counts> by_damage, by_base;
  for (uint64_t i = 0; i < g_cases; ++i) {
    const uint64_t seed = g_first_seed + i;
    const CaseResult result = RunCase(seed, group);
    total.Add(result);
    by_damage[DamageName(result.damage)].Add(result);
    by_base[BaseKindName(result.base)].Add(result);
    if (!result.skipped && !result.undetectable_by_design && !result.check.passed) {
      ADD_FAILURE() << "seed " << seed << ": " << result.description << "\n  -> "
                    << result.check.detail << "\n  replay: --gtest_filter=" << filter
                    << " --seed=" << seed << " --cases=1";
    }
  }
  std::printf("%s: %llu cases from seed %llu: %s\n", filter,
              static_cast<unsigned long long>(g_cases),
              static_cast<unsigned long long>(g_first_seed), total.ToString().c_str());
  for (const auto& [name, counts] : by_damage) {
    std::printf("  damage %-36s %s\n", name.c_str(), counts.ToString().c_str());
  }
  for (const auto& [name, counts] : by_base) {
    std::printf("  base %-38s %s\n", name.c_str(), counts.ToString().c_str());
  }
  return total;
}

// The bases are what their names say, and undamaged they read back exactly.
TEST(CorruptionBases, UndamagedCopiesReadBackExactly) {
  for (const BaseDb& base : Bases()) {
    SCOPED_TRACE(BaseKindName(base.kind));
    sim::Rng rng(1);
    const CheckResult check = OpenAndCheck(base.image, base.expected, &rng);
    EXPECT_TRUE(check.passed && !check.ended_in_error) << check.detail;
    EXPECT_TRUE(base.image.count("MANIFOLD"));
    uint64_t entries = 0;
    for (const auto& [cf, data] : base.expected) entries += data.size();
    EXPECT_GE(entries, 20u);
  }
}

TEST(CorruptionBases, CoverTheStatesTheyAreNamedFor) {
  const std::vector<BaseDb>& bases = Bases();
  auto base = [&](BaseKind kind) -> const BaseDb& {
    for (const BaseDb& b : bases) {
      if (b.kind == kind) return b;
    }
    std::abort();
  };
  size_t largest = 0;
  for (const auto& [key, value] : base(BaseKind::kOverflowValues).expected.at("default")) {
    largest = std::max(largest, value.size());
  }
  EXPECT_GT(largest, base(BaseKind::kOverflowValues).page_bytes / 4);
  EXPECT_GE(SegmentNames(base(BaseKind::kManySegments).image).size(), 3u);
  EXPECT_EQ(base(BaseKind::kColumnFamilies).expected.size(), 3u);  // One of four dropped.
  // A crash image holds commits past its last checkpoint, in the log only.
  for (BaseKind kind : {BaseKind::kLiveLog, BaseKind::kOverflowValues, BaseKind::kColumnFamilies,
                        BaseKind::kManySegments}) {
    EXPECT_GT(base(kind).sequence, base(kind).checkpoint_sequence + 10) << BaseKindName(kind);
  }
  EXPECT_EQ(base(BaseKind::kManySegments).checkpoints, 0u);  // Everything is in the log.
  EXPECT_GE(base(BaseKind::kManyCheckpoints).checkpoints, 20u);
}

// Damage is deterministic: the same seed gives the same bytes.
TEST(CorruptionDamage, SameSeedSameDamage) {
  const BaseDb& base = Bases().front();
  for (Damage damage : DamagesIn(DamageGroup::kData)) {
    DirImage a = base.image, b = base.image;
    sim::Rng ra(7), rb(7);
    auto da = ApplyDamage(damage, base.page_bytes, &ra, &a);
    auto db = ApplyDamage(damage, base.page_bytes, &rb, &b);
    ASSERT_EQ(da.ok(), db.ok());
    if (!da.ok()) continue;
    EXPECT_EQ(*da, *db);
    EXPECT_TRUE(a == b) << DamageName(damage);
    EXPECT_FALSE(a == base.image) << DamageName(damage) << ": " << *da;
  }
}

TEST(CorruptionFuzz, DataFileDamage) {
  const Counts counts = RunGroup(DamageGroup::kData, "CorruptionFuzz.DataFileDamage");
  // The damage has to bite: some cases must be reported, and harmless ones must read back.
  if (g_cases >= 100) {
    EXPECT_GT(counts.errors, g_cases / 10);
    EXPECT_GT(counts.exact, 0u);
  }
}

// Pending issue 11 item 1: recovery takes a lost or cut segment, and a flipped newest record,
// for a torn tail and drops acknowledged commits without an error.
TEST(CorruptionFuzz, LogSegmentDamage) {
  RunGroup(DamageGroup::kLogSegment, "CorruptionFuzz.LogSegmentDamage");
}

// Pending issue 11 item 2: without its data file, open creates a new one next to the log.
TEST(CorruptionFuzz, MissingDataFile) {
  RunGroup(DamageGroup::kMissingDataFile, "CorruptionFuzz.MissingDataFile");
}

bool ParseFlag(const char* arg, const char* name, uint64_t* value) {
  const size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0) return false;
  *value = std::strtoull(arg + n, nullptr, 10);
  return true;
}

}  // namespace
}  // namespace manifold::corruption

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  using manifold::corruption::g_cases;
  using manifold::corruption::g_first_seed;
  using manifold::corruption::ParseFlag;
  for (int i = 1; i < argc; ++i) {
    if (!ParseFlag(argv[i], "--cases=", &g_cases) &&
        !ParseFlag(argv[i], "--seed=", &g_first_seed)) {
      std::fprintf(stderr, "unknown flag %s (expected --cases=N, --seed=S)\n", argv[i]);
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}
