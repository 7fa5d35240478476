#include "engine/util/crc32c.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace manifold::crc32c {
namespace {

using internal::ExtendHardware;
using internal::ExtendPortable;

// Runs `check` with each implementation available on this machine.
template <typename Check>
void ForEachImplementation(Check check) {
  check("portable", &ExtendPortable);
  if (IsHardwareAccelerated()) check("hardware", &ExtendHardware);
  check("dispatch", &Extend);
}

using ExtendFn = uint32_t (*)(uint32_t, const void*, size_t);

// RFC 3720, appendix B.4.
TEST(Crc32cTest, Rfc3720Vectors) {
  ForEachImplementation([](const char* name, ExtendFn extend) {
    SCOPED_TRACE(name);
    char buf[32];

    std::memset(buf, 0, sizeof(buf));
    EXPECT_EQ(extend(0, buf, sizeof(buf)), 0x8A9136AAu);

    std::memset(buf, 0xFF, sizeof(buf));
    EXPECT_EQ(extend(0, buf, sizeof(buf)), 0x62A8AB43u);

    for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
    EXPECT_EQ(extend(0, buf, sizeof(buf)), 0x46DD794Eu);

    for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
    EXPECT_EQ(extend(0, buf, sizeof(buf)), 0x113FDB5Cu);

    EXPECT_EQ(extend(0, "123456789", 9), 0xE3069283u);
  });
}

TEST(Crc32cTest, EmptyInput) {
  EXPECT_EQ(Value("", 0), 0u);
  EXPECT_EQ(Extend(0x12345678u, "", 0), 0x12345678u);
  EXPECT_EQ(ExtendPortable(0xDEADBEEFu, nullptr, 0), 0xDEADBEEFu);
}

TEST(Crc32cTest, ValueIsExtendFromZero) {
  const std::string s = "the quick brown fox jumps over the lazy dog";
  EXPECT_EQ(Value(s.data(), s.size()), Extend(0, s.data(), s.size()));
  EXPECT_NE(Value(s.data(), s.size()), Value(s.data(), s.size() - 1));
}

TEST(Crc32cTest, HardwareAndPortableAgree) {
  if (!IsHardwareAccelerated()) GTEST_SKIP() << "no crc32 instruction on this CPU";
  std::mt19937_64 rng(301);
  // Extra room so every (offset, length) pair stays inside the buffer; offsets exercise the
  // unaligned head loop.
  std::vector<char> buf(300 + 16);
  for (char& c : buf) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t n = 0; n <= 300; ++n) {
      const uint32_t seed = static_cast<uint32_t>(rng());
      ASSERT_EQ(ExtendHardware(seed, buf.data() + offset, n),
                ExtendPortable(seed, buf.data() + offset, n))
          << "offset " << offset << " length " << n;
      ASSERT_EQ(ExtendHardware(0, buf.data() + offset, n),
                ExtendPortable(0, buf.data() + offset, n))
          << "offset " << offset << " length " << n;
    }
  }
}

TEST(Crc32cTest, ExtendComposes) {
  std::mt19937_64 rng(7);
  std::string data(1000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  ForEachImplementation([&data](const char* name, ExtendFn extend) {
    SCOPED_TRACE(name);
    const uint32_t whole = extend(0, data.data(), data.size());
    for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{100},
                         size_t{513}, size_t{999}, size_t{1000}}) {
      const uint32_t head = extend(0, data.data(), split);
      EXPECT_EQ(extend(head, data.data() + split, data.size() - split), whole) << split;
    }
    // Many small pieces.
    uint32_t crc = 0;
    for (size_t i = 0; i < data.size(); i += 3) {
      const size_t n = std::min<size_t>(3, data.size() - i);
      crc = extend(crc, data.data() + i, n);
    }
    EXPECT_EQ(crc, whole);
  });
}

TEST(Crc32cTest, CombineEqualsTheChecksumOfTheConcatenation) {
  std::mt19937_64 rng(7);
  std::string data(70000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t a_bytes : {size_t{0}, size_t{1}, size_t{7}, size_t{28}, size_t{4096}}) {
    for (size_t b_bytes :
         {size_t{0}, size_t{1}, size_t{5}, size_t{8}, size_t{63}, size_t{1000}, size_t{65536}}) {
      const uint32_t a = Value(data.data(), a_bytes);
      const uint32_t b = Value(data.data() + a_bytes, b_bytes);
      EXPECT_EQ(Combine(a, b, b_bytes), Value(data.data(), a_bytes + b_bytes))
          << a_bytes << " + " << b_bytes;
    }
  }
}

TEST(Crc32cTest, DetectsSingleBitFlips) {
  std::string data(256, 'a');
  const uint32_t original = Value(data.data(), data.size());
  for (size_t byte = 0; byte < data.size(); byte += 17) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = data;
      flipped[byte] = static_cast<char>(flipped[byte] ^ (1 << bit));
      EXPECT_NE(Value(flipped.data(), flipped.size()), original) << byte << ":" << bit;
    }
  }
}

}  // namespace
}  // namespace manifold::crc32c
