// What a ColumnFamilyHandle holds (manifold/column_family.h): the column family's id, its name
// when the handle was taken, and the database it came from (I46).
#ifndef MANIFOLD_DB_COLUMN_FAMILY_REP_H_
#define MANIFOLD_DB_COLUMN_FAMILY_REP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "engine/db/version.h"
#include "manifold/column_family.h"

namespace manifold {

struct ColumnFamilyHandle::Rep {
  uint32_t id = 0;
  std::string name;
  // The database's version registry, one per open DBImpl: a handle is accepted only by the
  // database whose registry it holds. Holding it keeps the address from being reused by another
  // database while the handle lives, so comparing addresses cannot mistake one for another.
  std::shared_ptr<const VersionRegistry> owner;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_COLUMN_FAMILY_REP_H_
