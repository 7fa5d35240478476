// An immutable, reference-counted byte string, or a slice of one. B+tree nodes are copied
// whenever a writer changes a node that readers can reach (invariant I1), and a leaf holds tens
// of values: sharing the value bytes between the copies makes a copy cost one reference
// increment per value instead of one allocation and memcpy per value (the top of the write
// profile in bench/README.md). A decoded page keeps its body in one buffer and its values are
// slices of it: one allocation per page instead of one per value, and the values of a node
// share one cache line of reference count.
#ifndef MANIFOLD_UTIL_SHARED_BYTES_H_
#define MANIFOLD_UTIL_SHARED_BYTES_H_

#include <cassert>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "engine/port/atomic.h"

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
    size_ = rep_->size;
    std::memcpy(rep_->data(), bytes.data(), bytes.size());
  }
  // A new buffer of `size` bytes, zero-filled when `zero`, that the caller fills through `*data`
  // before sharing it (a page image read from disk or encoded in place, with no second copy).
  static SharedBytes Allocate(size_t size, char** data, bool zero = true) {
    SharedBytes bytes;
    assert(size > 0 && size <= UINT32_MAX);
    void* memory = std::malloc(sizeof(Rep) + size);
    if (memory == nullptr) throw std::bad_alloc();
    bytes.rep_ = new (memory) Rep{};
    bytes.rep_->size = static_cast<uint32_t>(size);
    bytes.size_ = bytes.rep_->size;
    if (zero) std::memset(bytes.rep_->data(), 0, size);
    *data = bytes.rep_->data();
    return bytes;
  }
  SharedBytes(const SharedBytes& other) noexcept
      : rep_(other.rep_), offset_(other.offset_), size_(other.size_) {
    Ref();
  }
  SharedBytes(SharedBytes&& other) noexcept
      : rep_(std::exchange(other.rep_, nullptr)),
        offset_(std::exchange(other.offset_, 0)),
        size_(std::exchange(other.size_, 0)) {}

  // `size` bytes of `whole` starting at `offset` (within its view), sharing its buffer. An empty
  // slice holds no buffer.
  static SharedBytes Slice(const SharedBytes& whole, size_t offset, size_t size) {
    assert(offset + size <= whole.size());
    SharedBytes slice;
    if (size == 0) return slice;
    slice = whole;
    slice.offset_ += static_cast<uint32_t>(offset);
    slice.size_ = static_cast<uint32_t>(size);
    return slice;
  }
  SharedBytes& operator=(const SharedBytes& other) noexcept {
    SharedBytes copy(other);
    swap(copy);
    return *this;
  }
  SharedBytes& operator=(SharedBytes&& other) noexcept {
    SharedBytes moved(std::move(other));
    swap(moved);
    return *this;
  }
  ~SharedBytes() { Unref(); }

  std::string_view view() const {
    return rep_ == nullptr ? std::string_view() : std::string_view(rep_->data() + offset_, size_);
  }
  operator std::string_view() const { return view(); }  // NOLINT: reads like a string.
  const char* data() const { return view().data(); }
  size_t size() const { return size_; }
  bool empty() const { return size() == 0; }
  std::string ToString() const { return std::string(view()); }
  // Drops this reference (the bytes go when the last copy does).
  void reset() { SharedBytes().swap(*this); }
  void swap(SharedBytes& other) noexcept {
    std::swap(rep_, other.rep_);
    std::swap(offset_, other.offset_);
    std::swap(size_, other.size_);
  }
  // Heap bytes of the whole buffer behind this string (slices of one buffer each report all of
  // it: count a buffer once by its buffer_id()).
  size_t MemoryBytes() const { return rep_ == nullptr ? 0 : sizeof(Rep) + rep_->size; }
  // Identifies the buffer (null for an empty string), to count shared buffers once.
  const void* buffer_id() const { return rep_; }

  // Gives up this reference as an opaque token, for a handle outside the engine that cannot
  // name this type (manifold::PinnableValue); ReleaseToken(token) drops the reference later.
  // Null for an empty string.
  void* DetachToken() {
    void* token = rep_;
    rep_ = nullptr;
    offset_ = size_ = 0;
    return token;
  }
  static void ReleaseToken(void* token) {
    SharedBytes bytes;
    bytes.rep_ = static_cast<Rep*>(token);
  }  // `bytes` drops the reference.

  friend bool operator==(const SharedBytes& a, const SharedBytes& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const SharedBytes& a, std::string_view b) { return a.view() == b; }

 private:
  struct Rep {
    port::Atomic<uint32_t> refs{1};
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
  uint32_t offset_ = 0;  // Within rep_'s bytes.
  uint32_t size_ = 0;
};

}  // namespace manifold

#endif  // MANIFOLD_UTIL_SHARED_BYTES_H_
