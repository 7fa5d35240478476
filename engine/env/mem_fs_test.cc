// MemFileSystem's power-loss simulation. Behaviour it shares with PosixFileSystem is covered by
// fs_conformance_test.cc.
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/port/sync.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manifold/env.h"

namespace manifold {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class MemFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = NewMemFileSystem();
    ASSERT_TRUE(fs_->CreateDir("/db").ok());
    ASSERT_TRUE(fs_->SyncDir("/").ok());
  }

  std::unique_ptr<File> Open(const std::string& path, OpenFileOptions options = {.create = true}) {
    StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(path, options);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  static std::string Contents(const File& file) {
    std::string buf(*file.Size(), '\0');
    StatusOr<size_t> n = file.Read(0, buf.size(), buf.data());
    EXPECT_TRUE(n.ok());
    return buf;
  }

  // The content of `path`, or "<missing>".
  std::string ContentsOf(const std::string& path) {
    StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(path, {.read_only = true});
    if (!file.ok()) {
      EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
      return "<missing>";
    }
    return Contents(**file);
  }

  // Creates `path` with `data`, fully durable (file synced, directory synced).
  void CreateDurable(const std::string& path, std::string_view data) {
    std::unique_ptr<File> file = Open(path);
    ASSERT_TRUE(file->Write(0, data).ok());
    ASSERT_TRUE(file->Sync().ok());
    ASSERT_TRUE(fs_->SyncDir("/db").ok());
  }

  std::unique_ptr<MemFileSystem> fs_;
};

TEST_F(MemFsTest, UnsyncedWritesAreDropped) {
  CreateDurable("/db/f", "abc");
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Append("def").ok());
  ASSERT_TRUE(file->Write(0, "X").ok());
  EXPECT_EQ(Contents(*file), "Xbcdef");
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "abc");
  // The open handle sees the rolled-back content and stays usable.
  EXPECT_EQ(Contents(*file), "abc");
  ASSERT_TRUE(file->Append("!").ok());
  EXPECT_EQ(ContentsOf("/db/f"), "abc!");
}

TEST_F(MemFsTest, SyncedWritesSurvive) {
  CreateDurable("/db/f", "");
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Append("one").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("two").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append("three").ok());
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "onetwo");
}

TEST_F(MemFsTest, SyncThroughAnyHandleCoversAllHandles) {
  CreateDurable("/db/f", "");
  std::unique_ptr<File> writer = Open("/db/f");
  std::unique_ptr<File> syncer = Open("/db/f");
  ASSERT_TRUE(writer->Append("data").ok());
  ASSERT_TRUE(syncer->Sync().ok());  // fsync is per file, not per descriptor.
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "data");
}

TEST_F(MemFsTest, FileCreatedWithoutSyncDirVanishes) {
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Append("synced data").ok());
  ASSERT_TRUE(file->Sync().ok());  // Data durable, but the directory entry is not.
  fs_->DropUnsyncedData();
  EXPECT_FALSE(*fs_->Exists("/db/f"));
  EXPECT_THAT(*fs_->ListDir("/db"), IsEmpty());
}

TEST_F(MemFsTest, CreatedAndDirSyncedSurvivesWithOnlySyncedContent) {
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Append("durable").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append(" lost").ok());
  ASSERT_TRUE(fs_->SyncDir("/db").ok());  // SyncDir does not sync file data.
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "durable");
}

TEST_F(MemFsTest, DirSyncedButFileNeverSyncedIsEmpty) {
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Append("never synced").ok());
  ASSERT_TRUE(fs_->SyncDir("/db").ok());
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "");
}

TEST_F(MemFsTest, RenameWithoutSyncDirIsUndone) {
  CreateDurable("/db/a", "A");
  CreateDurable("/db/b", "B");
  ASSERT_TRUE(fs_->Rename("/db/a", "/db/b").ok());
  EXPECT_EQ(ContentsOf("/db/b"), "A");
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/a"), "A");
  EXPECT_EQ(ContentsOf("/db/b"), "B");
}

TEST_F(MemFsTest, RenameWithSyncDirPersists) {
  CreateDurable("/db/a", "A");
  CreateDurable("/db/b", "B");
  ASSERT_TRUE(fs_->Rename("/db/a", "/db/b").ok());
  ASSERT_TRUE(fs_->SyncDir("/db").ok());
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/a"), "<missing>");
  EXPECT_EQ(ContentsOf("/db/b"), "A");
}

// The write-temp-then-rename pattern: the new content is only safe once both the file and the
// directory are synced.
TEST_F(MemFsTest, AtomicReplacePattern) {
  for (bool sync_dir : {false, true}) {
    SCOPED_TRACE(sync_dir ? "with SyncDir" : "without SyncDir");
    CreateDurable("/db/CURRENT", "v1");
    std::unique_ptr<File> tmp = Open("/db/CURRENT.tmp");
    ASSERT_TRUE(tmp->Write(0, "v2").ok());
    ASSERT_TRUE(tmp->Sync().ok());
    ASSERT_TRUE(fs_->Rename("/db/CURRENT.tmp", "/db/CURRENT").ok());
    if (sync_dir) {
      ASSERT_TRUE(fs_->SyncDir("/db").ok());
    }
    fs_->DropUnsyncedData();
    EXPECT_EQ(ContentsOf("/db/CURRENT"), sync_dir ? "v2" : "v1");
    EXPECT_FALSE(*fs_->Exists("/db/CURRENT.tmp"));
  }
}

