#include "model/cursor.h"

#include "model/model_check.h"

namespace manifold::model {

namespace {
const std::shared_ptr<const KeyMap>& EmptyMap() {
  static const auto* empty = new std::shared_ptr<const KeyMap>(std::make_shared<KeyMap>());
  return *empty;
}
}  // namespace

Cursor::Cursor(const State& state, std::string_view cf, std::optional<std::string> lower,
               std::optional<std::string> upper)
    : map_(state.Share(cf)), lower_(std::move(lower)), upper_(std::move(upper)) {
  if (map_ == nullptr) map_ = EmptyMap();
  it_ = map_->end();
}

void Cursor::Settle() {
  valid_ = false;
  if (it_ == map_->end()) return;
  if (lower_.has_value() && it_->first < *lower_) return;
  if (upper_.has_value() && it_->first >= *upper_) return;
  valid_ = true;
}

void Cursor::SeekToFirst() {
  it_ = lower_.has_value() ? map_->lower_bound(*lower_) : map_->begin();
  Settle();
}

void Cursor::SeekToLast() {
  it_ = upper_.has_value() ? map_->lower_bound(*upper_) : map_->end();
  if (it_ == map_->begin()) {
    it_ = map_->end();
  } else {
    --it_;
  }
  Settle();
}

void Cursor::Seek(std::string_view target) {
  std::string t(target);
  if (lower_.has_value() && t < *lower_) t = *lower_;
  it_ = map_->lower_bound(t);
  Settle();
}

void Cursor::SeekForPrev(std::string_view target) {
  std::string t(target);
  if (upper_.has_value() && t >= *upper_) return SeekToLast();
  it_ = map_->upper_bound(t);
  if (it_ == map_->begin()) {
    it_ = map_->end();
  } else {
    --it_;
  }
  Settle();
}

void Cursor::Next() {
  MODEL_CHECK(valid_, "Cursor::Next on an invalid cursor");
  ++it_;
  Settle();
}

void Cursor::Prev() {
  MODEL_CHECK(valid_, "Cursor::Prev on an invalid cursor");
  if (it_ == map_->begin()) {
    it_ = map_->end();
  } else {
    --it_;
  }
  Settle();
}

const std::string& Cursor::key() const {
  MODEL_CHECK(valid_, "Cursor::key on an invalid cursor");
  return it_->first;
}

const std::string& Cursor::value() const {
  MODEL_CHECK(valid_, "Cursor::value on an invalid cursor");
  return it_->second;
}

Entries Scan(const State& state, std::string_view cf, const ScanOptions& options) {
  Cursor cursor(state, cf, options.lower, options.upper);
  if (options.reverse) {
    options.start.has_value() ? cursor.SeekForPrev(*options.start) : cursor.SeekToLast();
  } else {
    options.start.has_value() ? cursor.Seek(*options.start) : cursor.SeekToFirst();
  }
  Entries out;
  while (cursor.Valid() && out.size() < options.limit) {
    out.emplace_back(cursor.key(), cursor.value());
    options.reverse ? cursor.Prev() : cursor.Next();
  }
  return out;
}

}  // namespace manifold::model
