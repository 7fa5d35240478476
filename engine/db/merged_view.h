// A reader's view of one column family at its sequence number: its buffers (active and
// immutable, newest first; buffer_list.h) over its tree (docs/design.md "Write buffer", I32,
// I35). A buffered entry counts only at or below the reader's sequence number, so a reader never
// sees a commit newer than its version (nor, since versions are published only once their
// records are durable, I19, a commit whose record is not). A tombstone hides the key in every
// older buffer and in the tree.
#ifndef MANIFOLD_DB_MERGED_VIEW_H_
#define MANIFOLD_DB_MERGED_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/btree/tree.h"
#include "engine/db/buffer_list.h"
#include "engine/db/pager.h"
#include "engine/db/write_buffer.h"
#include "manifold/status.h"

namespace manifold {

// The newest buffered entry of `key` visible at `sequence`, searching `stack` newest first.
WriteBuffer::Lookup LookupBuffers(const BufferStack* stack, std::string_view key,
                                  uint64_t sequence);

// Point lookup: the buffers, then the tree. nullopt when absent or deleted.
[[nodiscard]] StatusOr<std::optional<std::string>> MergedGet(Pager* pager,
                                                             const btree::PageRef& root,
                                                             const BufferStack* stack,
                                                             std::string_view key,
                                                             uint64_t sequence);

// Moves over the merged view in key order, both directions, like btree::Cursor. It keeps one
// position per source (each buffer, newest first, then the tree) and moves only the sources at
// the current key, so a step costs a step in each of those sources, not a lookup in every buffer
// (I53). The caller keeps the pages alive (a Version, I4); the cursor keeps the buffers alive
// itself.
class MergedCursor {
 public:
  MergedCursor(btree::NodeSource* source, btree::TreeRoot root, BufferStackPtr stack,
               uint64_t sequence);

  [[nodiscard]] Status SeekToFirst();
  [[nodiscard]] Status SeekToLast();
  [[nodiscard]] Status Seek(std::string_view target);         // First key >= target.
  [[nodiscard]] Status SeekForPrev(std::string_view target);  // Last key <= target.
  // Next and Prev only when Valid().
  [[nodiscard]] Status Next();
  [[nodiscard]] Status Prev();

  bool Valid() const { return valid_; }
  // Both valid until the cursor moves.
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  // One buffer as the reader sees it: at most one position per key, the key's newest entry at
  // or below the reader's sequence number (a put or a tombstone); keys whose every entry is
  // newer are skipped. Its key and value point into the buffer's arena, where entries never
  // move (write_buffer.h), so they outlive the source's next move. Entries a writer adds while
  // the source stands still carry higher sequence numbers than the reader's (I19, I35): they
  // never change what the source shows, wherever they land.
  class BufferSource {
   public:
    BufferSource(const WriteBuffer* buffer, uint64_t sequence)
        : buffer_(buffer), it_(buffer), sequence_(sequence) {}
    void SeekToFirst();
    void SeekToLast();
    void Seek(std::string_view target);         // First visible key >= target.
    void SeekForPrev(std::string_view target);  // Last visible key <= target.
    void Next();                                // Only when Valid().
    void Prev();                                // Only when Valid().
    bool Valid() const { return valid_; }
    std::string_view key() const { return key_; }
    bool tombstone() const { return tombstone_; }
    std::string_view value() const { return value_; }

   private:
    // it_ is at the first entry of a key, or at one of its entries newer than the reader: moves
    // to the first entry visible to the reader, of this key or a later one.
    void SettleForward();
    // it_ is at an entry of a key: takes the nearest key at or before it with an entry visible
    // to the reader, and that entry.
    void SettleBackward();
    // it_ to the first entry of the first key after key_.
    void PastKey();
    // it_ to the last entry of the last key before `key`.
    void BeforeKey(std::string_view key);

    const WriteBuffer* buffer_;
    WriteBuffer::Iterator it_;
    uint64_t sequence_;
    bool valid_ = false;
    bool tombstone_ = false;
    std::string_view key_;
    std::string_view value_;
  };

  // Picks the nearest key any source is at in the direction, and marks the sources at it; a key
  // whose newest source holds a tombstone is stepped over.
  [[nodiscard]] Status Settle(bool forward);
  // Moves every source marked at key_ off it in the direction.
  [[nodiscard]] Status Advance(bool forward);
  // A change of direction: every source to key_ or the nearest key beyond it in the new
  // direction (the sources not at key_ sit on its other side).
  [[nodiscard]] Status Turn(bool forward);
  [[nodiscard]] Status TakeTreeValue();

  btree::NodeSource* source_;
  BufferStackPtr stack_;
  uint64_t sequence_;
  std::vector<BufferSource> buffers_;   // Same order as stack_ (newest first).
  std::vector<uint8_t> buffer_at_key_;  // Whether buffers_[i] is at key_.
  btree::Cursor tree_;
  bool tree_at_key_ = false;
  bool forward_ = true;
  bool valid_ = false;
  std::string_view key_;  // Into a buffer's arena, the tree cursor's page, or turn_key_.
  std::string_view value_;
  std::string turn_key_;  // key_ while the sources it pointed into move (Turn).
  std::string loaded_;    // The current value when it lives in overflow pages.
};

}  // namespace manifold

#endif  // MANIFOLD_DB_MERGED_VIEW_H_
