// How the reference model (and the simulator's reports) print keys, values, column family names
// and hashes.
#ifndef MANIFOLD_MODEL_PRINTABLE_H_
#define MANIFOLD_MODEL_PRINTABLE_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace manifold::model {

// Printable form of a key or value, binary-safe: quoted, bytes outside printable ASCII (and " \)
// as \xNN; one over 40 bytes shows its first 32, its length and an FNV-1a hash of all of it.
std::string Printable(std::string_view bytes);

// Printable() in single quotes (column family names print as 'name').
std::string CfName(std::string_view cf);

// "0x" and 16 hex digits.
std::string Hex(uint64_t v);

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_PRINTABLE_H_
