// Named fault points (FoundationDB's BUGGIFY idea, through libfiu). In simulator and test builds
// (Bazel --define=manifold_fault_points=1, the project's default outside --config=opt) each
// MANIFOLD_FAULT("name") asks libfiu whether to fail here; the simulator decides from its seed
// (libfiu's external-callback mode). In other builds it is the constant false and costs nothing.
//
// Every point is listed in kFaultPoints so the simulator can enable them all.
#ifndef MANIFOLD_UTIL_FAULT_POINT_H_
#define MANIFOLD_UTIL_FAULT_POINT_H_

#include <array>
#include <string_view>

// libfiu's fiu_fail is the switch of both fault points and planted bugs (below), so it is
// compiled in when either is.
#if defined(MANIFOLD_FAULT_POINTS) || defined(MANIFOLD_PLANTED_BUGS)
#define MANIFOLD_USES_FIU 1
#ifndef FIU_ENABLE
#define FIU_ENABLE 1
#endif
#include <fiu.h>
#endif

#if defined(MANIFOLD_FAULT_POINTS)
#define MANIFOLD_FAULT(name) (fiu_fail(name) != 0)
#else
#define MANIFOLD_FAULT(name) false
#endif

// A planted bug's switch (the planted_bug names below). Compiled in (MANIFOLD_PLANTED_BUGS) only
// with --define=manifold_planted_bugs=1 on the scheduled engine (`--config=sim`) or in the
// test-only planted-bugs variant (//engine:planted_bugs_variant, set by sim/defs.bzl's
// `planted_bugs = True` targets); everywhere else, production, `-c opt` and benchmark builds
// included, it is the constant false, so the compiler drops every planted-bug branch and its name.
#if defined(MANIFOLD_PLANTED_BUGS)
#define MANIFOLD_PLANTED_BUG(name) (fiu_fail(name) != 0)
#else
#define MANIFOLD_PLANTED_BUG(name) false
#endif