TEST_F(MemFsTest, RemoveWithoutSyncDirIsUndone) {
  CreateDurable("/db/f", "keep");
  ASSERT_TRUE(fs_->Remove("/db/f").ok());
  EXPECT_FALSE(*fs_->Exists("/db/f"));
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "keep");
}

TEST_F(MemFsTest, RemoveWithSyncDirPersists) {
  CreateDurable("/db/f", "gone");
  ASSERT_TRUE(fs_->Remove("/db/f").ok());
  ASSERT_TRUE(fs_->SyncDir("/db").ok());
  fs_->DropUnsyncedData();
  EXPECT_FALSE(*fs_->Exists("/db/f"));
}

TEST_F(MemFsTest, UnsyncedTruncateIsUndone) {
  CreateDurable("/db/f", "0123456789");
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Truncate(3).ok());
  ASSERT_TRUE(file->Preallocate(0, 100).ok());
  EXPECT_EQ(*file->Size(), 100u);
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), "0123456789");
}

TEST_F(MemFsTest, SyncedShrinkThenGrowIsZeroFilled) {
  CreateDurable("/db/f", "0123456789");
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Truncate(3).ok());
  ASSERT_TRUE(file->Write(6, "xy").ok());
  ASSERT_TRUE(file->Sync().ok());
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/f"), std::string("012\0\0\0xy", 8));
}

TEST_F(MemFsTest, DirectoryNeedsParentSyncToSurvive) {
  ASSERT_TRUE(fs_->CreateDir("/db/sub").ok());
  std::unique_ptr<File> file = Open("/db/sub/f");
  ASSERT_TRUE(file->Append("x").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir("/db/sub").ok());
  // "/db/sub" itself was never made durable in "/db": it and everything in it are lost.
  fs_->DropUnsyncedData();
  EXPECT_FALSE(*fs_->Exists("/db/sub"));
  EXPECT_FALSE(*fs_->Exists("/db/sub/f"));

  ASSERT_TRUE(fs_->CreateDir("/db/sub").ok());
  ASSERT_TRUE(fs_->SyncDir("/db").ok());
  file = Open("/db/sub/f");
  ASSERT_TRUE(file->Append("y").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(fs_->SyncDir("/db/sub").ok());
  fs_->DropUnsyncedData();
  EXPECT_EQ(ContentsOf("/db/sub/f"), "y");
}

TEST_F(MemFsTest, RootsAlwaysExist) {
  EXPECT_TRUE(*fs_->Exists("/"));
  EXPECT_TRUE(*fs_->Exists("."));
  fs_->DropUnsyncedData();
  EXPECT_TRUE(*fs_->Exists("/"));
  EXPECT_TRUE(*fs_->Exists("/db"));  // Synced in SetUp.
  ASSERT_TRUE(fs_->CreateDir("rel").ok());
  ASSERT_TRUE(fs_->SyncDir(".").ok());
  std::unique_ptr<File> file = Open("rel/f");
  ASSERT_NE(file, nullptr);
  EXPECT_THAT(*fs_->ListDir("."), ElementsAre("rel"));
  EXPECT_THAT(*fs_->ListDir("/"), ElementsAre("db"));
}

TEST_F(MemFsTest, PathsAreNormalized) {
  std::unique_ptr<File> file = Open("/db//f");
  ASSERT_TRUE(file->Append("x").ok());
  EXPECT_EQ(file->path(), "/db//f");  // Reported as given.
  EXPECT_EQ(ContentsOf("/db/f"), "x");
  EXPECT_TRUE(*fs_->Exists("/db/"));
  EXPECT_THAT(*fs_->ListDir("/db/"), ElementsAre("f"));
  ASSERT_TRUE(fs_->CreateDir("./rel").ok());
  EXPECT_TRUE(*fs_->Exists("rel"));
}

TEST_F(MemFsTest, RenamingDirectoriesIsNotSupported) {
  ASSERT_TRUE(fs_->CreateDir("/db/sub").ok());
  Status s = fs_->Rename("/db/sub", "/db/other");
  EXPECT_EQ(s.code(), StatusCode::kNotSupported) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("/db/sub"));
}

TEST_F(MemFsTest, HugeOffsetsAreNoSpace) {
  std::unique_ptr<File> file = Open("/db/f");
  Status s = file->Write(uint64_t{1} << 40, "x");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("/db/f at offset 1099511627776"));
  EXPECT_TRUE(file->Truncate(UINT64_MAX).IsNoSpace());
  EXPECT_TRUE(file->Preallocate(UINT64_MAX - 1, 10).IsNoSpace());
  EXPECT_EQ(*file->Size(), 0u);
}

