// SimFileSystem: determinism, the post-crash states it may produce, and every injected fault.
#include "sim/sim_fs.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "faults/fault_model.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manifold/env.h"
#include "sim/sim_clock.h"

namespace manifold::sim {
namespace {

using faults::FaultOptions;
using faults::OpClass;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr OpenFileOptions kCreate = {.create = true};

std::unique_ptr<File> MustOpen(FileSystem* fs, const std::string& path,
                               OpenFileOptions options = kCreate) {
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile(path, options);
  EXPECT_TRUE(file.ok()) << path << ": " << file.status().ToString();
  return file.ok() ? std::move(file).value() : nullptr;
}

std::string Contents(const File& file) {
  StatusOr<uint64_t> size = file.Size();
  EXPECT_TRUE(size.ok()) << size.status().ToString();
  if (!size.ok()) return "<error>";
  std::string buf(*size, '\0');
  StatusOr<size_t> n = file.Read(0, buf.size(), buf.data());
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return "<error>";
  buf.resize(*n);
  return buf;
}

// The content of `path` after a restart, or nullopt if it does not exist.
std::optional<std::string> ContentsOf(FileSystem* fs, const std::string& path) {
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile(path, {});
  if (file.status().IsNotFound()) return std::nullopt;
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return file.ok() ? Contents(**file) : "<error>";
}

std::string Pattern(char seed, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + i / 13);
  return s;
}

// Only power cuts, with every unsynced sector at risk.
FaultOptions CrashOnly(double lost, double torn, bool atomic, double dir_lost) {
  FaultOptions options;
  options.unsynced_sector_lost = lost;
  options.unsynced_sector_torn = torn;
  options.sector_atomic = atomic;
  options.unsynced_dir_op_lost = dir_lost;
  return options;
}

class SimFsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SimFileSystem> MakeFs(uint64_t seed, const FaultOptions& options) {
    auto fs = std::make_unique<SimFileSystem>(seed, options, &clock_);
    fs->set_random_crashes(false);  // The setup itself must not be cut.
    EXPECT_TRUE(fs->CreateDir("/db").ok());
    EXPECT_TRUE(fs->SyncDir("/").ok());
    fs->set_random_crashes(true);
    return fs;
  }

  SimClock clock_;
};

// ---- SimClock ---------------------------------------------------------------------------------

TEST(SimClockTest, SleepAndAdvanceMoveSimulatedTimeOnly) {
  SimClock clock(100);
  EXPECT_EQ(clock.NowMicros(), 100u);
  clock.SleepForMicros(uint64_t{3600} * 1000 * 1000);  // An hour, instantly.
  EXPECT_EQ(clock.NowMicros(), 100u + uint64_t{3600} * 1000 * 1000);
  clock.Advance(5);
  EXPECT_EQ(clock.NowMicros(), 100u + uint64_t{3600} * 1000 * 1000 + 5);
  Clock* as_clock = &clock;
  as_clock->SleepForMicros(0);
  EXPECT_EQ(as_clock->NowMicros(), clock.NowMicros());
}

// ---- Fault-free behaviour ---------------------------------------------------------------------

TEST_F(SimFsTest, BehavesLikeAFileSystemWithoutFaults) {
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/a");
  ASSERT_TRUE(file->Write(0, "hello").ok());
  ASSERT_TRUE(file->Append(" world").ok());
  EXPECT_EQ(Contents(*file), "hello world");
  ASSERT_TRUE(file->Write(20, "x").ok());
  EXPECT_EQ(Contents(*file), std::string("hello world") + std::string(9, '\0') + "x");
  ASSERT_TRUE(file->Truncate(5).ok());
  EXPECT_EQ(Contents(*file), "hello");
  ASSERT_TRUE(file->Preallocate(0, 8).ok());
  EXPECT_EQ(*file->Size(), 8u);
  EXPECT_EQ(file->path(), "/db/a");

  EXPECT_TRUE(
      fs->OpenFile("/db/a", {.create = true, .exclusive = true}).status().IsAlreadyExists());
  EXPECT_TRUE(fs->OpenFile("/db/missing", {}).status().IsNotFound());
  EXPECT_TRUE(fs->OpenFile("/nodir/a", kCreate).status().IsNotFound());
  EXPECT_TRUE(fs->OpenFile("relative", kCreate).status().IsInvalidArgument());
  EXPECT_TRUE(fs->OpenFile("/db", kCreate).status().IsIOError());

  std::unique_ptr<File> reader = MustOpen(fs.get(), "/db/a", {.read_only = true});
  EXPECT_TRUE(reader->Write(0, "x").IsReadOnly());

  ASSERT_TRUE(fs->Rename("/db/a", "/db/b").ok());
  EXPECT_FALSE(*fs->Exists("/db/a"));
  EXPECT_TRUE(*fs->Exists("/db//b/"));
  EXPECT_TRUE(*fs->Exists("/"));
  EXPECT_THAT(*fs->ListDir("/db"), ElementsAre("b"));
  EXPECT_THAT(*fs->ListDir("/"), ElementsAre("db"));
  EXPECT_TRUE(fs->Rename("/db/b", "/other").code() == StatusCode::kNotSupported);
  ASSERT_TRUE(fs->CreateDir("/db/sub").ok());
  EXPECT_TRUE(fs->CreateDir("/db/sub").ok());
  EXPECT_TRUE(fs->CreateDir("/db/b").IsAlreadyExists());
  EXPECT_TRUE(fs->Rename("/db/sub", "/db/sub2").code() == StatusCode::kNotSupported);
  EXPECT_TRUE(fs->Remove("/db/sub").IsIOError());
  ASSERT_TRUE(fs->Remove("/db/b").ok());
  EXPECT_TRUE(fs->Remove("/db/b").IsNotFound());
  EXPECT_THAT(*fs->ListDir("/db"), ElementsAre("sub"));
  EXPECT_TRUE(fs->ListDir("/db/nothing").status().IsNotFound());
  // The handle outlives the removal, like an unlinked but open POSIX file.
  EXPECT_EQ(Contents(*file), std::string("hello") + std::string(3, '\0'));
  EXPECT_EQ(fs->counters().crashes, 0u);
}

