// The project's one seeded pseudo-random number library. Every seeded choice in the simulator,
// the tests' fault helpers and the benchmarks draws from here, and the engine uses Mix64 for its
// treap priorities, so no second copy of these constants lives in the tree.
//
// Replay depends on these streams: a simulator seed means the same workload and the same fault
// schedule only while every output below stays bit for bit what docs/simulator.md ("Seeded
// randomness") defines. The known-answer vectors in random_test.cc pin that definition; a change
// to any of them re-deals every recorded seed.
//
// Two generators, both defined by their state update and output function rather than by a
// standard library (std::uniform_int_distribution and friends differ between libraries):
//   SplitMix64  (Steele, Lea & Flood): one word of state; the workload generator's stream, and
//               the seed expander of Xoshiro256.
//   Xoshiro256  (xoshiro256**, Blackman & Vigna): four words; the simulated disk's stream.
// They are kept apart (rather than one generator for both) because every existing simulator seed
// was dealt from both streams; merging them would change every recorded run.
#ifndef MANIFOLD_UTIL_RANDOM_H_
#define MANIFOLD_UTIL_RANDOM_H_

#include <cassert>
#include <cstdint>

namespace manifold {

// splitmix64's output function: a bijection on 64-bit words with good avalanche, also used on its
// own to turn a hash (FNV-1a) into well-mixed bits.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The golden-ratio increment splitmix64 adds to its state before each output.
inline constexpr uint64_t kSplitMix64Gamma = 0x9e3779b97f4a7c15ull;

// splitmix64: state += gamma, output Mix64(state). The seed is the initial state, used as is.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}

  constexpr uint64_t Next() {
    state_ += kSplitMix64Gamma;
    return Mix64(state_);
  }

  // Next() % bound: one draw, a bias below bound / 2^64 (negligible for the small bounds used).
  // bound > 0.
  constexpr uint64_t Uniform(uint64_t bound) {
    assert(bound > 0);
    return Next() % bound;
  }
  constexpr bool OneIn(uint64_t n) { return Uniform(n) == 0; }
  // In [0, 1): the top 53 bits of one draw, times 2^-53.
  constexpr double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// xoshiro256**. State s[0..3] is seeded with four consecutive outputs of SplitMix64(seed) (so no
// seed, 0 included, gives the all-zero state). Output rotl(s[1] * 5, 7) * 9, then
//   t = s[1] << 17; s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t;
//   s[3] = rotl(s[3], 45).
class Xoshiro256 {
 public:
  explicit constexpr Xoshiro256(uint64_t seed) {
    SplitMix64 expander(seed);
    for (uint64_t& word : s_) word = expander.Next();
  }

  constexpr uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), unbiased (Lemire's multiply-shift with rejection): take the high word of
  // Next() * n (128-bit product); when its low word is below (2^64 - n) % n, draw again.
  uint64_t Uniform(uint64_t n) {
    assert(n > 0);
    unsigned __int128 product = static_cast<unsigned __int128>(Next()) * n;
    uint64_t low = static_cast<uint64_t>(product);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        product = static_cast<unsigned __int128>(Next()) * n;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

  // In [0, 1): the top 53 bits of one draw, times 2^-53.
  constexpr double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // True with probability p. p <= 0 and p >= 1 take no draw, so a switched-off fault leaves the
  // stream where it was.
  constexpr bool Chance(double p) {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return Unit() < p;
  }

 private:
  static constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4] = {};
};

}  // namespace manifold

#endif  // MANIFOLD_UTIL_RANDOM_H_
