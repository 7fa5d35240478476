// What the property tests share (model_property_test.cc, model_state_machine_test.cc): the
// std::map model's types, printing, generators of keys, values and column families, a model of
// an iterator's position, and whole-database checks against the model.
//
// The model: column family name -> (key -> value). Keys compare bytewise, like std::string's
// operator< (char_traits<char> compares as unsigned char), which is the engine's key order.
#ifndef MANIFOLD_TESTS_PROPERTY_HARNESS_H_
#define MANIFOLD_TESTS_PROPERTY_HARNESS_H_

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"

namespace manifold::property_test {

constexpr uint32_t kPageBytes = 1024;
constexpr uint32_t kKeyMax = Limits::KeyBytesMax(kPageBytes);  // 128
constexpr char kDbPath[] = "/db";

using CfMap = std::map<std::string, std::string>;
using DbMap = std::map<std::string, CfMap>;
using Entries = std::vector<std::pair<std::string, std::string>>;

// ---- Printing ---------------------------------------------------------------------------------

// A short, printable description of a key or value: escaped, long strings abbreviated.
inline std::string Describe(std::string_view s) {
  std::ostringstream out;
  out << '"';
  const size_t shown = s.size() > 24 ? 16 : s.size();
  for (size_t i = 0; i < shown; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out << static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out << "\\x" << kHex[c >> 4] << kHex[c & 15];
    }
  }
  out << '"';
  if (shown < s.size()) out << "...(" << s.size() << " bytes)";
  return out.str();
}

inline std::string DescribeOpt(const std::optional<std::string>& s) {
  return s.has_value() ? Describe(*s) : std::string("none");
}

// ---- Generators -------------------------------------------------------------------------------

// A value of `len` bytes whose content depends on `seed` (so overwrites change the bytes).
inline std::string MakeValue(size_t len, unsigned seed) {
  std::string v(len, '\0');
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>(seed + i * 31 + (i >> 7));
  return v;
}

// Small key space so that overwrites and deletes hit existing keys; includes the empty key,
// bytes 0x00 and 0xff (bytewise order), and keys at or just below the key limit.
inline rc::Gen<std::string> GenKey() {
  static const std::vector<std::string> kShort = {"",
                                                  "a",
                                                  "b",
                                                  "c",
                                                  "k1",
                                                  "k2",
                                                  "k3",
                                                  "k4",
                                                  "k5",
                                                  "k6",
                                                  "k7",
                                                  "k8",
                                                  std::string("\0", 1),
                                                  std::string("a\0b", 3),
                                                  "\xff",
                                                  "\xff\xff",
                                                  "a\xff",
                                                  "zz"};
  static const std::vector<std::string> kLong = {
      std::string(kKeyMax, 'm'),
      std::string(kKeyMax - 1, 'm'),
      std::string(kKeyMax - 1, 'm') + "\xff",
      std::string(kKeyMax, '\xff'),
      "k5" + std::string(kKeyMax - 2, '0'),
  };
  return rc::gen::weightedOneOf<std::string>({
      {8, rc::gen::elementOf(kShort)},
      {1, rc::gen::elementOf(kLong)},
  });
}

// Mostly small values, some empty (a null data pointer: issue 11 item 7); some straddle the inline
// limit (about a quarter page minus the key); some are larger than a page (overflow runs).
inline rc::Gen<std::string> GenValue() {
  auto sized = [](int lo, int hi) {
    return rc::gen::apply([](int len, unsigned seed) { return MakeValue(len, seed); },
                          rc::gen::inRange(lo, hi), rc::gen::inRange(0u, 256u));
  };
  return rc::gen::weightedOneOf<std::string>({
      {1, rc::gen::just(std::string())},
      {6, sized(0, 17)},
      {2, sized(150, 400)},
      {2, sized(900, 5000)},
  });
}

// Column family names the tests create and drop ("default" always exists).
inline const std::vector<std::string>& CfPool() {
  static const std::vector<std::string> pool = {
      "default", "alpha", "beta", "gamma", std::string(Limits::kColumnFamilyNameBytesMax, 'n')};
  return pool;
}

// An existing column family most of the time, sometimes any name of the pool (may be absent).
inline rc::Gen<std::string> GenCf(const DbMap& cfs) {
  std::vector<std::string> existing;
  for (const auto& [name, data] : cfs) existing.push_back(name);
  return rc::gen::weightedOneOf<std::string>({
      {6, rc::gen::elementOf(existing)},
      {1, rc::gen::elementOf(CfPool())},
  });
}

// A key longer than the limit.
inline rc::Gen<std::string> GenBadKey() {
  return rc::gen::map(rc::gen::inRange<int>(kKeyMax + 1, kKeyMax + 40),
                      [](int len) { return std::string(len, 'q'); });
}

// ---- Iterator model -----------------------------------------------------------------------------

enum class StepKind { kFirst, kLast, kSeek, kSeekForPrev, kNext, kPrev };

struct Step {
  StepKind kind;
  std::string target;  // Seek / SeekForPrev only.
};