TEST_F(SimFsTest, LockIsExclusiveUntilReleased) {
  auto fs = MakeFs(1, FaultOptions());
  StatusOr<std::unique_ptr<FileLock>> lock = fs->LockFile("/db/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(*fs->Exists("/db/LOCK"));
  StatusOr<std::unique_ptr<FileLock>> second = fs->LockFile("/db/LOCK");
  EXPECT_TRUE(second.status().IsBusy());
  EXPECT_THAT(second.status().message(), HasSubstr("/db/LOCK"));
  lock = Status::Aborted("released");
  EXPECT_TRUE(fs->LockFile("/db/LOCK").ok());
}

// ---- Determinism ------------------------------------------------------------------------------

// Runs a random workload (from `workload_seed`) on a fresh file system and returns a transcript
// of every outcome, including restarts after power cuts.
struct RunResult {
  std::string transcript;
  std::vector<std::string> trace;
  uint64_t hash = 0;
  SimFsCounters counters;
  uint64_t now_us = 0;
};

RunResult RunWorkload(uint64_t fs_seed, uint64_t workload_seed, const FaultOptions& options) {
  SimClock clock;
  SimFileSystem fs(fs_seed, options, &clock);
  RunResult result;
  fs.set_trace([&result](const std::string& line) { result.trace.push_back(line); });
  // mt19937_64's output is fixed by the standard; `% n` avoids the unportable distributions.
  std::mt19937_64 rng(workload_seed);
  std::map<int, std::unique_ptr<File>> files;
  auto note = [&result](const std::string& what, const Status& status) {
    result.transcript += what + " -> " + status.ToString() + "\n";
  };
  note("mkdir", fs.CreateDir("/db"));
  for (int step = 0; step < 400; ++step) {
    if (fs.crashed()) {
      note("restart", fs.Restart());
      files.clear();
      note("mkdir", fs.CreateDir("/db"));
      continue;
    }
    const int f = static_cast<int>(rng() % 4);
    const std::string path = "/db/f" + std::to_string(f);
    const uint64_t offset = rng() % 6000;
    const std::string data = Pattern(static_cast<char>(rng()), 1 + rng() % 1500);
    if (files.count(f) == 0) {
      StatusOr<std::unique_ptr<File>> file = fs.OpenFile(path, kCreate);
      note("open " + path, file.status().ok() ? Status::OK() : file.status());
      if (file.ok()) files[f] = std::move(file).value();
      continue;
    }
    File* file = files[f].get();
    switch (rng() % 10) {
      case 0:
      case 1:
        note("write " + path, file->Write(offset, data));
        break;
      case 2:
        note("append " + path, file->Append(data));
        break;
      case 3:
        note("sync " + path, file->Sync());
        break;
      case 4: {
        std::string buf(2000, '\0');
        StatusOr<size_t> n = file->Read(offset, buf.size(), buf.data());
        note("read " + path, n.status().ok() ? Status::OK() : n.status());
        if (n.ok())
          result.transcript += "  " + std::to_string(std::hash<std::string>()(buf)) + "\n";
        break;
      }
      case 5:
        note("truncate " + path, file->Truncate(offset));
        break;
      case 6:
        note("preallocate " + path, file->Preallocate(offset, 4096));
        break;
      case 7:
        note("rename " + path, fs.Rename(path, "/db/f" + std::to_string((f + 1) % 4)));
        files.erase(f);
        break;
      case 8:
        note("syncdir", fs.SyncDir("/db"));
        break;
      case 9:
        if (rng() % 8 == 0) {
          fs.CrashNow();
        } else {
          note("remove " + path, fs.Remove(path));
          files.erase(f);
        }
        break;
    }
  }
  result.hash = fs.StateHash();
  result.counters = fs.counters();
  result.now_us = clock.NowMicros();
  return result;
}

TEST(SimFsDeterminismTest, SameSeedSameRun) {
  StatusOr<FaultOptions> chaos = faults::FaultProfile("chaos");
  ASSERT_TRUE(chaos.ok());
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const RunResult a = RunWorkload(seed, 1000 + seed, *chaos);
    const RunResult b = RunWorkload(seed, 1000 + seed, *chaos);
    EXPECT_EQ(a.transcript, b.transcript) << seed;
    EXPECT_EQ(a.trace, b.trace) << seed;
    EXPECT_EQ(a.hash, b.hash) << seed;
    EXPECT_EQ(a.now_us, b.now_us) << seed;
    EXPECT_EQ(a.counters.crashes, b.counters.crashes) << seed;
    EXPECT_EQ(a.counters.sectors_lost, b.counters.sectors_lost) << seed;
    EXPECT_GT(a.counters.crashes, 0u) << seed;  // The workload really exercised power cuts.
  }
}

