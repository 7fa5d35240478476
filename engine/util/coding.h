// Fixed-width little-endian integer encoding for every on-disk structure (pages, log records,
// superblocks). The file format is little-endian regardless of host, and the only supported hosts
// are little-endian, so encoding is a plain memcpy the compiler turns into one load or store.
#ifndef MANIFOLD_UTIL_CODING_H_
#define MANIFOLD_UTIL_CODING_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace manifold {

static_assert(std::endian::native == std::endian::little,
              "Manifold's on-disk encoding assumes a little-endian host");

// memcpy rather than a cast: `dst`/`src` point into page buffers at arbitrary offsets, and
// unaligned or type-punned access would be undefined behaviour.

inline void EncodeFixed16(char* dst, uint16_t value) { std::memcpy(dst, &value, sizeof(value)); }
inline void EncodeFixed32(char* dst, uint32_t value) { std::memcpy(dst, &value, sizeof(value)); }
inline void EncodeFixed64(char* dst, uint64_t value) { std::memcpy(dst, &value, sizeof(value)); }

inline uint16_t DecodeFixed16(const char* src) {
  uint16_t value;
  std::memcpy(&value, src, sizeof(value));
  return value;
}

inline uint32_t DecodeFixed32(const char* src) {
  uint32_t value;
  std::memcpy(&value, src, sizeof(value));
  return value;
}

inline uint64_t DecodeFixed64(const char* src) {
  uint64_t value;
  std::memcpy(&value, src, sizeof(value));
  return value;
}

// Copies `src` to `dst` and returns the end of the copy. An empty std::string_view may have a null
// data(), and memcpy's pointers must be valid even for zero bytes (UBSan reports a null one), so
// every copy of a possibly empty key or value goes through here.
inline char* CopyBytes(char* dst, std::string_view src) {
  if (!src.empty()) std::memcpy(dst, src.data(), src.size());
  return dst + src.size();
}

inline void PutFixed16(std::string* dst, uint16_t value) {
  char buf[sizeof(value)];
  EncodeFixed16(buf, value);
  dst->append(buf, sizeof(buf));
}

inline void PutFixed32(std::string* dst, uint32_t value) {
  char buf[sizeof(value)];
  EncodeFixed32(buf, value);
  dst->append(buf, sizeof(buf));
}

inline void PutFixed64(std::string* dst, uint64_t value) {
  char buf[sizeof(value)];
  EncodeFixed64(buf, value);
  dst->append(buf, sizeof(buf));
}

}  // namespace manifold

#endif  // MANIFOLD_UTIL_CODING_H_
