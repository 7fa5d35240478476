// The main() of the model's tests: GoogleTest with rapidcheck's properties run over more cases
// than its default 100 unless RC_PARAMS says otherwise (RC_PARAMS="seed=N" reproduces a run).
#include <gtest/gtest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  setenv("RC_PARAMS", "max_success=300", /*overwrite=*/0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
