#include "engine/db/merged_view.h"

#include "engine/util/fault_point.h"

namespace manifold {

WriteBuffer::Lookup LookupBuffers(const BufferStack* stack, std::string_view key,
                                  uint64_t sequence) {
  if (stack == nullptr) return {};
  // The planted bugs: "the newest buffer has the newest data" (a read during a swap misses the
  // immutable buffers), and "an entry in the buffer is committed" (it ignores the reader's
  // sequence number, so it sees commits after its snapshot or not yet durable).
  const bool newest_only = MANIFOLD_PLANTED_BUG(planted_bug::kReadMissesImmutableBuffer);
  if (MANIFOLD_PLANTED_BUG(planted_bug::kBufferReadIgnoresSequence))
    sequence = WriteBuffer::kReadLatest;
  for (const auto& buffer : stack->buffers) {
    WriteBuffer::Lookup found = buffer->Get(key, sequence);
    if (found.found != WriteBuffer::Found::kNotPresent) return found;
    if (newest_only) break;
  }
  return {};
}

StatusOr<std::optional<std::string>> MergedGet(Pager* pager, const btree::PageRef& root,
                                               const BufferStack* stack, std::string_view key,
                                               uint64_t sequence) {
  const WriteBuffer::Lookup found = LookupBuffers(stack, key, sequence);
  if (found.found == WriteBuffer::Found::kValue) return std::optional<std::string>(found.value);
  if (found.found == WriteBuffer::Found::kTombstone) return std::optional<std::string>();
  return btree::TreeGet(pager, btree::TreeRoot::OnDisk(root), key);
}

MergedCursor::MergedCursor(Pager* pager, btree::PageRef root, BufferStackPtr stack,
                           uint64_t sequence)
    : pager_(pager),
      stack_(std::move(stack)),
      sequence_(sequence),
      tree_(pager, btree::TreeRoot::OnDisk(root)) {
  if (stack_ != nullptr) {
    for (const auto& buffer : stack_->buffers) buffers_.emplace_back(buffer.get());
  }
}

Status MergedCursor::SeekToFirst() {
  for (auto& it : buffers_) it.SeekToFirst();
  MANIFOLD_RETURN_IF_ERROR(tree_.SeekToFirst());
  return FindVisible(true);
}

Status MergedCursor::SeekToLast() {
  for (auto& it : buffers_) it.SeekToLast();
  MANIFOLD_RETURN_IF_ERROR(tree_.SeekToLast());
  return FindVisible(false);
}

Status MergedCursor::Seek(std::string_view target) {
  for (auto& it : buffers_) it.Seek(target);
  MANIFOLD_RETURN_IF_ERROR(tree_.Seek(target));
  return FindVisible(true);
}

Status MergedCursor::SeekForPrev(std::string_view target) {
  for (auto& it : buffers_) it.SeekForPrev(target);
  MANIFOLD_RETURN_IF_ERROR(tree_.SeekForPrev(target));
  return FindVisible(false);
}

Status MergedCursor::Next() {
  if (!forward_) {
    // Turning around: every source to its first entry at or after key_, then off key_.
    for (auto& it : buffers_) it.Seek(key_);
    MANIFOLD_RETURN_IF_ERROR(tree_.Seek(key_));
  }
  MANIFOLD_RETURN_IF_ERROR(StepOff(true));
  return FindVisible(true);
}

Status MergedCursor::Prev() {
  if (forward_) {
    for (auto& it : buffers_) it.SeekForPrev(key_);
    MANIFOLD_RETURN_IF_ERROR(tree_.SeekForPrev(key_));
  }
  MANIFOLD_RETURN_IF_ERROR(StepOff(false));
  return FindVisible(false);
}

Status MergedCursor::StepOff(bool forward) {
  for (auto& it : buffers_) {
    while (it.Valid() && it.key() == key_) forward ? it.Next() : it.Prev();
  }
  if (tree_.Valid() && tree_.key() == key_) {
    MANIFOLD_RETURN_IF_ERROR(forward ? tree_.Next() : tree_.Prev());
  }
  return Status::OK();
}

Status MergedCursor::FindVisible(bool forward) {
  forward_ = forward;
  for (;;) {
    // The nearest key any source is at, in the direction.
    std::string_view nearest;
    bool any = false;
    auto consider = [&](std::string_view key) {
      if (!any || (forward ? key < nearest : key > nearest)) nearest = key;
      any = true;
    };
    for (const auto& it : buffers_) {
      if (it.Valid()) consider(it.key());
    }
    if (tree_.Valid()) consider(tree_.key());
    if (!any) {
      valid_ = false;
      key_.clear();
      return Status::OK();
    }
    key_.assign(nearest.data(), nearest.size());
    bool visible = false;
    MANIFOLD_RETURN_IF_ERROR(Resolve(&visible));
    if (visible) {
      valid_ = true;
      return Status::OK();
    }
    // Deleted, or only newer than this reader: skip the key.
    MANIFOLD_RETURN_IF_ERROR(StepOff(forward));
  }
}

Status MergedCursor::Resolve(bool* visible) {
  const WriteBuffer::Lookup found = LookupBuffers(stack_.get(), key_, sequence_);
  if (found.found == WriteBuffer::Found::kValue) {
    value_ = found.value;
    *visible = true;
    return Status::OK();
  }
  if (found.found == WriteBuffer::Found::kTombstone) {
    *visible = false;
    return Status::OK();
  }
  *visible = tree_.Valid() && tree_.key() == key_;
  if (!*visible) return Status::OK();
  const btree::LeafValue& value = tree_.value();
  if (value.written()) {
    MANIFOLD_ASSIGN_OR_RETURN(loaded_, pager_->LoadLargeValue(value));
    value_ = loaded_;
  } else {
    value_ = value.bytes.view();
  }
  return Status::OK();
}

}  // namespace manifold
