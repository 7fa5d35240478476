// A handle on one column family of one open database, as returned by DB::GetColumnFamily. Calls
// that take a handle find the column family by its id (an array index per level of a small
// radix trie) instead of by comparing names, and always reach the column family the handle was
// taken for: never a later one created under the same name.
//
//   auto users = db->GetColumnFamily("users");
//   if (!users.ok()) return users.status();
//   MANIFOLD_RETURN_IF_ERROR(db->Put({}, *users, "key", "value"));
//
// A handle is a small value: copy it freely, share it between threads (it is immutable). It stays
// valid until its column family is dropped; afterwards every call that takes it fails with
// NotFound (even if a column family of the same name was created since), and a handle used with
// a database other than the one that gave it fails with InvalidArgument. It never dangles: it may
// outlive its column family and its database.
#ifndef MANIFOLD_COLUMN_FAMILY_H_
#define MANIFOLD_COLUMN_FAMILY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace manifold {

class DBImpl;
class WriteBatch;

class ColumnFamilyHandle {
 public:
  // An empty handle: every call that takes it fails with InvalidArgument.
  ColumnFamilyHandle() = default;

  // False for an empty (default-constructed) handle. True does not mean the column family still
  // exists: that is decided by the database at each call.
  bool valid() const { return rep_ != nullptr; }
  // The column family's id, unique within its database for the database's whole life (ids are
  // never reused); 0 is "default". 0 for an empty handle.
  uint32_t id() const;
  // The name it had when the handle was taken. Empty for an empty handle.
  std::string_view name() const;

  // Handles are equal when they refer to the same column family of the same database.
  friend bool operator==(const ColumnFamilyHandle& a, const ColumnFamilyHandle& b);
  friend bool operator!=(const ColumnFamilyHandle& a, const ColumnFamilyHandle& b) {
    return !(a == b);
  }

  // Opaque to applications; defined by the engine.
  struct Rep;

 private:
  friend class DBImpl;
  explicit ColumnFamilyHandle(std::shared_ptr<const Rep> rep) : rep_(std::move(rep)) {}
  std::shared_ptr<const Rep> rep_;
};

}  // namespace manifold

#endif  // MANIFOLD_COLUMN_FAMILY_H_
