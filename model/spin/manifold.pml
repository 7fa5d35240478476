/*
 * A Promela model of Manifold's commit, group-commit, publication, checkpoint and recovery
 * protocols (docs/design.md, "Commit protocol", "Checkpoint protocol", "Recovery"), checked by
 * spin. model/spin/README.md says what is modelled and what is abstracted away.
 *
 * Names: every inline below is named after the engine function it models (engine/db/db_impl.cc,
 * engine/db/log_files.cc, engine/db/pager.cc), and every property is a Check(name, condition)
 * whose name starts with the invariant of docs/design.md it checks. Each planted bug of
 * engine/util/fault_point.h that concerns these protocols has a PLANT_<name> switch here with the
 * simulator's short name (`sim --plant-bug <name>`); model/spin/spin_test.sh requires spin to
 * find each, as a violation of the property expected of it.
 *
 * Bounds (cpp macros, set by the test): NCOMMITTERS writer threads, each making one commit (the
 * first one a batch over two column families), NCHECKPOINTS background checkpoints, SEG_RECS
 * records per log segment; one power cut at any step (or none), then recovery, recovery's own
 * checkpoint (I18) and one new commit with a second power cut at any of their steps, and a second
 * recovery.
 */

#ifndef NCOMMITTERS
#define NCOMMITTERS 2
#endif
#ifndef NCHECKPOINTS
#define NCHECKPOINTS 1
#endif
#ifndef SEG_RECS
#define SEG_RECS 1
#endif

/* Sequence numbers 1..NSEQ (a split batch takes two). */
#ifdef PLANT_split_batch
#define NSEQ (NCOMMITTERS + 1)
#else
#define NSEQ NCOMMITTERS
#endif
#define NREC (NSEQ + 1) /* and the commit after recovery */
#define NSEG (NSEQ + 2)
#define NCK (NCHECKPOINTS + 2) /* and recovery's checkpoint */
#define NONE 255

/* ---- Properties --------------------------------------------------------------------------- */
/* Check(name, condition) asserts the condition; pan prints the failed assertion starting with the
 * property's name (a hidden variable, always 0, not part of the state vector), which
 * spin_test.sh compares with what each planted bug must break. */
#define Check(name, cond) assert(name || (cond))
hidden byte I17_appended_in_order;
hidden byte I19_never_goes_back;
hidden byte I19_visible_sync_is_durable;
hidden byte I17_one_leader;
hidden byte I13_no_write_into_retired;
hidden byte I17_target;
hidden byte acked_sync_commit_is_durable;
hidden byte I13_retired_only_when_covered;
hidden byte I5_frees_go_with_the_version;
hidden byte I2_I12_durable_header_and_pages;
hidden byte I21_log_head_exists;
hidden byte no_acked_commit_lost;
hidden byte recovered_state_is_a_prefix;
hidden byte batch_is_atomic;

/* ---- DBImpl state under log_mu_ ------------------------------------------------------------ */
byte log_mu = 0; /* 0: free; otherwise the holder's id (committers 1.., checkpointer 9) */
byte last_sequence = 0;
byte buffered_lsn = 0;
byte written_lsn = 0;
byte synced_lsn = 0;
byte published_sequence = 0;
bool leader_active = false;
byte latest_bits = 0;         /* the contents of latest_ (newest version in commit order) */
byte current_sequence = 0;    /* current_: the version readers see */
byte checkpoint_sequence = 0; /* covered by the newest finished checkpoint */
byte checkpoint_count = 0;
byte frees_taken = 0; /* pending_frees_ up to this sequence were taken by a checkpoint */
bool waiting[NCOMMITTERS + 1]; /* log_cv_ waiters (index: committer id) */

/* ---- Per sequence number --------------------------------------------------------------------- */
byte ops_of[NREC + 1];   /* column-family operations of the commit (bit per operation) */
bool is_sync[NREC + 1];  /* WriteOptions::sync */
bool published[NREC + 1];
bool acked[NREC + 1];    /* Commit returned OK */
byte seg_of[NREC + 1];   /* the segment its record went to */
byte rec_bits[NREC + 1]; /* what its log record carries */
bool rec_written[NREC + 1]; /* LogFiles::Write done (in the page cache) */
bool rec_durable[NREC + 1]; /* on the disk */

