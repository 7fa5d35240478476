// Iteration over one column family of a reference-model state (model/state.h).
#ifndef MANIFOLD_MODEL_CURSOR_H_
#define MANIFOLD_MODEL_CURSOR_H_

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "model/state.h"

namespace manifold::model {

// Mirrors manifold::Iterator over one column family of a state, with the same bound rules:
// the iterator sees only keys in [lower, upper); Seek(t) is the first visible key >= t,
// SeekForPrev(t) the last visible key <= t; stepping past either end makes it invalid. Holds the
// column family's entries as they were when constructed (later commits do not affect it). A
// missing column family iterates as empty.
class Cursor {
 public:
  Cursor(const State& state, std::string_view cf, std::optional<std::string> lower = std::nullopt,
         std::optional<std::string> upper = std::nullopt);

  bool Valid() const { return valid_; }
  void SeekToFirst();
  void SeekToLast();
  void Seek(std::string_view target);
  void SeekForPrev(std::string_view target);
  void Next();                       // Requires Valid().
  void Prev();                       // Requires Valid().
  const std::string& key() const;    // Requires Valid().
  const std::string& value() const;  // Requires Valid().

 private:
  void Settle();
  std::shared_ptr<const KeyMap> map_;
  std::optional<std::string> lower_, upper_;
  KeyMap::const_iterator it_;
  bool valid_ = false;
};

struct ScanOptions {
  std::optional<std::string> lower;  // Inclusive bound.
  std::optional<std::string> upper;  // Exclusive bound.
  bool reverse = false;
  // Forward: start at Seek(*start) instead of SeekToFirst. Reverse: at SeekForPrev(*start)
  // instead of SeekToLast.
  std::optional<std::string> start;
  size_t limit = std::numeric_limits<size_t>::max();
};
// The entries a forward (Next...) or backward (Prev...) scan returns, in the order returned.
Entries Scan(const State& state, std::string_view cf, const ScanOptions& options = {});

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_CURSOR_H_
