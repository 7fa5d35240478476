// SimFileSystem: the simulated clock, behaviour without faults, and determinism.
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
#include "sim/sim_fs_test_util.h"

namespace manifold::sim {
namespace {

using faults::FaultOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

}  // namespace
}  // namespace manifold::sim