TEST(SimFsDeterminismTest, DifferentSeedsDiverge) {
  StatusOr<FaultOptions> chaos = faults::FaultProfile("chaos");
  ASSERT_TRUE(chaos.ok());
  std::set<uint64_t> hashes;
  std::set<std::string> transcripts;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const RunResult run = RunWorkload(seed, 77, *chaos);  // Same workload, different faults.
    hashes.insert(run.hash);
    transcripts.insert(run.transcript);
  }
  EXPECT_GT(hashes.size(), 4u);
  EXPECT_GT(transcripts.size(), 4u);
}

TEST(SimFsDeterminismTest, FaultFreeRunIgnoresSeed) {
  // With no fault rates no random draw happens, so the seed cannot matter.
  const RunResult a = RunWorkload(1, 5, FaultOptions());
  const RunResult b = RunWorkload(2, 5, FaultOptions());
  EXPECT_EQ(a.transcript, b.transcript);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.trace, b.trace);  // Only the crash and restart decisions, all the same.
  for (const std::string& line : a.trace) {
    EXPECT_THAT(line, ::testing::Not(HasSubstr("injected"))) << line;
    EXPECT_THAT(line, ::testing::Not(HasSubstr("undone"))) << line;
  }
  EXPECT_GT(a.counters.crashes, 0u);
  EXPECT_EQ(a.counters.sectors_lost + a.counters.sectors_torn + a.counters.dir_ops_undone, 0u);
}

TEST_F(SimFsTest, StateHashTracksContentAndDurability) {
  auto fs = MakeFs(1, FaultOptions());
  const uint64_t empty = fs->StateHash();
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/a");
  const uint64_t created = fs->StateHash();
  EXPECT_NE(created, empty);
  ASSERT_TRUE(file->Write(0, "x").ok());
  const uint64_t written = fs->StateHash();
  EXPECT_NE(written, created);
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_NE(fs->StateHash(), written);  // Same content, now durable.
  EXPECT_EQ(fs->StateHash(), fs->StateHash());
}

// ---- Power cuts and what survives them --------------------------------------------------------

TEST_F(SimFsTest, SyncedDataSurvivesEveryRestart) {
  // Maximal loss for everything unsynced; the synced prefix must stay exactly as synced.
  const FaultOptions options = CrashOnly(0.5, 0.5, /*atomic=*/false, 0.5);
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto fs = MakeFs(seed, options);
    {
      std::unique_ptr<File> file = MustOpen(fs.get(), "/db/data");
      ASSERT_TRUE(file->Sync().ok());
      ASSERT_TRUE(fs->SyncDir("/db").ok());
    }
    std::string synced;
    for (int round = 0; round < 6; ++round) {
      std::unique_ptr<File> file = MustOpen(fs.get(), "/db/data", {});
      ASSERT_EQ(Contents(*file).substr(0, synced.size()), synced) << "seed " << seed;
      // Whatever an earlier crash left past the synced end is fair game: overwrite it, sync.
      const std::string more = Pattern(static_cast<char>('a' + round), 700 + 300 * round);
      ASSERT_TRUE(file->Write(synced.size(), more).ok());
      ASSERT_TRUE(file->Truncate(synced.size() + more.size()).ok());
      ASSERT_TRUE(file->Sync().ok());
      synced += more;
      // Unsynced writes past the synced end, then a power cut.
      ASSERT_TRUE(file->Write(synced.size() + 100, Pattern('z', 2000)).ok());
      ASSERT_TRUE(file->Append(Pattern('y', 1000)).ok());
      ASSERT_TRUE(file->Truncate(synced.size() / 2).ok());  // Not durable: ignored by the crash.
      ASSERT_TRUE(fs->Restart().ok());
      std::optional<std::string> after = ContentsOf(fs.get(), "/db/data");
      ASSERT_TRUE(after.has_value()) << "seed " << seed;
      ASSERT_GE(after->size(), synced.size()) << "seed " << seed;
      ASSERT_EQ(after->substr(0, synced.size()), synced) << "seed " << seed << " round " << round;
    }
  }
}

TEST_F(SimFsTest, UnsyncedWritesSometimesSurvive) {
  const FaultOptions options = CrashOnly(0.5, 0, /*atomic=*/true, 0);
  int survived = 0, lost = 0, partial = 0;
  const std::string data = Pattern('q', 4 * 512);
  for (uint64_t seed = 0; seed < 64; ++seed) {
    auto fs = MakeFs(seed, options);
    {
      std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
      ASSERT_TRUE(fs->SyncDir("/db").ok());
      ASSERT_TRUE(file->Write(0, data).ok());
    }
    ASSERT_TRUE(fs->Restart().ok());
    const std::string after = *ContentsOf(fs.get(), "/db/f");
    if (after == data) {
      ++survived;
    } else if (after.empty()) {
      ++lost;
    } else {
      ++partial;
      // Sector-atomic: every sector is wholly new or absent (the size covers kept sectors only).
      for (size_t sector = 0; sector * 512 < after.size(); ++sector) {
        const std::string got = after.substr(sector * 512, 512);
        EXPECT_TRUE(got == data.substr(sector * 512, 512) || got == std::string(512, '\0'))
            << "seed " << seed << " sector " << sector;
      }
    }
  }
  EXPECT_GT(survived, 0);
  EXPECT_GT(lost, 0);
  EXPECT_GT(partial, 0);
}

