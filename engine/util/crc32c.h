// CRC32C (Castagnoli): the checksum of every page, log record and overflow value. Uses the SSE4.2
// crc32 instruction when the CPU has it and a portable table-driven version otherwise; both give
// identical results, so files move freely between machines.
#ifndef MANIFOLD_UTIL_CRC32C_H_
#define MANIFOLD_UTIL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace manifold::crc32c {

// Returns the CRC32C of the concatenation of A and `data[0, n)`, where `crc` is the CRC32C of A.
// Extend(Value(a), b) == Value(a + b).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

// Returns the CRC32C of `data[0, n)`.
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// Returns the CRC32C of the concatenation of A and B, given crc_a = Value(A), crc_b = Value(B)
// and B's length: Combine(Value(a), Value(b), b.size()) == Value(a + b). O(log b_bytes) steps,
// independent of the bytes themselves, so B's checksum can be taken before A is known (the log
// checksums a commit's payload outside the commit lock, then its header under it).
uint32_t Combine(uint32_t crc_a, uint32_t crc_b, uint64_t b_bytes);

// True if Extend uses the CPU's crc32 instruction.
bool IsHardwareAccelerated();

namespace internal {

// The two implementations behind Extend, exposed so tests can check they agree.
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);
// Must only be called when IsHardwareAccelerated() is true.
uint32_t ExtendHardware(uint32_t crc, const void* data, size_t n);

}  // namespace internal

}  // namespace manifold::crc32c

#endif  // MANIFOLD_UTIL_CRC32C_H_