TEST_F(MemFsTest, SyncCountCountsSuccessfulSyncs) {
  const uint64_t start = fs_->sync_count();
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ(fs_->sync_count(), start + 1);
  ASSERT_TRUE(fs_->SyncDir("/db").ok());
  EXPECT_EQ(fs_->sync_count(), start + 2);
  EXPECT_FALSE(fs_->SyncDir("/nodir").ok());
  EXPECT_EQ(fs_->sync_count(), start + 2);
  fs_->DropUnsyncedData();
  EXPECT_EQ(fs_->sync_count(), start + 2);
}

TEST_F(MemFsTest, LocksArePerFileSystem) {
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile("/db/LOCK");
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE(fs_->LockFile("/db//LOCK").status().IsBusy());  // Same file, other spelling.
  std::unique_ptr<MemFileSystem> other = NewMemFileSystem();
  ASSERT_TRUE(other->CreateDir("/db").ok());
  EXPECT_TRUE(other->LockFile("/db/LOCK").ok());
}

TEST_F(MemFsTest, LockSurvivesCrashSimulationAndOutlivesFileSystem) {
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile("/db/LOCK");
  ASSERT_TRUE(lock.ok());
  fs_->DropUnsyncedData();  // The lock file's entry was never synced and is gone...
  EXPECT_FALSE(*fs_->Exists("/db/LOCK"));
  // ...but the lock is process state, not disk state.
  EXPECT_TRUE(fs_->LockFile("/db/LOCK").status().IsBusy());
  std::unique_ptr<File> file = Open("/db/f");
  fs_.reset();  // Handles and locks keep the shared state alive.
  EXPECT_TRUE(file->Append("x").ok());
  lock->reset();
}

TEST_F(MemFsTest, RemovedOpenFileIsRolledBackToo) {
  std::unique_ptr<File> file = Open("/db/f");
  ASSERT_TRUE(file->Append("synced").ok());
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Append(" unsynced").ok());
  ASSERT_TRUE(fs_->Remove("/db/f").ok());
  fs_->DropUnsyncedData();
  EXPECT_EQ(Contents(*file), "synced");
}

// Random writes, truncations, syncs and crashes, checked against a simple model holding the
// current and durable bytes in full. Guards the incremental (dirty-range) Sync.
TEST_F(MemFsTest, RandomizedAgainstModel) {
  std::mt19937_64 rng(2024);
  CreateDurable("/db/f", "");
  std::unique_ptr<File> file = Open("/db/f");
  std::string model;
  std::string model_durable;
  for (int step = 0; step < 5000; ++step) {
    const int op = static_cast<int>(rng() % 100);
    if (op < 50) {
      const uint64_t offset = rng() % 3000;
      std::string data(rng() % 200, '\0');
      for (char& c : data) c = static_cast<char>('a' + rng() % 26);
      ASSERT_TRUE(file->Write(offset, data).ok());
      if (!data.empty()) {
        if (model.size() < offset + data.size()) model.resize(offset + data.size(), '\0');
        model.replace(offset, data.size(), data);
      }
    } else if (op < 60) {
      const uint64_t size = rng() % 3500;
      ASSERT_TRUE(file->Truncate(size).ok());
      model.resize(size, '\0');
    } else if (op < 65) {
      const uint64_t offset = rng() % 3000;
      const uint64_t len = rng() % 1000;
      ASSERT_TRUE(file->Preallocate(offset, len).ok());
      if (model.size() < offset + len) model.resize(offset + len, '\0');
    } else if (op < 85) {
      ASSERT_TRUE(file->Sync().ok());
      model_durable = model;
    } else if (op < 90) {
      fs_->DropUnsyncedData();
      model = model_durable;
    } else {
      ASSERT_EQ(Contents(*file), model) << "step " << step;
    }
  }
  fs_->DropUnsyncedData();
  EXPECT_EQ(Contents(*file), model_durable);
}

TEST_F(MemFsTest, ConcurrentUseWithCrashes) {
  // Smoke test for the locking: writers, syncers and crash simulation at once (run under
  // sanitizers to catch races).
  CreateDurable("/db/f", std::string(4096, '.'));
  std::vector<std::unique_ptr<port::Thread>> threads;
  for (int t = 0; t < 3; ++t) {
    threads.push_back(std::make_unique<port::Thread>([this, t] {
      std::unique_ptr<File> file = Open("/db/f");
      for (int i = 0; i < 500; ++i) {
        EXPECT_TRUE(file->Write((t * 1000 + i) % 4000, "abc").ok());
        if (i % 10 == 0) {
          EXPECT_TRUE(file->Sync().ok());
        }
        if (i % 50 == 0) {
          EXPECT_TRUE(fs_->SyncDir("/db").ok());
        }
      }
    }));
  }
  threads.push_back(std::make_unique<port::Thread>([this] {
    for (int i = 0; i < 50; ++i) fs_->DropUnsyncedData();
  }));
  for (auto& thread : threads) thread->Join();
  EXPECT_TRUE(*fs_->Exists("/db/f"));
}

}  // namespace
}  // namespace manifold