TEST_F(SimFsTest, TornSectorsOnlyWithoutAtomicSectors) {
  const std::string old_data(8 * 512, 'o');
  const std::string new_data(8 * 512, 'n');
  for (bool atomic : {true, false}) {
    uint64_t torn_sectors = 0;
    bool saw_mixed_sector = false;
    for (uint64_t seed = 0; seed < 16; ++seed) {
      auto fs = MakeFs(seed, CrashOnly(0.2, 0.7, atomic, 0));
      {
        std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
        ASSERT_TRUE(file->Write(0, old_data).ok());
        ASSERT_TRUE(file->Sync().ok());
        ASSERT_TRUE(fs->SyncDir("/db").ok());
        ASSERT_TRUE(file->Write(0, new_data).ok());
      }
      ASSERT_TRUE(fs->Restart().ok());
      torn_sectors += fs->counters().sectors_torn;
      const std::string after = *ContentsOf(fs.get(), "/db/f");
      ASSERT_EQ(after.size(), old_data.size());
      for (size_t sector = 0; sector < 8; ++sector) {
        const std::string got = after.substr(sector * 512, 512);
        if (got == std::string(512, 'o') || got == std::string(512, 'n')) continue;
        saw_mixed_sector = true;
        // A torn sector is a prefix of new bytes followed by old ones.
        const size_t first_old = got.find('o');
        EXPECT_EQ(got.substr(0, first_old), std::string(first_old, 'n'));
        EXPECT_EQ(got.substr(first_old), std::string(512 - first_old, 'o'));
      }
    }
    if (atomic) {
      EXPECT_EQ(torn_sectors, 0u);
      EXPECT_FALSE(saw_mixed_sector);
    } else {
      EXPECT_GT(torn_sectors, 0u);
      EXPECT_TRUE(saw_mixed_sector);
    }
  }
}

TEST_F(SimFsTest, TornSectorIsTraced) {
  auto fs = MakeFs(3, CrashOnly(0, 1, /*atomic=*/false, 0));
  std::vector<std::string> trace;
  fs->set_trace([&trace](const std::string& line) { trace.push_back(line); });
  {
    std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
    ASSERT_TRUE(fs->SyncDir("/db").ok());
    ASSERT_TRUE(file->Write(16 * 512, std::string(512, 'n')).ok());
  }
  ASSERT_TRUE(fs->Restart().ok());
  EXPECT_EQ(fs->counters().sectors_torn, 1u);
  bool found = false;
  for (const std::string& line : trace) {
    if (line.rfind("crash: /db/f sector 16 torn (keeps ", 0) == 0) found = true;
  }
  EXPECT_TRUE(found) << ::testing::PrintToString(trace);
}

TEST_F(SimFsTest, EntriesWithoutSyncDirMayVanish) {
  const FaultOptions options = CrashOnly(0, 0, true, 0.5);
  int vanished = 0, kept = 0;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    auto fs = MakeFs(seed, options);
    {
      std::unique_ptr<File> file = MustOpen(fs.get(), "/db/unsynced");
      ASSERT_TRUE(file->Write(0, "data").ok());
      ASSERT_TRUE(file->Sync().ok());  // Data durable, directory entry not.
      std::unique_ptr<File> durable = MustOpen(fs.get(), "/db/durable");
      ASSERT_TRUE(durable->Write(0, "safe").ok());
      ASSERT_TRUE(durable->Sync().ok());
    }
    ASSERT_TRUE(fs->SyncDir("/db").ok());  // Covers both entries created so far...
    {
      std::unique_ptr<File> late = MustOpen(fs.get(), "/db/late");  // ...but not this one.
      ASSERT_TRUE(late->Write(0, "late").ok());
      ASSERT_TRUE(late->Sync().ok());
    }
    ASSERT_TRUE(fs->Restart().ok());
    EXPECT_EQ(ContentsOf(fs.get(), "/db/durable"), "safe");
    EXPECT_EQ(ContentsOf(fs.get(), "/db/unsynced"), "data");
    std::optional<std::string> late = ContentsOf(fs.get(), "/db/late");
    if (late.has_value()) {
      EXPECT_EQ(*late, "late");  // Synced data of a surviving file is intact.
      ++kept;
    } else {
      ++vanished;
    }
  }
  EXPECT_GT(vanished, 0);
  EXPECT_GT(kept, 0);
}

TEST_F(SimFsTest, UnsyncedDirectoryTakesItsEntriesWithIt) {
  bool lost_dir = false;
  for (uint64_t seed = 0; seed < 16 && !lost_dir; ++seed) {
    auto fs = MakeFs(seed, CrashOnly(0, 0, true, 0.5));
    ASSERT_TRUE(fs->CreateDir("/db/sub").ok());
    {
      std::unique_ptr<File> file = MustOpen(fs.get(), "/db/sub/f");
      ASSERT_TRUE(file->Sync().ok());
    }
    ASSERT_TRUE(fs->SyncDir("/db/sub").ok());  // f durable in sub; sub itself not in /db.
    ASSERT_TRUE(fs->Restart().ok());
    if (!*fs->Exists("/db/sub")) {
      lost_dir = true;
      EXPECT_FALSE(*fs->Exists("/db/sub/f"));
      EXPECT_THAT(*fs->ListDir("/db"), IsEmpty());
    } else {
      EXPECT_TRUE(*fs->Exists("/db/sub/f"));
    }
  }
  EXPECT_TRUE(lost_dir);
}

