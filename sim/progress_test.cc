#include "sim/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace manifold::sim {
namespace {

// Everything written to `file` so far.
std::string Contents(FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string out;
  char buf[256];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressLineTest, LogGetsWholeLinesOnlyWhenDue) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  {
    ProgressLine progress(file, /*terminal=*/false, /*log_interval_s=*/3600);
    progress.Update("run 1");
    progress.Update("run 2");
    progress.Update("run 3", /*last=*/true);
    progress.Finish();
  }
  // Not due within the hour, except the last state; no carriage return anywhere.
  EXPECT_EQ(Contents(file), "run 3\n");
  std::fclose(file);
}

TEST(ProgressLineTest, LogWritesOneLinePerInterval) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ProgressLine progress(file, /*terminal=*/false, /*log_interval_s=*/0);
  progress.Update("a");
  progress.Update("b");
  progress.Finish();
  EXPECT_EQ(Contents(file), "a\nb\n");
  std::fclose(file);
}

TEST(ProgressLineTest, TerminalRedrawsInPlaceAndEndsTheLine) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  ProgressLine progress(file, /*terminal=*/true, /*log_interval_s=*/3600);
  progress.Update("a");
  progress.Update("b");
  progress.Finish();
  EXPECT_EQ(Contents(file), "\ra   \rb   \n");
  std::fclose(file);
}

TEST(ProgressLineTest, AFileIsNotATerminal) {
  FILE* file = std::tmpfile();
  ASSERT_NE(file, nullptr);
  EXPECT_FALSE(ProgressLine(file).terminal());
  std::fclose(file);
}

}  // namespace
}  // namespace manifold::sim
