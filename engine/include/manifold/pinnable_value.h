// PinnableValue: the result of DB::GetPinned, a value read without copying it out of the page
// that holds it (like RocksDB's PinnableSlice). While the handle lives it keeps that page image
// alive and unchanged, so value() stays valid even if later commits replace the key, a checkpoint
// rewrites the page, or the cache evicts it. A value stored in overflow pages (larger than about
// a quarter of a page) is assembled into the handle's own string instead.
//
//   manifold::PinnableValue value;
//   Status s = db->GetPinned({}, "default", "key", &value);
//   if (s.ok()) Use(value.value());  // No copy; value.Reset() (or destruction) unpins.
#ifndef MANIFOLD_PINNABLE_VALUE_H_
#define MANIFOLD_PINNABLE_VALUE_H_

#include <string>
#include <string_view>
#include <utility>

namespace manifold {

class PinnableValue {
 public:
  PinnableValue() = default;
  PinnableValue(const PinnableValue&) = delete;
  PinnableValue& operator=(const PinnableValue&) = delete;
  PinnableValue(PinnableValue&& other) noexcept { *this = std::move(other); }
  PinnableValue& operator=(PinnableValue&& other) noexcept {
    if (this == &other) return *this;
    Reset();
    owned_ = std::move(other.owned_);
    owns_ = std::exchange(other.owns_, false);
    view_ = std::exchange(other.view_, std::string_view());
    release_ = std::exchange(other.release_, nullptr);
    token_ = std::exchange(other.token_, nullptr);
    return *this;
  }
  ~PinnableValue() { Reset(); }

  // The value's bytes: valid until Reset, the next GetPinned into this handle, or destruction.
  std::string_view value() const { return owns_ ? std::string_view(owned_) : view_; }
  size_t size() const { return value().size(); }
  // True when value() points into a page the handle keeps alive (no copy was made).
  bool pinned() const { return release_ != nullptr; }
  // Drops the pin (or the owned copy); value() becomes empty.
  void Reset() {
    if (release_ != nullptr) release_(token_);
    release_ = nullptr;
    token_ = nullptr;
    view_ = std::string_view();
    owned_.clear();
    owns_ = false;
  }

  // For the engine: `bytes` stay valid until release(token) is called.
  using ReleaseFunction = void (*)(void* token);
  void Pin(std::string_view bytes, ReleaseFunction release, void* token) {
    Reset();
    view_ = bytes;
    release_ = release;
    token_ = token;
  }
  // For the engine: a value the handle owns (an assembled large value, or an empty one).
  void Assign(std::string value) {
    Reset();
    owned_ = std::move(value);
    owns_ = true;
  }

 private:
  std::string owned_;
  bool owns_ = false;
  std::string_view view_;
  ReleaseFunction release_ = nullptr;
  void* token_ = nullptr;
};

}  // namespace manifold

#endif  // MANIFOLD_PINNABLE_VALUE_H_
