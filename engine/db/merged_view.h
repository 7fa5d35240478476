// A reader's view of one column family at its sequence number: its buffers (active and
// immutable, newest first; buffer_list.h) over its tree (docs/design.md "Write buffer", I32,
// I35). A buffered entry counts only at or below the reader's sequence number, so a reader never
// sees a commit newer than its version (nor, since versions are published only once their
// records are durable, I19, a commit whose record is not). A tombstone hides the key in every
// older buffer and in the tree.
#ifndef MANIFOLD_DB_MERGED_VIEW_H_
#define MANIFOLD_DB_MERGED_VIEW_H_

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

// Moves over the merged view in key order, both directions, like btree::Cursor. The caller keeps
// the pages alive (a Version, I4); the cursor keeps the buffers alive itself.
class MergedCursor {
 public:
  MergedCursor(Pager* pager, btree::PageRef root, BufferStackPtr stack, uint64_t sequence);

  [[nodiscard]] Status SeekToFirst();
  [[nodiscard]] Status SeekToLast();
  [[nodiscard]] Status Seek(std::string_view target);         // First key >= target.
  [[nodiscard]] Status SeekForPrev(std::string_view target);  // Last key <= target.
  [[nodiscard]] Status Next();
  [[nodiscard]] Status Prev();

  bool Valid() const { return valid_; }
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  // Positions: forward, every source is at its first entry with a key >= key_ (or past
  // key_ once it is consumed); backward, at its last entry with a key <= key_.
  [[nodiscard]] Status FindVisible(bool forward);
  // Moves every source at key_ off it in the direction.
  [[nodiscard]] Status StepOff(bool forward);
  // Whether key_ is visible, setting value_ if so.
  [[nodiscard]] Status Resolve(bool* visible);

  Pager* pager_;
  BufferStackPtr stack_;
  uint64_t sequence_;
  std::vector<WriteBuffer::Iterator> buffers_;  // Same order as stack_ (newest first).
  btree::Cursor tree_;
  bool forward_ = true;
  bool valid_ = false;
  std::string key_;
  std::string_view value_;
  std::string loaded_;  // The current value when it lives in overflow pages.
};

}  // namespace manifold

#endif  // MANIFOLD_DB_MERGED_VIEW_H_
