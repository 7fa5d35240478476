#include "engine/db/column_family_rep.h"

namespace manifold {

uint32_t ColumnFamilyHandle::id() const { return rep_ == nullptr ? 0 : rep_->id; }

std::string_view ColumnFamilyHandle::name() const {
  return rep_ == nullptr ? std::string_view() : std::string_view(rep_->name);
}

bool operator==(const ColumnFamilyHandle& a, const ColumnFamilyHandle& b) {
  if (a.rep_ == nullptr || b.rep_ == nullptr) return a.rep_ == b.rep_;
  return a.rep_->owner == b.rep_->owner && a.rep_->id == b.rep_->id;
}

}  // namespace manifold