TEST_F(SimFsTest, DirectoryOperationsSurviveAsAPrefix) {
  // Each state is the names in /db and the content of "base" after a prefix of the operations.
  using NamespaceState = std::pair<std::set<std::string>, std::string>;
  const std::vector<NamespaceState> prefixes = {
      {{"base"}, "old"},              // Durable before the operations.
      {{"base", "a"}, "old"},         // create a
      {{"base", "a", "b"}, "old"},    // create b
      {{"base", "b", "c"}, "old"},    // rename a -> c
      {{"base", "c"}, "old"},         // remove b
      {{"base", "c", "tmp"}, "old"},  // create tmp
      {{"base", "c"}, "new"},         // rename tmp -> base (replacing it)
  };
  std::set<size_t> seen;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto fs = MakeFs(seed, CrashOnly(0, 0, true, 0.3));
    {
      std::unique_ptr<File> base = MustOpen(fs.get(), "/db/base");
      ASSERT_TRUE(base->Write(0, "old").ok());
      ASSERT_TRUE(base->Sync().ok());
      ASSERT_TRUE(fs->SyncDir("/db").ok());
    }
    MustOpen(fs.get(), "/db/a");
    MustOpen(fs.get(), "/db/b");
    ASSERT_TRUE(fs->Rename("/db/a", "/db/c").ok());
    ASSERT_TRUE(fs->Remove("/db/b").ok());
    {
      std::unique_ptr<File> tmp = MustOpen(fs.get(), "/db/tmp");
      ASSERT_TRUE(tmp->Write(0, "new").ok());
      ASSERT_TRUE(tmp->Sync().ok());
    }
    ASSERT_TRUE(fs->Rename("/db/tmp", "/db/base").ok());
    ASSERT_TRUE(fs->Restart().ok());
    StatusOr<std::vector<std::string>> names = fs->ListDir("/db");
    ASSERT_TRUE(names.ok());
    const NamespaceState got = {std::set<std::string>(names->begin(), names->end()),
                                ContentsOf(fs.get(), "/db/base").value_or("<absent>")};
    bool matched = false;
    for (size_t i = 0; i < prefixes.size(); ++i) {
      if (prefixes[i] == got) {
        matched = true;
        seen.insert(i);
      }
    }
    EXPECT_TRUE(matched) << "seed " << seed << ": " << ::testing::PrintToString(got);
  }
  EXPECT_EQ(seen.size(), prefixes.size());  // Every prefix, and nothing else, shows up.
}

TEST_F(SimFsTest, RenameOverDurableFileIsAtomic) {
  // The engine's creation protocol: write MANIFOLD.tmp, sync, rename, SyncDir. Before the
  // SyncDir a crash shows either name, never both or neither, and always full content.
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto fs = MakeFs(seed, CrashOnly(0.5, 0.5, false, 0.5));
    {
      std::unique_ptr<File> tmp = MustOpen(fs.get(), "/db/MANIFOLD.tmp");
      ASSERT_TRUE(tmp->Write(0, Pattern('h', 4096)).ok());
      ASSERT_TRUE(tmp->Sync().ok());
      ASSERT_TRUE(fs->SyncDir("/db").ok());
      ASSERT_TRUE(fs->Rename("/db/MANIFOLD.tmp", "/db/MANIFOLD").ok());
    }
    ASSERT_TRUE(fs->Restart().ok());
    std::optional<std::string> tmp = ContentsOf(fs.get(), "/db/MANIFOLD.tmp");
    std::optional<std::string> final_file = ContentsOf(fs.get(), "/db/MANIFOLD");
    ASSERT_NE(tmp.has_value(), final_file.has_value()) << "seed " << seed;
    EXPECT_EQ(tmp.has_value() ? *tmp : *final_file, Pattern('h', 4096));
  }
}

TEST_F(SimFsTest, ScheduledCrashFiresAtTheNthMutation) {
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  const uint64_t before = fs->counters().mutations;
  fs->ScheduleCrashAtMutation(4);
  ASSERT_TRUE(file->Write(0, "1").ok());  // Mutation 1.
  char c;
  ASSERT_TRUE(file->Read(0, 1, &c).ok());  // Reads, Size and Exists are not mutations.
  ASSERT_TRUE(file->Size().ok());
  ASSERT_TRUE(fs->Exists("/db/f").ok());
  ASSERT_TRUE(file->Sync().ok());        // 2.
  ASSERT_TRUE(fs->SyncDir("/db").ok());  // 3.
  EXPECT_FALSE(fs->crashed());
  Status cut = file->Write(1, "2");  // 4: interrupted.
  EXPECT_TRUE(cut.IsIOError());
  EXPECT_THAT(cut.message(), HasSubstr("power cut"));
  EXPECT_THAT(cut.message(), HasSubstr("write /db/f at offset 1"));
  EXPECT_TRUE(fs->crashed());
  EXPECT_EQ(fs->counters().mutations, before + 4);
  EXPECT_EQ(fs->counters().crashes, 1u);
  ASSERT_TRUE(fs->Restart().ok());
  EXPECT_EQ(ContentsOf(fs.get(), "/db/f"), "1");  // The interrupted write never happened.

  // The schedule is one-shot, and 0 cancels it.
  fs->ScheduleCrashAtMutation(1);
  fs->ScheduleCrashAtMutation(0);
  EXPECT_TRUE(fs->CreateDir("/db/x").ok());
  EXPECT_FALSE(fs->crashed());
}

