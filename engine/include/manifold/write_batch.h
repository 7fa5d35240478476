// An ordered list of puts and deletes over any column families, applied atomically by DB::Write.
#ifndef MANIFOLD_WRITE_BATCH_H_
#define MANIFOLD_WRITE_BATCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/column_family.h"

namespace manifold {

class WriteBatch {
 public:
  enum class OpType : uint8_t { kPut = 1, kDelete = 2 };

  struct Op {
    OpType type;
    std::string column_family;
    std::string key;
    std::string value;  // Empty for deletes.
    // Set when the op was added with a handle: DB::Write then applies it to exactly that column
    // family (NotFound if it was dropped) and `column_family` is the handle's name.
    ColumnFamilyHandle handle;
  };

  void Put(std::string_view column_family, std::string_view key, std::string_view value) {
    bytes_ += key.size() + value.size();
    ops_.push_back(
        Op{OpType::kPut, std::string(column_family), std::string(key), std::string(value), {}});
  }
  void Delete(std::string_view column_family, std::string_view key) {
    bytes_ += key.size();
    ops_.push_back(Op{OpType::kDelete, std::string(column_family), std::string(key), {}, {}});
  }
  // The same, by handle: no name lookup, and never a later column family of the same name.
  void Put(const ColumnFamilyHandle& column_family, std::string_view key, std::string_view value) {
    bytes_ += key.size() + value.size();
    ops_.push_back(Op{OpType::kPut, std::string(column_family.name()), std::string(key),
                      std::string(value), column_family});
  }
  void Delete(const ColumnFamilyHandle& column_family, std::string_view key) {
    bytes_ += key.size();
    ops_.push_back(Op{
        OpType::kDelete, std::string(column_family.name()), std::string(key), {}, column_family});
  }
  void Clear() {
    ops_.clear();
    bytes_ = 0;
  }

  // Operations in the order they were added; later ones win on the same key.
  const std::vector<Op>& ops() const { return ops_; }
  size_t Count() const { return ops_.size(); }
  // Key and value bytes held, as counted against Options::batch_bytes_max.
  uint64_t bytes() const { return bytes_; }

 private:
  std::vector<Op> ops_;
  uint64_t bytes_ = 0;
};

}  // namespace manifold

#endif  // MANIFOLD_WRITE_BATCH_H_
