#include "engine/util/check.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace manifold {
namespace {

int Half(int even) {
  MANIFOLD_CHECK(even % 2 == 0, "Half takes even numbers");
  return even / 2;
}

TEST(CheckTest, PassingCheckDoesNothing) { EXPECT_EQ(Half(8), 4); }

TEST(CheckDeathTest, FailedCheckAbortsNamingConditionAndMessage) {
  EXPECT_DEATH(Half(3), "MANIFOLD_CHECK\\(even % 2 == 0\\) failed: Half takes even numbers");
}

// Kept in optimized builds: the check does not depend on NDEBUG.
TEST(CheckDeathTest, KeptWithoutAsserts) {
#ifdef NDEBUG
  EXPECT_DEATH(Half(1), "failed");
#else
  GTEST_SKIP() << "this build has asserts; the -c opt run of this test covers NDEBUG";
#endif
}

struct CheckFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(CheckTest, InstalledHandlerSeesTheFailure) {
  auto handler = [](const char* condition, const char* message, const char*, int) {
    throw CheckFailure(std::string(condition) + " | " + message);
  };
  check::FailureHandler previous = check::SetFailureHandler(handler);
  try {
    Half(5);
    ADD_FAILURE() << "the check did not fail";
  } catch (const CheckFailure& failure) {
    EXPECT_STREQ(failure.what(), "even % 2 == 0 | Half takes even numbers");
  }
  EXPECT_EQ(check::SetFailureHandler(previous), +handler);
}

}  // namespace
}  // namespace manifold
