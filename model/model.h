// The reference model of the deterministic simulator: what Manifold must return for every read,
// and which states it may recover to after a crash.
//
// The database is a set of named column families ("default" always exists), each an ordered
// map<string, string> in bytewise key order. Every mutation is a *commit* (a WriteBatch or
// single-column-family transaction, CreateColumnFamily, DropColumnFamily), numbered by an id in the
// order the simulator attempts them. A commit ends as one of:
//
//   kAcknowledgedDurable     returned OK with sync: present after any crash.
//   kAcknowledgedNonDurable  returned OK without sync (future WAL): visible at once, but a crash
//                            may lose it, together with every later commit (a lost suffix).
//   kFailedClean             returned an error that guarantees nothing was written
//                            (InvalidArgument, NotFound, AlreadyExists, NoSpace before writing...):
//                            never present; it takes no place in the commit order.
//   kUncertain               returned IOError/ReadOnly/..., or the process crashed during it: not
//                            visible before recovery; afterwards present or absent, never
//                            partially.
//
// Legal recovered state after a crash (design.md, "What recovery promises"): the state after some
// prefix of the commit order (failed-clean commits removed) that contains every durable
// acknowledged commit. Only prefixes: a later commit present with an earlier one absent is a
// hole, and illegal. After a clean close and reopen, every acknowledged commit must be present;
// uncertain ones may still be in or out (as a prefix).
//
// Usage contract for the simulator (checked where possible):
//   * At most one commit is open (between BeginCommit and EndCommit) at a time, and BeginCommit
//     is called in the engine's commit order (a single-threaded simulator does both).
//   * After an uncertain commit, reopen (crash or clean) before expecting any more writes to be
//     acknowledged: the engine refuses writes until reopened (I8). Writes attempted meanwhile may
//     be recorded as failed-clean or uncertain. An acknowledgement after an unresolved uncertain
//     commit is reported by EndCommit as a violation (and the model then assumes the uncertain
//     commits before it are present, since only prefixes are legal).
//   * After each reopen call CheckRecovered with the engine's full state; engine snapshots and
//     iterators do not survive a reopen, so the model forgets its snapshots too.
//
// Cost: the model keeps the visible state plus the commits since the last point where everything
// is known durable ("pending"), with undo records. Checking a recovered state costs
// O(state + pending): one hash of the recovered state, O(1) per candidate prefix to compare
// hashes, then one exact comparison. Snapshots are copy-on-write per column family.
//
// Not thread-safe.
#ifndef MANIFOLD_MODEL_MODEL_H_
#define MANIFOLD_MODEL_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/status.h"
#include "model/commit.h"
#include "model/cursor.h"
#include "model/printable.h"
#include "model/state.h"
#include "model/state_hash.h"

namespace manifold::model {

// ---- Model --------------------------------------------------------------------------------------

struct Verdict {
  bool ok = true;
  std::string explanation;  // Empty when ok.
};

// Why the engine must refuse a commit, judged against the visible state.
struct Rejection {
  StatusCode code;  // kNotFound, kAlreadyExists or kInvalidArgument.
  std::string reason;
};

enum class Reopen : uint8_t {
  kCrash,  // Process crash or power loss: every durable acknowledged commit must be present.
  kClean,  // Clean close then open: every acknowledged commit must be present.
};

struct CrashVerdict {
  bool legal = false;
  // When legal: the matched (and adopted) prefix. `matched_last_id` is the id of the last commit
  // in it (0: none since the model was created); `matched_sequence` is its number of commits that
  // took effect, i.e. what the engine's sequence number should be.
  uint64_t matched_last_id = 0;
  uint64_t matched_sequence = 0;
  // The legal range considered: prefixes ending after commit `min_last_id` .. `max_last_id`.
  uint64_t min_last_id = 0;
  uint64_t max_last_id = 0;
  size_t candidates = 0;
  // Not legal only because of the sequence number: the entries equal a legal prefix's, but that
  // prefix has a different number of commits than the engine reports.
  bool sequence_only = false;
  std::string explanation;  // When not legal: what is missing or unexpected, and where.
};

struct ModelOptions {
  // After a legal crash recovery, whether the recovered state counts as durable (the engine
  // synced it while recovering). When false, recovered commits that were not acknowledged durable
  // stay pending and a later crash may still lose them (as a suffix). A clean reopen always makes
  // everything durable.
  bool recovery_makes_durable = true;
  // Commits remembered beyond the pending ones, to name the writer of a value in explanations.
  size_t history_commits = 256;
  // Differences listed in an explanation.
  size_t max_differences = 8;
};

class Model {
 public:
  explicit Model(ModelOptions options = {});

