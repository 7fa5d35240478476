// Toolchain self-test for //third_party (see third_party/README.md).
#include <fiu-control.h>
#include <fiu.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <concepts>
#include <span>
#include <string>
#include <vector>

namespace {

// C++20 is on.
template <std::integral T>
constexpr T Twice(T v) {
  return v * 2;
}
static_assert(Twice(21) == 42);
static_assert(__cplusplus >= 202002L);

TEST(Toolchain, GTestAndGMock) {
  std::vector<int> v = {3, 1, 2};
  std::ranges::sort(v);
  EXPECT_THAT(v, ::testing::ElementsAre(1, 2, 3));
}

RC_GTEST_PROP(Toolchain, RapidCheckReverseTwiceIsIdentity, (const std::vector<int>& v)) {
  auto r = v;
  std::reverse(r.begin(), r.end());
  std::reverse(r.begin(), r.end());
  RC_ASSERT(r == v);
}

int GuardedWrite() {
  fiu_return_on("selftest/write", -EIO);
  return 0;
}

TEST(Toolchain, Fiu) {
  ASSERT_EQ(fiu_init(0), 0);
  EXPECT_EQ(GuardedWrite(), 0);
  ASSERT_EQ(fiu_enable("selftest/write", 1, nullptr, 0), 0);
  EXPECT_NE(fiu_fail("selftest/write"), 0);
  EXPECT_EQ(GuardedWrite(), -EIO);
  ASSERT_EQ(fiu_disable("selftest/write"), 0);
  EXPECT_EQ(fiu_fail("selftest/write"), 0);
  EXPECT_EQ(GuardedWrite(), 0);
}

TEST(Toolchain, Fmt) { EXPECT_EQ(fmt::format("{}-{:03d}", "x", 7), "x-007"); }

TEST(Toolchain, Cli11) {
  CLI::App app{"selftest"};
  int n = 0;
  std::string name;
  app.add_option("-n", n);
  app.add_option("--name", name);
  std::vector<std::string> args = {"--name", "db", "-n", "5"};  // reversed order for parse()
  std::reverse(args.begin(), args.end());
  app.parse(args);
  EXPECT_EQ(n, 5);
  EXPECT_EQ(name, "db");
}

}  // namespace
