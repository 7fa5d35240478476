// An immutable, reference-counted byte string. B+tree nodes are copied whenever a writer changes
// a node that readers can reach (invariant I1), and a leaf holds tens of values: sharing the
// value bytes between the copies makes a copy cost one reference increment per value instead of
// one allocation and memcpy per value (the top of the write profile in bench/README.md).
#ifndef MANIFOLD_UTIL_SHARED_BYTES_H_
#define MANIFOLD_UTIL_SHARED_BYTES_H_

#include <atomic>
#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace manifold {

class SharedBytes {
 public:
  SharedBytes() = default;
  explicit SharedBytes(std::string_view bytes) {
    if (bytes.empty()) return;
    assert(bytes.size() <= UINT32_MAX);
    void* memory = std::malloc(sizeof(Rep) + bytes.size());
    if (memory == nullptr) throw std::bad_alloc();  // As std::string would: out of memory.
    rep_ = new (memory) Rep{};
    rep_->size = static_cast<uint32_t>(bytes.size());
    std::memcpy(rep_->data(), bytes.data(), bytes.size());
  }
  SharedBytes(const SharedBytes& other) noexcept : rep_(other.rep_) { Ref(); }
  SharedBytes(SharedBytes&& other) noexcept : rep_(std::exchange(other.rep_, nullptr)) {}
  SharedBytes& operator=(const SharedBytes& other) noexcept {
    SharedBytes copy(other);
    std::swap(rep_, copy.rep_);
    return *this;
  }
  SharedBytes& operator=(SharedBytes&& other) noexcept {
    SharedBytes moved(std::move(other));
    std::swap(rep_, moved.rep_);
    return *this;
  }
  ~SharedBytes() { Unref(); }

  std::string_view view() const {
    return rep_ == nullptr ? std::string_view() : std::string_view(rep_->data(), rep_->size);
  }
  operator std::string_view() const { return view(); }  // NOLINT: reads like a string.
  const char* data() const { return view().data(); }
  size_t size() const { return rep_ == nullptr ? 0 : rep_->size; }
  bool empty() const { return size() == 0; }
  std::string ToString() const { return std::string(view()); }
  // Drops this reference (the bytes go when the last copy does).
  void reset() { SharedBytes().swap(*this); }
  void swap(SharedBytes& other) noexcept { std::swap(rep_, other.rep_); }
  // Heap bytes behind this string, counted in full by every holder (an upper bound).
  size_t MemoryBytes() const { return rep_ == nullptr ? 0 : sizeof(Rep) + rep_->size; }

  friend bool operator==(const SharedBytes& a, const SharedBytes& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const SharedBytes& a, std::string_view b) { return a.view() == b; }

 private:
  struct Rep {
    std::atomic<uint32_t> refs{1};
    uint32_t size = 0;
    char* data() { return reinterpret_cast<char*>(this + 1); }
  };

  void Ref() {
    if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void Unref() {
    if (rep_ == nullptr) return;
    // acq_rel: the last holder must see every other holder's reads finished before freeing.
    if (rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      rep_->~Rep();
      std::free(rep_);
    }
    rep_ = nullptr;
  }

  Rep* rep_ = nullptr;
};

}  // namespace manifold

#endif  // MANIFOLD_UTIL_SHARED_BYTES_H_
