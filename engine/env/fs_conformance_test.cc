// Behaviour every FileSystem must share, run against PosixFileSystem and MemFileSystem so the
// in-memory one used by crash tests cannot drift from the real one.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "engine/port/atomic.h"
#include "engine/port/sync.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manifold/env.h"

namespace manifold {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A file system plus an empty directory in it for one test.
class Harness {
 public:
  virtual ~Harness() = default;
  virtual FileSystem* fs() = 0;
  const std::string& root() const { return root_; }

 protected:
  std::string root_;
};

class PosixHarness final : public Harness {
 public:
  PosixHarness() {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/fs_conformance.XXXXXX";
    // mkdtemp gives each test its own directory even when tests share TEST_TMPDIR.
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    root_ = pattern;
  }
  ~PosixHarness() override {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  FileSystem* fs() override { return PosixFileSystem(); }
};

class MemHarness final : public Harness {
 public:
  MemHarness() : fs_(NewMemFileSystem()) {
    root_ = "/test";
    if (!fs_->CreateDir(root_).ok()) std::abort();
  }
  FileSystem* fs() override { return fs_.get(); }

 private:
  std::unique_ptr<MemFileSystem> fs_;
};

struct FsParam {
  const char* name;
  std::function<std::unique_ptr<Harness>()> make;
};

// Names the file system in gtest's failure messages instead of dumping the struct's bytes.
void PrintTo(const FsParam& param, std::ostream* os) { *os << param.name; }

class FsConformanceTest : public ::testing::TestWithParam<FsParam> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    fs_ = harness_->fs();
  }

  std::string Path(const std::string& name) const { return harness_->root() + "/" + name; }

  std::unique_ptr<File> Open(const std::string& path, OpenFileOptions options = {.create = true}) {
    StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(path, options);
    EXPECT_TRUE(file.ok()) << file.status().ToString();
    return file.ok() ? std::move(file).value() : nullptr;
  }

  // Reads the whole file through `file`.
  static std::string Contents(const File& file) {
    StatusOr<uint64_t> size = file.Size();
    EXPECT_TRUE(size.ok()) << size.status().ToString();
    if (!size.ok()) return "";
    std::string buf(*size + 16, '?');  // Ask for more than there is: reads stop at the end.
    StatusOr<size_t> n = file.Read(0, buf.size(), buf.data());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) return "";
    EXPECT_EQ(*n, *size);
    buf.resize(*n);
    return buf;
  }

  std::string ContentsOf(const std::string& path) {
    std::unique_ptr<File> file = Open(path, {.read_only = true});
    return file == nullptr ? "" : Contents(*file);
  }

  void WriteFile(const std::string& path, std::string_view data) {
    std::unique_ptr<File> file = Open(path);
    ASSERT_NE(file, nullptr);
    ASSERT_TRUE(file->Truncate(0).ok());
    ASSERT_TRUE(file->Write(0, data).ok());
  }

  std::unique_ptr<Harness> harness_;
  FileSystem* fs_ = nullptr;
};

TEST_P(FsConformanceTest, WriteThenRead) {
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->path(), Path("f"));
  ASSERT_TRUE(file->Write(0, "hello world").ok());
  char buf[5];
  StatusOr<size_t> n = file->Read(6, 5, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(std::string(buf, 5), "world");
  // Overwrite in the middle.
  ASSERT_TRUE(file->Write(0, "HELLO").ok());
  EXPECT_EQ(Contents(*file), "HELLO world");
}

