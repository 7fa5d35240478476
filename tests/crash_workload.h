// What the crash tests share (crash_test.cc, io_error_crash_test.cc): a fixed workload of ~30
// commits and its model states, running it over a CrashFileSystem, the clean run's map from
// sync number to commit, and the check that a recovered database holds a legal prefix.
#ifndef MANIFOLD_TESTS_CRASH_WORKLOAD_H_
#define MANIFOLD_TESTS_CRASH_WORKLOAD_H_

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

namespace manifold::crash_test {

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
  bool sync = true;     // WriteOptions::sync of a put, delete, batch or transaction.
  // Whether the commit is durable when it returns OK (column family changes always are).
  bool Durable() const { return sync || kind == kCreateCf || kind == kDropCf; }
  std::string Describe() const {
    static const char* kNames[] = {"Put", "Delete", "Batch", "Txn", "CreateCf", "DropCf"};
    std::ostringstream os;
    os << kNames[kind] << "(" << cf << ", " << ops.size() << " ops" << (sync ? "" : ", no-sync")
       << ")";
    return os.str();
  }
};

inline std::string Value(size_t len, uint64_t seed) {
  std::string v(len, '\0');
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>('a' + (seed * 7 + i * 13) % 26);
  return v;
}

// ~30 commits over "default", "users" and "logs" (plus "tmp", created and dropped): puts,
// deletes, cross-family batches, transactions, overflow values (several pages), enough keys to
// split leaves and grow a second level, deleting a whole tree, and re-creating a dropped family.
// With `no_sync`, about two in three puts, deletes, batches and transactions do not sync, in runs
// between durable commits (the rest of the workload is the same as without).
inline std::vector<Step> MakeWorkload(uint64_t seed = 20240601, size_t random_until = 27,
                                      bool no_sync = false) {
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
  if (no_sync) {
    // A generator of its own, so the steps themselves stay those of the all-durable workload.
    std::mt19937_64 sync_rng(seed * 1000003 + 17);
    for (Step& step : steps) step.sync = sync_rng() % 3 == 0;
  }
  return steps;
}

// ~50 commits of 6 KiB values over a dozen keys (the data file stays small, the log does not),
// about a third of them without sync: with the smallest segments and frequent checkpoints the log
// rolls over to new segments, and retired ones are recycled under new numbers with their stale
// records still in them.
inline std::vector<Step> MakeLogHeavyWorkload() {
  std::vector<Step> steps;
  for (int i = 0; i < 50; ++i) {
    Step s{Step::kPut, "default", {}};
    s.ops.push_back(Op{true, "default", "big" + std::to_string(i % 12), Value(6000, i)});
    if (i % 4 == 3) {
      s.kind = Step::kBatch;
      s.ops.push_back(
          Op{true, "default", "big" + std::to_string((i + 5) % 12), Value(6000, 1000 + i)});
    }
    s.sync = i % 3 != 1;
    steps.push_back(s);
  }
  return steps;
}

