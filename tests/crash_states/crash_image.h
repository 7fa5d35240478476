// Post-crash disk images built from a recorded barrier (recording_fs.h).
//
// At a barrier the unsynced changes are `units`: every pending file change (write, truncate,
// preallocation) of every file and every pending directory operation (create, rename, remove),
// in the order the engine issued them. A crash image is the durable state plus any subset of the
// units, applied in their original order; a disk gives no ordering between unsynced writes, and
// a file system none between unsynced directory operations. A selected write may also be torn
// (TearPrefixes): a proper prefix of its bytes reaches the disk and the rest keeps the old bytes
// (zeros past the old end of the file, whose size the write still extends). The prefix ends
// either at the start of the write's last kSectorBytes sector (a disk with atomic sectors that
// lost the last one), or inside its first sector (a sector that tore, as the simulator's
// non-atomic sectors do).
#ifndef MANIFOLD_TESTS_CRASH_STATES_CRASH_IMAGE_H_
#define MANIFOLD_TESTS_CRASH_STATES_CRASH_IMAGE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "manifold/env.h"
#include "manifold/status.h"
#include "tests/crash_states/recording_fs.h"

namespace manifold::crash_states {

inline constexpr uint64_t kSectorBytes = 512;

// A pending change a crash may keep or lose.
struct Unit {
  enum Kind : uint8_t { kFileOp, kDirOp } kind = kFileOp;
  int64_t inode = -1;  // kFileOp.
  size_t index = 0;    // Into the inode's pending list, or Shadow::pending_dir_ops.
  uint64_t order = 0;
  // Kept-prefix lengths of the write's tears (TearPrefixes), when it is a write.
  std::vector<uint64_t> tears;
};

// The tears of a write of `len` bytes at `offset`: how many leading bytes reach the disk, each
// strictly between 0 and `len` (a tear equal to losing or keeping the write is left out):
//   * up to the start of its last sector (atomic sectors, the last one lost);
//   * 1/8 and 1/2 of the bytes it puts in its first sector (a sector that tore);
//   * with `fine`, also every multiple of 8 bytes inside its first sector (a tear can split any
//     field of a page header; the skip_checksum check needs one between two header fields).
std::vector<uint64_t> TearPrefixes(uint64_t offset, uint64_t len, bool fine);

// The units of `shadow`, in issue order.
std::vector<Unit> PendingUnits(const Shadow& shadow, bool fine_tears = false);

// Which units a crash kept: bit i of `kept` is units[i]; `torn` maps kept writes of which only
// a prefix reached the disk to the prefix's length in bytes.
struct Selection {
  std::vector<bool> kept;
  std::map<size_t, uint64_t> torn;
};

// path -> nullopt for a directory, else the file's bytes.
using Image = std::map<std::string, std::optional<std::string>>;

Image BuildImage(const Shadow& shadow, const std::vector<Unit>& units, const Selection& selection);

// 64-bit FNV-1a over paths and contents, to skip images already checked at a barrier.
uint64_t ImageHash(const Image& image);

// Writes `image` into the empty `fs` (directories first, then files).
Status Materialize(const Image& image, FileSystem* fs);

}  // namespace manifold::crash_states

#endif  // MANIFOLD_TESTS_CRASH_STATES_CRASH_IMAGE_H_