  // ---- Commits --------------------------------------------------------------------------------
  // Records that the simulator is about to attempt `commit`; returns its id (1, 2, ... in
  // attempt order). Aborts if another commit is still open.
  uint64_t BeginCommit(Commit commit);
  // Records how commit `id` (the open one) ended. Not ok when the engine acknowledged something it
  // must not have: a commit the model says must fail (see MustFail), or any commit while an
  // earlier uncertain one is unresolved (the engine must refuse writes until reopened).
  [[nodiscard]] Verdict EndCommit(uint64_t id, Outcome outcome);
  // BeginCommit + EndCommit.
  [[nodiscard]] Verdict Record(Commit commit, Outcome outcome, uint64_t* id = nullptr);

  // Why the engine must refuse `commit` now (column family missing or already existing, dropping
  // "default", bad column family name), or nullopt if it may succeed.
  std::optional<Rejection> MustFail(const Commit& commit) const;
  // An uncertain commit is unresolved: the engine must refuse writes until reopened.
  bool has_uncertain() const;

  // ---- Reads (the visible state: every acknowledged commit) ----------------------------------
  const State& Visible() const { return visible_; }
  std::optional<std::string> Get(std::string_view cf, std::string_view key) const;
  bool HasColumnFamily(std::string_view cf) const;
  std::vector<std::string> ColumnFamilies() const;
  // Commits that took effect in the visible state (the engine's Stats::sequence).
  uint64_t sequence() const { return visible_sequence_; }
  // Id of the last commit in the visible state (0 if none).
  uint64_t last_visible_id() const { return visible_last_id_; }

  // ---- Snapshots: frozen at the visible state when taken --------------------------------------
  uint64_t TakeSnapshot();
  void ReleaseSnapshot(uint64_t snapshot);              // Aborts on an unknown id.
  const State& SnapshotState(uint64_t snapshot) const;  // Aborts on an unknown id.
  uint64_t SnapshotSequence(uint64_t snapshot) const;   // The engine's Snapshot::sequence().
  size_t live_snapshots() const { return snapshots_.size(); }

  // ---- Read checks, with explanations ---------------------------------------------------------
  // `got`: the engine's Get (nullopt for NotFound), against the visible state or a snapshot.
  Verdict CheckGet(std::string_view cf, std::string_view key, const std::optional<std::string>& got,
                   std::optional<uint64_t> snapshot = std::nullopt) const;
  // `got`: what the engine's iterator returned for the same scan, against `state` (Visible() or
  // SnapshotState(...)).
  static Verdict CheckScan(const State& state, std::string_view cf, const ScanOptions& options,
                           const Entries& got);

  // ---- Crash and recovery ---------------------------------------------------------------------
  // `recovered` is the engine's full state read back after reopening. An open commit counts as
  // uncertain. When legal, the model adopts the matched prefix: it becomes the visible state,
  // later commits are discarded, and snapshots are forgotten. When not legal, nothing changes
  // except that an open commit is now uncertain.
  // `sequence`, when given, is the engine's commit sequence number after the reopen: the matched
  // prefix must then also have exactly that many commits that took effect (a commit that changed
  // no entry still counts), which tells apart prefixes whose states are equal.
  [[nodiscard]] CrashVerdict CheckRecovered(const StateMap& recovered, Reopen kind = Reopen::kCrash,
                                            std::optional<uint64_t> sequence = std::nullopt);
  // CheckRecovered(recovered, Reopen::kClean).
  [[nodiscard]] CrashVerdict CheckCleanReopen(const StateMap& recovered);

