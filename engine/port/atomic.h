// port::Atomic<T>: what engine code uses instead of std::atomic<T> for a value another thread
// reads. In production it is a thin inline wrapper over std::atomic (the `where` parameters are
// unused and vanish when inlined). Built with MANIFOLD_SIM_SCHEDULER, every access on a managed
// thread is first a scheduling point of engine/port/sched.h, so the scheduler can interleave other
// threads between any two atomic accesses. Loads and failed compare-exchanges count as no
// progress (a spin loop repeats them), everything else as progress. The operators mirror
// std::atomic's (sequentially consistent), so replacing std::atomic<T> by port::Atomic<T> is a
// type swap; they report no call site to the scheduler.
#ifndef MANIFOLD_PORT_ATOMIC_H_
#define MANIFOLD_PORT_ATOMIC_H_

#include <atomic>
#include <type_traits>

#include "engine/port/source_location.h"

#if MANIFOLD_SIM_SCHEDULER
#include "engine/port/sched.h"
#endif

namespace manifold::port {

template <typename T>
class Atomic {
 public:
  using Where = port::SourceLocation;

  constexpr Atomic() noexcept : value_(T()) {}
  constexpr explicit Atomic(T value) noexcept : value_(value) {}
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order order = std::memory_order_seq_cst,
         Where where = Where::current()) const {
    Point("Atomic::load", where, false);
    return value_.load(order);
  }
  void store(T value, std::memory_order order = std::memory_order_seq_cst,
             Where where = Where::current()) {
    Point("Atomic::store", where, true);
    value_.store(value, order);
  }
  T exchange(T value, std::memory_order order = std::memory_order_seq_cst,
             Where where = Where::current()) {
    Point("Atomic::exchange", where, true);
    return value_.exchange(value, order);
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst,
                               Where where = Where::current()) {
    Point("Atomic::compare_exchange", where, false);
    return Succeeded(value_.compare_exchange_strong(expected, desired, order));
  }
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order order = std::memory_order_seq_cst,
                             Where where = Where::current()) {
    Point("Atomic::compare_exchange", where, false);
    return Succeeded(value_.compare_exchange_weak(expected, desired, order));
  }
  T fetch_add(T delta, std::memory_order order = std::memory_order_seq_cst,
              Where where = Where::current()) requires std::is_integral_v<T> {
    Point("Atomic::fetch_add", where, true);
    return value_.fetch_add(delta, order);
  }
  T fetch_sub(T delta, std::memory_order order = std::memory_order_seq_cst,
              Where where = Where::current()) requires std::is_integral_v<T> {
    Point("Atomic::fetch_sub", where, true);
    return value_.fetch_sub(delta, order);
  }

  // Sequentially consistent shorthands, as std::atomic has them.
  operator T() const { return load(); }  // NOLINT(google-explicit-constructor): as std::atomic.
  T operator=(T value) {
    store(value);
    return value;
  }
  T operator++() requires std::is_integral_v<T> { return fetch_add(1) + 1; }
  T operator--() requires std::is_integral_v<T> { return fetch_sub(1) - 1; }
  T operator+=(T delta) requires std::is_integral_v<T> { return fetch_add(delta) + delta; }
  T operator-=(T delta) requires std::is_integral_v<T> { return fetch_sub(delta) - delta; }

 private:
  void Point([[maybe_unused]] const char* op, [[maybe_unused]] Where where,
             [[maybe_unused]] bool progress) const {
#if MANIFOLD_SIM_SCHEDULER
    sched::internal::Point(op, this, nullptr, where, progress);
#endif
  }
  static bool Succeeded(bool exchanged) {
#if MANIFOLD_SIM_SCHEDULER
    if (exchanged) sched::internal::Progress();
#endif
    return exchanged;
  }

  std::atomic<T> value_;
};

}  // namespace manifold::port

#endif  // MANIFOLD_PORT_ATOMIC_H_