TEST_P(FsConformanceTest, ReadsStopAtEndOfFile) {
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_TRUE(file->Write(0, "abc").ok());
  char buf[10];
  StatusOr<size_t> n = file->Read(1, sizeof(buf), buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2u);
  EXPECT_EQ(std::string(buf, 2), "bc");
  n = file->Read(3, sizeof(buf), buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = file->Read(1000, sizeof(buf), buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = file->Read(0, 0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
}

TEST_P(FsConformanceTest, WritePastEndZeroFills) {
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_TRUE(file->Write(4, "xy").ok());
  EXPECT_EQ(Contents(*file), std::string("\0\0\0\0xy", 6));
  // An empty write does not change the size.
  ASSERT_TRUE(file->Write(100, "").ok());
  EXPECT_EQ(*file->Size(), 6u);
}

TEST_P(FsConformanceTest, AppendAndSize) {
  std::unique_ptr<File> file = Open(Path("f"));
  EXPECT_EQ(*file->Size(), 0u);
  ASSERT_TRUE(file->Append("abc").ok());
  ASSERT_TRUE(file->Append("").ok());
  ASSERT_TRUE(file->Append("defg").ok());
  EXPECT_EQ(*file->Size(), 7u);
  EXPECT_EQ(Contents(*file), "abcdefg");
  ASSERT_TRUE(file->Write(10, "z").ok());
  ASSERT_TRUE(file->Append("!").ok());
  EXPECT_EQ(Contents(*file), std::string("abcdefg\0\0\0z!", 12));
}

TEST_P(FsConformanceTest, Truncate) {
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_TRUE(file->Write(0, "0123456789").ok());
  ASSERT_TRUE(file->Truncate(4).ok());
  EXPECT_EQ(*file->Size(), 4u);
  EXPECT_EQ(Contents(*file), "0123");
  ASSERT_TRUE(file->Truncate(6).ok());
  EXPECT_EQ(Contents(*file), std::string("0123\0\0", 6));
  ASSERT_TRUE(file->Truncate(0).ok());
  EXPECT_EQ(*file->Size(), 0u);
}

TEST_P(FsConformanceTest, PreallocateCoversRangeAndKeepsContent) {
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_TRUE(file->Write(0, "abc").ok());
  ASSERT_TRUE(file->Preallocate(3, 4096).ok());
  EXPECT_EQ(*file->Size(), 4099u);
  std::string contents = Contents(*file);
  EXPECT_EQ(contents.substr(0, 3), "abc");
  EXPECT_EQ(contents.substr(3), std::string(4096, '\0'));
  // Inside the file, and zero-length: no change.
  ASSERT_TRUE(file->Preallocate(0, 10).ok());
  ASSERT_TRUE(file->Preallocate(5000, 0).ok());
  EXPECT_EQ(*file->Size(), 4099u);
  EXPECT_EQ(Contents(*file).substr(0, 3), "abc");
  // Writes into the reserved range work as usual.
  ASSERT_TRUE(file->Write(100, "x").ok());
  EXPECT_EQ(*file->Size(), 4099u);
}

TEST_P(FsConformanceTest, SyncSucceeds) {
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_TRUE(file->Append("data").ok());
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_TRUE(fs_->SyncDir(harness_->root()).ok());
}

TEST_P(FsConformanceTest, HandlesShareContent) {
  std::unique_ptr<File> a = Open(Path("f"));
  std::unique_ptr<File> b = Open(Path("f"));
  ASSERT_TRUE(a->Write(0, "shared").ok());
  EXPECT_EQ(Contents(*b), "shared");
  a.reset();
  // Reopening sees what was written.
  EXPECT_EQ(ContentsOf(Path("f")), "shared");
}

TEST_P(FsConformanceTest, OpenMissingWithoutCreateIsNotFound) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("missing"), {});
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
  EXPECT_THAT(file.status().message(), HasSubstr(Path("missing")));
  EXPECT_FALSE(*fs_->Exists(Path("missing")));  // And did not create it.
}

TEST_P(FsConformanceTest, OpenExclusiveExistingIsAlreadyExists) {
  ASSERT_NE(Open(Path("f")), nullptr);
  StatusOr<std::unique_ptr<File>> again =
      fs_->OpenFile(Path("f"), {.create = true, .exclusive = true});
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsAlreadyExists()) << again.status().ToString();
  EXPECT_THAT(again.status().message(), HasSubstr(Path("f")));
  // Exclusive create of a new file works.
  EXPECT_NE(Open(Path("g"), {.create = true, .exclusive = true}), nullptr);
}

TEST_P(FsConformanceTest, OpenInMissingDirectoryIsNotFound) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("nodir/f"), {.create = true});
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound()) << file.status().ToString();
  EXPECT_THAT(file.status().message(), HasSubstr(Path("nodir/f")));
}