TEST_F(SimFsTest, ScheduledCrashOnFirstMutation) {
  auto fs = MakeFs(1, FaultOptions());
  fs->ScheduleCrashAtMutation(1);
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile("/db/f", kCreate);
  EXPECT_THAT(file.status().message(), HasSubstr("power cut during open /db/f"));
  ASSERT_TRUE(fs->Restart().ok());
  EXPECT_FALSE(*fs->Exists("/db/f"));
}

TEST_F(SimFsTest, RandomCrashesFollowTheRateAndCanBeDisabled) {
  FaultOptions options;
  options.crash_per_mutation = 0.1;
  auto fs = MakeFs(9, options);
  fs->set_random_crashes(false);
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(file->Write(0, "x").ok());
  EXPECT_EQ(fs->counters().crashes, 0u);
  fs->set_random_crashes(true);
  int writes = 0;
  while (file->Write(0, "x").ok()) ++writes;
  EXPECT_TRUE(fs->crashed());
  EXPECT_LT(writes, 200);  // Expected 9; fails only with probability 0.9^200.
}

TEST_F(SimFsTest, EverythingFailsAfterACutUntilRestart) {
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  ASSERT_TRUE(file->Write(0, "abc").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs->SyncDir("/db").ok());
  fs->CrashNow();
  fs->CrashNow();  // Already cut: no second crash.
  EXPECT_EQ(fs->counters().crashes, 1u);
  EXPECT_TRUE(fs->crashed());
  char buf[3];
  std::vector<Status> statuses = {
      file->Read(0, 3, buf).status(),
      file->Write(0, "x"),
      file->Append("x"),
      file->Sync(),
      file->Truncate(0),
      file->Preallocate(0, 10),
      file->Size().status(),
      fs->OpenFile("/db/f", {}).status(),
      fs->Rename("/db/f", "/db/g"),
      fs->Remove("/db/f"),
      fs->CreateDir("/db/d"),
      fs->SyncDir("/db"),
      fs->ListDir("/db").status(),
      fs->Exists("/db/f").status(),
      fs->LockFile("/db/LOCK").status(),
  };
  for (const Status& status : statuses) {
    EXPECT_TRUE(status.IsIOError()) << status.ToString();
    EXPECT_THAT(status.message(), HasSubstr("simulated power cut"));
  }
  ASSERT_TRUE(fs->Restart().ok());
  EXPECT_FALSE(fs->crashed());
  EXPECT_EQ(ContentsOf(fs.get(), "/db/f"), "abc");
  EXPECT_THAT(*fs->ListDir("/db"), ElementsAre("f"));
}

TEST_F(SimFsTest, HandlesAreStaleAfterRestart) {
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  ASSERT_TRUE(fs->SyncDir("/db").ok());
  StatusOr<std::unique_ptr<FileLock>> lock = fs->LockFile("/db/LOCK");
  ASSERT_TRUE(lock.ok());
  ASSERT_TRUE(fs->Restart().ok());  // Cuts the power itself when it is on.
  EXPECT_EQ(fs->counters().crashes, 1u);
  char c;
  for (const Status& status :
       {file->Read(0, 1, &c).status(), file->Write(0, "x"), file->Sync(), file->Size().status()}) {
    EXPECT_TRUE(status.IsIOError());
    EXPECT_THAT(status.message(), HasSubstr("stale handle after restart"));
  }
  // Locks are released by the restart; the old lock's destruction must not free the new one.
  StatusOr<std::unique_ptr<FileLock>> relock = fs->LockFile("/db/LOCK");
  ASSERT_TRUE(relock.ok()) << relock.status().ToString();
  lock = Status::Aborted("dropped");
  EXPECT_TRUE(fs->LockFile("/db/LOCK").status().IsBusy());
  // A fresh handle works.
  std::unique_ptr<File> fresh = MustOpen(fs.get(), "/db/f");
  EXPECT_TRUE(fresh->Write(0, "y").ok());
}

// ---- Injected errors --------------------------------------------------------------------------

TEST_F(SimFsTest, InjectedErrorsHitOnlyTheConfiguredClass) {
  struct Case {
    OpClass op_class;
    bool enospc;
  };
  for (const Case& c :
       {Case{OpClass::kRead, false}, Case{OpClass::kWrite, true}, Case{OpClass::kSync, false},
        Case{OpClass::kMetadata, true}, Case{OpClass::kDirSync, false}}) {
    SCOPED_TRACE(faults::OpClassName(c.op_class));
    auto fs = MakeFs(1, FaultOptions());
    std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
    ASSERT_TRUE(file->Write(0, std::string(1024, 'a')).ok());
    FaultOptions options;
    if (c.enospc) {
      options.error_rates(c.op_class).enospc = 1;
    } else {
      options.error_rates(c.op_class).eio = 1;
    }
    fs->set_options(options);
    char buf[16];
    const Status read = file->Read(512, 16, buf).status();
    const Status write = file->Write(512, "b");
    const Status sync = file->Sync();
    const Status metadata = fs->OpenFile("/db/g", kCreate).status();
    const Status dirsync = fs->SyncDir("/db");
    const std::map<OpClass, Status> by_class = {{OpClass::kRead, read},
                                                {OpClass::kWrite, write},
                                                {OpClass::kSync, sync},
                                                {OpClass::kMetadata, metadata},
                                                {OpClass::kDirSync, dirsync}};
    for (const auto& [op_class, status] : by_class) {
      if (op_class != c.op_class) {
        EXPECT_TRUE(status.ok()) << faults::OpClassName(op_class) << ": " << status.ToString();
        continue;
      }
      if (c.enospc) {
        EXPECT_TRUE(status.IsNoSpace()) << status.ToString();
        EXPECT_THAT(status.message(), HasSubstr("injected ENOSPC: "));
      } else {
        EXPECT_TRUE(status.IsIOError()) << status.ToString();
        EXPECT_THAT(status.message(), HasSubstr("injected EIO: "));
      }
    }
    EXPECT_EQ(fs->counters().eio, c.enospc ? 0u : 1u);
    EXPECT_EQ(fs->counters().enospc, c.enospc ? 1u : 0u);
  }
}

