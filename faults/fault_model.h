// What can go wrong with storage, as data: the fault classes and rates the simulated file system
// (//sim:sim_fs) injects, and named profiles of them for the simulator's command line. Keeping the
// model separate from the file system lets a trace or a --help print exactly which faults a run
// used, and lets several simulated devices share one description. See faults/README.md.
#ifndef MANIFOLD_FAULTS_FAULT_MODEL_H_
#define MANIFOLD_FAULTS_FAULT_MODEL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/status.h"

namespace manifold::faults {

// The classes of file-system operation that error rates are configured for.
enum class OpClass : int {
  kRead = 0,      // File::Read.
  kWrite = 1,     // File::Write, Append, Truncate, Preallocate (they all change the file's bytes).
  kSync = 2,      // File::Sync.
  kMetadata = 3,  // OpenFile (including create), Rename, Remove, CreateDir, LockFile.
  kDirSync = 4,   // FileSystem::SyncDir.
};
inline constexpr size_t kOpClassCount = 5;

// A stable lower-case name for `op_class` ("read", "write", "sync", "metadata", "dirsync").
const char* OpClassName(OpClass op_class);

// Injected error probabilities for one OpClass, each per operation. EIO is drawn first; an
// operation that does not get EIO then draws ENOSPC.
struct ErrorRates {
  double eio = 0;     // Probability of Status::IOError ("injected EIO: ...").
  double enospc = 0;  // Probability of Status::NoSpace ("injected ENOSPC: ...").
};

// Every fault the simulated file system can inject. The defaults inject nothing (profile "none")
// except that sector geometry is that of a classic 512-byte, power-safe disk.
struct FaultOptions {
  // Probability that a power cut happens at a given mutating operation (Write, Append, Truncate,
  // Preallocate, Sync, OpenFile with create, Rename, Remove, CreateDir, LockFile, SyncDir). The
  // interrupted operation does not complete. Default 0: power cuts only when the test asks.
  double crash_per_mutation = 0;

  // On a power cut, each sector of each write not yet made durable by File::Sync is dropped (the
  // old bytes stay) with this probability. Default 0: every completed write survives.
  double unsynced_sector_lost = 0;

  // ...or torn with this probability: only a prefix of the sector's new bytes lands, the rest
  // keeps its old bytes. Applies only when !sector_atomic (a device that guarantees atomic sector
  // writes cannot tear one). Default 0.
  double unsynced_sector_torn = 0;

  // ...or garbled with this probability: the sector's new bytes land, but with one bit flipped
  // (a write the power cut interrupted on a device without power-loss protection leaves neither
  // the old nor the new bytes). Only bytes that were never synced are damaged, so a correct
  // engine's checksums must reject them as they reject a torn write. Applies only when
  // !sector_atomic. Default 0. unsynced_sector_lost + _torn + _garbled <= 1.
  double unsynced_sector_garbled = 0;

  // On a power cut, each directory operation (create, rename, remove) not yet made durable by
  // SyncDir of its directory is undone with this probability; undoing one undoes every later one
  // in that directory too (ordered metadata journal: a prefix survives). Default 0.
  double unsynced_dir_op_lost = 0;

  // Probability that a File::Sync or SyncDir is slow: the simulated clock advances by a latency
  // drawn uniformly from [1, sync_delay_us_max]. Default 0 (syncs take no simulated time).
  double sync_delay_probability = 0;
  uint64_t sync_delay_us_max = 0;

  // Injected EIO/ENOSPC rates, indexed by OpClass. Default: none.
  std::array<ErrorRates, kOpClassCount> errors{};

  // Probability that a successful read returns one flipped bit. Transient: only the returned
  // buffer is changed, the stored data is intact and a reread is likely correct. Default 0.
  double read_bit_flip = 0;

  // Probability that a write lands at a different, sector-aligned offset of the same file (chosen
  // from the seed, inside the file's current size) instead of the requested one, while reporting
  // success. Default 0.
  double misdirected_write = 0;

  // Probability that a write lands instead at the offset of the newest write that a successful
  // File::Sync of the same handle made durable (a stale target address: the device, or a caching
  // layer, reuses the address of the last request it flushed), while reporting success. Only a
  // write to a later offset than that one is redirected, and each durable write is the target
  // once. Aimed where damage is most telling: over the newest durable data, the data a file's
  // next writes build on (for a log, its newest durable records). Default 0.
  double misdirected_onto_synced_write = 0;

  // Damage at rest to the write-ahead log, applied by the simulator's runner after a power cut,
  // before the recovery that follows it (as an operator's mistake, a file system losing a file,
  // or a truncating copy would). Per recovery, with this probability one log segment file
  // (wal-*.log, picked from the seed) is deleted. Default 0.
  double segment_lost = 0;
  // ...or, if none was deleted, one is cut at an offset drawn uniformly below its size. Default 0.
  double segment_truncated = 0;

  // Damage at rest to the engine's recycle pool: with this probability, a rename of one log
  // segment file onto another segment name (wal-*.log to wal-*.log: the engine taking a retired
  // segment, which holds only checkpointed records, back into use) finds the file cut at rest to
  // a length drawn uniformly below its size (made durable, as damage at rest is). Applied by the
  // simulated file system itself, so every workload meets it. Default 0.
  double recycled_segment_truncated = 0;

  // Sector size in bytes: the unit of loss, tearing and misdirection. A power of two. Default 512.
  uint32_t sector_bytes = 512;

  // True if the device writes a sector entirely or not at all (no torn sectors). Default true.
  bool sector_atomic = true;

  ErrorRates& error_rates(OpClass op_class) { return errors[static_cast<size_t>(op_class)]; }
  const ErrorRates& error_rates(OpClass op_class) const {
    return errors[static_cast<size_t>(op_class)];
  }
};

// The profile the simulator uses when none is named.
inline constexpr std::string_view kDefaultFaultProfile = "storage";

// The named profiles, mildest first:
//   none     no faults at all.
//   crash    power cuts and their consequences only (lost/torn unsynced sectors, lost directory
//            operations); no errors, no bit flips.
//   storage  crash plus EIO/ENOSPC at small rates per class, delayed syncs, bit flips on read,
//            and now and then a log segment lost or truncated at rest before a recovery.
//            The simulator's default (with the engine's fault points).
//   chaos    everything at higher rates, including misdirected writes (some onto the newest
//            synced write).
// Unknown name: InvalidArgument listing the valid names.
StatusOr<FaultOptions> FaultProfile(std::string_view name);

// The profile names accepted by FaultProfile, in the order above.
std::vector<std::string> FaultProfileNames();

// OK if every probability is in [0, 1], lost + torn <= 1 and sector_bytes is a power of two;
// otherwise InvalidArgument naming the offending field.
Status ValidateFaultOptions(const FaultOptions& options);

// One "field = value" line per field (errors as "errors.<class>.eio"), for --help and traces.
std::string Describe(const FaultOptions& options);

}  // namespace manifold::faults

#endif  // MANIFOLD_FAULTS_FAULT_MODEL_H_
