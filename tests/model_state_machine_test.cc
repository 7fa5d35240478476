// A state-machine property test: random command sequences (puts, batches, transactions,
// column families, snapshots, iterators, reopens) run against Manifold and against the std::map
// model, compared after every step. rapidcheck shrinks a failure to a short counterexample
// (printed with the seed to reproduce it: RC_PARAMS="reproduce=..." or RC_PARAMS="seed=...").
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"
#include "tests/property_harness.h"

namespace manifold::property_test {
namespace {

struct LiveIter {
  IterModel model;
  std::string description;
};

struct Model {
  DbMap cfs = {{"default", {}}};
  // The open transaction, if any: its column family and the contents it sees.
  std::optional<std::string> txn_cf;
  CfMap txn_view;
  // Snapshots taken and not released, in order: the state each one froze.
  std::vector<DbMap> snapshots;
  // Iterators created and not destroyed, with their expected contents and position.
  std::vector<LiveIter> iters;

  bool Writable(const std::string& cf) const { return !txn_cf.has_value() || *txn_cf != cf; }
};

struct Sut {
  std::unique_ptr<MemFileSystem> fs = NewMemFileSystem();
  std::unique_ptr<DB> db;
  std::unique_ptr<Transaction> txn;
  std::vector<std::shared_ptr<const Snapshot>> snapshots;
  std::vector<std::unique_ptr<Iterator>> iters;
};

using Cmd = rc::state::Command<Model, Sut>;

struct PutCmd : Cmd {
  std::string cf, key, value;
  explicit PutCmd(const Model& m) : cf(*GenCf(m.cfs)), key(*GenKey()), value(*GenValue()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.Writable(cf)); }
  void apply(Model& m) const override {
    if (m.cfs.count(cf)) m.cfs[cf][key] = value;
  }
  void run(const Model& m, Sut& sut) const override {
    Status s = sut.db->Put({}, cf, key, value);
    if (m.cfs.count(cf)) {
      RC_ASSERT(s.ok());
    } else {
      RC_ASSERT(s.IsNotFound());
    }
  }
  void show(std::ostream& os) const override {
    os << "Put(" << Describe(cf) << ", " << Describe(key) << ", " << Describe(value) << ")";
  }
};

struct DeleteCmd : Cmd {
  std::string cf, key;
  explicit DeleteCmd(const Model& m) : cf(*GenCf(m.cfs)), key(*GenKey()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.Writable(cf)); }
  void apply(Model& m) const override {
    if (m.cfs.count(cf)) m.cfs[cf].erase(key);
  }
  void run(const Model& m, Sut& sut) const override {
    Status s = sut.db->Delete({}, cf, key);
    if (m.cfs.count(cf)) {
      RC_ASSERT(s.ok());
    } else {
      RC_ASSERT(s.IsNotFound());
    }
  }
  void show(std::ostream& os) const override {
    os << "Delete(" << Describe(cf) << ", " << Describe(key) << ")";
  }
};

// Put with a key over the limit: InvalidArgument, nothing changes.
struct PutBadKeyCmd : Cmd {
  std::string cf, key;
  explicit PutBadKeyCmd(const Model& m) : cf(*rc::gen::elementOf(CfNames(m))), key(*GenBadKey()) {}
  static std::vector<std::string> CfNames(const Model& m) {
    std::vector<std::string> names;
    for (const auto& [name, data] : m.cfs) names.push_back(name);
    return names;
  }
  void checkPreconditions(const Model& m) const override {
    RC_PRE(m.Writable(cf) && m.cfs.count(cf) > 0);
  }
  void run(const Model&, Sut& sut) const override {
    Status s = sut.db->Put({}, cf, key, "v");
    RC_ASSERT(s.IsInvalidArgument());
    RC_ASSERT(!s.message().empty());
    RC_ASSERT(sut.db->Delete({}, cf, key).IsInvalidArgument());
    RC_ASSERT(sut.db->Get({}, cf, key).status().IsInvalidArgument());
  }
  void show(std::ostream& os) const override {
    os << "PutBadKey(" << Describe(cf) << ", " << key.size() << " bytes)";
  }
};

struct BatchOp {
  bool put;
  std::string cf, key, value;
};