namespace manifold {

// True when this build evaluates fault points.
inline constexpr bool kFaultPointsCompiledIn =
#if defined(MANIFOLD_FAULT_POINTS)
    true;
#else
    false;
#endif

// True when this build carries the planted bugs (MANIFOLD_PLANTED_BUG can be switched on).
inline constexpr bool kPlantedBugsCompiledIn =
#if defined(MANIFOLD_PLANTED_BUGS)
    true;
#else
    false;
#endif

namespace fault_point {
// A read of data-file pages returns fewer bytes than asked (as if the file were truncated).
inline constexpr char kPagerShortRead[] = "manifold/pager/short_read";
// Page allocation fails (as if the file could not grow): the commit fails before writing.
inline constexpr char kAllocatorNoSpace[] = "manifold/allocator/no_space";
// Growing the data file (preallocation) fails.
inline constexpr char kPagerReserveFail[] = "manifold/pager/reserve_fail";
// Creating a database: the rename of the temporary data file fails.
inline constexpr char kCreateRenameFail[] = "manifold/create/rename_fail";
// A checkpoint fails between syncing its pages and writing its header slot.
inline constexpr char kCommitBeforeHeader[] = "manifold/commit/before_header";
// Reading a header slot at open fails as an I/O error.
inline constexpr char kOpenHeaderReadFail[] = "manifold/open/header_read_fail";
}  // namespace fault_point

inline constexpr std::array<std::string_view, 6> kFaultPoints = {
    fault_point::kPagerShortRead,     fault_point::kAllocatorNoSpace,
    fault_point::kPagerReserveFail,   fault_point::kCreateRenameFail,
    fault_point::kCommitBeforeHeader, fault_point::kOpenHeaderReadFail,
};

// Planted bugs: switches that make the engine misbehave the way real storage engines have, so the
// simulator's own tests can prove it catches each bug class. Never enabled by the simulator's
// random fault points; only by `sim --plant-bug` and tests/planted_bugs_test.cc.
namespace planted_bug {
// A checkpoint does not sync its pages before writing the header slot.
inline constexpr char kSkipPageSync[] = "manifold/bug/skip_page_sync";
// No directory is ever synced (creation and open).
inline constexpr char kSkipDirSync[] = "manifold/bug/skip_dir_sync";
// A checkpoint counts as durable (and recycles the log) before its header slot is synced.
inline constexpr char kAckBeforeHeaderSync[] = "manifold/bug/ack_before_header_sync";
// Page checksums are not verified on read.
inline constexpr char kSkipChecksum[] = "manifold/bug/skip_checksum";
// Freed pages are reused even while a snapshot can still read them.
inline constexpr char kReusePinnedPages[] = "manifold/bug/reuse_pinned_pages";
// Every checkpoint overwrites header slot 0 in place instead of alternating slots.
inline constexpr char kHeaderInPlace[] = "manifold/bug/header_in_place";
// A batch over several column families commits one column family at a time.
inline constexpr char kSplitBatch[] = "manifold/bug/split_batch";
// The group-commit leader marks synced every record appended before its sync returned, including
// records appended while the sync ran (which that sync did not cover).
inline constexpr char kSyncCoversLateRecords[] = "manifold/bug/sync_covers_late_records";
// A checkpoint retires the log segments it covers (hands them to the reuse pool) before its header
// slot is durable: a writer rolling over meanwhile renames one to its new segment, and a crash
// before the header leaves the old header naming a log head that is gone.
inline constexpr char kRecycleBeforeCheckpoint[] = "manifold/bug/recycle_before_checkpoint";
// Log records carry no operations (as if only the new roots were logged while the pages they
// point to are not yet durable): replay cannot rebuild the commit.
inline constexpr char kLogPagesNotContents[] = "manifold/bug/log_pages_not_contents";
// A log group undone for NoSpace (I26) keeps its sequence numbers: the next commit leaves a hole
// in the log's LSN chain.
inline constexpr char kRollbackKeepsSequence[] = "manifold/bug/rollback_keeps_sequence";
// Recovery ignores roll records and the log head in the checkpoint header (I20, I21): a segment
// that goes missing is taken for the end of the log.
inline constexpr char kSkipRollRecordCheck[] = "manifold/bug/skip_roll_record_check";
// Records are written into a segment's new preallocation before its length is durable (I22): a
// power cut can shorten the file below records that were synced.
inline constexpr char kPreallocateWithoutSync[] = "manifold/bug/preallocate_without_sync";
// A checkpoint asked for with DB::Checkpoint returns once its header is durable and leaves
// retiring the log it covers to the next automatic checkpoint (to keep the caller's wait short):
// with automatic checkpoints rare or off, the log is never retired and grows without end.
inline constexpr char kForcedCheckpointKeepsLog[] = "manifold/bug/forced_checkpoint_keeps_log";
// The in-page binary search of an internal page stops at a separator equal to the key and takes
// the child left of it (I41: a key equal to a separator lives right of it): reads of such keys
// from page images miss them.
inline constexpr char kPageSearchEqualGoesLeft[] = "manifold/bug/page_search_equal_goes_left";
// A checkpoint's merge drops a tombstone (I36): the older value of the key in the tree comes back.
inline constexpr char kMergeDropsTombstone[] = "manifold/bug/merge_drops_tombstone";
// A read of a buffered entry ignores the reader's sequence number (I35): a snapshot sees later
// commits, and a reader sees a commit whose record is not yet durable.
inline constexpr char kBufferReadIgnoresSequence[] = "manifold/bug/buffer_read_ignores_sequence";
// A checkpoint releases the immutable buffers it merges when it freezes them, before the merged
// tree is durable (I34): readers miss their entries meanwhile, and for good if the checkpoint
// fails.
inline constexpr char kBufferReleasedBeforeDurable[] =
    "manifold/bug/buffer_released_before_durable";
// A read consults only the newest buffer of its column family (I32): after a swap it misses the
// immutable buffers.
inline constexpr char kReadMissesImmutableBuffer[] = "manifold/bug/read_misses_immutable_buffer";
// A checkpoint's merge keeps the oldest of a key's buffered versions instead of the newest (I36).
inline constexpr char kMergeLosesNewestVersion[] = "manifold/bug/merge_loses_newest_version";
// A checkpoint's flush that packs a run of dirty leaves (I56) gives each new leaf the last key of
// the leaf left of it as separator, not its own first key: a search for that key goes right of
// the separator (I41) and misses it.
inline constexpr char kPackSeparatorFromLeft[] = "manifold/bug/pack_separator_from_left";
// A merge that writes its output in chunks (I49) frees the pages each chunk's flush replaced for
// reuse at once, as if the chunk were a checkpoint of its own: the next chunk overwrites pages of
// the durable tree (and of snapshots' trees) before the header names the new one (I37, I4).
inline constexpr char kChunkReusesReplacedPages[] = "manifold/bug/chunk_reuses_replaced_pages";
// Concurrency bugs, caught by the scheduler's harnesses (sim/sched/planted_concurrency_test.cc).
// Publication makes every ready commit visible, also past an earlier sync commit still waiting
// for its sync (I19): readers see sequences out of order, and the earlier one then hides the later.
inline constexpr char kPublicationOutOfOrder[] = "manifold/bug/publication_out_of_order";
// An iterator keeps its tree root but not its version, so a checkpoint frees and reuses pages the
// iterator still reads once newer commits are visible (I4).
inline constexpr char kCheckpointFreesReaderPages[] = "manifold/bug/checkpoint_frees_reader_pages";
// The group-commit leader releases its followers once the group is written, before its sync
// returns (I17): a power cut during the sync loses acknowledged commits.
inline constexpr char kFollowerReleasedBeforeSync[] = "manifold/bug/follower_released_before_sync";
// A group-commit follower drops the log mutex between checking for its sync and waiting for the
// signal (to reach the info log unlocked, I16): the leader's signal can come in between and the
// follower then sleeps with nobody left to wake it.
inline constexpr char kLostWakeup[] = "manifold/bug/lost_wakeup";
// The checkpoint takes the newest version before taking the log mutex, then the sequence its frees
// and log head go by under it: a commit in between pairs the version with a later commit's frees,
// so the checkpoint lists as free pages its own trees use (I5).
inline constexpr char kCheckpointReadsVersionUnlocked[] =
    "manifold/bug/checkpoint_reads_version_unlocked";
}  // namespace planted_bug

inline constexpr std::array<std::string_view, 27> kPlantedBugs = {
    planted_bug::kSkipPageSync,
    planted_bug::kSkipDirSync,
    planted_bug::kAckBeforeHeaderSync,
    planted_bug::kSkipChecksum,
    planted_bug::kReusePinnedPages,
    planted_bug::kHeaderInPlace,
    planted_bug::kSplitBatch,
    planted_bug::kSyncCoversLateRecords,
    planted_bug::kRecycleBeforeCheckpoint,
    planted_bug::kLogPagesNotContents,
    planted_bug::kRollbackKeepsSequence,
    planted_bug::kSkipRollRecordCheck,
    planted_bug::kPreallocateWithoutSync,
    planted_bug::kForcedCheckpointKeepsLog,
    planted_bug::kPageSearchEqualGoesLeft,
    planted_bug::kMergeDropsTombstone,
    planted_bug::kBufferReadIgnoresSequence,
    planted_bug::kBufferReleasedBeforeDurable,
    planted_bug::kReadMissesImmutableBuffer,
    planted_bug::kMergeLosesNewestVersion,
    planted_bug::kPackSeparatorFromLeft,
    planted_bug::kChunkReusesReplacedPages,
    planted_bug::kPublicationOutOfOrder,
    planted_bug::kCheckpointFreesReaderPages,
    planted_bug::kFollowerReleasedBeforeSync,
    planted_bug::kLostWakeup,
    planted_bug::kCheckpointReadsVersionUnlocked,
};

// The planted bugs above that need concurrent threads to show (the last five): the sequential
// simulator's sweep (tests/planted_bugs_test.cc) cannot catch them; the scheduler's can.
inline constexpr size_t kPlantedConcurrencyBugsFirst = 22;

}  // namespace manifold

#endif  // MANIFOLD_UTIL_FAULT_POINT_H_