inline void ApplyStep(const Step& step, DbMap* model) {
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
inline std::vector<DbMap> ModelStates(const std::vector<Step>& steps) {
  std::vector<DbMap> states;
  DbMap model = {{"default", {}}};
  states.push_back(model);
  for (const Step& step : steps) {
    ApplyStep(step, &model);
    states.push_back(model);
  }
  return states;
}

inline Status RunStep(DB* db, const Step& step) {
  WriteOptions write;
  write.sync = step.sync;
  switch (step.kind) {
    case Step::kCreateCf:
      return db->CreateColumnFamily(step.cf);
    case Step::kDropCf:
      return db->DropColumnFamily(step.cf);
    case Step::kPut:
      return db->Put(write, step.cf, step.ops[0].key, step.ops[0].value);
    case Step::kDelete:
      return db->Delete(write, step.cf, step.ops[0].key);
    case Step::kBatch: {
      WriteBatch batch;
      for (const Op& op : step.ops) {
        if (op.put) {
          batch.Put(op.cf, op.key, op.value);
        } else {
          batch.Delete(op.cf, op.key);
        }
      }
      return db->Write(write, batch);
    }
    case Step::kTxn: {
      auto txn = db->BeginTransaction(step.cf);
      if (!txn.ok()) return txn.status();
      for (const Op& op : step.ops) {
        Status s = op.put ? (*txn)->Put(op.key, op.value) : (*txn)->Delete(op.key);
        if (!s.ok()) return s;  // Destroying the transaction aborts it.
      }
      return (*txn)->Commit(write);
    }
  }
  return Status::InvalidArgument("bad step");
}

// When the workload's changes reach the data file. Either way checkpoints run on the committing
// thread, never a background one, and no time trigger is used: the sequence of syncs is then the
// same in every run of a workload, so the N-th sync of a crashed run is the N-th of the clean run.
enum class Checkpoints {
  // Only the final checkpoint of a clean close (the default triggers are far away): every sync in
  // the workload is a log or directory sync.
  kAtClose,
  // Every few commits, with the smallest log segments: cuts also land in checkpoint page and
  // header syncs, and in the directory syncs of segment creation and retirement.
  kFrequent,
};

inline const char* CheckpointsName(Checkpoints checkpoints) {
  return checkpoints == Checkpoints::kAtClose ? "CheckpointAtClose" : "FrequentCheckpoints";
}

inline Options TestOptions(FileSystem* fs, Checkpoints checkpoints = Checkpoints::kAtClose) {
  Options options;
  options.file_system = fs;
  options.page_bytes = kPageBytes;
  options.file_growth_bytes = 8 * kPageBytes;  // Grow (preallocate) during the workload.
  options.background_checkpoints = false;
  options.checkpoint_interval_us = 0;
  if (checkpoints == Checkpoints::kFrequent) {
    options.wal_segment_bytes = 64 << 10;  // The smallest allowed.
    options.checkpoint_dirty_bytes = 4 * kPageBytes;
    options.checkpoint_log_bytes = 16 << 10;
  }
  return options;
}

// Everything the database holds.
inline DbMap ReadAll(DB* db) {
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

inline std::string Diff(const DbMap& got, const DbMap& want) {
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
  size_t acked = 0;                   // Steps that returned OK before the first failure.
  std::optional<size_t> in_flight;    // The first step that failed, if any.
  std::vector<std::string> failures;  // Step statuses after the first failure.
  // No-sync steps that returned OK after the first failure (they need no I/O; see RunWorkload).
  size_t acked_after_failure = 0;
  // Sync calls the file system had seen when Open returned, after each step, and after the close.
  uint64_t syncs_after_open = 0;
  std::vector<uint64_t> syncs_after_step;
  uint64_t syncs_after_close = 0;
  // Checkpoints the database had written after each step (Stats::checkpoints).
  std::vector<uint64_t> checkpoints_after_step;
  Stats final_stats;  // Just before the close.
};

// Opens the database over `fs` and runs every step, recording which returned OK, then closes it.
// With `hold_snapshot`, a snapshot and an iterator taken after step 4 live until step 20, so pages
// freed meanwhile cannot be reused (different allocation, pending frees in the free list).
inline RunResult RunWorkload(CrashFileSystem* fs, const std::vector<Step>& steps,
                             Checkpoints checkpoints, bool hold_snapshot = false) {
  RunResult result;
  auto db = DB::Open(TestOptions(fs, checkpoints), kDbPath);
  result.syncs_after_open = fs->sync_calls();
  if (!db.ok()) {
    result.syncs_after_close = fs->sync_calls();
    return result;
  }
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
    if (s.ok() && result.in_flight.has_value()) {
      // A failure that leaves the database writable (say, a page read refused because the power
      // is off) may be followed by a no-sync commit that needs no I/O: it is acknowledged as
      // buffered, not durable, and must not be recovered (its predecessor never committed, so
      // recovering it would not be a prefix; CheckRecovery would see that). A durable one cannot
      // return OK: the power is off.
      EXPECT_FALSE(steps[i].Durable())
          << "step " << i << " (" << steps[i].Describe() << ") returned OK after step "
          << *result.in_flight << " failed: the power is off, it cannot be durable";
      ++result.acked_after_failure;
    } else if (s.ok()) {
      ++result.acked;
    } else {
      EXPECT_NE(s.code(), StatusCode::kOk);
      EXPECT_FALSE(s.message().empty());
      if (!result.in_flight.has_value()) result.in_flight = i;
      result.failures.push_back(s.ToString());
    }
    result.syncs_after_step.push_back(fs->sync_calls());
    result.checkpoints_after_step.push_back((*db)->GetStats().checkpoints);
  }
  result.final_stats = (*db)->GetStats();
  db->reset();  // A clean close: the final checkpoint (which fails if the power is off).
  result.syncs_after_close = fs->sync_calls();
  return result;
}

// The fewest steps recovery may return after `run`: with `power_cut`, every step up to the last
// durable one that returned OK (a durable commit forces every commit before it); without, every
// step that returned OK (a clean close checkpoints no-sync commits too).
inline size_t MinPrefix(const std::vector<Step>& steps, const RunResult& run, bool power_cut) {
  if (!power_cut) return run.acked;
  size_t min_prefix = 0;
  for (size_t i = 0; i < run.acked; ++i) {
    if (steps[i].Durable()) min_prefix = i + 1;
  }
  return min_prefix;
}

// Reopens over `inner` after the power loss and checks the recovered state; then checks that the
// database is writable and its new writes durable.
inline void CheckRecovery(MemFileSystem* inner, const std::vector<Step>& steps,
                          const std::vector<DbMap>& states, const RunResult& run, bool power_cut,
                          Checkpoints checkpoints, const std::string& context) {
  SCOPED_TRACE(context);
  // A read-only open recovers the same state without writing anything (when the crash came
  // after the database was created; before, there may be no database to open read-only). It
  // replays the log in memory, so it also checks recovery before any checkpoint rewrites it.
  std::optional<DbMap> read_only_state;
  {
    Options read_only = TestOptions(inner, checkpoints);
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
  auto db = DB::Open(TestOptions(inner, checkpoints), kDbPath);
  ASSERT_TRUE(db.ok()) << "reopen after power loss: " << db.status().ToString();
  const DbMap got = ReadAll(db->get());
  if (read_only_state.has_value()) {
    EXPECT_EQ(*read_only_state, got) << "read-only and read-write recovery disagree";
  }
  const uint64_t sequence = (*db)->GetStats().sequence;
  // Every step is one commit, so the sequence number says which prefix was recovered.
  const size_t min_prefix = MinPrefix(steps, run, power_cut);
  const size_t max_prefix = run.in_flight.has_value() ? run.acked + 1 : run.acked;
  ASSERT_GE(sequence, min_prefix) << "durable (or cleanly closed) commits lost; acked "
                                  << run.acked;
  ASSERT_LE(sequence, max_prefix) << "recovered commits that were never attempted";
  EXPECT_EQ(got, states[sequence]) << "recovered state is not the state after " << sequence
                                   << " commits:" << Diff(got, states[sequence]);
  // Independently of the sequence number: the state is one of the allowed prefixes.
  bool allowed = false;
  for (size_t prefix = min_prefix; prefix <= max_prefix; ++prefix) {
    allowed = allowed || got == states[prefix];
  }
  EXPECT_TRUE(allowed) << "prefixes " << min_prefix << ".." << max_prefix
                       << "; diff vs acked state:" << Diff(got, states[run.acked]);
  IntegrityReport report;
  Status verify = (*db)->VerifyIntegrity(&report);
  EXPECT_TRUE(verify.ok()) << verify.ToString()
                           << (report.problems.empty() ? "" : "; " + report.problems.front());

  // Writable again, and the new commit durable.
  ASSERT_TRUE((*db)->Put({}, "default", "after-recovery", "yes").ok());
  db->reset();
  inner->DropUnsyncedData();
  db = DB::Open(TestOptions(inner, checkpoints), kDbPath);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto value = (*db)->Get({}, "default", "after-recovery");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, "yes");
  DbMap expected = states[sequence];
  expected["default"]["after-recovery"] = "yes";
  EXPECT_EQ(ReadAll(db->get()), expected);
  EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
}

// Where the syncs of a clean run happen: syncs [0, open_end) while opening the database,
// [step_end[i - 1], step_end[i]) during step i, and [step_end.back(), total) while closing.
struct SyncMap {
  uint64_t open_end = 0;
  std::vector<uint64_t> step_end;
  uint64_t total = 0;
  Stats stats;  // Of the clean run, just before its close.

  static constexpr int64_t kOpen = -1;
  // The step sync `n` belongs to, kOpen, or the number of steps for the close.
  int64_t PhaseOf(uint64_t n) const {
    if (n < open_end) return kOpen;
    for (size_t i = 0; i < step_end.size(); ++i) {
      if (n < step_end[i]) return static_cast<int64_t>(i);
    }
    return static_cast<int64_t>(step_end.size());
  }
  uint64_t StepBegin(size_t i) const { return i == 0 ? open_end : step_end[i - 1]; }
};

// Runs the workload without a crash (creating the database, every step, the close) and maps its
// syncs. Also checks what the write path promises about syncs: a durable commit syncs (its log
// record) before it returns; a no-sync commit syncs nothing unless it triggered a checkpoint; a
// clean close writes a final checkpoint when anything is left to write. And that every commit
// survives the clean close, even a power loss right after it.
inline SyncMap CleanRun(const std::vector<Step>& steps, const std::vector<DbMap>& states,
                        Checkpoints checkpoints, bool hold_snapshot = false) {
  SCOPED_TRACE(std::string("clean run, ") + CheckpointsName(checkpoints));
  auto inner = NewMemFileSystem();
  CrashFileSystem fs(inner.get());
  RunResult run = RunWorkload(&fs, steps, checkpoints, hold_snapshot);
  SyncMap map;
  EXPECT_TRUE(run.opened);
  EXPECT_EQ(run.acked, steps.size());
  EXPECT_FALSE(run.in_flight.has_value());
  if (!run.opened || run.acked != steps.size()) return map;
  EXPECT_EQ(fs.sync_calls(), inner->sync_count());
  map.open_end = run.syncs_after_open;
  map.step_end = run.syncs_after_step;
  map.total = run.syncs_after_close;
  map.stats = run.final_stats;
  for (size_t i = 0; i < steps.size(); ++i) {
    const uint64_t syncs = map.step_end[i] - map.StepBegin(i);
    const bool checkpointed =
        run.checkpoints_after_step[i] != (i == 0 ? 0 : run.checkpoints_after_step[i - 1]);
    if (steps[i].Durable()) {
      EXPECT_GE(syncs, 1u) << "durable step " << i << " returned before any sync";
    } else if (!checkpointed) {
      EXPECT_EQ(syncs, 0u) << "no-sync step " << i << " synced";
    }
  }
  if (run.final_stats.checkpoint_sequence < run.final_stats.sequence) {
    // Pages, then the header slot (and the header is read back, not synced again).
    EXPECT_GE(map.total - map.step_end.back(), 2u) << "the clean close wrote no checkpoint";
  }
  if (checkpoints == Checkpoints::kFrequent) {
    // The cut points do hit checkpoints in the middle of the workload.
    EXPECT_GE(run.final_stats.checkpoints, 4u);
  } else {
    EXPECT_EQ(run.final_stats.checkpoints, 0u);
  }
  inner->DropUnsyncedData();
  auto db = DB::Open(TestOptions(inner.get(), checkpoints), kDbPath);
  EXPECT_TRUE(db.ok());
  if (db.ok()) {
    EXPECT_EQ(ReadAll(db->get()), states.back());
    // The clean close left nothing for the log to redo.
    EXPECT_EQ((*db)->GetStats().log_records_replayed, 0u);
  }
  return map;
}

// What a crashed run must have done, given where its cut was: it is the clean run up to the cut,
// so every step before the cut's step returned OK; after the cut no step can sync, so the only
// steps that may still return OK are the cut's step (its sync went through, or the cut hit a
// checkpoint it triggered after it was acknowledged) and no-sync steps, which need no I/O.
inline void CheckRunAgainstCut(const std::vector<Step>& steps, const SyncMap& map, uint64_t n,
                               CutMode mode, const CrashFileSystem& fs, const RunResult& run) {
  if (n >= map.total) {
    EXPECT_FALSE(fs.cut());
    EXPECT_EQ(run.acked, steps.size());
    return;
  }
  EXPECT_TRUE(fs.cut()) << "sync " << n << " never happened";
  const int64_t phase = map.PhaseOf(n);
  size_t first_after_cut = 0;
  if (phase == SyncMap::kOpen) {
    // Open may still succeed in kSyncThenCut, when the cut sync was its last I/O.
    if (mode != CutMode::kSyncThenCut) {
      EXPECT_FALSE(run.opened);
    }
  } else {
    EXPECT_TRUE(run.opened);
    const size_t cut_step = static_cast<size_t>(phase);
    if (cut_step == steps.size()) {
      EXPECT_EQ(run.acked, steps.size()) << "the cut came during the close";
      return;
    }
    EXPECT_GE(run.acked, cut_step) << "a step before the cut failed";
    first_after_cut = cut_step + 1;
  }
  for (size_t i = first_after_cut; i < run.acked; ++i) {
    EXPECT_FALSE(steps[i].Durable())
        << "durable step " << i << " returned OK after the power went (phase " << phase << ")";
  }
}

}  // namespace manifold::crash_test

#endif  // MANIFOLD_TESTS_CRASH_WORKLOAD_H_