struct BatchCmd : Cmd {
  std::vector<BatchOp> ops;
  explicit BatchCmd(const Model& m) {
    const int n = *rc::gen::inRange(1, 9);
    for (int i = 0; i < n; ++i) {
      BatchOp op;
      op.put = *rc::gen::weightedOneOf<bool>({{3, rc::gen::just(true)}, {1, rc::gen::just(false)}});
      op.cf = *GenCf(m.cfs);
      // Rarely, a key over the limit: the whole batch must be refused.
      op.key = *rc::gen::weightedOneOf<std::string>({{30, GenKey()}, {1, GenBadKey()}});
      if (op.put) op.value = *GenValue();
      ops.push_back(std::move(op));
    }
  }
  void checkPreconditions(const Model& m) const override {
    for (const BatchOp& op : ops) RC_PRE(m.Writable(op.cf));
  }
  bool HasBadKey() const {
    return std::any_of(ops.begin(), ops.end(),
                       [](const BatchOp& op) { return op.key.size() > kKeyMax; });
  }
  bool HasMissingCf(const Model& m) const {
    return std::any_of(ops.begin(), ops.end(),
                       [&](const BatchOp& op) { return m.cfs.count(op.cf) == 0; });
  }
  WriteBatch Build() const {
    WriteBatch batch;
    for (const BatchOp& op : ops) {
      if (op.put) {
        batch.Put(op.cf, op.key, op.value);
      } else {
        batch.Delete(op.cf, op.key);
      }
    }
    return batch;
  }
  void apply(Model& m) const override {
    if (HasBadKey() || HasMissingCf(m)) return;  // All or nothing.
    ApplyBatch(Build(), &m.cfs);
  }
  void run(const Model& m, Sut& sut) const override {
    Status s = sut.db->Write({}, Build());
    const bool bad_key = HasBadKey();
    const bool missing_cf = HasMissingCf(m);
    if (bad_key && missing_cf) {
      RC_ASSERT(s.IsInvalidArgument() || s.IsNotFound());
    } else if (bad_key) {
      RC_ASSERT(s.IsInvalidArgument());
    } else if (missing_cf) {
      RC_ASSERT(s.IsNotFound());
    } else {
      if (!s.ok()) RC_FAIL("Write: " + s.ToString());
    }
  }
  void show(std::ostream& os) const override {
    os << "Write{";
    for (const BatchOp& op : ops) {
      if (op.put) {
        os << " Put(" << Describe(op.cf) << ", " << Describe(op.key) << ", " << Describe(op.value)
           << ")";
      } else {
        os << " Delete(" << Describe(op.cf) << ", " << Describe(op.key) << ")";
      }
    }
    os << " }";
  }
};

struct GetCmd : Cmd {
  std::string cf, key;
  explicit GetCmd(const Model& m) : cf(*GenCf(m.cfs)), key(*GenKey()) {}
  void run(const Model& m, Sut& sut) const override {
    CheckGet(sut.db.get(), nullptr, m.cfs, cf, key);
  }
  void show(std::ostream& os) const override {
    os << "Get(" << Describe(cf) << ", " << Describe(key) << ")";
  }
};

struct CreateCfCmd : Cmd {
  std::string name;
  explicit CreateCfCmd(const Model&)
      : name(*rc::gen::weightedOneOf<std::string>(
            {{10, rc::gen::elementOf(CfPool())},
             {1, rc::gen::element(std::string(),
                                  std::string(Limits::kColumnFamilyNameBytesMax + 1, 'n'))}})) {}
  bool BadName() const { return name.empty() || name.size() > Limits::kColumnFamilyNameBytesMax; }
  void apply(Model& m) const override {
    if (!BadName()) m.cfs.try_emplace(name);
  }
  void run(const Model& m, Sut& sut) const override {
    Status s = sut.db->CreateColumnFamily(name);
    if (BadName()) {
      RC_ASSERT(s.IsInvalidArgument());
    } else if (m.cfs.count(name)) {
      RC_ASSERT(s.IsAlreadyExists());
    } else {
      if (!s.ok()) RC_FAIL("CreateColumnFamily: " + s.ToString());
    }
    std::vector<std::string> expected;
    for (const auto& [cf, data] : nextState(m).cfs) expected.push_back(cf);
    RC_ASSERT(sut.db->ListColumnFamilies() == expected);
  }
  void show(std::ostream& os) const override {
    os << "CreateColumnFamily(" << Describe(name) << ")";
  }
};