TEST_P(FsConformanceTest, OpenDirectoryFails) {
  ASSERT_TRUE(fs_->CreateDir(Path("d")).ok());
  for (bool read_only : {false, true}) {
    StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("d"), {.read_only = read_only});
    ASSERT_FALSE(file.ok());
    EXPECT_TRUE(file.status().IsIOError()) << file.status().ToString();
    EXPECT_THAT(file.status().message(), HasSubstr(Path("d")));
  }
}

TEST_P(FsConformanceTest, ReadOnlyHandleRefusesWrites) {
  WriteFile(Path("f"), "abc");
  std::unique_ptr<File> file = Open(Path("f"), {.read_only = true});
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(Contents(*file), "abc");
  Status s = file->Write(0, "x");
  EXPECT_TRUE(s.IsReadOnly()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("f")));
  EXPECT_TRUE(file->Append("x").IsReadOnly());
  EXPECT_TRUE(file->Truncate(0).IsReadOnly());
  EXPECT_TRUE(file->Preallocate(0, 100).IsReadOnly());
  EXPECT_EQ(ContentsOf(Path("f")), "abc");
}

TEST_P(FsConformanceTest, RenameReplacesTarget) {
  WriteFile(Path("a"), "new");
  WriteFile(Path("b"), "old");
  ASSERT_TRUE(fs_->Rename(Path("a"), Path("b")).ok());
  EXPECT_FALSE(*fs_->Exists(Path("a")));
  EXPECT_EQ(ContentsOf(Path("b")), "new");
  // To a fresh name.
  ASSERT_TRUE(fs_->Rename(Path("b"), Path("c")).ok());
  EXPECT_EQ(ContentsOf(Path("c")), "new");
  EXPECT_THAT(*fs_->ListDir(harness_->root()), ElementsAre("c"));
}

TEST_P(FsConformanceTest, RenameMissingIsNotFound) {
  Status s = fs_->Rename(Path("missing"), Path("b"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("missing")));
}

TEST_P(FsConformanceTest, OpenHandleSurvivesRenameAndRemove) {
  std::unique_ptr<File> file = Open(Path("a"));
  ASSERT_TRUE(file->Write(0, "abc").ok());
  ASSERT_TRUE(fs_->Rename(Path("a"), Path("b")).ok());
  ASSERT_TRUE(file->Append("d").ok());
  EXPECT_EQ(ContentsOf(Path("b")), "abcd");
  ASSERT_TRUE(fs_->Remove(Path("b")).ok());
  EXPECT_EQ(Contents(*file), "abcd");
  EXPECT_FALSE(*fs_->Exists(Path("b")));
}

TEST_P(FsConformanceTest, Remove) {
  WriteFile(Path("f"), "x");
  EXPECT_TRUE(*fs_->Exists(Path("f")));
  ASSERT_TRUE(fs_->Remove(Path("f")).ok());
  EXPECT_FALSE(*fs_->Exists(Path("f")));
  Status s = fs_->Remove(Path("f"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("f")));
}

TEST_P(FsConformanceTest, RemoveDirectoryFails) {
  ASSERT_TRUE(fs_->CreateDir(Path("d")).ok());
  Status s = fs_->Remove(Path("d"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(Path("d")));
  EXPECT_TRUE(*fs_->Exists(Path("d")));
}

TEST_P(FsConformanceTest, CreateDir) {
  ASSERT_TRUE(fs_->CreateDir(Path("d")).ok());
  EXPECT_TRUE(*fs_->Exists(Path("d")));
  EXPECT_TRUE(fs_->CreateDir(Path("d")).ok());  // Already there: fine.
  ASSERT_TRUE(fs_->CreateDir(Path("d/e")).ok());
  WriteFile(Path("d/e/f"), "deep");
  EXPECT_EQ(ContentsOf(Path("d/e/f")), "deep");
  EXPECT_TRUE(fs_->SyncDir(Path("d/e")).ok());
}

TEST_P(FsConformanceTest, CreateDirOverFileIsAlreadyExists) {
  WriteFile(Path("f"), "x");
  Status s = fs_->CreateDir(Path("f"));
  EXPECT_TRUE(s.IsAlreadyExists()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("f")));
}

