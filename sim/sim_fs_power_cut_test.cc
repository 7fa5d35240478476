// SimFileSystem: power cuts and what survives them (synced data always; unsynced sectors,
// directory operations and renames only as the crash model allows).
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
#include "sim/sim_fs.h"
#include "sim/sim_fs_test_util.h"

namespace manifold::sim {
namespace {

using faults::FaultOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

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

}  // namespace
}  // namespace manifold::sim
