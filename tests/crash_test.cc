// Crash at every sync point: a fixed workload of ~30 commits runs over a CrashFileSystem that
// cuts the power at its N-th sync, for every N from 0 to the number of syncs of a clean run.
// After the power loss (MemFileSystem::DropUnsyncedData) the database is reopened and must hold
// exactly the state after some prefix of the commits: every commit that returned OK, plus at most
// the one that was in flight, never part of a commit.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/write_batch.h"
#include "tests/crash_fs.h"

namespace manifold {
namespace {

using test_support::CrashFileSystem;
using test_support::CutMode;
using test_support::CutModeName;

constexpr uint32_t kPageBytes = 1024;
constexpr char kDbPath[] = "/db";

using CfMap = std::map<std::string, std::string>;
using DbMap = std::map<std::string, CfMap>;

struct Op {
  bool put;
  std::string cf, key, value;
};

// One step of the workload: exactly one commit.
struct Step {
  enum Kind { kPut, kDelete, kBatch, kTxn, kCreateCf, kDropCf } kind;
  std::string cf;       // kPut, kDelete, kTxn, kCreateCf, kDropCf.
  std::vector<Op> ops;  // kPut / kDelete: one op; kBatch: any column families; kTxn: `cf` only.
  std::string Describe() const {
    static const char* kNames[] = {"Put", "Delete", "Batch", "Txn", "CreateCf", "DropCf"};
    std::ostringstream os;
    os << kNames[kind] << "(" << cf << ", " << ops.size() << " ops)";
    return os.str();
  }
};

std::string Value(size_t len, uint64_t seed) {
  std::string v(len, '\0');
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>('a' + (seed * 7 + i * 13) % 26);
  return v;
}

// ~30 commits over "default", "users" and "logs" (plus "tmp", created and dropped): puts,
// deletes, cross-family batches, transactions, overflow values (several pages), enough keys to
// split leaves and grow a second level, deleting a whole tree, and re-creating a dropped family.
std::vector<Step> MakeWorkload(uint64_t seed = 20240601, size_t random_until = 27) {
  std::vector<Step> steps;
  std::mt19937_64 rng(seed);
  auto put = [](std::string cf, std::string key, std::string value) {
    return Op{true, std::move(cf), std::move(key), std::move(value)};
  };
  auto del = [](std::string cf, std::string key) {
    return Op{false, std::move(cf), std::move(key), {}};
  };

  steps.push_back({Step::kCreateCf, "users", {}});
  steps.push_back({Step::kCreateCf, "logs", {}});
  {
    Step s{Step::kBatch, "", {}};
    for (int i = 0; i < 60; ++i) {
      s.ops.push_back(put("default", "d" + std::to_string(1000 + i), Value(40, i)));
    }
    steps.push_back(s);
  }
  steps.push_back({Step::kPut, "users", {put("users", "u-big", Value(3000, 1))}});
  {
    Step s{Step::kTxn, "logs", {}};
    for (int i = 0; i < 25; ++i)
      s.ops.push_back(put("logs", "l" + std::to_string(100 + i), Value(20 + i, i)));
    s.ops.push_back(del("logs", "l105"));
    steps.push_back(s);
  }
  {
    Step s{Step::kBatch, "", {}};
    s.ops.push_back(put("default", "d1003", Value(500, 9)));  // Inline -> overflow.
    s.ops.push_back(del("default", "d1004"));
    s.ops.push_back(put("users", "u1", "one"));
    s.ops.push_back(put("logs", "l200", Value(2500, 3)));
    s.ops.push_back(del("users", "absent"));
    steps.push_back(s);
  }
  steps.push_back({Step::kDelete, "default", {del("default", "d1010")}});
  steps.push_back(
      {Step::kPut, "default", {put("default", std::string(kPageBytes / 8, 'K'), Value(5000, 4))}});
  steps.push_back({Step::kCreateCf, "tmp", {}});
  {
    Step s{Step::kBatch, "", {}};
    for (int i = 0; i < 30; ++i)
      s.ops.push_back(put("tmp", "t" + std::to_string(i), Value(100, i)));
    s.ops.push_back(put("users", "u2", "two"));
    steps.push_back(s);
  }
  steps.push_back({Step::kDropCf, "logs", {}});
  {
    Step s{Step::kTxn, "users", {}};
    s.ops.push_back(del("users", "u-big"));
    for (int i = 0; i < 15; ++i)
      s.ops.push_back(put("users", "u" + std::to_string(10 + i), Value(60, i)));
    steps.push_back(s);
  }
  steps.push_back({Step::kCreateCf, "logs", {}});
  steps.push_back({Step::kDropCf, "tmp", {}});
  // Random mixed commits.
  while (steps.size() < random_until) {
    const char* cfs[] = {"default", "users", "logs"};
    const int kind = static_cast<int>(rng() % 4);
    const std::string cf = cfs[rng() % 3];
    auto random_op = [&](const std::string& op_cf, bool force_put = false) {
      const std::string key = "r" + std::to_string(rng() % 40);
      if (!force_put && rng() % 4 == 0) return del(op_cf, key);
      const size_t len = rng() % 5 == 0 ? 1200 + rng() % 3000 : rng() % 80;
      return put(op_cf, key, Value(len, rng()));
    };
    if (kind == 0) {
      Op op = random_op(cf);
      steps.push_back({op.put ? Step::kPut : Step::kDelete, cf, {op}});
    } else if (kind == 1 || kind == 2) {
      Step s{Step::kBatch, "", {}};
      const int n = 1 + static_cast<int>(rng() % 12);
      for (int i = 0; i < n; ++i) s.ops.push_back(random_op(cfs[rng() % 3]));
      steps.push_back(s);
    } else {
      Step s{Step::kTxn, cf, {}};
      const int n = 1 + static_cast<int>(rng() % 10);
      // At least one put: a transaction that changes nothing (say, deletes absent keys) need
      // not commit at all, and every step here must be exactly one commit.
      for (int i = 0; i < n; ++i) s.ops.push_back(random_op(cf, /*force_put=*/i == 0));
      steps.push_back(s);
    }
  }
  {
    // Empty the default tree completely.
    Step s{Step::kBatch, "", {}};
    for (int i = 0; i < 60; ++i) s.ops.push_back(del("default", "d" + std::to_string(1000 + i)));
    s.ops.push_back(del("default", std::string(kPageBytes / 8, 'K')));
    for (int i = 0; i < 40; ++i) s.ops.push_back(del("default", "r" + std::to_string(i)));
    steps.push_back(s);
  }
  steps.push_back({Step::kPut, "default", {put("default", "last", "value")}});
  steps.push_back({Step::kDropCf, "users", {}});
  return steps;
}

void ApplyStep(const Step& step, DbMap* model) {
  switch (step.kind) {
    case Step::kCreateCf:
      (*model)[step.cf];
      return;
    case Step::kDropCf:
      model->erase(step.cf);
      return;
    default:
      for (const Op& op : step.ops) {
        if (op.put) {
          (*model)[op.cf][op.key] = op.value;
        } else {
          (*model)[op.cf].erase(op.key);
        }
      }
  }
}

// states[i]: the expected contents after the first i steps.
std::vector<DbMap> ModelStates(const std::vector<Step>& steps) {
  std::vector<DbMap> states;
  DbMap model = {{"default", {}}};
  states.push_back(model);
  for (const Step& step : steps) {
    ApplyStep(step, &model);
    states.push_back(model);
  }
  return states;
}

Status RunStep(DB* db, const Step& step) {
  switch (step.kind) {
    case Step::kCreateCf:
      return db->CreateColumnFamily(step.cf);
    case Step::kDropCf:
      return db->DropColumnFamily(step.cf);
    case Step::kPut:
      return db->Put({}, step.cf, step.ops[0].key, step.ops[0].value);
    case Step::kDelete:
      return db->Delete({}, step.cf, step.ops[0].key);
    case Step::kBatch: {
      WriteBatch batch;
      for (const Op& op : step.ops) {
        if (op.put) {
          batch.Put(op.cf, op.key, op.value);
        } else {
          batch.Delete(op.cf, op.key);
        }
      }
      return db->Write({}, batch);
    }
    case Step::kTxn: {
      auto txn = db->BeginTransaction(step.cf);
      if (!txn.ok()) return txn.status();
      for (const Op& op : step.ops) {
        Status s = op.put ? (*txn)->Put(op.key, op.value) : (*txn)->Delete(op.key);
        if (!s.ok()) return s;  // Destroying the transaction aborts it.
      }
      return (*txn)->Commit({});
    }
  }
  return Status::InvalidArgument("bad step");
}

Options TestOptions(FileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.page_bytes = kPageBytes;
  options.file_growth_bytes = 8 * kPageBytes;  // Grow (preallocate) during the workload.
  return options;
}

// Everything the database holds.
DbMap ReadAll(DB* db) {
  DbMap all;
  for (const std::string& cf : db->ListColumnFamilies()) {
    CfMap& data = all[cf];
    auto it = db->NewIterator({}, cf);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    if (!it.ok()) continue;
    for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
      data.emplace(std::string((*it)->key()), std::string((*it)->value()));
    }
    EXPECT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
  }
  return all;
}

std::string Diff(const DbMap& got, const DbMap& want) {
  std::ostringstream os;
  for (const auto& [cf, data] : want) {
    auto it = got.find(cf);
    if (it == got.end()) {
      os << " missing cf " << cf << ";";
      continue;
    }
    for (const auto& [k, v] : data) {
      auto kit = it->second.find(k);
      if (kit == it->second.end()) {
        os << " " << cf << ":" << k.substr(0, 20) << " missing;";
      } else if (kit->second != v) {
        os << " " << cf << ":" << k.substr(0, 20) << " differs;";
      }
    }
    for (const auto& [k, v] : it->second) {
      if (!data.count(k)) os << " " << cf << ":" << k.substr(0, 20) << " unexpected;";
    }
  }
  for (const auto& [cf, data] : got) {
    if (!want.count(cf)) os << " unexpected cf " << cf << ";";
  }
  return os.str();
}

struct RunResult {
  bool opened = false;
  size_t acked = 0;                   // Steps that returned OK (a prefix).
  std::optional<size_t> in_flight;    // The first step that failed, if any.
  std::vector<std::string> failures;  // Step statuses after the first failure.
};

// Opens the database over `fs` and runs every step, recording which returned OK. With
// `hold_snapshot`, a snapshot and an iterator taken after step 4 live until step 20, so pages
// freed meanwhile cannot be reused (different allocation, pending frees in the free list).
RunResult RunWorkload(FileSystem* fs, const std::vector<Step>& steps, bool hold_snapshot = false) {
  RunResult result;
  auto db = DB::Open(TestOptions(fs), kDbPath);
  if (!db.ok()) return result;
  result.opened = true;
  std::shared_ptr<const Snapshot> snapshot;
  std::unique_ptr<Iterator> iterator;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (hold_snapshot && i == 5) {
      snapshot = (*db)->GetSnapshot();
      ReadOptions read;
      read.snapshot = snapshot.get();
      auto it = (*db)->NewIterator(read, "default");
      if (it.ok()) iterator = std::move(it).value();
    }
    if (i == 20) {
      iterator.reset();
      snapshot.reset();
    }
    Status s = RunStep(db->get(), steps[i]);
    if (s.ok()) {
      EXPECT_FALSE(result.in_flight.has_value())
          << "step " << i << " (" << steps[i].Describe() << ") returned OK after step "
          << *result.in_flight << " failed: the power is off, it cannot be durable";
      ++result.acked;
    } else {
      EXPECT_NE(s.code(), StatusCode::kOk);
      EXPECT_FALSE(s.message().empty());
      if (!result.in_flight.has_value()) result.in_flight = i;
      result.failures.push_back(s.ToString());
    }
  }
  return result;
}