  // ---- Introspection --------------------------------------------------------------------------
  static uint64_t StateHash(const StateMap& state) { return model::StateHash(state); }
  // Commits that may still be lost by a crash (or are uncertain or open).
  size_t pending_commits() const { return pending_.size(); }
  // E.g. "#13 batch of 4 ops on 'a' (acknowledged durable)", from pending or recent history.
  std::string DescribeCommit(uint64_t id) const;
  // The commit's name alone: Commit::name if it has one, else "#<id>".
  std::string CommitName(uint64_t id) const;

 private:
  friend class StateEditor;
  // How to take one edit back (applied in reverse order).
  struct UndoRecord {
    enum Kind : uint8_t { kEntry, kCreateCf, kDropCf } kind = kEntry;
    std::string cf;
    std::string key;                       // kEntry.
    std::optional<std::string> old_value;  // kEntry: the value before (nullopt: absent).
    std::shared_ptr<KeyMap> dropped;       // kDropCf: the column family's entries.
    uint64_t dropped_hash = 0;             // kDropCf.
  };
  struct Entry {
    uint64_t id = 0;
    std::shared_ptr<const Commit> commit;
    bool open = true;                       // BeginCommit called, EndCommit not yet.
    Outcome outcome = Outcome::kUncertain;  // Once closed: durable/non-durable ack or uncertain.
    bool applied = false;          // Part of the visible state (undo holds how to take it back).
    bool took_effect = false;      // Applied and valid (an invalid commit changes nothing).
    uint64_t hash_before = 0;      // Applied: visible hash before it.
    uint64_t sequence_before = 0;  // Applied: visible sequence before it.
    std::vector<UndoRecord> undo;
  };
  // The state after the first `prefix` pending commits.
  struct Candidate {
    uint64_t hash = 0;
    uint64_t sequence = 0;
    uint64_t last_id = 0;
  };
  struct Remembered {
    uint64_t id;
    std::shared_ptr<const Commit> commit;
    Outcome outcome;
  };
  struct SnapshotRecord {
    State state;
    uint64_t sequence;
  };

  size_t AppliedCount() const;
  void ApplyToVisible(Entry& entry);
  void CollapsePending(size_t count);
  void Remember(const Entry& entry);
  std::vector<Candidate> Candidates() const;
  State Materialize(size_t prefix, std::vector<std::vector<UndoRecord>>* forward_undo) const;
  std::string Explain(const StateMap& recovered, const std::vector<Candidate>& candidates,
                      size_t min_prefix, Reopen kind, std::optional<size_t> below_min,
                      std::optional<uint64_t> sequence,
                      // The prefixes from min_prefix whose entries equal `recovered`.
                      const std::vector<size_t>& entries_equal) const;
  std::string DescribeEntryAt(size_t index) const;
  // " #1 ...; #2 ...": the pending commits, the middle elided when there are more than 10.
  std::string PendingList() const;
  static std::string Label(uint64_t id, const Commit& commit);
  std::string Writer(std::string_view cf, std::optional<std::string_view> key, size_t prefix) const;
  std::string Source(std::string_view cf, std::string_view key,
                     const std::optional<std::string>& value, size_t prefix) const;

  ModelOptions options_;
  State visible_;
  uint64_t visible_sequence_ = 0;
  uint64_t visible_last_id_ = 0;
  uint64_t base_last_id_ = 0;       // Last commit before pending_ (everything up to it is durable).
  std::string base_name_;           // Its CommitName(), kept after history_ forgets it.
  std::vector<Entry> pending_;      // Applied entries first, then uncertain/open ones.
  std::deque<Remembered> history_;  // Recent commits before pending_, oldest first.
  bool history_truncated_ = false;  // Some commit before history_ was forgotten.
  uint64_t next_id_ = 1;
  bool open_ = false;
  std::map<uint64_t, SnapshotRecord> snapshots_;
  uint64_t next_snapshot_ = 1;
};

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_MODEL_H_
