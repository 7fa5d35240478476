#include "engine/util/coding.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace manifold {
namespace {

TEST(CodingTest, Fixed16LayoutIsLittleEndian) {
  char buf[2];
  EncodeFixed16(buf, 0x0102);
  EXPECT_EQ(buf[0], 0x02);
  EXPECT_EQ(buf[1], 0x01);
  EXPECT_EQ(DecodeFixed16(buf), 0x0102);
}

TEST(CodingTest, Fixed32LayoutIsLittleEndian) {
  char buf[4];
  EncodeFixed32(buf, 0x01020304u);
  EXPECT_EQ(std::string(buf, 4), std::string("\x04\x03\x02\x01", 4));
  EXPECT_EQ(DecodeFixed32(buf), 0x01020304u);
}

TEST(CodingTest, Fixed64LayoutIsLittleEndian) {
  char buf[8];
  EncodeFixed64(buf, 0x0102030405060708ull);
  EXPECT_EQ(std::string(buf, 8), std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
  EXPECT_EQ(DecodeFixed64(buf), 0x0102030405060708ull);
}

TEST(CodingTest, Fixed16RoundTrip) {
  std::string s;
  for (uint32_t v = 0; v <= 0xFFFF; v += 7) PutFixed16(&s, static_cast<uint16_t>(v));
  PutFixed16(&s, 0xFFFF);
  const char* p = s.data();
  for (uint32_t v = 0; v <= 0xFFFF; v += 7, p += 2) ASSERT_EQ(DecodeFixed16(p), v);
  EXPECT_EQ(DecodeFixed16(p), 0xFFFF);
  EXPECT_EQ(p + 2, s.data() + s.size());
}

TEST(CodingTest, Fixed32RoundTrip) {
  std::string s;
  for (uint32_t power = 0; power < 32; ++power) {
    const uint32_t v = 1u << power;
    PutFixed32(&s, v - 1);
    PutFixed32(&s, v);
    PutFixed32(&s, v + 1);
  }
  ASSERT_EQ(s.size(), 32u * 3 * 4);
  const char* p = s.data();
  for (uint32_t power = 0; power < 32; ++power) {
    const uint32_t v = 1u << power;
    EXPECT_EQ(DecodeFixed32(p), v - 1);
    EXPECT_EQ(DecodeFixed32(p + 4), v);
    EXPECT_EQ(DecodeFixed32(p + 8), v + 1);
    p += 12;
  }
}

TEST(CodingTest, Fixed64RoundTrip) {
  std::string s;
  for (int power = 0; power < 64; ++power) {
    const uint64_t v = uint64_t{1} << power;
    PutFixed64(&s, v - 1);
    PutFixed64(&s, v);
    PutFixed64(&s, v + 1);
  }
  ASSERT_EQ(s.size(), 64u * 3 * 8);
  const char* p = s.data();
  for (int power = 0; power < 64; ++power) {
    const uint64_t v = uint64_t{1} << power;
    EXPECT_EQ(DecodeFixed64(p), v - 1);
    EXPECT_EQ(DecodeFixed64(p + 8), v);
    EXPECT_EQ(DecodeFixed64(p + 16), v + 1);
    p += 24;
  }
}

TEST(CodingTest, UnalignedAccess) {
  char buf[32] = {};
  for (int offset = 0; offset < 8; ++offset) {
    EncodeFixed64(buf + offset, std::numeric_limits<uint64_t>::max() - offset);
    EXPECT_EQ(DecodeFixed64(buf + offset), std::numeric_limits<uint64_t>::max() - offset);
    EncodeFixed32(buf + offset + 9, 0xA5A5A5A5u + offset);
    EXPECT_EQ(DecodeFixed32(buf + offset + 9), 0xA5A5A5A5u + offset);
    EncodeFixed16(buf + offset + 17, static_cast<uint16_t>(0xBEEF + offset));
    EXPECT_EQ(DecodeFixed16(buf + offset + 17), 0xBEEF + offset);
  }
}

TEST(CodingTest, PutAppends) {
  std::string s = "x";
  PutFixed16(&s, 1);
  PutFixed32(&s, 2);
  PutFixed64(&s, 3);
  ASSERT_EQ(s.size(), 1u + 2 + 4 + 8);
  EXPECT_EQ(s[0], 'x');
  EXPECT_EQ(DecodeFixed16(s.data() + 1), 1);
  EXPECT_EQ(DecodeFixed32(s.data() + 3), 2u);
  EXPECT_EQ(DecodeFixed64(s.data() + 7), 3u);
}

}  // namespace
}  // namespace manifold