// Reopens over `inner` after the power loss and checks the recovered state; then checks that the
// database is writable and its new writes durable.
void CheckRecovery(MemFileSystem* inner, const std::vector<DbMap>& states, const RunResult& run,
                   const std::string& context) {
  SCOPED_TRACE(context);
  // A read-only open recovers the same state without writing anything (when the crash came
  // after the database was created; before, there may be no database to open read-only).
  std::optional<DbMap> read_only_state;
  {
    Options read_only = TestOptions(inner);
    read_only.read_only = true;
    auto db = DB::Open(read_only, kDbPath);
    if (run.opened) {  // Open returned OK: the new database was durable.
      ASSERT_TRUE(db.ok()) << "read-only reopen after power loss: " << db.status().ToString();
    }
    if (db.ok()) {
      read_only_state = ReadAll(db->get());
      EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
    }
  }
  auto db = DB::Open(TestOptions(inner), kDbPath);
  ASSERT_TRUE(db.ok()) << "reopen after power loss: " << db.status().ToString();
  const DbMap got = ReadAll(db->get());
  if (read_only_state.has_value()) {
    EXPECT_EQ(*read_only_state, got) << "read-only and read-write recovery disagree";
  }
  const uint64_t sequence = (*db)->GetStats().sequence;
  // Every step is one commit, so the sequence number says which prefix was recovered.
  const size_t max_prefix = run.in_flight.has_value() ? run.acked + 1 : run.acked;
  ASSERT_GE(sequence, run.acked) << "acknowledged commits lost";
  ASSERT_LE(sequence, max_prefix) << "recovered commits that were never attempted";
  EXPECT_EQ(got, states[sequence]) << "recovered state is not the state after " << sequence
                                   << " commits:" << Diff(got, states[sequence]);
  // Independently of the sequence number: the state is one of the allowed prefixes.
  bool allowed = got == states[run.acked] || (max_prefix > run.acked && got == states[max_prefix]);
  EXPECT_TRUE(allowed) << "acked " << run.acked << ", max prefix " << max_prefix
                       << "; diff vs acked state:" << Diff(got, states[run.acked]);
  IntegrityReport report;
  Status verify = (*db)->VerifyIntegrity(&report);
  EXPECT_TRUE(verify.ok()) << verify.ToString()
                           << (report.problems.empty() ? "" : "; " + report.problems.front());

  // Writable again, and the new commit durable.
  ASSERT_TRUE((*db)->Put({}, "default", "after-recovery", "yes").ok());
  db->reset();
  inner->DropUnsyncedData();
  db = DB::Open(TestOptions(inner), kDbPath);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto value = (*db)->Get({}, "default", "after-recovery");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "yes");
  DbMap expected = states[sequence];
  expected["default"]["after-recovery"] = "yes";
  EXPECT_EQ(ReadAll(db->get()), expected);
  EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
}

