// The std::chrono duration for a wait of `timeout_us` on a standard condition variable, shared by
// the production CondVar and the scheduled one's fallback off managed threads.
#ifndef MANIFOLD_PORT_STD_TIMEOUT_H_
#define MANIFOLD_PORT_STD_TIMEOUT_H_

#include <chrono>
#include <cstdint>

namespace manifold::port::internal {

inline std::chrono::microseconds StdTimeout(uint64_t timeout_us) {
  // Clamp so the deadline (now + timeout, in nanoseconds) cannot overflow; a century is forever.
  constexpr uint64_t kMaxTimeoutUs = uint64_t{100} * 365 * 24 * 3600 * 1000 * 1000;
  return std::chrono::microseconds(
      static_cast<int64_t>(timeout_us < kMaxTimeoutUs ? timeout_us : kMaxTimeoutUs));
}

}  // namespace manifold::port::internal

#endif  // MANIFOLD_PORT_STD_TIMEOUT_H_