struct DropCfCmd : Cmd {
  std::string name;
  explicit DropCfCmd(const Model&) : name(*rc::gen::elementOf(CfPool())) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.Writable(name)); }
  void apply(Model& m) const override {
    if (name != kDefaultColumnFamily) m.cfs.erase(name);
  }
  void run(const Model& m, Sut& sut) const override {
    Status s = sut.db->DropColumnFamily(name);
    if (name == kDefaultColumnFamily) {
      RC_ASSERT(s.IsInvalidArgument());
    } else if (!m.cfs.count(name)) {
      RC_ASSERT(s.IsNotFound());
    } else {
      if (!s.ok()) RC_FAIL("DropColumnFamily: " + s.ToString());
      RC_ASSERT(sut.db->Get({}, name, "a").status().IsNotFound());
      RC_ASSERT(sut.db->NewIterator({}, name).status().IsNotFound());
    }
    std::vector<std::string> expected;
    for (const auto& [cf, data] : nextState(m).cfs) expected.push_back(cf);
    RC_ASSERT(sut.db->ListColumnFamilies() == expected);
  }
  void show(std::ostream& os) const override { os << "DropColumnFamily(" << Describe(name) << ")"; }
};

// --- Transactions ---

struct BeginTxnCmd : Cmd {
  std::string cf;
  explicit BeginTxnCmd(const Model& m) : cf(*GenCf(m.cfs)) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(!m.txn_cf.has_value()); }
  void apply(Model& m) const override {
    if (!m.cfs.count(cf)) return;
    m.txn_cf = cf;
    m.txn_view = m.cfs.at(cf);
  }
  void run(const Model& m, Sut& sut) const override {
    auto txn = sut.db->BeginTransaction(cf);
    if (!m.cfs.count(cf)) {
      RC_ASSERT(txn.status().IsNotFound());
      return;
    }
    if (!txn.ok()) RC_FAIL("BeginTransaction: " + txn.status().ToString());
    sut.txn = std::move(txn).value();
  }
  void show(std::ostream& os) const override { os << "BeginTransaction(" << Describe(cf) << ")"; }
};

struct TxnPutCmd : Cmd {
  std::string key, value;
  TxnPutCmd() : key(*GenKey()), value(*GenValue()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.txn_cf.has_value()); }
  void apply(Model& m) const override { m.txn_view[key] = value; }
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.txn->Put(key, value).ok());
    // Own write visible inside, invisible outside.
    auto inside = sut.txn->Get(key);
    RC_ASSERT(inside.ok());
    RC_ASSERT(*inside == value);
    CheckGet(sut.db.get(), nullptr, m.cfs, *m.txn_cf, key);
  }
  void show(std::ostream& os) const override {
    os << "Txn.Put(" << Describe(key) << ", " << Describe(value) << ")";
  }
};

struct TxnDeleteCmd : Cmd {
  std::string key;
  TxnDeleteCmd() : key(*GenKey()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.txn_cf.has_value()); }
  void apply(Model& m) const override { m.txn_view.erase(key); }
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.txn->Delete(key).ok());
    RC_ASSERT(sut.txn->Get(key).status().IsNotFound());
    CheckGet(sut.db.get(), nullptr, m.cfs, *m.txn_cf, key);
  }
  void show(std::ostream& os) const override { os << "Txn.Delete(" << Describe(key) << ")"; }
};

struct TxnGetCmd : Cmd {
  std::string key;
  TxnGetCmd() : key(*GenKey()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.txn_cf.has_value()); }
  void run(const Model& m, Sut& sut) const override {
    auto got = sut.txn->Get(key);
    auto it = m.txn_view.find(key);
    if (it == m.txn_view.end()) {
      if (!got.status().IsNotFound()) {
        RC_FAIL("Txn.Get(" + Describe(key) + ") should be NotFound, got " +
                (got.ok() ? Describe(*got) : got.status().ToString()));
      }
    } else {
      if (!got.ok()) RC_FAIL("Txn.Get(" + Describe(key) + "): " + got.status().ToString());
      if (*got != it->second) {
        RC_FAIL("Txn.Get(" + Describe(key) + ") = " + Describe(*got) + ", model has " +
                Describe(it->second));
      }
    }
    RC_ASSERT(sut.txn->Put(std::string(kKeyMax + 1, 'q'), "v").IsInvalidArgument());
  }
  void show(std::ostream& os) const override { os << "Txn.Get(" << Describe(key) << ")"; }
};

