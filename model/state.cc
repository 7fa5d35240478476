#include "model/state.h"

#include "model/state_editor.h"
#include "model/state_hash.h"

namespace manifold::model {

State State::Initial() {
  State s;
  StateEditor::CreateCf(s, std::string(kDefaultCf), std::make_shared<KeyMap>(),
                        HashColumnFamily(kDefaultCf));
  return s;
}

State State::FromMap(const StateMap& map) {
  State s;
  for (const auto& [cf, entries] : map) {
    uint64_t h = HashColumnFamily(cf);
    for (const auto& [key, value] : entries) h += HashEntry(cf, key, value);
    StateEditor::CreateCf(s, cf, std::make_shared<KeyMap>(entries), h);
  }
  return s;
}

StateMap State::ToMap() const {
  StateMap out;
  for (const auto& [cf, data] : cfs_) out.emplace(cf, *data.map);
  return out;
}

bool State::HasColumnFamily(std::string_view cf) const { return cfs_.find(cf) != cfs_.end(); }

std::vector<std::string> State::ColumnFamilies() const {
  std::vector<std::string> out;
  out.reserve(cfs_.size());
  for (const auto& entry : cfs_) out.push_back(entry.first);
  return out;
}

const KeyMap* State::Find(std::string_view cf) const {
  auto it = cfs_.find(cf);
  return it == cfs_.end() ? nullptr : it->second.map.get();
}

std::shared_ptr<const KeyMap> State::Share(std::string_view cf) const {
  auto it = cfs_.find(cf);
  return it == cfs_.end() ? nullptr : it->second.map;
}

std::optional<std::string> State::Get(std::string_view cf, std::string_view key) const {
  const KeyMap* map = Find(cf);
  if (map == nullptr) return std::nullopt;
  auto it = map->find(std::string(key));
  if (it == map->end()) return std::nullopt;
  return it->second;
}

bool State::Equals(const StateMap& map) const {
  if (map.size() != cfs_.size()) return false;
  auto a = cfs_.begin();
  for (auto b = map.begin(); b != map.end(); ++a, ++b) {
    if (a->first != b->first) return false;
    if (*a->second.map != b->second) return false;
  }
  return true;
}

bool operator==(const State& a, const State& b) {
  if (a.hash_ != b.hash_ || a.entries_ != b.entries_ || a.cfs_.size() != b.cfs_.size()) {
    return false;
  }
  for (auto x = a.cfs_.begin(), y = b.cfs_.begin(); x != a.cfs_.end(); ++x, ++y) {
    if (x->first != y->first || x->second.hash != y->second.hash) return false;
    if (x->second.map != y->second.map && *x->second.map != *y->second.map) return false;
  }
  return true;
}

}  // namespace manifold::model