/* ---- Log segments (LogFiles) ----------------------------------------------------------------- */
byte segment = 1; /* segment_: where the next record goes */
byte segment_records = 0;
byte segment_last_lsn[NSEG + 1]; /* segment_last_lsn_ (a roll record counts as the last write) */
bool segment_retired[NSEG + 1];  /* LogFiles::Retire: recycled or removed, its records gone */

/* ---- The data file (Pager): checkpoint n's pages and the two header slots -------------------- */
byte ck_sequence[NCK];
byte ck_bits[NCK];
byte ck_head[NCK]; /* log head (I21) */
bool pages_written[NCK];
bool pages_durable[NCK];
byte slot_written[2]; /* checkpoint number + 1 in the page cache; 0: never written or torn */
byte slot_durable[2]; /* the same on the disk */

bool crashed = false;
byte committers_done = 0;
byte history_end = 0; /* sequence numbers above it were never committed (or were undone by a
                       * power cut) in the history recovery must match */

/* ---- Helpers --------------------------------------------------------------------------------- */

/* The checkpoint an open would load now from the disk alone (ReadNewestHeader then
 * LoadCheckpoint): its number, or NONE when no slot is valid or its pages are not on the disk. */
inline DurableCheckpoint(ck) {
  ck = NONE;
  if
  :: slot_durable[0] > 0 && (slot_durable[0] - 1) % 2 == 0 -> ck = slot_durable[0] - 1
  :: else -> skip
  fi;
#ifdef PLANT_header_in_place
  /* The bug also turns off the slot-parity check (pager.cc ReadHeaderSlot). */
  if
  :: slot_durable[0] > 0 -> ck = slot_durable[0] - 1
  :: else -> skip
  fi;
#endif
  if
  :: slot_durable[1] > 0 && (slot_durable[1] - 1) % 2 == 1 &&
     (ck == NONE || slot_durable[1] - 1 > ck) -> ck = slot_durable[1] - 1
  :: else -> skip
  fi;
  if
  :: ck != NONE && !pages_durable[ck] -> ck = NONE
  :: else -> skip
  fi
}

/* A record survives a power cut here: synced (or written back) and its segment not retired. */
#define RecordOnDisk(s) (rec_durable[s] && !segment_retired[seg_of[s]])
/* Commit s survives a power cut here: its record does, or the checkpoint `ck` (from
 * DurableCheckpoint) covers it. */
#define Covered(s) (ck != NONE && ck_sequence[ck] >= (s))
#define Survives(s) (RecordOnDisk(s) || Covered(s))

inline Lock(me) { atomic { log_mu == 0 -> log_mu = me } }
inline Unlock() { log_mu = 0 }
inline SignalAll() {
  i = 0;
  do
  :: i <= NCOMMITTERS -> waiting[i] = false; i++
  :: else -> break
  od
}
/* CondVar::Wait: releases log_mu_ and sleeps in one step, wakes on SignalAll, re-locks. */
inline Wait(me) {
  atomic { waiting[me] = true; log_mu = 0 };
  !waiting[me];
  Lock(me)
}

/* ---- Commit protocol (DBImpl::CommitCounted and what it calls) ------------------------------- */

/* DBImpl::AppendRecord: the record goes to segment_; a record that does not fit ends the segment
 * with a roll record naming the next one, which is the old segment's last write (I13, I20). */
inline AppendRecord(seq, ops) {
  /* I17: records are appended in commit order */
  Check(I17_appended_in_order, seq == buffered_lsn + 1);
  if
  :: segment_records == SEG_RECS ->
     segment_last_lsn[segment] = seq;
     segment++;
     segment_records = 0
  :: else -> skip
  fi;
  seg_of[seq] = segment;
  segment_records++;
  segment_last_lsn[segment] = seq;
  buffered_lsn = seq;
#ifdef PLANT_log_pages_not_contents
  rec_bits[seq] = 0;
#else
  rec_bits[seq] = ops;
#endif
}