struct TxnCommitCmd : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.txn_cf.has_value()); }
  void apply(Model& m) const override {
    m.cfs[*m.txn_cf] = m.txn_view;
    m.txn_cf.reset();
    m.txn_view.clear();
  }
  void run(const Model&, Sut& sut) const override {
    Status s = sut.txn->Commit({});
    if (!s.ok()) RC_FAIL("Txn.Commit: " + s.ToString());
    // Using a finished transaction: Aborted.
    RC_ASSERT(sut.txn->Put("a", "b").code() == StatusCode::kAborted);
    sut.txn.reset();
  }
  void show(std::ostream& os) const override { os << "Txn.Commit"; }
};

struct TxnAbortCmd : Cmd {
  bool destroy;  // Destroy without calling Abort().
  TxnAbortCmd() : destroy(*rc::gen::arbitrary<bool>()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(m.txn_cf.has_value()); }
  void apply(Model& m) const override {
    m.txn_cf.reset();
    m.txn_view.clear();
  }
  void run(const Model&, Sut& sut) const override {
    if (!destroy) {
      sut.txn->Abort();
      RC_ASSERT(sut.txn->Commit({}).code() == StatusCode::kAborted);
    }
    sut.txn.reset();
  }
  void show(std::ostream& os) const override { os << (destroy ? "Txn.~Transaction" : "Txn.Abort"); }
};

// --- Snapshots ---

struct TakeSnapshotCmd : Cmd {
  void checkPreconditions(const Model& m) const override { RC_PRE(m.snapshots.size() < 6u); }
  void apply(Model& m) const override { m.snapshots.push_back(m.cfs); }
  void run(const Model&, Sut& sut) const override {
    auto snapshot = sut.db->GetSnapshot();
    RC_ASSERT(snapshot != nullptr);
    RC_ASSERT(snapshot->sequence() == sut.db->GetStats().sequence);
    sut.snapshots.push_back(std::move(snapshot));
  }
  void show(std::ostream& os) const override { os << "GetSnapshot"; }
};

struct ReleaseSnapshotCmd : Cmd {
  size_t index;
  explicit ReleaseSnapshotCmd(const Model& m) {
    RC_PRE(!m.snapshots.empty());
    index = *rc::gen::inRange<size_t>(0, m.snapshots.size());
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.snapshots.size()); }
  void apply(Model& m) const override { m.snapshots.erase(m.snapshots.begin() + index); }
  void run(const Model&, Sut& sut) const override {
    sut.snapshots.erase(sut.snapshots.begin() + index);
  }
  void show(std::ostream& os) const override { os << "ReleaseSnapshot(#" << index << ")"; }
};

// Reads through a snapshot: a few Gets and a full comparison of one column family.
struct SnapshotReadCmd : Cmd {
  size_t index;
  std::string cf;
  std::vector<std::string> keys;
  explicit SnapshotReadCmd(const Model& m) {
    RC_PRE(!m.snapshots.empty());
    index = *rc::gen::inRange<size_t>(0, m.snapshots.size());
    cf = *GenCf(m.snapshots[index]);
    keys = *rc::gen::container<std::vector<std::string>>(3, GenKey());
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.snapshots.size()); }
  void run(const Model& m, Sut& sut) const override {
    const DbMap& frozen = m.snapshots[index];
    const Snapshot* snapshot = sut.snapshots[index].get();
    for (const std::string& key : keys) CheckGet(sut.db.get(), snapshot, frozen, cf, key);
    ReadOptions read;
    read.snapshot = snapshot;
    auto it = sut.db->NewIterator(read, cf);
    auto cf_it = frozen.find(cf);
    if (cf_it == frozen.end()) {
      RC_ASSERT(it.status().IsNotFound());
      return;
    }
    if (!it.ok()) RC_FAIL("NewIterator at snapshot: " + it.status().ToString());
    CheckFullScans(it->get(), Entries(cf_it->second.begin(), cf_it->second.end()),
                   "snapshot #" + std::to_string(index) + " column family " + Describe(cf));
  }
  void show(std::ostream& os) const override {
    os << "SnapshotRead(#" << index << ", " << Describe(cf) << ")";
  }
};

// --- Iterators ---

struct IterSpec {
  std::optional<size_t> snapshot;
  std::string cf;
  std::optional<std::string> lower, upper;