inline std::ostream& operator<<(std::ostream& os, const Step& step) {
  switch (step.kind) {
    case StepKind::kFirst:
      return os << "First";
    case StepKind::kLast:
      return os << "Last";
    case StepKind::kSeek:
      return os << "Seek(" << Describe(step.target) << ")";
    case StepKind::kSeekForPrev:
      return os << "SeekForPrev(" << Describe(step.target) << ")";
    case StepKind::kNext:
      return os << "Next";
    case StepKind::kPrev:
      return os << "Prev";
  }
  return os;
}

inline rc::Gen<Step> GenStep() {
  auto simple = [](StepKind kind) { return rc::gen::just(Step{kind, {}}); };
  auto target = [](StepKind kind) {
    return rc::gen::map(GenKey(), [kind](std::string key) { return Step{kind, std::move(key)}; });
  };
  return rc::gen::weightedOneOf<Step>({
      {1, simple(StepKind::kFirst)},
      {1, simple(StepKind::kLast)},
      {2, target(StepKind::kSeek)},
      {2, target(StepKind::kSeekForPrev)},
      {4, simple(StepKind::kNext)},
      {3, simple(StepKind::kPrev)},
  });
}

inline rc::Gen<std::vector<Step>> GenSteps() {
  return rc::gen::mapcat(rc::gen::inRange(1, 12),
                         [](int n) { return rc::gen::container<std::vector<Step>>(n, GenStep()); });
}

inline Entries InBounds(const CfMap& data, const std::optional<std::string>& lower,
                        const std::optional<std::string>& upper) {
  Entries out;
  for (const auto& [key, value] : data) {
    if (lower.has_value() && key < *lower) continue;
    if (upper.has_value() && key >= *upper) continue;
    out.emplace_back(key, value);
  }
  return out;
}

// What an iterator over `entries` (already restricted to its bounds) should do.
struct IterModel {
  Entries entries;
  std::optional<size_t> pos;  // Empty: not Valid().

  void Apply(const Step& step) {
    const size_t n = entries.size();
    switch (step.kind) {
      case StepKind::kFirst:
        pos = n > 0 ? std::optional<size_t>(0) : std::nullopt;
        break;
      case StepKind::kLast:
        pos = n > 0 ? std::optional<size_t>(n - 1) : std::nullopt;
        break;
      case StepKind::kSeek: {
        auto it = std::lower_bound(entries.begin(), entries.end(), step.target,
                                   [](const auto& e, const std::string& t) { return e.first < t; });
        pos = it == entries.end() ? std::nullopt : std::optional<size_t>(it - entries.begin());
        break;
      }
      case StepKind::kSeekForPrev: {
        auto it = std::upper_bound(entries.begin(), entries.end(), step.target,
                                   [](const std::string& t, const auto& e) { return t < e.first; });
        pos =
            it == entries.begin() ? std::nullopt : std::optional<size_t>(it - entries.begin() - 1);
        break;
      }
      case StepKind::kNext:
        if (pos.has_value()) pos = *pos + 1 < n ? std::optional<size_t>(*pos + 1) : std::nullopt;
        break;
      case StepKind::kPrev:
        if (pos.has_value()) pos = *pos > 0 ? std::optional<size_t>(*pos - 1) : std::nullopt;
        break;
    }
  }
};

inline void CheckPosition(Iterator* it, const IterModel& model, const std::string& where) {
  RC_ASSERT(it->status().ok());
  if (!model.pos.has_value()) {
    if (it->Valid()) {
      RC_FAIL(where + ": iterator at " + Describe(it->key()) + " but the model is past the end");
    }
    return;
  }
  if (!it->Valid()) {
    RC_FAIL(where + ": iterator not valid but the model is at " +
            Describe(model.entries[*model.pos].first));
  }
  const auto& [key, value] = model.entries[*model.pos];
  if (it->key() != key) {
    RC_FAIL(where + ": iterator key " + Describe(it->key()) + ", model key " + Describe(key));
  }
  if (it->value() != value) {
    RC_FAIL(where + ": value of " + Describe(key) + " is " + Describe(it->value()) +
            ", model has " + Describe(value));
  }
}

// Runs `steps` on `it` and on `model`, comparing after each; Next/Prev are only issued when the
// model says the iterator is valid (the API requires Valid()).
inline void RunSteps(Iterator* it, IterModel* model, const std::vector<Step>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    if ((step.kind == StepKind::kNext || step.kind == StepKind::kPrev) && !model->pos.has_value()) {
      continue;
    }
    switch (step.kind) {
      case StepKind::kFirst:
        it->SeekToFirst();
        break;
      case StepKind::kLast:
        it->SeekToLast();
        break;
      case StepKind::kSeek:
        it->Seek(step.target);
        break;
      case StepKind::kSeekForPrev:
        it->SeekForPrev(step.target);
        break;
      case StepKind::kNext:
        it->Next();
        break;
      case StepKind::kPrev:
        it->Prev();
        break;
    }
    model->Apply(step);
    std::ostringstream where;
    where << "step " << i << " (" << step << ")";
    CheckPosition(it, *model, where.str());
  }
}

