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
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/status.h"
#include "manifold/write_batch.h"

namespace manifold::model {

// key -> value of one column family, in bytewise order (std::string's operator< compares as
// unsigned char, which is the engine's order).
using KeyMap = std::map<std::string, std::string>;
// column family name -> its entries: the plain form of a whole database (e.g. as read back from
// the engine after a reopen).
using StateMap = std::map<std::string, KeyMap>;
using Entries = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kDefaultCf = "default";

struct Op {
  enum Kind : uint8_t { kPut, kDelete };
  Kind kind = kPut;
  std::string cf;
  std::string key;
  std::string value;  // Empty for deletes.

  static Op Put(std::string_view cf, std::string_view key, std::string_view value);
  static Op Delete(std::string_view cf, std::string_view key);
};

struct Commit {
  enum Kind : uint8_t { kBatch, kCreateCf, kDropCf };
  Kind kind = kBatch;
  std::vector<Op> ops;  // kBatch: applied in order, later ones win on the same key.
  std::string cf;       // kCreateCf / kDropCf: the column family.
  // How explanations name it, e.g. "op #12" (the simulator names a commit by the operation that
  // made it, so its report and trace use one numbering). Empty: "#<id>", its number in attempt
  // order.
  std::string name;

  static Commit Batch(std::vector<Op> ops);
  // A WriteBatch, or a transaction's writes (all on one column family), in order.
  static Commit FromWriteBatch(const WriteBatch& batch);
  static Commit CreateCf(std::string_view name);
  static Commit DropCf(std::string_view name);

  // E.g. `batch of 4 ops on 'a','default'`, `create cf 'x'`, `drop cf 'x'`.
  std::string Describe() const;
};

enum class Outcome : uint8_t {
  kAcknowledgedDurable,
  kAcknowledgedNonDurable,
  kFailedClean,
  kUncertain,
};
// "acknowledged durable", "acknowledged non-durable", "failed clean", "uncertain".
const char* OutcomeName(Outcome outcome);

// ---- State hash ---------------------------------------------------------------------------------
// Order-independent and stable across builds and platforms (no std::hash):
//   HashColumnFamily(cf)   = Mix(Fnv1a64('C' . u64le(|cf|) . cf))
//   HashEntry(cf, k, v)    = Mix(Fnv1a64('E' . u64le(|cf|) . cf . u64le(|k|) . k . u64le(|v|) . v))
//   StateHash(s)           = sum mod 2^64 of HashColumnFamily over every column family plus
//                            HashEntry over every entry
// where Fnv1a64 is 64-bit FNV-1a (offset 0xcbf29ce484222325, prime 0x100000001b3) and Mix is the
// splitmix64 finalizer. An empty column family therefore differs from an absent one.
uint64_t HashColumnFamily(std::string_view cf);
uint64_t HashEntry(std::string_view cf, std::string_view key, std::string_view value);
uint64_t StateHash(const StateMap& state);

// Printable form of a key or value, binary-safe: quoted, bytes outside printable ASCII (and " \)
// as \xNN; one over 40 bytes shows its first 32, its length and an FNV-1a hash of all of it.
std::string Printable(std::string_view bytes);

// ---- State --------------------------------------------------------------------------------------
// A whole database state: a cheap-to-copy value (column families are shared copy-on-write), with
// its StateHash maintained incrementally. Only the Model edits states.
class State {
 public:
  State() = default;       // No column families at all.
  static State Initial();  // Only "default", empty.
  static State FromMap(const StateMap& map);
  StateMap ToMap() const;

  bool HasColumnFamily(std::string_view cf) const;
  std::vector<std::string> ColumnFamilies() const;  // Byte order.
  size_t column_family_count() const { return cfs_.size(); }
  // The column family's entries, or null if it does not exist. Valid until the state changes.
  const KeyMap* Find(std::string_view cf) const;
  // The column family's entries, shared (stays valid and unchanged for as long as it is held),
  // or null if it does not exist.
  std::shared_ptr<const KeyMap> Share(std::string_view cf) const;
  std::optional<std::string> Get(std::string_view cf, std::string_view key) const;

  uint64_t hash() const { return hash_; }  // == StateHash(ToMap())
  size_t entry_count() const { return entries_; }

  bool Equals(const StateMap& map) const;
  friend bool operator==(const State& a, const State& b);
  friend bool operator!=(const State& a, const State& b) { return !(a == b); }

 private:
  friend class StateEditor;
  struct Cf {
    std::shared_ptr<KeyMap> map;  // Shared with copies of the state; cloned before any edit.
    uint64_t hash = 0;            // HashColumnFamily + HashEntry of each of its entries.
  };
  std::map<std::string, Cf, std::less<>> cfs_;
  uint64_t hash_ = 0;
  size_t entries_ = 0;
};

// ---- Iteration ----------------------------------------------------------------------------------
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
