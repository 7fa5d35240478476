// A concurrent run's history, as the simulator observed it, and the check that judges it
// (docs/simulator.md, "Judging concurrent histories").
//
// The engine numbers commits (WriteOptions::assigned_sequence, Snapshot::sequence), and the
// sequence order is the commit order (I19), so the check needs no search over orders: it replays
// the commits in sequence order and asks, for each observation, whether some state of that order
// inside the observation's real-time window explains it. Real time is the scheduler's step
// counter (engine/port/sched.h): an operation is invoked at one step and returns at a later one.
//
// One History covers one epoch: from an open (whose recovered state and sequence number are the
// base) to the next crash or clean close. The checks, each failure naming the operations
// involved:
//   (a) Real-time order: a commit that returned before another was invoked has the smaller
//       sequence number. Sequence numbers of commits that kept theirs (every outcome but
//       kFailedClean) are distinct and above the base, and every number from base + 1 to the top
//       (the highest kept number, or the recovered one if higher) belongs to one commit: a gap
//       is a failure. Commits without a recorded number that may have taken one (create/drop,
//       which report none, and commits cut off) are placed into gaps, or above the top when
//       acknowledged or cut off, where their real-time window allows, in ascending order of
//       number, acknowledged ones first, then by return step ("(inferred)" in messages). A
//       kept commit must be valid where it stands (its column families exist, a create's does
//       not). No commit after one that returned an error is acknowledged (I8, I19).
//   (b) A read outside a snapshot sees the state at one sequence number s with
//       lo <= s <= hi, where lo is the highest sequence number of a commit acknowledged before
//       the read was invoked and hi the highest below every commit invoked after the read
//       returned. A commit that returned an error (kUncertain with `returned`) is never visible,
//       nor anything after it (I19: a sync commit is visible only once durable, and a failed log
//       write fails every later commit too), so hi is also below it. Reads, snapshots and
//       iterators are linearizable together: one that returned before another was invoked saw
//       a state no newer than the other's.
//   (c) Reads through one view (a snapshot, an iterator, a transaction's reads) are explained
//       by a single s: for a snapshot, exactly its reported sequence number, which itself lies
//       in the window of the GetSnapshot call; for an iterator, one s in the window of its
//       creation; for a transaction that kept sequence number c, the state at c - 1
//       of its column family with its own earlier writes applied (it held the column family);
//       for one that aborted or failed, one s in the window from its begin to its end, not cut
//       at a failed commit (a transaction starts from the newest version in commit order), and
//       for a failed-clean one a column family absent from that state reads as empty (its
//       creation may have been rolled back, I26).
//   (d) A recovery (the state the next open found, and its sequence number) is the state at
//       exactly that sequence number of this epoch's order, and that number is at least that
//       of every commit acknowledged durable (every acknowledged commit after a clean close).
// The first failure found is reported: its first line a stable signature ("history: read matches
// no state in its window"), then the operations involved, the window, what was observed and
// what each candidate state held. Cost: O(events * window) lookups, scans evaluated once per
// distinct version of their column family in the window.
#ifndef MANIFOLD_MODEL_HISTORY_H_
#define MANIFOLD_MODEL_HISTORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"

