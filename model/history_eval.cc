// What a read returns from one state of the sequence order, and how reads and states are
// written in the check's messages (history_checker.h).
#include <cstdlib>
#include <limits>

#include "model/history_checker.h"

namespace manifold::model {

namespace {

// Calls visit(key, value) for each entry a scan of `cf` returns, in order, until it returns
// false or the scan ends.
template <typename Visit>
void VisitScan(const KeyMap& cf, const ScanSpec& spec, Visit visit) {
  size_t left = spec.limit == 0 ? std::numeric_limits<size_t>::max() : spec.limit;
  if (!spec.reverse) {
    KeyMap::const_iterator it = cf.begin();
    if (spec.start.has_value()) {
      it = spec.start_inclusive ? cf.lower_bound(*spec.start) : cf.upper_bound(*spec.start);
    }
    // Keys below the lower bound are invisible: the first visible key is at or above it.
    if (spec.lower.has_value() && it != cf.end() && it->first < *spec.lower) {
      it = cf.lower_bound(*spec.lower);
    }
    for (; it != cf.end() && left > 0; ++it, --left) {
      if (spec.upper.has_value() && it->first >= *spec.upper) break;
      if (!visit(it->first, it->second)) return;
    }
    return;
  }
  // Reverse: `it` is one past the first entry returned.
  KeyMap::const_iterator it = cf.end();
  if (spec.start.has_value()) {
    it = spec.start_inclusive ? cf.upper_bound(*spec.start) : cf.lower_bound(*spec.start);
  }
  if (spec.upper.has_value()) {
    const KeyMap::const_iterator u = cf.lower_bound(*spec.upper);
    if (u != cf.end() && (it == cf.end() || u->first < it->first)) it = u;
  }
  for (; it != cf.begin() && left > 0; --left) {
    --it;
    if (spec.lower.has_value() && it->first < *spec.lower) break;
    if (!visit(it->first, it->second)) return;
  }
}

// Whether a scan of `cf` returns exactly `want`; stops at the first difference.
bool ScanReturns(const KeyMap& cf, const ScanSpec& spec, const Entries& want) {
  size_t i = 0;
  bool same = true;
  VisitScan(cf, spec, [&](const std::string& key, const std::string& value) {
    same = i < want.size() && want[i].first == key && want[i].second == value;
    ++i;
    return same;
  });
  return same && i == want.size();
}

}  // namespace

Entries ApplyScan(const KeyMap& cf, const ScanSpec& spec) {
  Entries out;
  VisitScan(cf, spec, [&](const std::string& key, const std::string& value) {
    out.emplace_back(key, value);
    return true;
  });
  return out;
}

namespace history_internal {

std::string ValueText(const std::optional<std::string>& v) {
  return v.has_value() ? Printable(*v) : std::string("NotFound");
}

std::string EntriesText(const Entries& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i == 4) {
      out += ", ...";
      break;
    }
    if (i > 0) out += ", ";
    out += Printable(entries[i].first) + "=" + Printable(entries[i].second);
  }
  out +=
      "] (" + std::to_string(entries.size()) + " entr" + (entries.size() == 1 ? "y" : "ies") + ")";
  return out;
}

std::string ScanText(const ScanSpec& s) {
  std::string out = s.reverse ? "reverse scan" : "scan";
  if (s.start.has_value()) {
    out += std::string(" from ") + (s.start_inclusive ? "" : "after ") + Printable(*s.start);
  }
  if (s.lower.has_value()) out += " lower " + Printable(*s.lower);
  if (s.upper.has_value()) out += " upper " + Printable(*s.upper);
  if (s.limit != 0) out += " limit " + std::to_string(s.limit);
  return out;
}

std::string ReadText(const HistoryRead& r) {
  if (r.kind == HistoryRead::kGet) return "get '" + r.cf + "' " + Printable(r.key);
  return ScanText(r.scan) + " of '" + r.cf + "'";
}

std::string ObservedText(const HistoryRead& r) {
  if (r.cf_missing) return "column family " + Printable(r.cf) + " does not exist";
  return r.kind == HistoryRead::kGet ? ValueText(r.value) : EntriesText(r.entries);
}

// `read` evaluated on column family `cf` (null: absent) with the first `overlay_n` of `overlay`
// applied on top (a transaction's own writes, all on `read.cf`).
Result Evaluate(const KeyMap* cf, const HistoryRead& read, const std::vector<Op>* overlay,
                size_t overlay_n) {
  Result r;
  r.cf_exists = cf != nullptr;
  if (cf == nullptr) return r;
  if (overlay == nullptr || overlay_n == 0) {
    if (read.kind == HistoryRead::kGet) {
      auto it = cf->find(read.key);
      if (it != cf->end()) r.value = it->second;
    } else {
      r.entries = ApplyScan(*cf, read.scan);
    }
    return r;
  }
  if (read.kind == HistoryRead::kGet) {
    auto it = cf->find(read.key);
    if (it != cf->end()) r.value = it->second;
    for (size_t i = 0; i < overlay_n; ++i) {
      const Op& op = (*overlay)[i];
      if (op.cf != read.cf || op.key != read.key) continue;
      r.value = op.kind == Op::kPut ? std::optional<std::string>(op.value) : std::nullopt;
    }
    return r;
  }
  KeyMap copy = *cf;
  for (size_t i = 0; i < overlay_n; ++i) {
    const Op& op = (*overlay)[i];
    if (op.cf != read.cf) continue;
    if (op.kind == Op::kPut) {
      copy[op.key] = op.value;
    } else {
      copy.erase(op.key);
    }
  }
  r.entries = ApplyScan(copy, read.scan);
  return r;
}

// Evaluate(...).Matches(read), without building a scan's entries when there is no overlay.
bool Explained(const KeyMap* cf, const HistoryRead& read, const std::vector<Op>* overlay,
               size_t overlay_n) {
  if (cf != nullptr && !read.cf_missing && read.kind == HistoryRead::kScan &&
      (overlay == nullptr || overlay_n == 0)) {
    return ScanReturns(*cf, read.scan, read.entries);
  }
  return Evaluate(cf, read, overlay, overlay_n).Matches(read);
}

}  // namespace history_internal
}  // namespace manifold::model