// Forward and backward full scans of `it` must equal `expected` (and its reverse).
inline void CheckFullScans(Iterator* it, const Entries& expected, const std::string& what) {
  Entries forward;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    forward.emplace_back(std::string(it->key()), std::string(it->value()));
    RC_ASSERT(forward.size() <= expected.size() + 1);
  }
  RC_ASSERT(it->status().ok());
  if (forward != expected) {
    RC_FAIL(what + ": forward scan returned " + std::to_string(forward.size()) +
            " entries, expected " + std::to_string(expected.size()) + " (or values differ)");
  }
  Entries backward;
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
    backward.emplace_back(std::string(it->key()), std::string(it->value()));
    RC_ASSERT(backward.size() <= expected.size() + 1);
  }
  RC_ASSERT(it->status().ok());
  std::reverse(backward.begin(), backward.end());
  if (backward != expected) {
    RC_FAIL(what + ": backward scan returned " + std::to_string(backward.size()) +
            " entries, expected " + std::to_string(expected.size()) + " (or values differ)");
  }
}

// ---- Whole-database checks ----------------------------------------------------------------------

inline std::unique_ptr<DB> OpenDb(MemFileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.page_bytes = kPageBytes;
  options.file_growth_bytes = 16 * kPageBytes;  // Grow often.
  auto db = DB::Open(options, kDbPath);
  if (!db.ok()) RC_FAIL("DB::Open: " + db.status().ToString());
  return std::move(db).value();
}

inline void CheckGet(DB* db, const Snapshot* snapshot, const DbMap& model, const std::string& cf,
                     const std::string& key) {
  ReadOptions read;
  read.snapshot = snapshot;
  StatusOr<std::string> got = db->Get(read, cf, key);
  auto cf_it = model.find(cf);
  if (cf_it == model.end()) {
    if (!got.status().IsNotFound()) {
      RC_FAIL("Get in absent column family " + Describe(cf) + ": " + got.status().ToString());
    }
    return;
  }
  auto key_it = cf_it->second.find(key);
  if (key_it == cf_it->second.end()) {
    if (!got.status().IsNotFound()) {
      RC_FAIL("Get(" + Describe(cf) + ", " + Describe(key) + ") should be NotFound, got " +
              (got.ok() ? Describe(*got) : got.status().ToString()));
    }
    return;
  }
  if (!got.ok()) {
    RC_FAIL("Get(" + Describe(cf) + ", " + Describe(key) + "): " + got.status().ToString());
  }
  if (*got != key_it->second) {
    RC_FAIL("Get(" + Describe(cf) + ", " + Describe(key) + ") = " + Describe(*got) +
            ", model has " + Describe(key_it->second));
  }
}

// Everything visible at `snapshot` (null: latest) equals `model`: the column family list (for
// the latest state), full scans both ways, and a Get of every key.
inline void CheckAll(DB* db, const Snapshot* snapshot, const DbMap& model) {
  if (snapshot == nullptr) {
    std::vector<std::string> expected;
    for (const auto& [name, data] : model) expected.push_back(name);
    RC_ASSERT(db->ListColumnFamilies() == expected);
  }
  for (const auto& [name, data] : model) {
    ReadOptions read;
    read.snapshot = snapshot;
    auto it = db->NewIterator(read, name);
    if (!it.ok()) RC_FAIL("NewIterator(" + Describe(name) + "): " + it.status().ToString());
    CheckFullScans(it->get(), Entries(data.begin(), data.end()), "column family " + Describe(name));
    for (const auto& [key, value] : data) CheckGet(db, snapshot, model, name, key);
  }
}

inline void CheckIntegrity(DB* db) {
  IntegrityReport report;
  Status status = db->VerifyIntegrity(&report);
  if (!status.ok()) {
    std::string problems;
    for (const std::string& p : report.problems) problems += "\n  " + p;
    RC_FAIL("VerifyIntegrity: " + status.ToString() + problems);
  }
  RC_ASSERT(report.problems.empty());
  RC_ASSERT(report.column_families >= 1u);
}

// Cuts the power with every commit acknowledged, reopens, and checks that all of `model` is
// there and the file is intact.
inline void CheckAfterPowerLoss(MemFileSystem* fs, std::unique_ptr<DB>* db, const DbMap& model) {
  db->reset();
  fs->DropUnsyncedData();
  *db = OpenDb(fs);
  CheckAll(db->get(), nullptr, model);
  CheckIntegrity(db->get());
}

// Applies `batch` to `model` if valid (every column family exists).
inline void ApplyBatch(const WriteBatch& batch, DbMap* model) {
  for (const WriteBatch::Op& op : batch.ops()) {
    CfMap& data = model->at(op.column_family);
    if (op.type == WriteBatch::OpType::kPut) {
      data[op.key] = op.value;
    } else {
      data.erase(op.key);
    }
  }
}

}  // namespace manifold::property_test

#endif  // MANIFOLD_TESTS_PROPERTY_HARNESS_H_
