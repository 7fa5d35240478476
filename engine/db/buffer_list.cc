#include "engine/db/buffer_list.h"

#include <algorithm>

#include "engine/util/check.h"

namespace manifold {

WriteBufferOptions BufferOptionsFor(const Options& options, uint32_t cf_id) {
  WriteBufferOptions buffer;
  uint64_t per_cf = options.write_buffer_bytes_per_cf_max;
  if (per_cf == 0) {
    per_cf = std::clamp<uint64_t>(options.write_buffer_bytes_max / 4, 64ull << 10, 16ull << 20);
  }
  buffer.bytes_max = per_cf;
  // Small blocks for small buffers: a column family with one entry holds one block.
  buffer.arena_block_bytes = std::clamp<size_t>(per_cf / 8, 4 << 10, 1 << 20);
  buffer.seed = cf_id;
  return buffer;
}

BufferList::BufferList(const WriteBufferOptions& options, btree::PageRef root)
    : options_(options), root_(root) {
  Rebuild();
}

Status BufferList::NewActive(size_t bytes_max, bool key_filter) {
  WriteBufferOptions options = options_;
  options.bytes_max = bytes_max;
  options.key_filter = key_filter;
  options.seed = options_.seed + buffers_created_++;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<WriteBuffer> buffer, WriteBuffer::Create(options));
  active_ = std::move(buffer);
  return Status::OK();
}

Status BufferList::Add(uint64_t sequence, EntryType type, std::string_view key,
                       std::string_view value) {
  bool changed = false;
  if (active_ == nullptr) {
    MANIFOLD_RETURN_IF_ERROR(NewActive(options_.bytes_max, /*key_filter=*/true));
    changed = true;
  }
  const size_t cost = active_->EntryCostInEmptyBuffer(key, value);
  if (cost > options_.bytes_max) {
    // An entry no ordinary buffer can hold gets a buffer sized for it, made immutable at once so
    // that the entries after it go to an ordinary buffer again.
    if (active_->EntryCount() > 0) {
      immutables_.push_back(std::move(active_));
    }
    // No key filter in it: its one key costs one search, and `cost` (which counts an ordinary
    // buffer's filter) then leaves room to spare.
    const size_t block = options_.arena_block_bytes;
    MANIFOLD_RETURN_IF_ERROR(NewActive((cost + block - 1) / block * block, /*key_filter=*/false));
    MANIFOLD_RETURN_IF_ERROR(active_->Add(sequence, type, key, value));
    immutables_.push_back(std::move(active_));
    Rebuild();
    return Status::OK();
  }
  Status status = active_->Add(sequence, type, key, value);
  if (status.IsNoSpace()) {
    // I33: a full buffer becomes immutable; its entries stay readable through the stack.
    immutables_.push_back(std::move(active_));
    MANIFOLD_RETURN_IF_ERROR(NewActive(options_.bytes_max, /*key_filter=*/true));
    changed = true;
    status = active_->Add(sequence, type, key, value);
  }
  MANIFOLD_RETURN_IF_ERROR(status);
  if (changed) Rebuild();
  return Status::OK();
}

Status BufferList::MarkAborted(uint64_t first, uint64_t last) {
  for (auto& buffer : immutables_) {
    if (buffer->sequence_max() >= first) MANIFOLD_RETURN_IF_ERROR(buffer->MarkAborted(first, last));
  }
  if (active_ != nullptr && active_->sequence_max() >= first) {
    MANIFOLD_RETURN_IF_ERROR(active_->MarkAborted(first, last));
  }
  return Status::OK();
}

void BufferList::Freeze() {
  if (active_ == nullptr) return;
  immutables_.push_back(std::move(active_));
  Rebuild();
}

std::vector<std::shared_ptr<const WriteBuffer>> BufferList::Immutables() const {
  return {immutables_.begin(), immutables_.end()};
}

size_t BufferList::InstallMerged(size_t count, btree::PageRef root) {
  MANIFOLD_CHECK(count <= immutables_.size(),
                 "I34: a checkpoint releases only immutable buffers it merged");
  size_t bytes = 0;
  for (size_t i = 0; i < count; ++i) bytes += immutables_[i]->MemoryBytes();
  immutables_.erase(immutables_.begin(), immutables_.begin() + static_cast<ptrdiff_t>(count));
  merging_ = merging_ > count ? merging_ - count : 0;
  root_ = root;
  hidden_ = false;
  Rebuild();
  return bytes;
}

size_t BufferList::ReleaseAborted() {
  if (active_ != nullptr) Freeze();
  size_t bytes = 0;
  for (const auto& buffer : immutables_) {
    MANIFOLD_CHECK(buffer->AbortedCount() == buffer->EntryCount(),
                   "I30: only buffers of rolled-back commits are dropped unmerged");
    bytes += buffer->MemoryBytes();
  }
  immutables_.clear();
  merging_ = 0;
  Rebuild();
  return bytes;
}

size_t BufferList::MemoryBytes() const {
  return ImmutableBytes() + (active_ == nullptr ? 0 : active_->MemoryBytes());
}

size_t BufferList::ImmutableBytes() const {
  size_t bytes = 0;
  for (const auto& buffer : immutables_) bytes += buffer->MemoryBytes();
  return bytes;
}

void BufferList::Rebuild() {
  auto stack = std::make_shared<BufferStack>();
  if (active_ != nullptr) stack->buffers.push_back(active_);
  for (auto it = immutables_.rbegin(); it != immutables_.rend() && !hidden_; ++it) {
    stack->buffers.push_back(*it);
  }
  stack_ = std::move(stack);
}

}  // namespace manifold
