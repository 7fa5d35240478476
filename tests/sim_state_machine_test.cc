// A rapidcheck state machine over the simulator's file system: writes, power cuts between
// operations and power cuts in the middle of a commit (lost and torn unsynced sectors, lost
// directory operations), clean reopens, and read-only opens of crash images. A failure shrinks to
// the shortest command sequence that still loses or invents data.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "faults/fault_model.h"
#include "manifold/db.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"

namespace manifold {
namespace {

using Entries = std::map<std::string, std::string>;
using State = std::map<std::string, Entries>;  // Column family -> entries.

constexpr const char* kColumnFamilies[] = {"default", "alpha"};

struct Model {
  State state = {{"default", {}}, {"alpha", {}}};
};

struct Sut {
  explicit Sut(uint64_t seed) : fs(seed, CrashFaults(), &clock) { fs.set_random_crashes(false); }

  static faults::FaultOptions CrashFaults() {
    StatusOr<faults::FaultOptions> options = faults::FaultProfile("crash");
    EXPECT_TRUE(options.ok());
    return *options;
  }

  void Open() {
    auto opened = DB::Open(Options{.file_system = &fs, .clock = &clock, .page_bytes = 1024}, "/db");
    RC_ASSERT(opened.ok());
    db = std::move(opened).value();
  }

  // Everything the database holds, read through iterators.
  State ReadAll() {
    State state;
    for (const std::string& cf : db->ListColumnFamilies()) {
      auto it = db->NewIterator({}, cf);
      RC_ASSERT(it.ok());
      Entries& entries = state[cf];
      for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
        entries.emplace(std::string((*it)->key()), std::string((*it)->value()));
      }
      RC_ASSERT((*it)->status().ok());
    }
    return state;
  }

  sim::SimClock clock;
  sim::SimFileSystem fs;
  std::unique_ptr<DB> db;
};

using Cmd = rc::state::Command<Model, Sut>;

// Sometimes the empty key (allowed, see docs/limits.md).
rc::Gen<std::string> GenKey() {
  return rc::gen::weightedOneOf<std::string>(
      {{20, rc::gen::map(rc::gen::inRange(0, 40), [](int i) { return "k" + std::to_string(i); })},
       {1, rc::gen::just(std::string())}});
}

rc::Gen<std::string> GenValue() {
  // Mostly small, sometimes empty (a null data pointer: issue 11 item 7), sometimes larger than a
  // page (overflow pages).
  return rc::gen::weightedOneOf<std::string>(
      {{1, rc::gen::just(std::string())},
       {6, rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'z'))},
       {1, rc::gen::map(rc::gen::inRange(1025, 5000),
                        [](int n) { return std::string(static_cast<size_t>(n), 'L'); })}});
}

rc::Gen<std::string> GenCf() { return rc::gen::element<std::string>("default", "alpha"); }

// A batch of puts and deletes across both column families.
struct WriteCmd : Cmd {
  struct Op {
    bool is_delete;
    std::string cf, key, value;
  };
  std::vector<Op> ops = *rc::gen::container<std::vector<Op>>(
      rc::gen::construct<Op>(rc::gen::element(false, false, true), GenCf(), GenKey(), GenValue()));

  WriteBatch Batch() const {
    WriteBatch batch;
    for (const Op& op : ops) {
      op.is_delete ? batch.Delete(op.cf, op.key) : batch.Put(op.cf, op.key, op.value);
    }
    return batch;
  }
  void apply(Model& m) const override { Apply(&m.state); }
  void Apply(State* state) const {
    for (const Op& op : ops) {
      if (op.is_delete) {
        (*state)[op.cf].erase(op.key);
      } else {
        (*state)[op.cf][op.key] = op.value;
      }
    }
  }
  void run(const Model&, Sut& sut) const override { RC_ASSERT(sut.db->Write({}, Batch()).ok()); }
  void show(std::ostream& os) const override { os << "Write(" << ops.size() << " ops)"; }
};

// Power cut between operations: every acknowledged commit must be there, exactly.
struct CrashCmd : Cmd {
  void run(const Model& m, Sut& sut) const override { Run(m, sut); }
  // Also the second half of CheckpointCmd.
  static void Run(const Model& m, Sut& sut) {
    sut.db.reset();
    sut.fs.CrashNow();
    RC_ASSERT(sut.fs.Restart().ok());
    sut.Open();
    RC_ASSERT(sut.ReadAll() == m.state);
  }
  void show(std::ostream& os) const override { os << "Crash"; }
};

// Power cut at the k-th file-system mutation of a commit: the commit is all there or not at
// all, and every earlier one is there.
struct CrashDuringWriteCmd : Cmd {
  WriteCmd write;
  int mutation = *rc::gen::inRange(1, 8);