/* DBImpl::PublishReady: makes visible, in commit order, every commit that is durable or did not
 * ask for durability; the I19 assertions compare what becomes visible with the disk. */
inline PublishReady() {
  newest = 0;
#ifdef PLANT_publication_out_of_order
  j = 1;
  do
  :: j <= last_sequence ->
     if
     :: !published[j] && !(is_sync[j] && j > synced_lsn) ->
        published[j] = true; published_sequence = j; newest = j
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
#endif
  do
  :: published_sequence < last_sequence &&
     !(is_sync[published_sequence + 1] && published_sequence + 1 > synced_lsn) ->
     published_sequence++;
     published[published_sequence] = true;
     newest = published_sequence
  :: else -> break
  od;
  if
  :: newest > 0 ->
     /* I19: the visible version never goes back */
     Check(I19_never_goes_back, newest > current_sequence);
     DurableCheckpoint(ck);
     j = 1;
     do
     :: j <= newest ->
        /* I19: a visible sync commit (or one under a visible later commit) is durable */
        Check(I19_visible_sync_is_durable, !is_sync[j] || Survives(j));
        j++
     :: else -> break
     od;
     current_sequence = newest;
     SignalAll()
  :: else -> skip
  fi
}

/* DBImpl::LeadGroup: takes the whole buffer and its highest LSN `target`, writes and (sync) syncs
 * it with log_mu_ released, then sets synced_lsn = target (I17). */
inline LeadGroup(me, sync) {
  Check(I17_one_leader, !leader_active);
  leader_active = true;
  target = buffered_lsn;
  from = written_lsn;
  Unlock();
  /* LogFiles::Write: one write per segment of the group, into the page cache. */
  atomic {
    j = from + 1;
    do
    :: j <= target ->
       /* I13: never write into a retired segment */
       Check(I13_no_write_into_retired, !segment_retired[seg_of[j]]);
       rec_written[j] = true;
       j++
    :: else -> break
    od
  };
#ifdef PLANT_follower_released_before_sync
  if
  :: sync ->
     Lock(me);
     if
     :: synced_lsn < target -> synced_lsn = target
     :: else -> skip
     fi;
     PublishReady();
     Unlock()
  :: else -> skip
  fi;
#endif
  /* LogFiles::SyncWritten: every segment written and not yet synced; its writes reach the disk. */
  if
  :: sync ->
     atomic {
       j = 1;
       do
       :: j <= NSEQ -> rec_durable[j] = rec_durable[j] || rec_written[j]; j++
       :: else -> break
       od
     }
  :: else -> skip
  fi;
  Lock(me);
  /* I17: a group's target lies between the durable and the buffered LSN */
  Check(I17_target, synced_lsn <= target && target <= buffered_lsn);
  written_lsn = target;
  if
  :: sync ->
#ifdef PLANT_sync_covers_late_records
     synced_lsn = buffered_lsn
#else
     synced_lsn = target
#endif
  :: else -> skip
  fi;
  PublishReady();
  leader_active = false;
  SignalAll()
}

/* DBImpl::WaitDurable: a sync commit waits for synced_lsn, leading a group when nobody does. */
inline WaitDurable(me, seq) {
  do
  :: synced_lsn >= seq -> break
  :: else ->
     if
     :: !leader_active -> LeadGroup(me, true)
     :: else ->
#ifdef PLANT_lost_wakeup
        /* The bug: log_mu_ dropped between the check and the wait (to write the info log). */
        Unlock();
        Lock(me);
#endif
        Wait(me)
     fi
  od
}

/* DBImpl::WaitPublished: returns once the commit is visible; leads a group for an earlier sync
 * commit when no leader is active. */
inline WaitPublished(me, seq) {
  do
  :: published_sequence >= seq -> break
  :: else ->
     if
     :: !leader_active -> LeadGroup(me, true)
     :: else -> Wait(me)
     fi
  od
}

/* DBImpl::CommitCounted: under log_mu_ take the sequence number, build latest_, AppendRecord, then
 * wait for durability (sync) or publish (no-sync), and return once visible. */