// Syncs issued by opening (creating) the database and running the whole workload, no crash.
uint64_t CleanRunSyncs(const std::vector<Step>& steps, const std::vector<DbMap>& states,
                       bool hold_snapshot = false) {
  auto inner = NewMemFileSystem();
  CrashFileSystem fs(inner.get());
  RunResult run = RunWorkload(&fs, steps, hold_snapshot);
  EXPECT_TRUE(run.opened);
  EXPECT_EQ(run.acked, steps.size());
  EXPECT_FALSE(run.in_flight.has_value());
  EXPECT_EQ(fs.sync_calls(), inner->sync_count());
  inner->DropUnsyncedData();
  auto db = DB::Open(TestOptions(inner.get()), kDbPath);
  EXPECT_TRUE(db.ok());
  if (db.ok()) EXPECT_EQ(ReadAll(db->get()), states.back());
  return fs.sync_calls();
}

class CrashAtEverySync : public ::testing::TestWithParam<std::tuple<CutMode, bool>> {
 protected:
  CutMode mode() const { return std::get<0>(GetParam()); }
  bool hold_snapshot() const { return std::get<1>(GetParam()); }
};

TEST_P(CrashAtEverySync, RecoversAPrefixWithEveryAcknowledgedCommit) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  ASSERT_GE(steps.size(), 28u);
  const uint64_t total = CleanRunSyncs(steps, states, hold_snapshot());
  // Two syncs per commit at least, plus creating the database.
  ASSERT_GE(total, 2 * steps.size());
  std::map<size_t, int> recovered_prefixes;
  for (uint64_t n = 0; n <= total; ++n) {
    auto inner = NewMemFileSystem();
    CrashFileSystem fs(inner.get());
    fs.CutAtSync(n, mode());
    const RunResult run = RunWorkload(&fs, steps, hold_snapshot());
    if (n < total) {
      EXPECT_TRUE(fs.cut()) << "sync " << n << " never happened";
      EXPECT_TRUE(run.in_flight.has_value() || !run.opened || mode() == CutMode::kSyncThenCut)
          << "sync " << n << ": the workload completed although the power was cut";
    } else {
      EXPECT_FALSE(fs.cut());
      EXPECT_EQ(run.acked, steps.size());
    }
    inner->DropUnsyncedData();
    std::ostringstream context;
    context << CutModeName(mode()) << (hold_snapshot() ? " (snapshot held)" : "") << " at sync "
            << n << " of " << total << ": opened " << run.opened << ", acked " << run.acked
            << " of " << steps.size();
    if (run.in_flight)
      context << ", in flight: step " << *run.in_flight << " " << steps[*run.in_flight].Describe();
    CheckRecovery(inner.get(), states, run, context.str());
    ++recovered_prefixes[run.acked];
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The cut points covered the whole workload.
  EXPECT_GT(recovered_prefixes.size(), steps.size() / 2);
  ::testing::Test::RecordProperty("clean_run_syncs", static_cast<int>(total));
  ::testing::Test::RecordProperty("distinct_recovered_prefixes",
                                  static_cast<int>(recovered_prefixes.size()));
}