  static IterSpec Generate(const Model& m) {
    IterSpec spec;
    if (!m.snapshots.empty() && *rc::gen::inRange(0, 3) == 0) {
      spec.snapshot = *rc::gen::inRange<size_t>(0, m.snapshots.size());
    }
    spec.cf = *GenCf(spec.snapshot.has_value() ? m.snapshots[*spec.snapshot] : m.cfs);
    auto bound = rc::gen::weightedOneOf<std::optional<std::string>>({
        {2, rc::gen::just(std::optional<std::string>())},
        {1, rc::gen::map(GenKey(), [](std::string k) { return std::optional<std::string>(k); })},
    });
    spec.lower = *bound;
    spec.upper = *bound;
    return spec;
  }
  bool Valid(const Model& m) const {
    return !snapshot.has_value() || *snapshot < m.snapshots.size();
  }
  const DbMap& Source(const Model& m) const {
    return snapshot.has_value() ? m.snapshots[*snapshot] : m.cfs;
  }
  ReadOptions Read(const Sut& sut) const {
    ReadOptions read;
    if (snapshot.has_value()) read.snapshot = sut.snapshots[*snapshot].get();
    read.lower_bound = lower;
    read.upper_bound = upper;
    return read;
  }
  std::string ToString() const {
    std::string s = Describe(cf);
    if (snapshot.has_value()) s += ", snapshot #" + std::to_string(*snapshot);
    s += ", lower " + DescribeOpt(lower) + ", upper " + DescribeOpt(upper);
    return s;
  }
};

// A fresh iterator: random steps, then full scans.
struct ScanCmd : Cmd {
  IterSpec spec;
  std::vector<Step> steps;
  explicit ScanCmd(const Model& m) : spec(IterSpec::Generate(m)), steps(*GenSteps()) {}
  void checkPreconditions(const Model& m) const override { RC_PRE(spec.Valid(m)); }
  void run(const Model& m, Sut& sut) const override {
    const DbMap& source = spec.Source(m);
    auto it = sut.db->NewIterator(spec.Read(sut), spec.cf);
    auto cf_it = source.find(spec.cf);
    if (cf_it == source.end()) {
      RC_ASSERT(it.status().IsNotFound());
      return;
    }
    if (!it.ok()) RC_FAIL("NewIterator: " + it.status().ToString());
    IterModel model{InBounds(cf_it->second, spec.lower, spec.upper), std::nullopt};
    RC_ASSERT(!(*it)->Valid());
    RunSteps(it->get(), &model, steps);
    CheckFullScans(it->get(), model.entries, "scan " + spec.ToString());
  }
  void show(std::ostream& os) const override {
    os << "Scan(" << spec.ToString() << "; steps:";
    for (const Step& step : steps) os << " " << step;
    os << ")";
  }
};

// Iterators that stay open across other commands: they must keep seeing the state as of their
// creation.
struct OpenIterCmd : Cmd {
  IterSpec spec;
  explicit OpenIterCmd(const Model& m) : spec(IterSpec::Generate(m)) {}
  void checkPreconditions(const Model& m) const override {
    RC_PRE(spec.Valid(m));
    RC_PRE(spec.Source(m).count(spec.cf) > 0);
    RC_PRE(m.iters.size() < 4u);
  }
  void apply(Model& m) const override {
    m.iters.push_back(LiveIter{
        IterModel{InBounds(spec.Source(m).at(spec.cf), spec.lower, spec.upper), std::nullopt},
        spec.ToString()});
  }
  void run(const Model&, Sut& sut) const override {
    auto it = sut.db->NewIterator(spec.Read(sut), spec.cf);
    if (!it.ok()) RC_FAIL("NewIterator: " + it.status().ToString());
    sut.iters.push_back(std::move(it).value());
  }
  void show(std::ostream& os) const override { os << "OpenIterator(" << spec.ToString() << ")"; }
};

struct WalkIterCmd : Cmd {
  size_t index;
  std::vector<Step> steps;
  explicit WalkIterCmd(const Model& m) {
    RC_PRE(!m.iters.empty());
    index = *rc::gen::inRange<size_t>(0, m.iters.size());
    steps = *GenSteps();
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.iters.size()); }
  void apply(Model& m) const override {
    IterModel& model = m.iters[index].model;
    for (const Step& step : steps) model.Apply(step);
  }
  void run(const Model& m, Sut& sut) const override {
    IterModel model = m.iters[index].model;
    RunSteps(sut.iters[index].get(), &model, steps);
  }
  void show(std::ostream& os) const override {
    os << "WalkIterator(#" << index << ";";
    for (const Step& step : steps) os << " " << step;
    os << ")";
  }
};