  void run(const Model& m, Sut& sut) const override {
    sut.fs.ScheduleCrashAtMutation(mutation);
    const Status status = sut.db->Write({}, write.Batch());
    const bool cut = sut.fs.crashed();
    sut.fs.ScheduleCrashAtMutation(0);
    sut.db.reset();
    if (!cut) {
      RC_ASSERT(status.ok());
      sut.fs.CrashNow();
    }
    RC_ASSERT(sut.fs.Restart().ok());
    sut.Open();
    State with = m.state;
    write.Apply(&with);
    const State recovered = sut.ReadAll();
    if (!cut) {
      RC_ASSERT(recovered == with);  // Acknowledged: must be durable.
    } else {
      RC_ASSERT(recovered == m.state || recovered == with);  // Never partial.
    }
    // The model (applied before this runs) takes the write as lost; when it landed, put the
    // touched keys back so the database and the model agree again.
    if (recovered != m.state) RC_ASSERT(sut.db->Write({}, Restore(m.state)).ok());
    RC_ASSERT(sut.ReadAll() == m.state);
  }

  WriteBatch Restore(const State& state) const {
    WriteBatch batch;
    for (const WriteCmd::Op& op : write.ops) {
      const Entries& entries = state.at(op.cf);
      auto it = entries.find(op.key);
      it == entries.end() ? batch.Delete(op.cf, op.key) : batch.Put(op.cf, op.key, it->second);
    }
    return batch;
  }
  void show(std::ostream& os) const override {
    os << "CrashDuringWrite(" << write.ops.size() << " ops, at mutation " << mutation << ")";
  }
};

// I25 after a power cut: read-only opens (two at once) recover every acknowledged commit from
// the crash image, replaying the log in memory, and mutate nothing on the simulated disk; a
// writable open then finds the same state.
struct ReadOnlyAfterCrashCmd : Cmd {
  void run(const Model& m, Sut& sut) const override {
    sut.db.reset();
    sut.fs.CrashNow();
    RC_ASSERT(sut.fs.Restart().ok());
    const uint64_t mutations = sut.fs.counters().mutations;
    Options options{.file_system = &sut.fs, .clock = &sut.clock, .page_bytes = 1024};
    options.read_only = true;
    auto first = DB::Open(options, "/db");
    RC_ASSERT(first.ok());
    auto second = DB::Open(options, "/db");
    RC_ASSERT(second.ok());
    sut.db = std::move(first).value();
    RC_ASSERT(sut.ReadAll() == m.state);
    sut.db.reset();
    second->reset();
    RC_ASSERT(sut.fs.counters().mutations == mutations);
    sut.Open();
    RC_ASSERT(sut.ReadAll() == m.state);
  }
  void show(std::ostream& os) const override { os << "ReadOnlyAfterCrash"; }
};

struct ReopenCmd : Cmd {
  void run(const Model& m, Sut& sut) const override {
    sut.db.reset();
    sut.Open();
    RC_ASSERT(sut.ReadAll() == m.state);
  }
  void show(std::ostream& os) const override { os << "Reopen"; }
};

// Writes the state into the data file (the page encoder sees every value, empty ones too), then
// cuts the power: recovery starts from that checkpoint.
struct CheckpointCmd : Cmd {
  void run(const Model& m, Sut& sut) const override {
    RC_ASSERT(sut.db->Checkpoint().ok());
    RC_ASSERT(sut.ReadAll() == m.state);
    CrashCmd::Run(m, sut);
  }
  void show(std::ostream& os) const override { os << "CheckpointAndCrash"; }
};

struct GetCmd : Cmd {
  std::string cf = *GenCf();
  std::string key = *GenKey();
  void run(const Model& m, Sut& sut) const override {
    auto got = sut.db->Get({}, cf, key);
    const Entries& entries = m.state.at(cf);
    auto it = entries.find(key);
    if (it == entries.end()) {
      RC_ASSERT(got.status().IsNotFound());
    } else {
      RC_ASSERT(got.ok());
      RC_ASSERT(*got == it->second);
    }
  }
  void show(std::ostream& os) const override { os << "Get(" << cf << ", " << key << ")"; }
};

RC_GTEST_PROP(SimStateMachine, CrashesNeverLoseOrInventData, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  Sut sut(seed);
  sut.Open();
  for (const char* cf : kColumnFamilies) {
    if (std::string(cf) != "default") RC_ASSERT(sut.db->CreateColumnFamily(cf).ok());
  }
  Model initial;
  rc::state::check(
      initial, sut,
      rc::state::gen::execOneOfWithArgs<WriteCmd, WriteCmd, WriteCmd, GetCmd, CrashCmd,
                                        CrashDuringWriteCmd, CrashDuringWriteCmd, ReopenCmd,
                                        ReadOnlyAfterCrashCmd, CheckpointCmd>());
  sut.db.reset();
}

}  // namespace
}  // namespace manifold
