// SimFileSystem's media damage: unsynced sectors a power cut garbles (unsynced_sector_garbled, in
// the core) and recycled log segments cut short at rest (recycled_segment_truncated,
// RecyclePoolDamageFileSystem). See faults/README.md.
#include <cstdint>
#include <memory>
#include <string>

#include "faults/fault_model.h"
#include "gtest/gtest.h"
#include "manifold/env.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"

namespace manifold::sim {
namespace {

using faults::FaultOptions;

constexpr OpenFileOptions kCreate = {.create = true};
constexpr char kSegment1[] = "/db/wal-0000000000000001.log";
constexpr char kSegment2[] = "/db/wal-0000000000000002.log";

std::string Pattern(char seed, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7);
  return s;
}

std::string Read(FileSystem* fs, const std::string& path) {
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile(path, {});
  EXPECT_TRUE(file.ok()) << path << ": " << file.status().ToString();
  if (!file.ok()) return "<error>";
  StatusOr<uint64_t> size = (*file)->Size();
  EXPECT_TRUE(size.ok());
  std::string buf(size.ok() ? *size : 0, '\0');
  StatusOr<size_t> n = (*file)->Read(0, buf.size(), buf.data());
  EXPECT_TRUE(n.ok());
  buf.resize(n.ok() ? *n : 0);
  return buf;
}

// Writes `synced` and syncs it, then writes `unsynced` after it without a sync.
void WriteFile(FileSystem* fs, const std::string& path, const std::string& synced,
               const std::string& unsynced) {
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile(path, kCreate);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  ASSERT_TRUE((*file)->Write(0, synced).ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE(fs->SyncDir("/db").ok());
  if (!unsynced.empty()) {
    ASSERT_TRUE((*file)->Write(synced.size(), unsynced).ok());
  }
}

int DifferingBits(const std::string& a, const std::string& b) {
  EXPECT_EQ(a.size(), b.size());
  int bits = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bits += __builtin_popcount(static_cast<unsigned char>(a[i] ^ b[i]));
  }
  return bits;
}

TEST(SimFsMediaTest, GarbledSectorsFlipOneBitOfTheUnsyncedBytesOnly) {
  FaultOptions options;
  options.sector_atomic = false;
  options.unsynced_sector_garbled = 1;  // Every unsynced sector lands garbled.
  // Every file, log segment or data file (its header slots included).
  for (const char* path : {"/db/wal-0000000000000001.log", "/db/MANIFOLD"}) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      SimClock clock;
      SimFileSystem fs(seed, options, &clock);
      ASSERT_TRUE(fs.CreateDir("/db").ok());
      const std::string synced = Pattern('a', 700), unsynced = Pattern('z', 1500);
      WriteFile(&fs, path, synced, unsynced);
      ASSERT_TRUE(fs.Restart().ok());
      const std::string after = Read(&fs, path);
      ASSERT_EQ(after.size(), synced.size() + unsynced.size());
      EXPECT_EQ(after.substr(0, synced.size()), synced) << path << " seed " << seed;  // Intact.
      // The unsynced write covers sectors 1 (from byte 700), 2, 3 and 4: one flipped bit in each.
      EXPECT_EQ(DifferingBits(after.substr(synced.size()), unsynced), 4)
          << path << " seed " << seed;
      EXPECT_EQ(fs.counters().sectors_garbled, 4u);
    }
  }
}

TEST(SimFsMediaTest, GarbledCrashImagesAreReproducibleAndOffByDefault) {
  FaultOptions options;
  options.sector_atomic = false;
  options.unsynced_sector_lost = 0.5;
  options.unsynced_sector_torn = 0.2;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::string images[3];
    uint64_t garbled[3] = {};
    for (int run = 0; run < 3; ++run) {
      FaultOptions o = options;
      o.unsynced_sector_garbled = run == 2 ? 0 : 0.3;
      SimClock clock;
      SimFileSystem fs(seed, o, &clock);
      ASSERT_TRUE(fs.CreateDir("/db").ok());
      WriteFile(&fs, "/db/wal-0000000000000001.log", Pattern('a', 512), Pattern('q', 4096));
      ASSERT_TRUE(fs.Restart().ok());
      images[run] = Read(&fs, "/db/wal-0000000000000001.log");
      garbled[run] = fs.counters().sectors_garbled;
    }
    EXPECT_EQ(images[0], images[1]) << "seed " << seed;  // Same seed, same image.
    EXPECT_EQ(garbled[0], garbled[1]);
    EXPECT_EQ(garbled[2], 0u);  // A zero rate garbles nothing.
  }
}

