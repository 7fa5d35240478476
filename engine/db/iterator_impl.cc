#include "engine/db/iterator_impl.h"

#include <cassert>

namespace manifold {

IteratorImpl::IteratorImpl(Pager* pager, VersionPtr version, btree::PageRef root,
                           BufferStackPtr buffers, uint64_t sequence,
                           std::optional<std::string> lower_bound,
                           std::optional<std::string> upper_bound)
    : version_(std::move(version)),
      cursor_(pager, btree::TreeRoot::OnDisk(root), std::move(buffers), sequence),
      lower_bound_(std::move(lower_bound)),
      upper_bound_(std::move(upper_bound)) {}

void IteratorImpl::Settle(Status moved) {
  valid_ = false;
  if (!moved.ok()) {
    status_ = std::move(moved);
    return;
  }
  if (!cursor_.Valid()) return;
  const std::string_view key = cursor_.key();
  if (lower_bound_.has_value() && key < *lower_bound_) return;
  if (upper_bound_.has_value() && key >= *upper_bound_) return;
  valid_ = true;
}

void IteratorImpl::SeekToFirst() {
  status_ = Status::OK();
  if (lower_bound_.has_value()) return Settle(cursor_.Seek(*lower_bound_));
  Settle(cursor_.SeekToFirst());
}

void IteratorImpl::SeekToLast() {
  status_ = Status::OK();
  if (!upper_bound_.has_value()) return Settle(cursor_.SeekToLast());
  Status moved = cursor_.SeekForPrev(*upper_bound_);
  // The upper bound is exclusive: step off a key equal to it.
  if (moved.ok() && cursor_.Valid() && cursor_.key() == *upper_bound_) moved = cursor_.Prev();
  Settle(moved);
}

void IteratorImpl::Seek(std::string_view target) {
  status_ = Status::OK();
  if (lower_bound_.has_value() && target < *lower_bound_) target = *lower_bound_;
  Settle(cursor_.Seek(target));
}

void IteratorImpl::SeekForPrev(std::string_view target) {
  status_ = Status::OK();
  if (upper_bound_.has_value() && target >= *upper_bound_) return SeekToLast();
  Settle(cursor_.SeekForPrev(target));
}

void IteratorImpl::Next() {
  assert(valid_);
  Settle(cursor_.Next());
}

void IteratorImpl::Prev() {
  assert(valid_);
  Settle(cursor_.Prev());
}

std::string_view IteratorImpl::key() const {
  assert(valid_);
  return cursor_.key();
}

std::string_view IteratorImpl::value() const {
  assert(valid_);
  return cursor_.value();
}

}  // namespace manifold