TEST_P(FsConformanceTest, CreateDirWithMissingParentIsNotFound) {
  Status s = fs_->CreateDir(Path("a/b"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("a/b")));
}

TEST_P(FsConformanceTest, ListDir) {
  EXPECT_THAT(*fs_->ListDir(harness_->root()), IsEmpty());
  WriteFile(Path("b"), "");
  WriteFile(Path("a"), "");
  WriteFile(Path("c.tmp"), "");
  ASSERT_TRUE(fs_->CreateDir(Path("sub")).ok());
  WriteFile(Path("sub/inner"), "");  // Not a direct entry of the root.
  EXPECT_THAT(*fs_->ListDir(harness_->root()), ElementsAre("a", "b", "c.tmp", "sub"));
  EXPECT_THAT(*fs_->ListDir(Path("sub")), ElementsAre("inner"));
}

TEST_P(FsConformanceTest, ListMissingDirIsNotFound) {
  StatusOr<std::vector<std::string>> names = fs_->ListDir(Path("nodir"));
  ASSERT_FALSE(names.ok());
  EXPECT_TRUE(names.status().IsNotFound()) << names.status().ToString();
  EXPECT_THAT(names.status().message(), HasSubstr(Path("nodir")));
}

TEST_P(FsConformanceTest, SyncMissingDirIsNotFound) {
  Status s = fs_->SyncDir(Path("nodir"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(Path("nodir")));
}

TEST_P(FsConformanceTest, DirectoryOperationsOnFileFail) {
  WriteFile(Path("f"), "x");
  EXPECT_FALSE(fs_->ListDir(Path("f")).ok());
  EXPECT_FALSE(fs_->SyncDir(Path("f")).ok());
  EXPECT_FALSE(fs_->OpenFile(Path("f/g"), {.create = true}).ok());
}

TEST_P(FsConformanceTest, Exists) {
  EXPECT_TRUE(*fs_->Exists(harness_->root()));
  EXPECT_FALSE(*fs_->Exists(Path("f")));
  WriteFile(Path("f"), "");
  EXPECT_TRUE(*fs_->Exists(Path("f")));
  EXPECT_FALSE(*fs_->Exists(Path("nodir/f")));
}

TEST_P(FsConformanceTest, LockTwiceIsBusy) {
  StatusOr<std::unique_ptr<FileLock>> first = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*fs_->Exists(Path("LOCK")));  // Created.
  StatusOr<std::unique_ptr<FileLock>> second = fs_->LockFile(Path("LOCK"));
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsBusy()) << second.status().ToString();
  EXPECT_THAT(second.status().message(), HasSubstr(Path("LOCK")));
  // Another path is independent.
  EXPECT_TRUE(fs_->LockFile(Path("LOCK2")).ok());
}

TEST_P(FsConformanceTest, LockReleasedOnDestruction) {
  {
    StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
    ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  }
  StatusOr<std::unique_ptr<FileLock>> again = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  again->reset();
  EXPECT_TRUE(fs_->LockFile(Path("LOCK")).ok());
}

TEST_P(FsConformanceTest, LockExistingFileKeepsContent) {
  WriteFile(Path("LOCK"), "pid 1");
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(ContentsOf(Path("LOCK")), "pid 1");
}