// A misdirected write lands over synced bytes; a power cut keeps that landing whole or loses it
// whole, never tears or garbles it: a damaged landing would destroy synced log records together
// with the records that prove they were synced (chaos seed 106 lost acknowledged commit 20 so).
TEST(SimFsMediaTest, PowerCutKeepsOrLosesAMisdirectedLandingWhole) {
  FaultOptions options;
  options.sector_atomic = false;
  options.unsynced_sector_torn = 0.3;  // An ordinary unsynced sector is torn or garbled 60% of the
  options.unsynced_sector_garbled = 0.3;  // time, and kept otherwise.
  options.misdirected_write = 1;
  const std::string synced = Pattern('a', 4096), meant = Pattern('m', 1000);
  int kept = 0, lost = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimClock clock;
    SimFileSystem fs(seed, options, &clock);
    ASSERT_TRUE(fs.CreateDir("/db").ok());
    {
      StatusOr<std::unique_ptr<File>> file = fs.OpenFile("/db/f", kCreate);
      ASSERT_TRUE(file.ok()) << file.status().ToString();
      // The first write has nowhere else to land (the file is empty), so it is synced in place.
      ASSERT_TRUE((*file)->Write(0, synced).ok());
      ASSERT_TRUE((*file)->Sync().ok());
      ASSERT_TRUE(fs.SyncDir("/db").ok());
      ASSERT_TRUE((*file)->Write(3000, meant).ok());  // Lands at a sector inside the 4096 bytes.
    }
    ASSERT_EQ(fs.counters().misdirected, 1u) << "seed " << seed;
    ASSERT_TRUE(fs.Restart().ok());
    const std::string after = Read(&fs, "/db/f");
    ASSERT_EQ(after.size(), synced.size()) << "seed " << seed;  // No growth was synced.
    EXPECT_EQ(fs.counters().sectors_torn + fs.counters().sectors_garbled, 0u) << "seed " << seed;
    if (after == synced) {
      ++lost;
      continue;
    }
    // Kept: exactly the intended bytes at some sector boundary, the synced bytes elsewhere.
    bool whole = false;
    for (uint64_t at = 0; at + meant.size() <= synced.size(); at += 512) {
      std::string expected = synced;
      expected.replace(at, meant.size(), meant);
      whole = whole || after == expected;
    }
    EXPECT_TRUE(whole) << "seed " << seed << ": the landing was damaged";
    ++kept;
  }
  EXPECT_GT(kept, 0);  // Both fates occur: the draw is still made.
  EXPECT_GT(lost, 0);
}

TEST(SimFsMediaTest, RecycledSegmentIsCutAtRestBeforeItsRename) {
  SimClock clock;
  SimFileSystem fs(7, FaultOptions(), &clock);
  ASSERT_TRUE(fs.CreateDir("/db").ok());
  WriteFile(&fs, kSegment1, Pattern('s', 8192), "");
  WriteFile(&fs, "/db/other", Pattern('o', 8192), "");
  FaultOptions damage;
  damage.recycled_segment_truncated = 1;
  damage.error_rates(faults::OpClass::kSync).eio = 1;  // The cut's own sync must not fail.
  fs.set_options(damage);
  ASSERT_TRUE(fs.Rename(kSegment1, kSegment2).ok());
  // Not a segment onto a segment: never cut.
  ASSERT_TRUE(fs.Rename("/db/other", "/db/other2").ok());
  fs.set_options(FaultOptions());
  ASSERT_TRUE(fs.SyncDir("/db").ok());
  const std::string cut = Read(&fs, kSegment2);
  EXPECT_LT(cut.size(), 8192u);
  EXPECT_EQ(cut, Pattern('s', 8192).substr(0, cut.size()));
  EXPECT_EQ(fs.counters().segments_cut_in_pool, 1u);
  EXPECT_EQ(fs.counters().eio, 0u);
  // The cut is damage at rest: durable, so a power cut does not undo it.
  ASSERT_TRUE(fs.Restart().ok());
  EXPECT_EQ(Read(&fs, kSegment2), cut);
  EXPECT_EQ(Read(&fs, "/db/other2"), Pattern('o', 8192));
}

TEST(SimFsMediaTest, RecyclePoolCutsOffByDefault) {
  SimClock clock;
  SimFileSystem fs(7, FaultOptions(), &clock);
  ASSERT_TRUE(fs.CreateDir("/db").ok());
  WriteFile(&fs, kSegment1, Pattern('s', 8192), "");
  ASSERT_TRUE(fs.Rename(kSegment1, kSegment2).ok());
  EXPECT_EQ(Read(&fs, kSegment2), Pattern('s', 8192));
  EXPECT_EQ(fs.counters().segments_cut_in_pool, 0u);
}

}  // namespace
}  // namespace manifold::sim
