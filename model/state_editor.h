// StateEditor: the only code that edits a reference-model State (model/state.h), for State's
// factories and the Model (model/model.h), whose undo records it writes. Internal to //model:model.
#ifndef MANIFOLD_MODEL_STATE_EDITOR_H_
#define MANIFOLD_MODEL_STATE_EDITOR_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/options.h"
#include "model/model.h"
#include "model/model_check.h"

namespace manifold::model {

// The only code that edits a State. Every edit keeps the hash and entry count in step and clones a
// column family's map first when it is shared with another state (copy-on-write).
class StateEditor {
 public:
  using Undo = std::vector<Model::UndoRecord>;

  static std::optional<Rejection> Check(const State& s, const Commit& c) {
    auto check_name = [](const std::string& name) -> std::optional<Rejection> {
      if (name.empty() || name.size() > Limits::kColumnFamilyNameBytesMax) {
        return Rejection{StatusCode::kInvalidArgument,
                         "column family name must be 1 to " +
                             std::to_string(Limits::kColumnFamilyNameBytesMax) + " bytes, got " +
                             std::to_string(name.size())};
      }
      return std::nullopt;
    };
    switch (c.kind) {
      case Commit::kBatch:
        for (size_t i = 0; i < c.ops.size(); ++i) {
          if (!s.HasColumnFamily(c.ops[i].cf)) {
            return Rejection{StatusCode::kNotFound, "column family " + CfName(c.ops[i].cf) +
                                                        " does not exist (op " + std::to_string(i) +
                                                        ", key " + Printable(c.ops[i].key) + ")"};
          }
        }
        return std::nullopt;
      case Commit::kCreateCf:
        if (auto bad = check_name(c.cf)) return bad;
        if (s.HasColumnFamily(c.cf)) {
          return Rejection{StatusCode::kAlreadyExists,
                           "column family " + CfName(c.cf) + " already exists"};
        }
        if (s.column_family_count() >= Limits::kColumnFamiliesMax) {
          return Rejection{StatusCode::kInvalidArgument,
                           "a database holds at most " +
                               std::to_string(Limits::kColumnFamiliesMax) + " column families"};
        }
        return std::nullopt;
      case Commit::kDropCf:
        if (auto bad = check_name(c.cf)) return bad;
        if (c.cf == kDefaultCf) {
          return Rejection{StatusCode::kInvalidArgument,
                           "the default column family cannot be dropped"};
        }
        if (!s.HasColumnFamily(c.cf)) {
          return Rejection{StatusCode::kNotFound,
                           "column family " + CfName(c.cf) + " does not exist"};
        }
        return std::nullopt;
    }
    return std::nullopt;
  }

  // Applies `c` when it is valid for `s` and returns true; otherwise changes nothing and returns
  // false. Appends to `undo` (if not null) what takes the edits back, in application order.
  static bool Apply(State& s, const Commit& c, Undo* undo) {
    if (Check(s, c).has_value()) return false;
    switch (c.kind) {
      case Commit::kBatch:
        for (const Op& op : c.ops) {
          std::optional<std::string> value;
          if (op.kind == Op::kPut) value = op.value;
          Set(s, op.cf, op.key, std::move(value), undo);
        }
        break;
      case Commit::kCreateCf:
        CreateCf(s, c.cf, std::make_shared<KeyMap>(), HashColumnFamily(c.cf));
        if (undo != nullptr) {
          Model::UndoRecord r;
          r.kind = Model::UndoRecord::kCreateCf;
          r.cf = c.cf;
          undo->push_back(std::move(r));
        }
        break;
      case Commit::kDropCf: {
        auto it = s.cfs_.find(c.cf);
        if (undo != nullptr) {
          Model::UndoRecord r;
          r.kind = Model::UndoRecord::kDropCf;
          r.cf = c.cf;
          r.dropped = it->second.map;
          r.dropped_hash = it->second.hash;
          undo->push_back(std::move(r));
        }
        s.hash_ -= it->second.hash;
        s.entries_ -= it->second.map->size();
        s.cfs_.erase(it);
        break;
      }
    }
    return true;
  }

  static void Revert(State& s, const Undo& undo) {
    for (auto r = undo.rbegin(); r != undo.rend(); ++r) {
      switch (r->kind) {
        case Model::UndoRecord::kEntry:
          Set(s, r->cf, r->key, r->old_value, nullptr);
          break;
        case Model::UndoRecord::kCreateCf: {
          auto it = s.cfs_.find(r->cf);
          MODEL_CHECK(it != s.cfs_.end(), "undo of create of missing cf " + r->cf);
          s.hash_ -= it->second.hash;
          s.entries_ -= it->second.map->size();
          s.cfs_.erase(it);
          break;
        }
        case Model::UndoRecord::kDropCf:
          CreateCf(s, r->cf, r->dropped, r->dropped_hash);
          break;
      }
    }
  }

  static void CreateCf(State& s, const std::string& name, std::shared_ptr<KeyMap> map,
                       uint64_t hash) {
    const size_t size = map->size();
    const bool inserted = s.cfs_.emplace(name, State::Cf{std::move(map), hash}).second;
    MODEL_CHECK(inserted, "column family " + name + " already exists");
    s.hash_ += hash;
    s.entries_ += size;
  }

  // Sets (value) or removes (nullopt) one key of an existing column family.
  static void Set(State& s, const std::string& cf_name, const std::string& key,
                  std::optional<std::string> value, Undo* undo) {
    auto cf_it = s.cfs_.find(cf_name);
    MODEL_CHECK(cf_it != s.cfs_.end(), "edit of missing cf " + cf_name);
    State::Cf& cf = cf_it->second;
    auto found = cf.map->find(key);
    const bool present = found != cf.map->end();
    if (!present && !value.has_value()) return;  // Deleting an absent key changes nothing.
    if (cf.map.use_count() != 1) {
      cf.map = std::make_shared<KeyMap>(*cf.map);
      found = cf.map->find(key);
    }
    KeyMap& map = *cf.map;
    if (undo != nullptr) {
      Model::UndoRecord r;
      r.kind = Model::UndoRecord::kEntry;
      r.cf = cf_name;
      r.key = key;
      if (present) r.old_value = found->second;
      undo->push_back(std::move(r));
    }
    if (present) {
      const uint64_t h = HashEntry(cf_name, key, found->second);
      cf.hash -= h;
      s.hash_ -= h;
    }
    if (!value.has_value()) {
      map.erase(found);
      --s.entries_;
      return;
    }
    const uint64_t h = HashEntry(cf_name, key, *value);
    cf.hash += h;
    s.hash_ += h;
    if (present) {
      found->second = std::move(*value);
    } else {
      map.emplace(key, std::move(*value));
      ++s.entries_;
    }
  }
};

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_STATE_EDITOR_H_
