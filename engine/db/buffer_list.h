// BufferList: one column family's write buffers (docs/design.md "Write buffer", I32-I35): the
// active buffer commits insert into, the immutable ones waiting for (or inside) a checkpoint's
// merge, and the tree root those merges produced. Readers never touch a BufferList: every
// version holds a BufferStack, an immutable snapshot of the buffers (newest first) and the root
// they lie over, taken when the stack last changed (a swap or a merge install), and reads it at
// its own sequence number (merged_view.h).
//
// Not synchronized: DBImpl calls every method with its commit lock (log_mu_) held, which is also
// what serializes the buffers' one writer (I29).
#ifndef MANIFOLD_DB_BUFFER_LIST_H_
#define MANIFOLD_DB_BUFFER_LIST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/btree/page.h"
#include "engine/db/write_buffer.h"
#include "manifold/options.h"
#include "manifold/status.h"

namespace manifold {

// What a reader of one column family sees besides the tree: its buffers, newest first. Entries
// of a newer buffer always carry higher sequence numbers than those of an older one (I32), so
// the first buffer holding a key at or below the reader's sequence number has its answer.
struct BufferStack {
  std::vector<std::shared_ptr<const WriteBuffer>> buffers;
};
using BufferStackPtr = std::shared_ptr<const BufferStack>;

// The options of every buffer of column family `cf_id` (Options::write_buffer_bytes_per_cf_max).
WriteBufferOptions BufferOptionsFor(const Options& options, uint32_t cf_id);

class BufferList {
 public:
  // `options` configures every buffer this list creates (bytes_max is the per-column-family
  // limit); `root` is the column family's tree root as of the latest durable checkpoint.
  BufferList(const WriteBufferOptions& options, btree::PageRef root);

  // Adds one entry to the active buffer, creating one if there is none. A full buffer
  // (WriteBuffer::Add says NoSpace) becomes immutable and the entry goes to a new one; an entry
  // larger than any ordinary buffer gets a buffer of its own, immutable at once. Only a caller
  // bug (a sequence number going backwards) fails.
  [[nodiscard]] Status Add(uint64_t sequence, EntryType type, std::string_view key,
                           std::string_view value);
  // WriteBuffer::PrefetchFilter on the active buffer, if there is one.
  void Prefetch(std::string_view key) const {
    if (active_ != nullptr) active_->PrefetchFilter(key);
  }
  // Hides the entries of the rolled-back commits [first, last] in every buffer holding any of
  // them (I26, I30).
  [[nodiscard]] Status MarkAborted(uint64_t first, uint64_t last);
  // Makes the active buffer immutable (a checkpoint's FreezeBuffers); a later Add starts a new
  // one. No-op without an active buffer.
  void Freeze();
  // The immutable buffers, oldest first: what a checkpoint starting now merges.
  std::vector<std::shared_ptr<const WriteBuffer>> Immutables() const;
  // I34: after the checkpoint that merged the `count` oldest immutable buffers is durable, drops
  // them and makes `root` (that checkpoint's tree) the root readers see. Returns the bytes
  // released.
  size_t InstallMerged(size_t count, btree::PageRef root);
  // Planted bug kBufferReleasedBeforeDurable only: readers stop seeing the immutable buffers
  // until the next InstallMerged.
  void HideImmutables() {
    hidden_ = true;
    Rebuild();
  }
  // Drops every buffer; all their entries must be aborted (checked, I30). Returns the bytes.
  size_t ReleaseAborted();

  // What readers see now: the buffers, newest first. Changes only on a swap or an install.
  const BufferStackPtr& stack() const { return stack_; }
  const btree::PageRef& root() const { return root_; }
  // Exact bytes of every buffer held, active and immutable (I31: the arenas' MemoryBytes).
  size_t MemoryBytes() const;
  size_t ImmutableBytes() const;
  size_t ImmutableCount() const { return immutables_.size(); }
  // I47: the immutable buffers not handed to a checkpoint's merge yet (filled since the last
  // MarkMerging): what Options::write_buffer_immutables_per_cf_max caps.
  size_t WaitingCount() const { return immutables_.size() - merging_; }
  // A checkpoint took every immutable buffer (FreezeBuffers): none is waiting now.
  void MarkMerging() { merging_ = immutables_.size(); }
  // The checkpoint that took them failed before its merge could be installed: they wait again
  // (the next checkpoint merges them).
  void EndMerging() { merging_ = 0; }
  bool empty() const { return active_ == nullptr && immutables_.empty(); }

 private:
  void Rebuild();
  [[nodiscard]] Status NewActive(size_t bytes_max, bool key_filter);

  const WriteBufferOptions options_;
  btree::PageRef root_;
  std::shared_ptr<WriteBuffer> active_;                   // Null until the next Add.
  std::vector<std::shared_ptr<WriteBuffer>> immutables_;  // Oldest first.
  BufferStackPtr stack_;
  // The oldest immutables_ a running checkpoint merges (I47); always <= immutables_.size().
  size_t merging_ = 0;
  uint64_t buffers_created_ = 0;
  bool hidden_ = false;  // Seeds each new buffer's tower heights (reproducible).
};

}  // namespace manifold

#endif  // MANIFOLD_DB_BUFFER_LIST_H_
