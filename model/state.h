// A whole database state of the reference model (model/model.h): column families of ordered
// maps, shared copy-on-write, with the state hash (model/state_hash.h) kept incrementally.
#ifndef MANIFOLD_MODEL_STATE_H_
#define MANIFOLD_MODEL_STATE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace manifold::model {

// key -> value of one column family, in bytewise order (std::string's operator< compares as
// unsigned char, which is the engine's order).
using KeyMap = std::map<std::string, std::string>;
// column family name -> its entries: the plain form of a whole database (e.g. as read back from
// the engine after a reopen).
using StateMap = std::map<std::string, KeyMap>;
using Entries = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kDefaultCf = "default";

// A whole database state: a cheap-to-copy value (column families are shared copy-on-write), with
// its StateHash maintained incrementally. Only the Model edits states.
class State {
 public:
  State() = default;       // No column families at all.
  static State Initial();  // Only "default", empty.
  static State FromMap(const StateMap& map);
  StateMap ToMap() const;

  bool HasColumnFamily(std::string_view cf) const;
  std::vector<std::string> ColumnFamilies() const;  // Byte order.
  size_t column_family_count() const { return cfs_.size(); }
  // The column family's entries, or null if it does not exist. Valid until the state changes.
  const KeyMap* Find(std::string_view cf) const;
  // The column family's entries, shared (stays valid and unchanged for as long as it is held),
  // or null if it does not exist.
  std::shared_ptr<const KeyMap> Share(std::string_view cf) const;
  std::optional<std::string> Get(std::string_view cf, std::string_view key) const;

  uint64_t hash() const { return hash_; }  // == StateHash(ToMap())
  size_t entry_count() const { return entries_; }

  bool Equals(const StateMap& map) const;
  friend bool operator==(const State& a, const State& b);
  friend bool operator!=(const State& a, const State& b) { return !(a == b); }

 private:
  friend class StateEditor;
  struct Cf {
    std::shared_ptr<KeyMap> map;  // Shared with copies of the state; cloned before any edit.
    uint64_t hash = 0;            // HashColumnFamily + HashEntry of each of its entries.
  };
  std::map<std::string, Cf, std::less<>> cfs_;
  uint64_t hash_ = 0;
  size_t entries_ = 0;
};

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_STATE_H_