TEST_F(SimFsTest, InjectedErrorMessagesNameOperationPathAndOffset) {
  FaultOptions options;
  options.error_rates(OpClass::kWrite).eio = 1;
  options.error_rates(OpClass::kRead).eio = 1;
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/MANIFOLD");
  fs->set_options(options);
  EXPECT_THAT(file->Write(8192, std::string(4096, 'x')).message(),
              HasSubstr("injected EIO: write /db/MANIFOLD at offset 8192"));
  char buf[4];
  EXPECT_THAT(file->Read(4096, 4, buf).status().message(),
              HasSubstr("injected EIO: read /db/MANIFOLD at offset 4096"));
}

TEST_F(SimFsTest, FailedWriteAppliesAtMostASectorAlignedPrefix) {
  FaultOptions options;
  options.error_rates(OpClass::kWrite).eio = 1;
  std::set<size_t> prefixes;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto fs = MakeFs(seed, FaultOptions());
    std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
    ASSERT_TRUE(file->Write(0, std::string(4096, 'o')).ok());
    fs->set_options(options);
    // [100, 2100) crosses the boundaries 512, 1024, 1536 and 2048.
    EXPECT_TRUE(file->Write(100, std::string(2000, 'n')).IsIOError());
    fs->set_options(FaultOptions());
    const std::string after = Contents(*file);
    ASSERT_EQ(after.size(), 4096u);
    const size_t new_bytes =
        after.find_last_of('n') == std::string::npos ? 0 : after.find_last_of('n') + 1 - 100;
    EXPECT_EQ(after.substr(100, new_bytes), std::string(new_bytes, 'n'));
    EXPECT_EQ(after.substr(100 + new_bytes), std::string(4096 - 100 - new_bytes, 'o'));
    EXPECT_TRUE(new_bytes == 0 || (100 + new_bytes) % 512 == 0) << new_bytes;
    prefixes.insert(new_bytes);
  }
  EXPECT_EQ(prefixes, (std::set<size_t>{0, 412, 924, 1436, 1948}));

  // ENOSPC writes nothing.
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  FaultOptions full;
  full.error_rates(OpClass::kWrite).enospc = 1;
  fs->set_options(full);
  EXPECT_TRUE(file->Write(0, std::string(2000, 'n')).IsNoSpace());
  EXPECT_TRUE(file->Append("n").IsNoSpace());
  EXPECT_TRUE(file->Preallocate(0, 4096).IsNoSpace());
  fs->set_options(FaultOptions());
  EXPECT_EQ(*file->Size(), 0u);
}

TEST_F(SimFsTest, FailedSyncMakesNothingDurableAndMayDropDirtyPages) {
  FaultOptions failing;
  failing.error_rates(OpClass::kSync).eio = 1;
  int dropped = 0, kept = 0;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    auto fs = MakeFs(seed, FaultOptions());
    std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
    ASSERT_TRUE(fs->SyncDir("/db").ok());
    ASSERT_TRUE(file->Write(0, "durable").ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(file->Write(0, "DIRTY!!").ok());
    fs->set_options(failing);
    ASSERT_TRUE(file->Sync().IsIOError());
    fs->set_options(FaultOptions());
    const std::string seen = Contents(*file);
    if (seen == "durable") {
      ++dropped;  // fsyncgate: the page cache lost the dirty data.
    } else {
      EXPECT_EQ(seen, "DIRTY!!");
      ++kept;
    }
    // Either way the failed sync made nothing durable: with every unsynced sector lost, the
    // durable content is what a crash shows.
    fs->set_options(CrashOnly(1, 0, true, 0));
    ASSERT_TRUE(fs->Restart().ok());
    EXPECT_EQ(ContentsOf(fs.get(), "/db/f"), "durable");
  }
  EXPECT_GT(dropped, 0);
  EXPECT_GT(kept, 0);
}

TEST_F(SimFsTest, FailedMetadataOperationsChangeNothing) {
  auto fs = MakeFs(1, FaultOptions());
  MustOpen(fs.get(), "/db/a");
  FaultOptions failing;
  failing.error_rates(OpClass::kMetadata).eio = 1;
  fs->set_options(failing);
  EXPECT_TRUE(fs->Rename("/db/a", "/db/b").IsIOError());
  EXPECT_TRUE(fs->Remove("/db/a").IsIOError());
  EXPECT_TRUE(fs->CreateDir("/db/d").IsIOError());
  EXPECT_TRUE(fs->OpenFile("/db/c", kCreate).status().IsIOError());
  EXPECT_TRUE(fs->LockFile("/db/LOCK").status().IsIOError());
  fs->set_options(FaultOptions());
  EXPECT_THAT(*fs->ListDir("/db"), ElementsAre("a"));
}

