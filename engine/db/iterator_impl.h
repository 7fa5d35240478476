// The public Iterator over one column family of one Version (its buffers merged over its tree at
// its sequence number, merged_view.h), with optional bounds.
#ifndef MANIFOLD_DB_ITERATOR_IMPL_H_
#define MANIFOLD_DB_ITERATOR_IMPL_H_

#include <optional>
#include <string>

#include "engine/btree/tree.h"
#include "engine/db/merged_view.h"
#include "engine/db/pager.h"
#include "engine/db/version.h"
#include "manifold/db.h"

namespace manifold {

class IteratorImpl : public Iterator {
 public:
  IteratorImpl(Pager* pager, VersionPtr version, btree::PageRef root, BufferStackPtr buffers,
               uint64_t sequence, std::optional<std::string> lower_bound,
               std::optional<std::string> upper_bound);

  bool Valid() const override { return valid_; }
  void SeekToFirst() override;
  void SeekToLast() override;
  void Seek(std::string_view target) override;
  void SeekForPrev(std::string_view target) override;
  void Next() override;
  void Prev() override;
  std::string_view key() const override;
  std::string_view value() const override;
  Status status() const override { return status_; }

 private:
  // Applies the result of a cursor move: records errors, checks bounds.
  void Settle(Status moved);

  VersionPtr version_;  // Keeps the pages the cursor reads from being reused (I4).
  MergedCursor cursor_;
  std::optional<std::string> lower_bound_;
  std::optional<std::string> upper_bound_;
  bool valid_ = false;
  Status status_;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_ITERATOR_IMPL_H_