INSTANTIATE_TEST_SUITE_P(AllModes, CrashAtEverySync,
                         ::testing::Combine(::testing::Values(CutMode::kFailSync,
                                                              CutMode::kSyncThenFail,
                                                              CutMode::kSyncThenCut),
                                            ::testing::Bool()),
                         [](const ::testing::TestParamInfo<std::tuple<CutMode, bool>>& info) {
                           return std::string(CutModeName(std::get<0>(info.param))) +
                                  (std::get<1>(info.param) ? "_SnapshotHeld" : "");
                         });

// Like kFailSync, but the disk had written back a random part (512-byte sectors) of the unsynced
// writes before the power went: torn pages and torn header slots must be detected and ignored.
TEST(CrashTest, TornUnsyncedWritesAtEverySync) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  const uint64_t total = CleanRunSyncs(steps, states);
  uint64_t persisted_total = 0;
  for (uint64_t n = 0; n < total; ++n) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      auto inner = NewMemFileSystem();
      CrashFileSystem fs(inner.get());
      fs.CutAtSync(n, CutMode::kFailSync);
      const RunResult run = RunWorkload(&fs, steps);
      inner->DropUnsyncedData();
      const uint64_t persisted = fs.PersistSomeUnsyncedWrites(seed * 1000003 + n);
      std::ostringstream context;
      context << "torn writes at sync " << n << ", seed " << seed << " (" << persisted
              << " sectors persisted): acked " << run.acked;
      CheckRecovery(inner.get(), states, run, context.str());
      if (::testing::Test::HasFatalFailure()) return;
      persisted_total += persisted;
    }
  }
  // The variant did make unsynced data durable.
  EXPECT_GT(persisted_total, total);
  ::testing::Test::RecordProperty("sectors_persisted", static_cast<int>(persisted_total));
}

