// Exhaustive crash states of small workloads (docs/simulator.md, "Exhaustive crash states").
// Every legal post-crash image at every sync barrier is recovered with the real engine and must
// be a state the reference model allows; each planted bug of the crash-protocol class must be
// caught. Flags: --large runs the larger workload set (the crash_states_large target),
// --crash_during_recovery also crashes each image's recovery at each of its barriers, and
// --per_barrier prints each barrier's units and images.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "engine/util/fault_point.h"
#include "tests/crash_states/enumerate.h"

namespace manifold::crash_states {
namespace {

bool g_large = false;
bool g_per_barrier = false;
bool g_recovery = false;

void Print(const EnumerateResult& result) {
  std::printf("%s\n", Summary(result).c_str());
  if (g_per_barrier) {
    for (const BarrierStats& b : result.per_barrier) {
      std::printf("    units %3zu%s images %5zu  %s\n", b.units, b.sampled ? " (sampled)" : "",
                  b.images, b.what.c_str());
    }
  }
  for (const std::string& report : result.violation_reports) std::printf("  %s\n", report.c_str());
  std::fflush(stdout);
}

TEST(CrashStates, EveryCrashStateOfTheFixedWorkloadsRecoversLegally) {
  size_t images = 0;
  double seconds = 0;
  for (const Workload& workload : g_large ? LargeWorkloads() : SmallWorkloads()) {
    EnumerateOptions options;
    options.fine_tears = true;
    options.crash_during_recovery = g_recovery;
    EnumerateResult result = Enumerate(workload, options);
    Print(result);
    EXPECT_EQ(result.error, "") << workload.name;
    EXPECT_GT(result.barriers, 5u) << workload.name;
    EXPECT_GT(result.images_checked, result.barriers) << workload.name;
    EXPECT_EQ(result.violations, 0u) << workload.name << ": " << result.violation_reports[0];
    images += result.images_checked;
    seconds += result.seconds;
  }
  std::printf("total: %zu crash images checked in %.2f s\n", images, seconds);
}

// The engine issues few, large writes, so no barrier of the fixed workloads reaches the bound of
// 12 units: lower it to 2 so the sampled path (enumerate.h) runs against the real engine too.
TEST(CrashStates, SampledBarriersRecoverLegally) {
  EnumerateOptions options;
  options.exhaustive_units_max = 2;
  options.sample_masks = 16;
  for (const Workload& workload : SmallWorkloads()) {
    EnumerateResult result = Enumerate(workload, options);
    Print(result);
    EXPECT_EQ(result.error, "") << workload.name;
    EXPECT_GT(result.barriers_sampled, 0u) << workload.name;
    EXPECT_EQ(result.violations, 0u) << workload.name << ": " << result.violation_reports[0];
  }
}

// A planted bug (engine/util/fault_point.h) must produce at least one illegal crash image.
class PlantedBugCrashStates : public ::testing::TestWithParam<const char*> {};

TEST_P(PlantedBugCrashStates, SomeCrashStateIsIllegal) {
  ASSERT_TRUE(kPlantedBugsCompiledIn)
      << "no planted bugs in this build: the target needs planted_bugs = True (sim/defs.bzl)";
  EnumerateOptions options;
  options.planted_bug = GetParam();
  options.violations_max = 1;
  // A torn header slot that checksums would reject misleads recovery only when the tear falls
  // between two of its fields: tear at every 8 bytes.
  options.fine_tears = std::string(GetParam()) == planted_bug::kSkipChecksum;
  EnumerateResult result = Enumerate(PlantedBugWorkload(), options);
  Print(result);
  ASSERT_EQ(result.violations, 1u) << GetParam() << " survived " << result.images_checked
                                   << " crash images (" << result.error << ")";
  // And the same workload, enumerated the same way, is clean without the bug.
  EnumerateOptions clean = options;
  clean.planted_bug.clear();
  EnumerateResult fixed = Enumerate(PlantedBugWorkload(), clean);
  EXPECT_EQ(fixed.violations, 0u) << fixed.violation_reports[0];
}

// Not recycle_before_checkpoint: its segments only go to the reuse pool early, harmless until a
// writer rolls over into one while the checkpoint is between retiring and its header, which these
// one-thread workloads never do (the concurrent simulator catches it: tests/planted_bugs_test.cc).
INSTANTIATE_TEST_SUITE_P(CrashProtocolBugs, PlantedBugCrashStates,
                         ::testing::Values(planted_bug::kHeaderInPlace, planted_bug::kSkipChecksum),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           return name.substr(name.rfind('/') + 1);
                         });

}  // namespace
}  // namespace manifold::crash_states

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--large") == 0) manifold::crash_states::g_large = true;
    if (std::strcmp(argv[i], "--per_barrier") == 0) manifold::crash_states::g_per_barrier = true;
    if (std::strcmp(argv[i], "--crash_during_recovery") == 0) {
      manifold::crash_states::g_recovery = true;
    }
  }
  return RUN_ALL_TESTS();
}
