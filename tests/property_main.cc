// The main() of the property tests. rapidcheck reads RC_PARAMS when the first property runs:
// default to more and longer cases than its defaults (100 cases, size 100) unless the caller
// chose. RC_PARAMS="seed=N" (or the printed "reproduce=...") replays a failure.
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  setenv("RC_PARAMS", "max_success=300 max_size=150", /*overwrite=*/0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