namespace manifold::model {

// A scan: from a start (or an end of the column family) in one direction, within optional
// bounds, at most `limit` entries. Continuing a kept iterator is a scan that starts just after
// (or before, in reverse) the last key it returned.
struct ScanSpec {
  std::optional<std::string> start;  // None: SeekToFirst (forward) or SeekToLast (reverse).
  bool start_inclusive = true;       // false: the first entry is strictly past `start`.
  bool reverse = false;
  std::optional<std::string> lower;  // Inclusive lower bound; none: unbounded.
  std::optional<std::string> upper;  // Exclusive upper bound; none: unbounded.
  uint32_t limit = 0;                // Most entries returned; 0 means no limit.
};

// What a scan of `cf` returns from `state` (ordered as the scan visits them).
Entries ApplyScan(const KeyMap& cf, const ScanSpec& spec);

struct HistoryRead {
  enum Kind : uint8_t { kGet, kScan };
  Kind kind = kGet;
  std::string cf;
  std::string key;  // kGet.
  ScanSpec scan;    // kScan.
  // kGet: the value, or none for NotFound. kScan: the entries returned.
  std::optional<std::string> value;
  Entries entries;
  // The read (or the NewIterator it went through) failed with NotFound because `cf` does not
  // exist: matches exactly the states without `cf`. When false, the state must have `cf` (a
  // NotFound for a missing key is `value` = none with `cf_missing` = false). A NewIterator that
  // failed this way is recorded as one kScan read outside any view.
  bool cf_missing = false;
};

struct HistoryCommit {
  Commit commit;  // What it changes (model.h); a transaction's writes in order.
  bool sync = true;
  // kAcknowledgedDurable / kAcknowledgedNonDurable (returned OK), kFailedClean (returned an
  // error that guarantees nothing was written; its sequence number, if it took one, is
  // ignored), kUncertain (returned another error, or never returned because the run was cut).
  Outcome outcome = Outcome::kUncertain;
  bool returned = true;              // false: the thread was cut off before it returned.
  std::optional<uint64_t> sequence;  // WriteOptions::assigned_sequence, if it took one.
  // A transaction's reads (kGet on its column family), interleaved with its writes. An aborted
  // transaction is a commit with outcome kFailedClean and no sequence; its window runs from
  // BeginTransaction's invocation to the Abort's (or failed Commit's) return.
  // txn_reads[i] came after the first txn_read_after[i] of commit.ops were applied.
  std::vector<HistoryRead> txn_reads;
  std::vector<uint32_t> txn_read_after;
};

// One operation of the history.
struct HistoryEvent {
  enum Kind : uint8_t {
    kCommit,    // A batch, single put/delete, transaction, create or drop.
    kRead,      // A read outside any view, or through `view` (see below).
    kSnapshot,  // GetSnapshot: opens view `view` with the reported `snapshot_sequence`.
    kIterator,  // NewIterator without a snapshot: opens view `view` at an unknown sequence.
  };
  Kind kind = kRead;
  uint32_t id = 0;      // Position in the history, for messages ("op #12").
  uint32_t thread = 0;  // The simulator's thread number.
  uint64_t invoke_step = 0;
  uint64_t return_step = 0;  // For commits with returned == false: the step the run was cut.
  HistoryCommit commit;      // kCommit.
  HistoryRead read;          // kRead.
  // kRead through a view, kSnapshot, kIterator: the view's number (0 = no view). A read through
  // a snapshot view carries that snapshot's view number, one through an iterator the
  // iterator's.
  uint32_t view = 0;
  uint64_t snapshot_sequence = 0;  // kSnapshot.
  std::string description;         // Human-readable, for messages.
};

struct History {
  uint64_t base_sequence = 0;  // The sequence number the epoch's open reported.
  StateMap base_state;         // The state that open recovered (already judged).
  std::vector<HistoryEvent> events;
};

struct RecoveredState {
  uint64_t sequence = 0;  // What the next open reported (Stats::sequence).
  StateMap state;
  // After a clean close every acknowledged commit (durable or not) must be present, not only
  // the durable ones.
  bool clean_close = false;
};

struct HistoryVerdict {
  bool ok = true;
  std::string failure;           // First line a short signature, then the operations involved.
  uint64_t reads_checked = 0;    // Reads judged (plain, through views, in transactions).
  uint64_t commits_ordered = 0;  // Commits in the sequence order (inferred ones included).
};

// Checks (a) to (c), and (d) when `recovered` is given. A malformed history (an event returning
// before it is invoked, an acknowledged commit that never returned, a read through a view no
// event opened, ...) fails with "history: malformed event".
HistoryVerdict CheckHistory(const History& history, const RecoveredState* recovered);

}  // namespace manifold::model

#endif  // MANIFOLD_MODEL_HISTORY_H_
