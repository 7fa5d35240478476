// A byte string that stores up to kInlineBytesMax bytes inside the object (no heap allocation),
// for B+tree keys. std::string keeps only 15 bytes inline, so 16- to 28-byte keys (24-byte keys
// are common: hashes, UUID-like ids) cost an allocation for every key of every node copy, and
// copy-on-write copies a node for every commit that changes it (invariant I1). Longer strings
// are held on the heap, one copy per object, like std::string.
#ifndef MANIFOLD_UTIL_SMALL_BYTES_H_
#define MANIFOLD_UTIL_SMALL_BYTES_H_

#include <cassert>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace manifold {

class SmallBytes {
 public:
  static constexpr size_t kInlineBytesMax = 28;

  SmallBytes() = default;
  SmallBytes(std::string_view bytes) { Assign(bytes); }               // NOLINT: a string value.
  SmallBytes(const std::string& bytes) { Assign(bytes); }             // NOLINT: a string value.
  SmallBytes(const char* bytes) { Assign(std::string_view(bytes)); }  // NOLINT: a string value.
  SmallBytes(const SmallBytes& other) {
    if (other.is_inline()) {
      // Only the bytes in use: the rest of inline_ is uninitialized (copying all of it made
      // gcc -O2 warn maybe-uninitialized, an error under --config=werror).
      size_ = other.size_;
      if (size_ > 0) std::memcpy(inline_, other.inline_, size_);
    } else {
      Assign(other.view());
    }
  }
  SmallBytes(SmallBytes&& other) noexcept { Steal(&other); }
  SmallBytes& operator=(const SmallBytes& other) {
    if (this != &other) {
      SmallBytes copy(other);
      Release();
      Steal(&copy);
    }
    return *this;
  }
  SmallBytes& operator=(SmallBytes&& other) noexcept {
    if (this != &other) {
      Release();
      Steal(&other);
    }
    return *this;
  }
  ~SmallBytes() { Release(); }

  std::string_view view() const { return std::string_view(data(), size_); }
  operator std::string_view() const { return view(); }  // NOLINT: reads like a string.
  const char* data() const { return is_inline() ? inline_ : heap(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string ToString() const { return std::string(view()); }
  // Heap bytes held beyond the object itself.
  size_t HeapBytes() const { return is_inline() ? 0 : size_; }

  friend bool operator==(const SmallBytes& a, const SmallBytes& b) { return a.view() == b.view(); }
  friend bool operator==(const SmallBytes& a, std::string_view b) { return a.view() == b; }
  friend std::strong_ordering operator<=>(const SmallBytes& a, const SmallBytes& b) {
    return a.view() <=> b.view();
  }
  friend std::strong_ordering operator<=>(const SmallBytes& a, std::string_view b) {
    return a.view() <=> b;
  }

 private:
  bool is_inline() const { return size_ <= kInlineBytesMax; }
  void Assign(std::string_view bytes) {
    assert(bytes.size() <= UINT32_MAX);
    size_ = static_cast<uint32_t>(bytes.size());
    if (is_inline()) {
      if (!bytes.empty()) std::memcpy(inline_, bytes.data(), bytes.size());
      return;
    }
    char* heap = new char[bytes.size()];
    std::memcpy(heap, bytes.data(), bytes.size());
    set_heap(heap);
  }
  void Steal(SmallBytes* other) {
    size_ = std::exchange(other->size_, 0);
    // Inline bytes, or the heap pointer kept in the same storage: copied either way.
    std::memcpy(inline_, other->inline_, is_inline() ? size_ : sizeof(char*));
  }
  void Release() {
    if (!is_inline()) delete[] heap();
    size_ = 0;
  }

  // A heap string keeps its pointer in the first bytes of inline_ (copied with memcpy, as
  // inline_ is not aligned for a pointer: that keeps the object at 32 bytes).
  char* heap() const {
    char* pointer;
    std::memcpy(&pointer, inline_, sizeof(pointer));
    return pointer;
  }
  void set_heap(char* pointer) { std::memcpy(inline_, &pointer, sizeof(pointer)); }

  char inline_[kInlineBytesMax];
  uint32_t size_ = 0;
};

static_assert(sizeof(SmallBytes) == 32, "as small as std::string");

}  // namespace manifold

#endif  // MANIFOLD_UTIL_SMALL_BYTES_H_