inline CommitCounted(me, ops, sync) {
  Lock(me);
  atomic {
    last_sequence++;
    seq = last_sequence;
    ops_of[seq] = ops;
    is_sync[seq] = sync;
    latest_bits = latest_bits | ops;
    AppendRecord(seq, ops)
  };
  if
  :: sync -> WaitDurable(me, seq)
  :: else -> PublishReady()
  fi;
  WaitPublished(me, seq);
  acked[seq] = true;
  DurableCheckpoint(ck);
  /* What recovery promises: a sync commit that returned OK survives any power cut from now on. */
  Check(acked_sync_commit_is_durable, !sync || Survives(seq));
  Unlock()
}

/* A writer thread: DBImpl::Write of one batch (committer 1: over two column families, bits 1 and
 * 2; the others one operation each), sync or not. */
proctype Committer(byte me) {
  byte seq, target, from, newest, ck, i, j, ops, parts;
  bool sync;
  atomic {
    if
    :: sync = true
    :: sync = false
    fi;
    ops = (me == 1 -> 3 : 1 << me);
    parts = 1;
#ifdef PLANT_split_batch
    /* The bug: DBImpl::WriteBatchHeld commits one column family at a time. */
    if
    :: me == 1 -> ops = 1; parts = 2
    :: else -> skip
    fi;
#endif
  };
  {
#ifdef PLANT_split_batch
    do
    :: parts > 0 ->
       CommitCounted(me, ops, sync);
       atomic { ops = ops << 1; parts-- }
    :: else -> break
    od;
#else
    CommitCounted(me, ops, sync);
#endif
    committers_done++
  } unless { crashed }
}

/* ---- Checkpoint protocol (DBImpl::CheckpointOnce) ----------------------------------------- */

/* Pager::Sync: every page and header write so far reaches the disk. */
inline PagerSync() {
  d_step {
    j = 0;
    do
    :: j < NCK -> pages_durable[j] = pages_durable[j] || pages_written[j]; j++
    :: else -> break
    od;
    slot_durable[0] = slot_written[0];
    slot_durable[1] = slot_written[1]
  }
}

/* DBImpl::LogHead: the segment holding record `covered` + 1, or the current one. */
inline LogHead(covered, head) {
  head = segment;
  j = NSEG;
  do
  :: j >= 1 ->
     if
     :: !segment_retired[j] && segment_last_lsn[j] > covered -> head = j
     :: else -> skip
     fi;
     j--
  :: else -> break
  od
}

/* DBImpl::RetireCoveredSegments: segments whose records are all <= the checkpoint's sequence and
 * written, in order, never the current one nor any from the log head on (I13, I21). */
inline RetireCoveredSegments(sequence, head) {
  Lock(9);
  atomic {
    covered = (sequence < written_lsn -> sequence : written_lsn);
    DurableCheckpoint(ck);
    j = 1;
    do
    :: j < NSEG && segment_retired[j] -> j++
    :: j < NSEG && !segment_retired[j] && j != segment && j < head &&
       segment_last_lsn[j] <= covered ->
       /* I13: a durable checkpoint covers every record of the segment before it is retired */
       Check(I13_retired_only_when_covered, Covered(segment_last_lsn[j]));
       segment_retired[j] = true;
       j++
    :: else -> break
    od
  };
  Unlock()
}

/* DBImpl::WriteHeader: the other slot (I2), sync, read back (I11). The device may lose the write
 * (a lost or misdirected write: the slot keeps what it held); the read-back then fails the
 * checkpoint, which makes the database refuse writes (I8): ok is false. */
inline WriteHeader(n, ok) {
#ifdef PLANT_header_in_place
  slot = 0;
#else
  slot = n % 2;
#endif
  if
  :: slot_written[slot] = n + 1
  :: skip /* the write is lost */
  fi;
#ifndef PLANT_ack_before_header_sync
  PagerSync();
#endif
#ifdef NO_HEADER_READ_BACK
  ok = true
#else
  ok = (slot_written[slot] == n + 1)
#endif
}

