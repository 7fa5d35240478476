// Planted bugs (engine/util/fault_point.h) must never reach a production build of the engine:
// built on //engine:manifold in the default configuration (and under -c opt), this test fails if
// the engine carries them. The same source built as the planted-bugs variant
// (planted_bugs_cc_test, MANIFOLD_EXPECT_PLANTED_BUGS=1) fails if the variant does not, so the
// switch cannot silently turn off the tests that plant bugs.
#include <gtest/gtest.h>

#include "engine/util/fault_point.h"
#include "manifold/db.h"

#ifndef MANIFOLD_EXPECT_PLANTED_BUGS
#error "the BUILD target sets MANIFOLD_EXPECT_PLANTED_BUGS to 0 or 1"
#endif

namespace manifold {
namespace {

#if MANIFOLD_SIM_SCHEDULER
constexpr bool kWholeBuildScheduled = true;
#else
constexpr bool kWholeBuildScheduled = false;
#endif

TEST(PlantedBugsCompiledTest, OnlyWhereExpected) {
  if (!MANIFOLD_EXPECT_PLANTED_BUGS && kWholeBuildScheduled) {
    // --config=sim (or --define=manifold_sim_scheduler=1) turns the whole build, this target
    // included, into the simulator's: it is no production engine there.
    GTEST_SKIP() << "the whole build is on the scheduled engine (the simulator's configuration)";
  }
  EXPECT_EQ(kPlantedBugsCompiledIn, MANIFOLD_EXPECT_PLANTED_BUGS != 0)
      << (MANIFOLD_EXPECT_PLANTED_BUGS
              ? "the planted-bugs variant carries no planted bugs: the tests that plant them "
                "would test nothing (//engine:planted_bugs, sim/defs.bzl)"
              : "the production engine carries the planted bugs (//engine:planted_bugs)");
}

}  // namespace
}  // namespace manifold
