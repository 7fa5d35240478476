#include "model/state_hash.h"

#include "engine/util/random.h"

namespace manifold::model {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

uint64_t FnvByte(uint64_t h, uint8_t byte) { return (h ^ byte) * kFnvPrime; }

uint64_t FnvBytes(uint64_t h, std::string_view bytes) {
  for (const char c : bytes) h = FnvByte(h, static_cast<uint8_t>(c));
  return h;
}

// u64le(|bytes|) . bytes
uint64_t FnvField(uint64_t h, std::string_view bytes) {
  uint64_t n = bytes.size();
  for (int i = 0; i < 8; ++i) {
    h = FnvByte(h, static_cast<uint8_t>(n & 0xff));
    n >>= 8;
  }
  return FnvBytes(h, bytes);
}

}  // namespace

uint64_t Fnv1a64(std::string_view bytes) { return FnvBytes(kFnvOffset, bytes); }

uint64_t HashColumnFamily(std::string_view cf) {
  return Mix64(FnvField(FnvByte(kFnvOffset, 'C'), cf));
}

uint64_t HashEntry(std::string_view cf, std::string_view key, std::string_view value) {
  uint64_t h = FnvByte(kFnvOffset, 'E');
  h = FnvField(h, cf);
  h = FnvField(h, key);
  h = FnvField(h, value);
  return Mix64(h);
}

uint64_t StateHash(const StateMap& state) {
  uint64_t sum = 0;
  for (const auto& [cf, entries] : state) {
    sum += HashColumnFamily(cf);
    for (const auto& [key, value] : entries) sum += HashEntry(cf, key, value);
  }
  return sum;
}

}  // namespace manifold::model