// The same at every sync of workloads with other random tails (different seeds and lengths),
// rotating through the cut modes; FailSync runs also persist part of the unsynced writes.
TEST(CrashTest, RandomWorkloadsAtEverySync) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const std::vector<Step> steps = MakeWorkload(seed, 20 + seed * 3);
    const std::vector<DbMap> states = ModelStates(steps);
    const bool hold_snapshot = seed % 2 == 0;
    const uint64_t total = CleanRunSyncs(steps, states, hold_snapshot);
    for (uint64_t n = 0; n <= total; ++n) {
      const CutMode mode = static_cast<CutMode>((n + seed) % 3);
      auto inner = NewMemFileSystem();
      CrashFileSystem fs(inner.get());
      fs.CutAtSync(n, mode);
      const RunResult run = RunWorkload(&fs, steps, hold_snapshot);
      inner->DropUnsyncedData();
      if (mode == CutMode::kFailSync) fs.PersistSomeUnsyncedWrites(seed * 7919 + n);
      std::ostringstream context;
      context << "workload seed " << seed << ", " << CutModeName(mode) << " at sync " << n << " of "
              << total << ": acked " << run.acked << " of " << steps.size();
      CheckRecovery(inner.get(), states, run, context.str());
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// After a failed sync the database refuses every write, even once the file system works again,
// until it is reopened; reads of committed data that need no I/O error keep their values; the
// reopened database holds the acknowledged commits (and maybe the failed one) and is writable.
TEST(CrashTest, IOErrorMakesDatabaseRefuseWritesUntilReopen) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  const uint64_t total = CleanRunSyncs(steps, states);
  for (uint64_t n : {total / 3, total / 2, total - 2, total - 1}) {
    SCOPED_TRACE("cut at sync " + std::to_string(n));
    auto inner = NewMemFileSystem();
    CrashFileSystem fs(inner.get());
    auto db = DB::Open(TestOptions(&fs), kDbPath);
    ASSERT_TRUE(db.ok());
    fs.CutAtSync(n, CutMode::kFailSync);
    size_t acked = 0;
    std::optional<size_t> failed;
    for (size_t i = 0; i < steps.size() && !failed; ++i) {
      Status s = RunStep(db->get(), steps[i]);
      if (s.ok()) {
        ++acked;
      } else {
        failed = i;
        EXPECT_TRUE(s.IsIOError() || s.IsReadOnly()) << s.ToString();
      }
    }
    ASSERT_TRUE(failed.has_value());
    // The device works again, but the database must not trust its state.
    fs.Restore();
    EXPECT_FALSE((*db)->Put({}, "default", "k", "v").ok());
    EXPECT_FALSE((*db)->Delete({}, "default", "k").ok());
    WriteBatch batch;
    batch.Put("default", "k", "v");
    Status write = (*db)->Write({}, batch);
    EXPECT_FALSE(write.ok());
    EXPECT_TRUE(write.IsReadOnly()) << write.ToString();
    EXPECT_FALSE(write.message().empty());
    EXPECT_FALSE((*db)->CreateColumnFamily("new-cf").ok());
    auto txn = (*db)->BeginTransaction("default");
    if (txn.ok()) {
      Status put = (*txn)->Put("k", "v");
      if (put.ok()) EXPECT_FALSE((*txn)->Commit({}).ok());
    }
    txn = Status::Aborted("released");  // Release the transaction before closing.
    db->reset();

    // Reopen (no power loss: the process survived the I/O error).
    auto reopened = DB::Open(TestOptions(&fs), kDbPath);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    const uint64_t sequence = (*reopened)->GetStats().sequence;
    EXPECT_TRUE(sequence == acked || sequence == acked + 1) << sequence << " vs acked " << acked;
    if (sequence <= states.size() - 1) EXPECT_EQ(ReadAll(reopened->get()), states[sequence]);
    EXPECT_TRUE((*reopened)->VerifyIntegrity(nullptr).ok());
    ASSERT_TRUE((*reopened)->Put({}, "default", "k", "v").ok());
    reopened->reset();

    // And after a power loss too.
    inner->DropUnsyncedData();
    auto again = DB::Open(TestOptions(inner.get()), kDbPath);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    auto value = (*again)->Get({}, "default", "k");
    ASSERT_TRUE(value.ok()) << value.status().ToString();
    EXPECT_EQ(*value, "v");
    EXPECT_TRUE((*again)->VerifyIntegrity(nullptr).ok());
  }
}

