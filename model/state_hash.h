// The reference model's state hash (model/model.h) and the 64-bit FNV-1a it is built on.
#ifndef MANIFOLD_MODEL_STATE_HASH_H_
#define MANIFOLD_MODEL_STATE_HASH_H_

#include <cstdint>
#include <string_view>

#include "model/state.h"

namespace manifold::model {

// 64-bit FNV-1a of `bytes` (offset 0xcbf29ce484222325, prime 0x100000001b3).
uint64_t Fnv1a64(std::string_view bytes);

// Order-independent and stable across builds and platforms (no std::hash):
//   HashColumnFamily(cf)   = Mix(Fnv1a64('C' . u64le(|cf|) . cf))
//   HashEntry(cf, k, v)    = Mix(Fnv1a64('E' . u64le(|cf|) . cf . u64le(|k|) . k . u64le(|v|) . v))
//   StateHash(s)           = sum mod 2^64 of HashColumnFamily over every column family plus
//                            HashEntry over every entry
// where Fnv1a64 is 64-bit FNV-1a (offset 0xcbf29ce484222325, prime 0x100000001b3) and Mix is the
// splitmix64 finalizer. An empty column family therefore differs from an absent one.
uint64_t HashColumnFamily(std::string_view cf);
uint64_t HashEntry(std::string_view cf, std::string_view key, std::string_view value);
uint64_t StateHash(const StateMap& state);

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_STATE_HASH_H_