TEST_F(SimFsTest, BitFlipsAreTransient) {
  FaultOptions options;
  options.read_bit_flip = 0.5;
  auto fs = MakeFs(5, FaultOptions());
  const std::string data = Pattern('b', 256);
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  ASSERT_TRUE(file->Write(0, data).ok());
  fs->set_options(options);
  int flipped = 0, clean = 0;
  for (int i = 0; i < 100; ++i) {
    std::string buf(data.size(), '\0');
    ASSERT_EQ(*file->Read(0, buf.size(), buf.data()), data.size());
    if (buf == data) {
      ++clean;
      continue;
    }
    ++flipped;
    int bits = 0;
    for (size_t j = 0; j < data.size(); ++j) {
      bits += __builtin_popcount(static_cast<unsigned char>(buf[j] ^ data[j]));
    }
    EXPECT_EQ(bits, 1);
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(clean, 0);  // Rereading eventually gives the right bytes.
  EXPECT_EQ(fs->counters().bit_flips, static_cast<uint64_t>(flipped));
  fs->set_options(FaultOptions());
  EXPECT_EQ(Contents(*file), data);  // The stored bytes never changed.
}

TEST_F(SimFsTest, MisdirectedWritesLandOnAnotherAlignedOffset) {
  FaultOptions options;
  options.misdirected_write = 1;
  auto fs = MakeFs(11, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  const std::string zeros(8 * 512, '\0');
  ASSERT_TRUE(file->Write(0, zeros).ok());
  fs->set_options(options);
  std::set<size_t> landings;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(file->Write(3 * 512, std::string(512, 'm')).ok());  // Reports success.
    fs->set_options(FaultOptions());
    std::string after = Contents(*file);
    ASSERT_EQ(after.size(), zeros.size());
    const size_t at = after.find('m');
    ASSERT_NE(at, std::string::npos);
    EXPECT_NE(at, 3u * 512);
    EXPECT_EQ(at % 512, 0u);
    EXPECT_EQ(after.substr(at, 512), std::string(512, 'm'));
    landings.insert(at);
    ASSERT_TRUE(file->Write(0, zeros).ok());
    fs->set_options(options);
  }
  EXPECT_GT(landings.size(), 2u);
  EXPECT_EQ(fs->counters().misdirected, 20u);
  // A write that cannot go elsewhere (the file is one sector) lands where asked.
  std::unique_ptr<File> small = MustOpen(fs.get(), "/db/small");
  ASSERT_TRUE(small->Write(0, std::string(512, 's')).ok());
  EXPECT_EQ(Contents(*small), std::string(512, 's'));
}

TEST_F(SimFsTest, DelayedSyncsAdvanceTheClock) {
  FaultOptions options;
  options.sync_delay_probability = 1;
  options.sync_delay_us_max = 1000;
  auto fs = MakeFs(2, options);
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  const uint64_t delayed_before = fs->counters().delayed_syncs;  // MakeFs's SyncDir("/").
  const uint64_t start_us = clock_.NowMicros();
  for (int i = 0; i < 10; ++i) {
    const uint64_t before_us = clock_.NowMicros();
    ASSERT_TRUE(file->Sync().ok());
    const uint64_t took_us = clock_.NowMicros() - before_us;
    EXPECT_GE(took_us, 1u);
    EXPECT_LE(took_us, 1000u);
  }
  ASSERT_TRUE(fs->SyncDir("/db").ok());
  EXPECT_EQ(fs->counters().delayed_syncs - delayed_before, 11u);
  EXPECT_GT(clock_.NowMicros(), start_us + 10);
}

TEST_F(SimFsTest, CountersAndTraceRecordCrashDecisions) {
  auto fs = MakeFs(4, CrashOnly(1, 0, true, 1));
  std::vector<std::string> trace;
  fs->set_trace([&trace](const std::string& line) { trace.push_back(line); });
  {
    std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
    ASSERT_TRUE(fs->SyncDir("/db").ok());
    ASSERT_TRUE(file->Write(0, std::string(4 * 512, 'x')).ok());
    MustOpen(fs.get(), "/db/g");
  }
  ASSERT_TRUE(fs->Restart().ok());
  EXPECT_EQ(fs->counters().sectors_lost, 4u);
  EXPECT_EQ(fs->counters().dir_ops_undone, 1u);
  EXPECT_EQ(fs->counters().crashes, 1u);
  EXPECT_EQ(ContentsOf(fs.get(), "/db/f"), "");
  EXPECT_FALSE(*fs->Exists("/db/g"));
  const std::string all = ::testing::PrintToString(trace);
  EXPECT_THAT(all, HasSubstr("crash: /db/f sectors 0-3 lost (write at offset 0)"));
  EXPECT_THAT(all, HasSubstr("crash: dir /db keeps 0 of 1 unsynced operations; undone: create g"));
  EXPECT_THAT(all, HasSubstr("restart: generation 1"));
}

TEST_F(SimFsTest, ConcurrentCallsAreSafe) {
  auto fs = MakeFs(1, FaultOptions());
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/f");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&file, t] {
      for (int i = 0; i < 200; ++i) {
        const uint64_t offset = static_cast<uint64_t>(t) * 4096 + (i % 8) * 512;
        EXPECT_TRUE(file->Write(offset, std::string(512, static_cast<char>('a' + t))).ok());
        char buf[512];
        EXPECT_TRUE(file->Read(offset, sizeof(buf), buf).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(*file->Size(), 4u * 4096);
}

}  // namespace
}  // namespace manifold::sim