proctype Checkpointer() {
  byte target, bits, covered, head, n, ck, newest, i, j, round, slot;
  bool ok;
  round = 0;
  {
    do
    :: round < NCHECKPOINTS ->
       round++;
#ifdef PLANT_checkpoint_reads_version_unlocked
       /* The bug: latest_ is read before taking log_mu_; the sequence frees and the log head go
        * by is read under it, later. */
       atomic { target = last_sequence; bits = latest_bits };
#endif
       Lock(9);
       atomic {
#ifdef PLANT_checkpoint_reads_version_unlocked
         covered = last_sequence;
#else
         target = last_sequence;
         bits = latest_bits;
         covered = target;
#endif
         LogHead(covered, head);
         /* I5 (abstracted): the frees of commits after the version would free pages it uses */
         Check(I5_frees_go_with_the_version, covered <= target);
         frees_taken = covered
       };
       if
       :: target == checkpoint_sequence -> Unlock() /* nothing new */
       :: else ->
          Unlock();
          n = checkpoint_count + 1;
          ck_sequence[n] = target;
          ck_bits[n] = bits;
          ck_head[n] = head;
          pages_written[n] = true; /* Pager::WritePages */
#ifndef PLANT_skip_page_sync
          PagerSync();
#endif
#ifdef PLANT_recycle_before_checkpoint
          RetireCoveredSegments(target, head);
#endif
          WriteHeader(n, ok);
          if
          :: ok ->
             /* DBImpl::FinishCheckpoint (I14: only now is the checkpoint's work published) */
             Lock(9);
             checkpoint_sequence = target;
             checkpoint_count = n;
             Unlock();
             RetireCoveredSegments(target, head)
          :: else -> break /* SetBackgroundError: no more checkpoints (I8) */
          fi
       fi
    :: else -> break
    od
  } unless { crashed }
}

/* ---- Power loss and recovery ----------------------------------------------------------------- */

/* A power cut: every write not synced is lost or reaches the disk; a header slot may be torn. */
inline LoseUnsynced() {
  j = 1;
  do
  :: j <= NREC ->
     if
     :: rec_written[j] && !rec_durable[j] -> /* written back before the cut, or lost */
        if
        :: rec_durable[j] = true
        :: rec_written[j] = false
        fi
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
  j = 0;
  do
  :: j < NCK ->
     if
     :: pages_written[j] && !pages_durable[j] ->
        if
        :: pages_durable[j] = true
        :: pages_written[j] = false
        fi
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
  j = 0;
  do
  :: j < 2 ->
     if
     :: slot_written[j] != slot_durable[j] ->
        if
        :: slot_durable[j] = slot_written[j]
        :: skip
        :: slot_durable[j] = 0 /* torn: fails its checksum */
        fi;
        slot_written[j] = slot_durable[j]
     :: else -> skip
     fi;
     j++
  :: else -> break
  od
}

/* DBImpl::ReplayLog after LoadCheckpoint of checkpoint `ck`: records C+1, C+2, ... from the log
 * head on, up to the first one missing. */
inline ReplayLog(ck, bits, last) {
  bits = ck_bits[ck];
  e = ck_sequence[ck] + 1;
  do
  :: e <= NREC && rec_durable[e] && !segment_retired[seg_of[e]] && seg_of[e] >= ck_head[ck] ->
     bits = bits | rec_bits[e];
     e++
  :: else -> break
  od;
  last = e - 1
}

/* DBImpl::Open from the disk alone: ReadNewestHeader (I12), LoadCheckpoint (I2), the log head
 * (I21), ReplayLog; then what recovery promises. */
inline OpenAndCheck(ck, bits, last) {
  d_step { /* deterministic: one step */
    DurableCheckpoint(ck);
    /* I2, I12: some valid header slot names a checkpoint whose pages are durable */
    Check(I2_I12_durable_header_and_pages, ck != NONE);
    /* I21: the header's log head exists */
    Check(I21_log_head_exists, !segment_retired[ck_head[ck]]);
    ReplayLog(ck, bits, last);
    /* the recovered state holds no commit that was never made (a stale record, I18) */
    Check(recovered_state_is_a_prefix, last <= history_end);
    expect = 0;
    i = 1;
    do
    :: i <= NREC ->
       /* no acknowledged durable commit is lost */
       Check(no_acked_commit_lost, !(acked[i] && is_sync[i]) || i <= last);
       if
       :: i <= last -> expect = expect | ops_of[i]
       :: else -> skip
       fi;
       i++
    :: else -> break
    od;
    /* the recovered state is the state after a prefix of the commit order */
    Check(recovered_state_is_a_prefix, bits == expect);
    /* a batch is atomic: both of its column families or neither */
    Check(batch_is_atomic, (bits & 3) == 0 || (bits & 3) == 3)
  }
}

