/*
 * A Promela model of Manifold's commit, group-commit, publication, write-buffer, checkpoint and
 * recovery protocols (docs/design.md, "Commit protocol", "Checkpoint protocol", "Write buffer",
 * "Recovery"), checked by spin. model/spin/README.md says what is modelled and what is abstracted
 * away.
 *
 * Names: every inline below is named after the engine function it models (engine/db/db_impl.cc,
 * engine/db/db_impl_merge.cc, engine/db/log_files.cc, engine/db/pager.cc, engine/db/merged_view.cc),
 * and every property is a Check(name, condition)
 * whose name starts with the invariant of docs/design.md it checks. Each planted bug of
 * engine/util/fault_point.h that concerns these protocols has a PLANT_<name> switch here with the
 * simulator's short name (`sim --plant-bug <name>`); model/spin/spin_test.sh requires spin to
 * find each, as a violation of the property expected of it.
 *
 * Bounds (cpp macros, set by the test): NCOMMITTERS writer threads, each making one commit (the
 * first one a batch over two column families), NCHECKPOINTS background checkpoints, SEG_RECS
 * records per log segment; one power cut at any step (or none), then recovery, recovery's own
 * checkpoint (I18) and one new commit with a second power cut at any of their steps, and a second
 * recovery. A read of the visible version is checked after every step that changes what a reader
 * would see (ReadVisible).
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

/* Key K, which committer 1 puts (value 1), committer 2 deletes and committer 3 puts (value 3);
 * checkpoint 0's tree already holds it (value K_INIT), so a lost tombstone brings that back. */
#define K_ABSENT 0
#define K_DEL 8 /* the operation: a tombstone */
#define K_INIT 9

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
hidden byte I33_immutable_never_written;
hidden byte I34_released_only_when_durable;
hidden byte I35_read_sees_no_later_commit;
hidden byte I32_read_sees_every_published_commit;
hidden byte I36_tombstone_deletes_older_value;
hidden byte I36_merge_applies_newest_entry;

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
byte kop_of[NREC + 1];      /* its operation on key K: 0 none, K_DEL, or the value put */
byte rec_k[NREC + 1];       /* what its log record carries of it */

/* ---- Write buffers (BufferList; one list stands for every column family's: FreezeBuffers and
 * InstallCheckpoint treat them all in the same step) ------------------------------------------- */
byte buffer_gen = 1;    /* the active buffer's number (buffers are numbered in creation order) */
byte frozen_upto = 0;   /* the highest sequence number in an immutable buffer */
byte released_upto = 0; /* buffers holding sequence numbers up to this left the list's stack */
byte tree_ck = 0;       /* the checkpoint whose merged trees are the list's root */
byte buf_of[NREC + 1];  /* the buffer commit s inserted into (I32) */
/* Version s (the one commit s built): its stack holds the buffers with sequence numbers above
 * v_lo[s] up to buf_of[s], over the trees of checkpoint v_root[s] (version 0: none, over 0). */
byte v_root[NREC + 1];
byte v_lo[NREC + 1];

/* ---- Log segments (LogFiles) ----------------------------------------------------------------- */
byte segment = 1; /* segment_: where the next record goes */
byte segment_records = 0;
byte segment_last_lsn[NSEG + 1]; /* segment_last_lsn_ (a roll record counts as the last write) */
bool segment_retired[NSEG + 1];  /* LogFiles::Retire: recycled or removed, its records gone */

/* ---- The data file (Pager): checkpoint n's pages and the two header slots -------------------- */
byte ck_sequence[NCK];
byte ck_bits[NCK];
byte ck_head[NCK]; /* log head (I21) */
byte ck_k[NCK];    /* key K in its trees */
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

/* Applies operation `op` on key K to `val`. */
inline ApplyK(val, op) {
  if
  :: op == K_DEL -> val = K_ABSENT
  :: op != 0 && op != K_DEL -> val = op
  :: else -> skip
  fi
}

/* The contents after commits 1..upto in commit order (the history's prefix): the bits of their
 * operations, and key K. */
inline ExpectedState(upto, eb, ek) {
  eb = 0;
  ek = K_INIT;
  j = 1;
  do
  :: j <= upto -> eb = eb | ops_of[j]; ApplyK(ek, kop_of[j]); j++
  :: else -> break
  od
}

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
inline AppendRecord(seq, ops, kop) {
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
  rec_k[seq] = 0;
#else
  rec_bits[seq] = ops;
  rec_k[seq] = kop;
#endif
}