struct CloseIterCmd : Cmd {
  size_t index;
  explicit CloseIterCmd(const Model& m) {
    RC_PRE(!m.iters.empty());
    index = *rc::gen::inRange<size_t>(0, m.iters.size());
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.iters.size()); }
  void apply(Model& m) const override { m.iters.erase(m.iters.begin() + index); }
  void run(const Model& m, Sut& sut) const override {
    // A last full scan before it goes: still the state at its creation.
    CheckFullScans(sut.iters[index].get(), m.iters[index].model.entries,
                   "live iterator " + m.iters[index].description);
    sut.iters.erase(sut.iters.begin() + index);
  }
  void show(std::ostream& os) const override { os << "CloseIterator(#" << index << ")"; }
};

// --- Maintenance ---

// Closes the database (aborting the transaction, dropping snapshots and iterators) and reopens
// it, after a simulated power cut or not. Every commit so far returned OK, so nothing is lost.
struct ReopenCmd : Cmd {
  bool power_cut;
  ReopenCmd() : power_cut(*rc::gen::arbitrary<bool>()) {}
  void apply(Model& m) const override {
    m.txn_cf.reset();
    m.txn_view.clear();
    m.snapshots.clear();
    m.iters.clear();
  }
  void run(const Model& m, Sut& sut) const override {
    sut.iters.clear();
    sut.snapshots.clear();
    sut.txn.reset();
    sut.db.reset();
    if (power_cut) sut.fs->DropUnsyncedData();
    sut.db = OpenDb(sut.fs.get());
    CheckAll(sut.db.get(), nullptr, m.cfs);
  }
  void show(std::ostream& os) const override {
    os << (power_cut ? "PowerCutAndReopen" : "CloseAndReopen");
  }
};

// Writes the committed state into the data file, so that every value generated so far (empty
// ones too) goes through the page encoder, not only through the log.
struct CheckpointCmd : Cmd {
  void run(const Model& m, Sut& sut) const override {
    Status s = sut.db->Checkpoint();
    if (!s.ok()) RC_FAIL("Checkpoint: " + s.ToString());
    CheckAll(sut.db.get(), nullptr, m.cfs);
  }
  void show(std::ostream& os) const override { os << "Checkpoint"; }
};

struct VerifyCmd : Cmd {
  void run(const Model& m, Sut& sut) const override {
    CheckIntegrity(sut.db.get());
    CheckAll(sut.db.get(), nullptr, m.cfs);
  }
  void show(std::ostream& os) const override { os << "VerifyIntegrity"; }
};

RC_GTEST_PROP(ModelStateMachine, RandomCommandsMatchModel, ()) {
  Sut sut;
  sut.db = OpenDb(sut.fs.get());
  const Model initial;
  const auto commands = *rc::state::gen::commands(
      initial,
      rc::state::gen::execOneOfWithArgs<
          PutCmd, PutCmd, PutCmd, PutCmd, DeleteCmd, DeleteCmd, PutBadKeyCmd, BatchCmd, BatchCmd,
          BatchCmd, GetCmd, GetCmd, CreateCfCmd, CreateCfCmd, DropCfCmd, BeginTxnCmd, TxnPutCmd,
          TxnPutCmd, TxnDeleteCmd, TxnGetCmd, TxnCommitCmd, TxnAbortCmd, TakeSnapshotCmd,
          ReleaseSnapshotCmd, SnapshotReadCmd, ScanCmd, ScanCmd, OpenIterCmd, WalkIterCmd,
          CloseIterCmd, ReopenCmd, CheckpointCmd, VerifyCmd>());
  RC_CLASSIFY(commands.size() >= 50, "50+ commands");
  rc::state::runAll(commands, initial, sut);

  // The end of every case: the final state matches, the structure verifies, and the state
  // survives a power cut.
  Model final_model = initial;
  rc::state::applyAll(commands, final_model);
  sut.iters.clear();
  sut.snapshots.clear();
  sut.txn.reset();  // Aborts: the model's committed state is unaffected.
  CheckAll(sut.db.get(), nullptr, final_model.cfs);
  CheckIntegrity(sut.db.get());
  CheckAfterPowerLoss(sut.fs.get(), &sut.db, final_model.cfs);
}

}  // namespace
}  // namespace manifold::property_test