/* A second power cut during recovery's own work, or none there. */
#define MaybeCut() if :: goto cut :: skip fi

/* DBImpl::Open after the power cut (SyncLogSegments, I10: after a power cut nothing unsynced is
 * left to build on), then DBImpl::Recover's I18 step, one new sync commit, a second power cut at
 * any of those steps, and a second open. */
inline Recover() {
    history_end = last_sequence;
    OpenAndCheck(ck, bits, last);
    /* A durable record past the end: the replay stopped at a torn tail. */
    d_step {
    torn = false;
    i = last + 1;
    do
    :: i <= NREC -> torn = torn || (rec_durable[i] && !segment_retired[seg_of[i]]); i++
    :: else -> break
    od;
    /* The commits after `last` are gone from the history: the next commit reuses their
     * sequence numbers. */
    history_end = last;
    i = last + 1;
    do
    :: i <= NREC -> acked[i] = false; ops_of[i] = 0; is_sync[i] = false; i++
    :: else -> break
    od
    };
  if
  :: last > ck_sequence[ck] || torn ->
#ifndef NO_RECOVERY_CHECKPOINT
     /* I18: checkpoint everything replayed, naming a new segment after the old ones as the log
      * head; remove the old segments; only then the first new record. */
     n = ck + 1;
     ck_sequence[n] = last;
     ck_bits[n] = bits;
     ck_head[n] = segment + 1;
     pages_durable[n] = false;
     pages_written[n] = true;
     MaybeCut();
     PagerSync();
     MaybeCut();
     slot_written[n % 2] = n + 1;
     MaybeCut();
     PagerSync();
     MaybeCut();
     /* LogFiles::Remove(old_segments) */
     i = 1;
     do
     :: i <= segment -> segment_retired[i] = true; i++
     :: else -> break
     od;
     segment = segment + 1;
     MaybeCut();
#endif
     skip
  :: else -> skip /* a log that ended cleanly with nothing replayed is continued in place */
  fi;
  /* One new sync commit: LSN last + 1, written where that LSN goes (in place: where the first
   * missing record was), synced, acknowledged. */
  seq = last + 1;
  ops_of[seq] = 128;
  is_sync[seq] = true;
  if
  :: seg_of[seq] == 0 || segment_retired[seg_of[seq]] -> seg_of[seq] = segment
  :: else -> skip
  fi;
  rec_bits[seq] = 128;
  rec_durable[seq] = false;
  rec_written[seq] = true;
  history_end = seq;
  MaybeCut();
  rec_durable[seq] = true;
  acked[seq] = true;
cut: /* one LoseUnsynced in the code for every cut point, so pan.c stays small to compile */
  LoseUnsynced();
  OpenAndCheck(ck, bits, last)
}

/* A power cut at any step of the writers and the checkpointer, or none; then recovery. One
 * atomic sequence: the threads that were cut off do nothing more (they leave through their
 * `unless { crashed }`), and its intermediate states need not be stored. */
proctype PowerLoss() {
  byte ck, bits, last, e, i, j, expect, n, seq;
  bool torn;
  if
  :: atomic { !crashed; LoseUnsynced(); crashed = true; Recover() }
  :: skip /* no power cut */
  fi
}

init {
  byte k;
  atomic {
    /* A new database: checkpoint 0 (empty) in slot 0, durable, naming segment 1 as log head. */
    ck_sequence[0] = 0;
    ck_head[0] = 1;
    pages_written[0] = true;
    pages_durable[0] = true;
    slot_written[0] = 1;
    slot_durable[0] = 1;
    k = 1;
    do
    :: k <= NCOMMITTERS -> run Committer(k); k++
    :: else -> break
    od;
    run Checkpointer();
    run PowerLoss()
  }
}