/* ---- Readers (DB::Get through MergedGet, engine/db/merged_view.cc) -------------------------- */

/* Scratch of ReadVisible, used only inside one atomic step (so not part of the state). */
hidden byte r_v, r_hi, r_s, r_bits, r_k, r_eb, r_ek, r_j;
hidden byte r_seen;

/* A read by a reader arriving now: it takes the visible version (current_, one step under
 * state_mu_) and reads everything through it at its sequence number (I35): each buffer of its
 * stack newest first, the first entry of a key at or below that number answering, else the
 * tree. What it sees must be exactly the commits 1..v of the version.
 *
 * A read depends on the state alone (the visible version, the stacks and trees versions name,
 * the buffers' entries), and every step that changes any of that ends with ReadVisible: a
 * commit's insert (CommitCounted), publication (PublishReady), the swap (FreezeBuffers) and the
 * install (InstallCheckpoint), each one atomic step. So this checks the read of a reader arriving
 * at any step of the writers and the checkpointer, as a reader process reading forever would,
 * without its cost in states, and without masking a deadlock of the others (an always-enabled
 * reader would). A reader that took a version earlier keeps reading what it read then: nothing a
 * version names is ever changed (buffers are shared pointers, pages are pinned, I37). */
inline ReadVisible() {
  d_step {
    r_v = current_sequence;
    r_hi = r_v;
  #ifdef PLANT_buffer_read_ignores_sequence
    /* The bug: an entry in the buffer counts as committed, whatever its sequence number. */
    r_hi = last_sequence;
  #endif
    r_bits = ck_bits[v_root[r_v]];
    r_k = ck_k[v_root[r_v]];
    r_seen = 0;
    r_s = r_hi;
    do
    :: r_s > v_lo[r_v] ->
       if
       :: buf_of[r_s] > buf_of[r_v] -> skip /* a buffer created after the version: not in its stack */
  #ifdef PLANT_read_misses_immutable_buffer
       /* The bug: only the newest buffer of the stack is consulted. */
       :: buf_of[r_s] < buf_of[r_v] -> skip
  #endif
       :: else ->
          r_bits = r_bits | ops_of[r_s];
          if
          :: r_seen == 0 && kop_of[r_s] != 0 -> ApplyK(r_k, kop_of[r_s]); r_seen = 1
          :: else -> skip
          fi
       fi;
       r_s--
    :: else -> break
    od;
    r_eb = 0;
    r_ek = K_INIT;
    r_j = 1;
    do
    :: r_j <= r_v -> r_eb = r_eb | ops_of[r_j]; ApplyK(r_ek, kop_of[r_j]); r_j++
    :: else -> break
    od;
    /* I35: a reader sees no commit above its version's sequence number (nor, I19, a sync commit
     * before it is durable: the version is published only then) */
    Check(I35_read_sees_no_later_commit, (r_bits & ~r_eb) == 0);
    /* I32, I34: a read never misses a commit of its version, buffered or merged */
    Check(I32_read_sees_every_published_commit, (r_eb & ~r_bits) == 0 && r_k == r_ek)
  }
}

/* ---- Commit protocol, continued ------------------------------------------------------------ */

/* DBImpl::InsertIntoBuffers: the commit's entries go into the active buffer at its sequence
 * number (I32), under log_mu_ and before its record is appended; its version names the list's
 * stack and root as they are now. */
