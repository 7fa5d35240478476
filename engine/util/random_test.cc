// Known answers for engine/util/random.h. The splitmix64 vectors for seeds 1234567 and 0 are the
// ones its authors' reference implementation prints; the rest were computed from the definition
// in docs/simulator.md ("Seeded randomness") by a separate implementation. A failure here means
// every recorded simulator seed would replay differently.
#include "engine/util/random.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace manifold {
namespace {

TEST(Mix64Test, KnownAnswers) {
  EXPECT_EQ(Mix64(0), 0u);  // A fixed point: why generators add the gamma before mixing.
  EXPECT_EQ(Mix64(1), 0x5692161d100b05e5ull);
  EXPECT_EQ(Mix64(0xcbf29ce484222325ull), 0xf52a15e9a9b5e89bull);  // FNV-1a of "".
}

TEST(SplitMix64Test, ReferenceVectors) {
  SplitMix64 rng(1234567);
  const uint64_t expected[] = {6457827717110365317ull, 3203168211198807973ull,
                               9817491932198370423ull, 4593380528125082431ull,
                               16408922859458223821ull};
  for (uint64_t want : expected) EXPECT_EQ(rng.Next(), want);

  SplitMix64 zero(0);
  EXPECT_EQ(zero.Next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(zero.Next(), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(zero.Next(), 0x06c45d188009454full);
}

TEST(SplitMix64Test, UniformIsNextModuloBound) {
  SplitMix64 rng(42);
  const uint64_t expected[] = {3, 1, 8, 4, 0, 2, 5, 8, 5, 4};
  for (uint64_t want : expected) EXPECT_EQ(rng.Uniform(10), want);
}

TEST(SplitMix64Test, UnitTakesTheTop53Bits) {
  SplitMix64 rng(42);
  EXPECT_EQ(rng.Unit(), 0.7415648787718233);
  EXPECT_EQ(rng.Unit(), 0.1599103928769201);
}

TEST(SplitMix64Test, OneInDrawsOnce) {
  SplitMix64 a(42), b(42);
  EXPECT_FALSE(a.OneIn(10));  // Uniform(10) == 3.
  b.Next();
  EXPECT_EQ(a.Next(), b.Next());
}

TEST(Xoshiro256Test, SeedExpandsThroughSplitMix64) {
  Xoshiro256 zero(0);
  const uint64_t expected0[] = {0x99ec5f36cb75f2b4ull, 0xbf6e1f784956452aull, 0x1a5f849d4933e6e0ull,
                                0x6aa594f1262d2d2cull};
  for (uint64_t want : expected0) EXPECT_EQ(zero.Next(), want);

  Xoshiro256 seven(7);
  const uint64_t expected7[] = {0xb358faf74ef9765aull, 0x475c3d964f482cd2ull, 0xd6f1d349952c7996ull,
                                0xfb2938731e807240ull};
  for (uint64_t want : expected7) EXPECT_EQ(seven.Next(), want);
}

TEST(Xoshiro256Test, UniformIsTheHighWordOfTheProduct) {
  Xoshiro256 rng(7);
  const uint64_t expected[] = {700, 278, 839, 981, 990, 872, 60, 104};
  for (uint64_t want : expected) EXPECT_EQ(rng.Uniform(1000), want);
}

TEST(Xoshiro256Test, UniformRejectsAndRedraws) {
  // With n = 2^63 + 1 about half the draws fall below the threshold and are redrawn: these four
  // results take five draws, and the stream continues after the fifth.
  Xoshiro256 rng(7);
  const uint64_t n = (uint64_t{1} << 63) + 1;
  const uint64_t expected[] = {6461677535414237997ull, 7744196453246319819ull,
                               9049029322324588832ull, 9139072988219048332ull};
  for (uint64_t want : expected) EXPECT_EQ(rng.Uniform(n), want);
  EXPECT_EQ(rng.Next(), 0xdf6e1ce3b6218c49ull);
}

TEST(Xoshiro256Test, UnitAndChance) {
  Xoshiro256 rng(7);
  EXPECT_EQ(rng.Unit(), 0.7005764821796896);
  EXPECT_EQ(rng.Unit(), 0.2787512294737843);

  Xoshiro256 a(7), b(7);
  EXPECT_FALSE(a.Chance(0));  // Certain outcomes take no draw...
  EXPECT_TRUE(a.Chance(1));
  EXPECT_EQ(a.Next(), b.Next());
  EXPECT_FALSE(a.Chance(0.2787512294737843));  // ...others compare one Unit() with p.
  EXPECT_TRUE(b.Chance(0.9));
  EXPECT_EQ(a.Next(), b.Next());
}

}  // namespace
}  // namespace manifold
