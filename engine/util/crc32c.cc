#include "engine/util/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define MANIFOLD_CRC32C_HAVE_SSE42 1
#else
#define MANIFOLD_CRC32C_HAVE_SSE42 0
#endif

namespace manifold::crc32c {
namespace {

// Reflected Castagnoli polynomial.
constexpr uint32_t kPoly = 0x82F63B78u;

// Slicing-by-8 tables: kTables[0] is the classic byte-at-a-time table; kTables[k][b] is the CRC of
// byte b followed by k zero bytes, which lets the loop fold 8 input bytes with 8 independent
// lookups instead of 8 dependent ones. Built at compile time so there is no startup race.
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1u) ? kPoly : 0u);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFFu];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

static_assert(kTables[0][1] == 0xF26B8303u, "CRC32C table generation is wrong");

inline uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));  // memcpy: `p` may be unaligned. The host is little-endian.
  return v;
}

#if MANIFOLD_CRC32C_HAVE_SSE42
bool DetectHardware() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

namespace internal {

uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t l = ~crc;
  // Byte at a time until 8-aligned, so the 8-byte loads in the main loop are aligned.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    l = kTables[0][(l ^ *p++) & 0xFFu] ^ (l >> 8);
    --n;
  }
  while (n >= 8) {
    uint64_t word = LoadLE64(p) ^ l;
    l = kTables[7][word & 0xFF] ^ kTables[6][(word >> 8) & 0xFF] ^ kTables[5][(word >> 16) & 0xFF] ^
        kTables[4][(word >> 24) & 0xFF] ^ kTables[3][(word >> 32) & 0xFF] ^
        kTables[2][(word >> 40) & 0xFF] ^ kTables[1][(word >> 48) & 0xFF] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    l = kTables[0][(l ^ *p++) & 0xFFu] ^ (l >> 8);
    --n;
  }
  return ~l;
}

#if MANIFOLD_CRC32C_HAVE_SSE42
__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, const void* data,
                                                          size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t l = ~crc;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), *p++);
    --n;
  }
  while (n >= 8) {
    l = _mm_crc32_u64(l, LoadLE64(p));
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    l = _mm_crc32_u8(static_cast<uint32_t>(l), *p++);
    --n;
  }
  return ~static_cast<uint32_t>(l);
}
#else
uint32_t ExtendHardware(uint32_t crc, const void* data, size_t n) {
  // No crc32 instruction on this architecture; IsHardwareAccelerated() is false so callers never
  // get here, but stay correct if they do.
  return ExtendPortable(crc, data, n);
}
#endif

}  // namespace internal

bool IsHardwareAccelerated() {
#if MANIFOLD_CRC32C_HAVE_SSE42
  // Function-local static: detected once, thread-safe initialization.
  static const bool has_hardware = DetectHardware();
  return has_hardware;
#else
  return false;
#endif
}

namespace {

// Polynomials modulo the CRC32C polynomial in the reflected bit order the CRC uses: bit 31 is
// the coefficient of x^0, bit 0 that of x^31.
constexpr uint32_t kReflectedPoly = 0x82F63B78u;
constexpr uint32_t kXPow0 = 1u << 31;

// a * b modulo the polynomial.
uint32_t MultiplyModPoly(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = kXPow0; bit != 0; bit >>= 1) {
    if ((a & bit) != 0) product ^= b;
    b = (b & 1u) != 0 ? (b >> 1) ^ kReflectedPoly : b >> 1;  // b *= x.
  }
  return product;
}

// x^(8 * bytes) modulo the polynomial, by squaring.
uint32_t XPow8N(uint64_t bytes) {
  uint32_t result = kXPow0;
  uint32_t power = kXPow0 >> 8;  // x^8: one byte.
  for (; bytes != 0; bytes >>= 1) {
    if ((bytes & 1u) != 0) result = MultiplyModPoly(result, power);
    power = MultiplyModPoly(power, power);
  }
  return result;
}

}  // namespace

// The CRC register after A then B is A's register moved through B's length of zero bits (a
// multiplication by x^(8 * |B|)) plus B's own; the initial and final inversions cancel out
// between the two terms, so the finished CRCs combine the same way.
uint32_t Combine(uint32_t crc_a, uint32_t crc_b, uint64_t b_bytes) {
  return MultiplyModPoly(XPow8N(b_bytes), crc_a) ^ crc_b;
}

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
  return IsHardwareAccelerated() ? internal::ExtendHardware(crc, data, n)
                                 : internal::ExtendPortable(crc, data, n);
}

}  // namespace manifold::crc32c