inline InsertIntoBuffers(seq) {
  /* I33: an immutable buffer is never written again (newer buffers hold higher sequences, I32) */
  Check(I33_immutable_never_written, seq > frozen_upto);
  buf_of[seq] = buffer_gen;
  v_root[seq] = tree_ck;
  v_lo[seq] = released_upto
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
     atomic { current_sequence = newest; ReadVisible() };
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
inline CommitCounted(me, ops, kop, sync) {
  Lock(me);
  atomic {
    last_sequence++;
    seq = last_sequence;
    ops_of[seq] = ops;
    kop_of[seq] = kop;
    is_sync[seq] = sync;
    latest_bits = latest_bits | ops;
    InsertIntoBuffers(seq);
    AppendRecord(seq, ops, kop);
    ReadVisible()
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
 * 2; the others one operation each), sync or not; each also puts or deletes key K. */
proctype Committer(byte me) {
  byte seq, target, from, newest, ck, i, j, ops, kop, parts;
  bool sync;
  atomic {
    if
    :: sync = true
    :: sync = false
    fi;
    ops = (me == 1 -> 3 : 1 << me);
    kop = (me == 2 -> K_DEL : me);
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
       CommitCounted(me, ops, kop, sync);
       atomic { ops = ops << 1; kop = 0; parts-- }
    :: else -> break
    od;
#else
    CommitCounted(me, ops, kop, sync);
#endif
    committers_done++
  } unless { crashed }
}

/* ---- Checkpoint protocol (DBImpl::CheckpointOnce) ----------------------------------------- */

/* Releases the immutable buffers holding sequence numbers up to `upto` from the readers' view
 * (BufferList::InstallMerged; the planted bug's HideImmutables). */
inline ReleaseBuffers(upto) {
  DurableCheckpoint(ck);
  /* I34: buffers leave the readers' view only once the checkpoint that merged them is durable */
  Check(I34_released_only_when_durable, Covered(upto));
  released_upto = upto
}

/* DBImpl::FreezeBuffers, under log_mu_ with the checkpoint's version taken: the active buffer
 * becomes immutable (I33), so every entry up to the version's sequence is in an immutable buffer
 * this checkpoint merges, and later commits start a new one. */
inline FreezeBuffers() {
  if
  :: last_sequence > frozen_upto -> /* an active buffer exists */
     frozen_upto = last_sequence;
     buffer_gen++
  :: else -> skip
  fi;
  frozen = frozen_upto;
#ifdef PLANT_buffer_released_before_durable
  /* The bug: readers stop seeing the buffers once they are handed to the merge. */
  ReleaseBuffers(frozen_upto);
#endif
  ReadVisible()
}

/* DBImpl::MergeBuffers (without log_mu_): over the trees of the installed checkpoint, for key K
 * the newest entry across the immutable buffers (sequence numbers up to `upto`, newest first): a
 * put replaces, a tombstone deletes (I36); the operations' bits are added. */
inline MergeBuffers(upto, mbits, mk) {
  d_step {
    mbits = ck_bits[tree_ck];
    mk = ck_k[tree_ck];
    chosen = 0;
    j = upto;
    do
    :: j > ck_sequence[tree_ck] ->
       mbits = mbits | ops_of[j];
       if
#ifdef PLANT_merge_loses_newest_version
       /* The bug: every older entry of the key overrides the one chosen, so the oldest wins. */
       :: kop_of[j] != 0 -> chosen = kop_of[j]
#else
       :: chosen == 0 && kop_of[j] != 0 -> chosen = kop_of[j]
#endif
       :: else -> skip
       fi;
       j--
    :: else -> break
    od;
#ifdef PLANT_merge_drops_tombstone
    /* The bug: a tombstone is not applied to the tree. */
    if
    :: chosen == K_DEL -> chosen = 0
    :: else -> skip
    fi;
#endif
    ApplyK(mk, chosen);
    ExpectedState(upto, eb, ek);
    /* I36: a tombstone deletes the tree's older value */
    Check(I36_tombstone_deletes_older_value,
          !(ek == K_ABSENT && mk != K_ABSENT && mk == ck_k[tree_ck]));
    /* I36: the merged trees hold exactly the commits 1..upto, each key's newest entry */
    Check(I36_merge_applies_newest_entry, mk == ek && mbits == eb);
    chosen = 0; eb = 0; ek = 0
  }
}

/* DBImpl::InstallCheckpoint, inside FinishCheckpoint under log_mu_ (and state_mu_ for current_):
 * the merged buffers go (InstallMerged, I34), the merged trees become the list's root, and the
 * newest version, the unpublished ones and the visible one, if at or above the checkpoint's
 * sequence, are rebuilt over the new trees without the merged buffers (I37; a version below it
 * keeps its own, or it would see later commits). */
inline InstallCheckpoint(n, target) {
  ReleaseBuffers(target);
  tree_ck = n;
  j = current_sequence;
  do
  :: j <= last_sequence ->
     if
#ifdef NO_INSTALL_SEQUENCE_CHECK
     :: true -> v_root[j] = n; v_lo[j] = target /* left out: every version moves */
#else
     :: j >= target -> v_root[j] = n; v_lo[j] = target
#endif
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
  ReadVisible()
}

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
  byte target, bits, covered, head, n, ck, newest, i, j, round, slot, frozen, kv, chosen, eb, ek;
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
         frees_taken = covered;
         if
         :: target != checkpoint_sequence -> FreezeBuffers()
         :: else -> skip
         fi
       };
       if
       :: target == checkpoint_sequence -> Unlock() /* nothing new */
       :: else ->
          Unlock();
          /* The checkpoint's trees are what the merge makes of the installed ones and the frozen
           * buffers, not the version's bits taken above: they must hold exactly the commits up to
           * its sequence (I36). */
          MergeBuffers(frozen, bits, kv);
#if NCHECKPOINTS > 1
          if
          :: round < NCHECKPOINTS ->
             /* NoSpace in MergeBuffers or growing the file: nothing was written, the allocator
              * is rolled back, the frozen buffers stay immutable and readable, and the next
              * attempt merges them with newer ones */
             goto next_round
          :: true -> skip
          fi;
#endif
          n = checkpoint_count + 1;
          ck_sequence[n] = target;
          ck_bits[n] = bits;
          ck_k[n] = kv;
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
             atomic {
               checkpoint_sequence = target;
               checkpoint_count = n;
               InstallCheckpoint(n, target);
               Unlock()
             };
             RetireCoveredSegments(target, head)
          :: else -> break /* SetBackgroundError: no more checkpoints (I8) */
          fi
       fi
#if NCHECKPOINTS > 1
       ;
next_round:
       skip
#endif
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
 * head on, up to the first one missing, each inserted into the buffers over the checkpoint's
 * trees (so key K is the newest record's operation on it, or the trees'). */
inline ReplayLog(ck, bits, k, last) {
  bits = ck_bits[ck];
  k = ck_k[ck];
  e = ck_sequence[ck] + 1;
  do
  :: e <= NREC && rec_durable[e] && !segment_retired[seg_of[e]] && seg_of[e] >= ck_head[ck] ->
     bits = bits | rec_bits[e];
     ApplyK(k, rec_k[e]);
     e++
  :: else -> break
  od;
  last = e - 1
}

/* DBImpl::Open from the disk alone: ReadNewestHeader (I12), LoadCheckpoint (I2), the log head
 * (I21), ReplayLog; then what recovery promises. */
inline OpenAndCheck(ck, bits, k, last) {
  d_step { /* deterministic: one step */
    DurableCheckpoint(ck);
    /* I2, I12: some valid header slot names a checkpoint whose pages are durable */
    Check(I2_I12_durable_header_and_pages, ck != NONE);
    /* I21: the header's log head exists */
    Check(I21_log_head_exists, !segment_retired[ck_head[ck]]);
    ReplayLog(ck, bits, k, last);
    /* the recovered state holds no commit that was never made (a stale record, I18) */
    Check(recovered_state_is_a_prefix, last <= history_end);
    expect = 0;
    expect_k = K_INIT;
    i = 1;
    do
    :: i <= NREC ->
       /* no acknowledged durable commit is lost */
       Check(no_acked_commit_lost, !(acked[i] && is_sync[i]) || i <= last);
       if
       :: i <= last -> expect = expect | ops_of[i]; ApplyK(expect_k, kop_of[i])
       :: else -> skip
       fi;
       i++
    :: else -> break
    od;
    /* the recovered state is the state after a prefix of the commit order */
    Check(recovered_state_is_a_prefix, bits == expect && k == expect_k);
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
    OpenAndCheck(ck, bits, k, last);
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
    :: i <= NREC -> acked[i] = false; ops_of[i] = 0; kop_of[i] = 0; is_sync[i] = false; i++
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
     ck_k[n] = k;
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
  kop_of[seq] = 0;
  is_sync[seq] = true;
  if
  :: seg_of[seq] == 0 || segment_retired[seg_of[seq]] -> seg_of[seq] = segment
  :: else -> skip
  fi;
  rec_bits[seq] = 128;
  rec_k[seq] = 0;
  rec_durable[seq] = false;
  rec_written[seq] = true;
  history_end = seq;
  MaybeCut();
  rec_durable[seq] = true;
  acked[seq] = true;
cut: /* one LoseUnsynced in the code for every cut point, so pan.c stays small to compile */
  LoseUnsynced();
  OpenAndCheck(ck, bits, k, last)
}

/* A power cut at any step of the writers and the checkpointer, or none; then recovery. One
 * atomic sequence: the threads that were cut off do nothing more (they leave through their
 * `unless { crashed }`), and its intermediate states need not be stored. */
proctype PowerLoss() {
  byte ck, bits, k, last, e, i, j, expect, expect_k, n, seq;
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
    ck_k[0] = K_INIT; /* an older value of key K, from before the history */
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