TEST_P(FsConformanceTest, LockInMissingDirIsNotFound) {
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("nodir/LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_TRUE(lock.status().IsNotFound()) << lock.status().ToString();
}

// Read-only opens: shared locks coexist, exclude an exclusive lock both ways, and never create
// the lock file.
TEST_P(FsConformanceTest, SharedLocksCoexistAndExcludeTheExclusiveLock) {
  WriteFile(Path("LOCK"), "");
  StatusOr<std::unique_ptr<FileLock>> first = fs_->LockFileShared(Path("LOCK"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  StatusOr<std::unique_ptr<FileLock>> second = fs_->LockFileShared(Path("LOCK"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  StatusOr<std::unique_ptr<FileLock>> writer = fs_->LockFile(Path("LOCK"));
  ASSERT_FALSE(writer.ok());
  EXPECT_TRUE(writer.status().IsBusy()) << writer.status().ToString();
  first->reset();
  EXPECT_TRUE(fs_->LockFile(Path("LOCK")).status().IsBusy());  // `second` still holds it.
  second->reset();
  writer = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  StatusOr<std::unique_ptr<FileLock>> reader = fs_->LockFileShared(Path("LOCK"));
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(reader.status().IsBusy()) << reader.status().ToString();
  EXPECT_THAT(reader.status().message(), HasSubstr(Path("LOCK")));
  writer->reset();
  EXPECT_TRUE(fs_->LockFileShared(Path("LOCK")).ok());
}

TEST_P(FsConformanceTest, SharedLockNeverCreatesTheFile) {
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFileShared(Path("LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_TRUE(lock.status().IsNotFound()) << lock.status().ToString();
  EXPECT_FALSE(*fs_->Exists(Path("LOCK")));
  WriteFile(Path("LOCK"), "pid 1");
  lock = fs_->LockFileShared(Path("LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(ContentsOf(Path("LOCK")), "pid 1");
}

TEST_P(FsConformanceTest, ConcurrentLockersExactlyOneWins) {
  constexpr int kThreads = 8;
  port::Atomic<int> winners{0};
  port::Atomic<int> busy{0};
  std::vector<std::unique_ptr<FileLock>> held(kThreads);
  std::vector<std::unique_ptr<port::Thread>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.push_back(std::make_unique<port::Thread>([&, t] {
      StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
      if (lock.ok()) {
        winners.fetch_add(1);
        held[t] = std::move(lock).value();  // Keep it until every thread has tried.
      } else if (lock.status().IsBusy()) {
        busy.fetch_add(1);
      }
    }));
  }
  for (auto& thread : threads) thread->Join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(busy.load(), kThreads - 1);
}

TEST_P(FsConformanceTest, ConcurrentWritesAtDifferentOffsets) {
  constexpr int kThreads = 4;
  constexpr int kBlocks = 64;
  constexpr size_t kBlockBytes = 512;
  std::unique_ptr<File> file = Open(Path("f"));
  ASSERT_TRUE(file->Truncate(kThreads * kBlocks * kBlockBytes).ok());
  std::vector<std::unique_ptr<port::Thread>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.push_back(std::make_unique<port::Thread>([&, t] {
      const std::string block(kBlockBytes, static_cast<char>('a' + t));
      // Thread t owns blocks t, t + kThreads, ... so writers interleave across the file.
      for (int b = t; b < kThreads * kBlocks; b += kThreads) {
        EXPECT_TRUE(file->Write(b * kBlockBytes, block).ok());
        char check[kBlockBytes];
        StatusOr<size_t> n = file->Read(b * kBlockBytes, kBlockBytes, check);
        EXPECT_TRUE(n.ok() && *n == kBlockBytes);
        EXPECT_EQ(std::string(check, kBlockBytes), block);
      }
    }));
  }
  for (auto& thread : threads) thread->Join();
  const std::string contents = Contents(*file);
  ASSERT_EQ(contents.size(), kThreads * kBlocks * kBlockBytes);
  for (int b = 0; b < kThreads * kBlocks; ++b) {
    ASSERT_EQ(contents[b * kBlockBytes], static_cast<char>('a' + b % kThreads)) << b;
    ASSERT_EQ(contents[(b + 1) * kBlockBytes - 1], static_cast<char>('a' + b % kThreads)) << b;
  }
}

TEST_P(FsConformanceTest, LargeWriteAndRead) {
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + i / 251);
  std::unique_ptr<File> file = Open(Path("big"));
  ASSERT_TRUE(file->Write(0, data).ok());
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ(Contents(*file), data);
}

INSTANTIATE_TEST_SUITE_P(
    AllFileSystems, FsConformanceTest,
    ::testing::Values(FsParam{"Posix", [] { return std::unique_ptr<Harness>(new PosixHarness); }},
                      FsParam{"Mem", [] { return std::unique_ptr<Harness>(new MemHarness); }}),
    [](const ::testing::TestParamInfo<FsParam>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace manifold
