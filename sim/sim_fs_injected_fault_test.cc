// SimFileSystem: injected errors, bit flips, misdirected writes, delayed syncs, the counters and
// trace of crash decisions, and concurrent calls.
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
using faults::OpClass;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

// The stale-address variant lands exactly on the newest write a sync of the handle made durable
// (not sector-aligned: a log record's start), once per synced write, and only on an earlier
// offset.
TEST_F(SimFsTest, MisdirectedOntoSyncedWriteLandsOnTheNewestSyncedWrite) {
  FaultOptions options;
  options.misdirected_onto_synced_write = 1;
  auto fs = MakeFs(12, options);
  std::unique_ptr<File> file = MustOpen(fs.get(), "/db/log");
  ASSERT_TRUE(file->Write(0, std::string(64, 'a')).ok());  // Nothing synced yet: lands as asked.
  ASSERT_TRUE(file->Write(64, std::string(40, 'b')).ok());
  EXPECT_EQ(fs->counters().misdirected, 0u);
  ASSERT_TRUE(file->Sync().ok());  // Makes the write at 64 the target.
  ASSERT_TRUE(file->Write(104, std::string(16, 'c')).ok());
  EXPECT_EQ(fs->counters().misdirected, 1u);
  EXPECT_EQ(Contents(*file), std::string(64, 'a') + std::string(16, 'c') + std::string(24, 'b') +
                                 std::string(16, '\0'));
  ASSERT_TRUE(file->Write(120, std::string(8, 'd')).ok());  // The target is used once.
  EXPECT_EQ(fs->counters().misdirected, 1u);
  EXPECT_EQ(Contents(*file).substr(120), std::string(8, 'd'));
  ASSERT_TRUE(file->Sync().ok());                         // Target: the write at 120.
  ASSERT_TRUE(file->Write(8, std::string(8, 'e')).ok());  // Earlier than it: lands as asked.
  EXPECT_EQ(fs->counters().misdirected, 1u);
  EXPECT_EQ(Contents(*file).substr(8, 8), std::string(8, 'e'));
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
