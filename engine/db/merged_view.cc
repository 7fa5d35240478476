#include "engine/db/merged_view.h"

#include <cassert>

#include "engine/util/fault_point.h"

namespace manifold {

namespace {

// The planted bugs of buffered reads, for point reads and cursors alike: "the newest buffer has
// the newest data" (a read during a swap misses the immutable buffers), and "an entry in the
// buffer is committed" (it ignores the reader's sequence number, so it sees commits after its
// snapshot or not yet durable).
bool NewestBufferOnly() { return MANIFOLD_PLANTED_BUG(planted_bug::kReadMissesImmutableBuffer); }
uint64_t ReadSequence(uint64_t sequence) {
  if (MANIFOLD_PLANTED_BUG(planted_bug::kBufferReadIgnoresSequence))
    return WriteBuffer::kReadLatest;
  return sequence;
}

// Entries of one key a buffer source walks one by one before it searches instead: a key
// overwritten many times (or many times since a snapshot) costs one search, not a walk.
constexpr int kLinearSteps = 8;

}  // namespace

WriteBuffer::Lookup LookupBuffers(const BufferStack* stack, std::string_view key,
                                  uint64_t sequence) {
  if (stack == nullptr) return {};
  const bool newest_only = NewestBufferOnly();
  sequence = ReadSequence(sequence);
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

// ---- BufferSource -----------------------------------------------------------------------

void MergedCursor::BufferSource::SeekToFirst() {
  it_.SeekToFirst();
  SettleForward();
}

void MergedCursor::BufferSource::SeekToLast() {
  it_.SeekToLast();
  SettleBackward();
}

void MergedCursor::BufferSource::Seek(std::string_view target) {
  it_.Seek(target, sequence_);  // The newest entry of target the reader sees, if it has one.
  SettleForward();
}

void MergedCursor::BufferSource::SeekForPrev(std::string_view target) {
  it_.SeekForPrev(target);
  SettleBackward();
}

void MergedCursor::BufferSource::Next() {
  assert(valid_);
  PastKey();
  SettleForward();
}

void MergedCursor::BufferSource::Prev() {
  assert(valid_);
  BeforeKey(key_);
  SettleBackward();
}

void MergedCursor::BufferSource::SettleForward() {
  int steps = 0;
  while (it_.Valid() && it_.sequence() > sequence_) {
    // Newer than the reader (I35): an older entry of the key, or a later key, may be visible.
    // The search lands strictly past this entry (it orders before (key, sequence_)).
    if (++steps == kLinearSteps) {
      steps = 0;
      it_.Seek(it_.key(), sequence_);
      continue;
    }
    it_.Next();
  }
  valid_ = it_.Valid();
  if (!valid_) return;
  key_ = it_.key();
  tombstone_ = it_.type() == EntryType::kTombstone;
  value_ = it_.value();
}

void MergedCursor::BufferSource::SettleBackward() {
  // Entries run newest first within a key, so walking backward reaches a key at its oldest
  // entry: the one the reader sees is the first at or below its sequence number, which a search
  // from (key, sequence_) finds (aborted entries skipped, I30), as WriteBuffer::Get would; the
  // key filter is skipped, the key being known to be here.
  while (it_.Valid()) {
    const std::string_view key = it_.key();
    WriteBuffer::Iterator visible = it_;
    visible.Seek(key, sequence_);
    if (visible.Valid() && visible.key() == key) {
      valid_ = true;
      key_ = key;
      tombstone_ = visible.type() == EntryType::kTombstone;
      value_ = visible.value();
      return;
    }
    BeforeKey(key);  // Every entry of the key is newer than the reader (or aborted).
  }
  valid_ = false;
}

void MergedCursor::BufferSource::PastKey() {
  // key_ points into the arena: it stays valid as it_ moves. Entries a writer adds to key_
  // meanwhile are newer, so they sort before it_ and are not met here.
  for (int steps = 0;; ++steps) {
    if (!it_.Valid() || it_.key() != key_) return;
    if (steps == kLinearSteps) {
      // The last entry of key_ (or, were they all aborted meanwhile, of an earlier key).
      it_.SeekForPrev(key_);
      if (it_.Valid()) {
        it_.Next();
      } else {
        it_.SeekToFirst();
      }
      return;
    }
    it_.Next();
  }
}

void MergedCursor::BufferSource::BeforeKey(std::string_view key) {
  // One search for the last entry below the key, not a Seek to the key's first entry and a Prev
  // from it: a writer adding a newer entry of the key between the two puts it before that first
  // entry, and the Prev lands on it (the key again: a backward walk beside a writer saw a key
  // twice, tests/concurrency_test, I53).
  it_.SeekBefore(key);
}

// ---- MergedCursor -----------------------------------------------------------------------

MergedCursor::MergedCursor(btree::NodeSource* source, btree::TreeRoot root, BufferStackPtr stack,
                           uint64_t sequence)
    : source_(source),
      stack_(std::move(stack)),
      sequence_(ReadSequence(sequence)),
      tree_(source, std::move(root)) {
  if (stack_ != nullptr) {
    const bool newest_only = NewestBufferOnly();
    buffers_.reserve(stack_->buffers.size());
    for (const auto& buffer : stack_->buffers) {
      buffers_.emplace_back(buffer.get(), sequence_);
      if (newest_only) break;
    }
  }
  buffer_at_key_.assign(buffers_.size(), 0);
}

Status MergedCursor::SeekToFirst() {
  for (auto& buffer : buffers_) buffer.SeekToFirst();
  MANIFOLD_RETURN_IF_ERROR(tree_.SeekToFirst());
  return Settle(true);
}

Status MergedCursor::SeekToLast() {
  for (auto& buffer : buffers_) buffer.SeekToLast();
  MANIFOLD_RETURN_IF_ERROR(tree_.SeekToLast());
  return Settle(false);
}

Status MergedCursor::Seek(std::string_view target) {
  for (auto& buffer : buffers_) buffer.Seek(target);
  MANIFOLD_RETURN_IF_ERROR(tree_.Seek(target));
  return Settle(true);
}

Status MergedCursor::SeekForPrev(std::string_view target) {
  for (auto& buffer : buffers_) buffer.SeekForPrev(target);
  MANIFOLD_RETURN_IF_ERROR(tree_.SeekForPrev(target));
  return Settle(false);
}

Status MergedCursor::Next() {
  assert(valid_);
  if (!forward_) MANIFOLD_RETURN_IF_ERROR(Turn(true));
  MANIFOLD_RETURN_IF_ERROR(Advance(true));
  return Settle(true);
}

Status MergedCursor::Prev() {
  assert(valid_);
  if (forward_) MANIFOLD_RETURN_IF_ERROR(Turn(false));
  MANIFOLD_RETURN_IF_ERROR(Advance(false));
  return Settle(false);
}

Status MergedCursor::Turn(bool forward) {
  // The classic pitfall of merging cursors: the sources not at key_ sit beyond it in the old
  // direction, so stepping them the new way would skip or repeat keys. Each is positioned again
  // from key_ instead (copied first: it may point into the tree cursor's page).
  turn_key_.assign(key_.data(), key_.size());
  key_ = turn_key_;
  for (size_t i = 0; i < buffers_.size(); ++i) {
    BufferSource& buffer = buffers_[i];
    forward ? buffer.Seek(turn_key_) : buffer.SeekForPrev(turn_key_);
    buffer_at_key_[i] = buffer.Valid() && buffer.key() == turn_key_;
  }
  MANIFOLD_RETURN_IF_ERROR(forward ? tree_.Seek(turn_key_) : tree_.SeekForPrev(turn_key_));
  tree_at_key_ = tree_.Valid() && tree_.key() == turn_key_;
  return Status::OK();
}

Status MergedCursor::Advance(bool forward) {
  for (size_t i = 0; i < buffers_.size(); ++i) {
    if (buffer_at_key_[i]) forward ? buffers_[i].Next() : buffers_[i].Prev();
  }
  if (tree_at_key_) MANIFOLD_RETURN_IF_ERROR(forward ? tree_.Next() : tree_.Prev());
  return Status::OK();
}

Status MergedCursor::Settle(bool forward) {
  forward_ = forward;
  for (;;) {
    // The nearest key in the direction. Buffers come newest first and only a strictly nearer
    // key replaces the best, so at a key several sources hold, `newest` is the newest of them.
    int newest = -1;  // A buffer's index; -1 for the tree, or for no source at all.
    bool any = false;
    std::string_view nearest;
    for (size_t i = 0; i < buffers_.size(); ++i) {
      buffer_at_key_[i] = 0;
      const BufferSource& buffer = buffers_[i];
      if (!buffer.Valid()) continue;
      const std::string_view key = buffer.key();
      if (any && key == nearest) {
        buffer_at_key_[i] = 1;
      } else if (!any || (forward ? key < nearest : key > nearest)) {
        for (size_t j = 0; j < i; ++j) buffer_at_key_[j] = 0;
        buffer_at_key_[i] = 1;
        nearest = key;
        newest = static_cast<int>(i);
        any = true;
      }
    }
    tree_at_key_ = false;
    if (tree_.Valid()) {
      const std::string_view key = tree_.key();
      if (any && key == nearest) {
        tree_at_key_ = true;
      } else if (!any || (forward ? key < nearest : key > nearest)) {
        for (auto& at : buffer_at_key_) at = 0;
        tree_at_key_ = true;
        nearest = key;
        newest = -1;
        any = true;
      }
    }
    if (!any) {
      valid_ = false;
      key_ = std::string_view();
      value_ = std::string_view();
      return Status::OK();
    }
    key_ = nearest;
    if (newest < 0) {
      valid_ = true;
      return TakeTreeValue();
    }
    const BufferSource& buffer = buffers_[newest];
    if (!buffer.tombstone()) {
      valid_ = true;
      value_ = buffer.value();
      return Status::OK();
    }
    // A tombstone (I35): the key is deleted for this reader, in every older source too.
    MANIFOLD_RETURN_IF_ERROR(Advance(forward));
  }
}

Status MergedCursor::TakeTreeValue() {
  std::string_view bytes;
  if (tree_.InlineValue(&bytes)) {
    value_ = bytes;
    return Status::OK();
  }
  MANIFOLD_ASSIGN_OR_RETURN(loaded_, source_->LoadLargeValue(tree_.value()));
  value_ = loaded_;
  return Status::OK();
}

}  // namespace manifold