// After a failed commit, every write is refused until reopen (docs/errors.md, invariant I8),
// including a transaction whose only operation deletes an absent key (a write that happens to
// change nothing): a read-only database refuses it too.
TEST(CrashTest, TransactionThatChangesNothingIsRefusedAfterIOError) {
  auto inner = NewMemFileSystem();
  CrashFileSystem fs(inner.get());
  auto db = DB::Open(TestOptions(&fs), kDbPath);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Put({}, "default", "k", "v").ok());
  fs.CutNow();
  EXPECT_FALSE((*db)->Put({}, "default", "k2", "v").ok());
  fs.Restore();
  auto txn = (*db)->BeginTransaction("default");
  if (txn.ok()) {
    Status del = (*txn)->Delete("absent");
    if (del.ok()) {
      Status commit = (*txn)->Commit({});
      EXPECT_FALSE(commit.ok()) << "a transaction committed on a database that refuses writes";
      EXPECT_TRUE(commit.IsReadOnly()) << commit.ToString();
    }
  }
  // A batch that changes nothing is refused (for comparison).
  WriteBatch batch;
  batch.Delete("default", "absent");
  EXPECT_TRUE((*db)->Write({}, batch).IsReadOnly());
}

// Every operation after the cut fails (not only writes that sync), and nothing returned OK
// leaks: a crash while snapshots and iterators are open changes nothing either.
TEST(CrashTest, CutWithOpenSnapshotAndIterator) {
  const std::vector<Step> steps = MakeWorkload();
  const std::vector<DbMap> states = ModelStates(steps);
  auto inner = NewMemFileSystem();
  CrashFileSystem fs(inner.get());
  auto db = DB::Open(TestOptions(&fs), kDbPath);
  ASSERT_TRUE(db.ok());
  const size_t half = steps.size() / 2;
  for (size_t i = 0; i < half; ++i) ASSERT_TRUE(RunStep(db->get(), steps[i]).ok()) << i;
  auto snapshot = (*db)->GetSnapshot();
  auto it = (*db)->NewIterator({}, "default");
  ASSERT_TRUE(it.ok());
  for (size_t i = half; i < steps.size() - 3; ++i)
    ASSERT_TRUE(RunStep(db->get(), steps[i]).ok()) << i;
  fs.CutNow();
  EXPECT_FALSE(RunStep(db->get(), steps[steps.size() - 3]).ok());
  it->reset();
  snapshot.reset();
  db->reset();
  inner->DropUnsyncedData();
  RunResult run;
  run.opened = true;
  run.acked = steps.size() - 3;
  run.in_flight = steps.size() - 3;
  CheckRecovery(inner.get(), states, run, "cut with open snapshot");
}

}  // namespace
}  // namespace manifold
