// PosixFileSystem behaviour that only the real file system has (kernel locks, errno mapping,
// descriptor flags) plus SystemClock. Shared FileSystem behaviour is in fs_conformance_test.cc.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "manifold/env.h"

namespace manifold {
namespace {

using ::testing::HasSubstr;

class PosixFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/posix_fs.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  std::string Path(const std::string& name) const { return root_ + "/" + name; }

  FileSystem* fs_ = PosixFileSystem();
  std::string root_;
};

TEST_F(PosixFsTest, SingletonsAreStable) {
  EXPECT_NE(PosixFileSystem(), nullptr);
  EXPECT_EQ(PosixFileSystem(), PosixFileSystem());
  EXPECT_NE(SystemClock(), nullptr);
  EXPECT_EQ(SystemClock(), SystemClock());
}

TEST_F(PosixFsTest, ErrorMessageHasOperationPathAndErrnoText) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("missing"), {});
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.status().IsNotFound());
  EXPECT_EQ(file.status().message(), "open " + Path("missing") + ": No such file or directory");
}

TEST_F(PosixFsTest, FullDiskIsNoSpaceWithOffset) {
  // /dev/full fails every write with ENOSPC.
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile("/dev/full", {});
  if (!file.ok()) GTEST_SKIP() << "no /dev/full: " << file.status().ToString();
  Status s = (*file)->Write(4096, "data");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("/dev/full at offset 4096"));
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
}

TEST_F(PosixFsTest, OffsetsBeyondOffTAreInvalid) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("f"), {.create = true});
  ASSERT_TRUE(file.ok());
  char buf[4];
  EXPECT_TRUE((*file)->Read(UINT64_MAX - 1, sizeof(buf), buf).status().IsInvalidArgument());
  EXPECT_TRUE((*file)->Write(UINT64_MAX - 1, "abcd").IsInvalidArgument());
  EXPECT_TRUE((*file)->Truncate(UINT64_MAX).IsInvalidArgument());
  EXPECT_TRUE((*file)->Preallocate(1, UINT64_MAX).IsInvalidArgument());
}

// Reads the descriptor flags the kernel reports for the open descriptor of `path` (via /proc),
// or -1 if none is found.
long OpenFlagsOf(const std::string& path) {
  std::error_code ec;
  // /proc shows the resolved path; TEST_TMPDIR may go through symlinks.
  const std::filesystem::path target = std::filesystem::canonical(path, ec);
  if (ec) return -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    if (std::filesystem::read_symlink(entry.path(), ec) != target) continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    std::string key;
    std::string value;
    while (info >> key >> value) {
      if (key == "flags:") return std::strtol(value.c_str(), nullptr, 8);
    }
  }
  return -1;
}

TEST_F(PosixFsTest, DescriptorsAreCloseOnExec) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("f"), {.create = true});
  ASSERT_TRUE(file.ok());
  const long flags = OpenFlagsOf(Path("f"));
  if (flags < 0) GTEST_SKIP() << "no /proc fdinfo";
  EXPECT_NE(flags & O_CLOEXEC, 0) << std::oct << flags;

  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok());
  const long lock_flags = OpenFlagsOf(Path("LOCK"));
  ASSERT_GE(lock_flags, 0);
  EXPECT_NE(lock_flags & O_CLOEXEC, 0) << std::oct << lock_flags;
}

TEST_F(PosixFsTest, LockIsAKernelLock) {
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  // Another open file description, as another process would have, cannot take the lock.
  const int fd = ::open(Path("LOCK").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  lock->reset();
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // Released with the FileLock.
  ::close(fd);
}

TEST_F(PosixFsTest, LockHeldElsewhereIsBusy) {
  // Simulates another process holding the lock: a separate open file description with flock.
  const int fd = ::open(Path("LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
  ASSERT_FALSE(lock.ok());
  EXPECT_TRUE(lock.status().IsBusy()) << lock.status().ToString();
  EXPECT_EQ(lock.status().message(), "database " + Path("LOCK") + " is locked by another process");
  ::close(fd);
  EXPECT_TRUE(fs_->LockFile(Path("LOCK")).ok());
}

// The shared lock is a kernel LOCK_SH on a descriptor opened for reading only: another process
// may share it but not take LOCK_EX, and a writer's LOCK_EX keeps it out.
TEST_F(PosixFsTest, SharedLockIsAKernelSharedLockOnAReadOnlyDescriptor) {
  ::close(::open(Path("LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFileShared(Path("LOCK"));
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  const long flags = OpenFlagsOf(Path("LOCK"));  // Before another descriptor of it exists.
  if (flags >= 0) {
    EXPECT_EQ(flags & O_ACCMODE, O_RDONLY) << std::oct << flags;
  }
  const int fd = ::open(Path("LOCK").c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), -1);
  EXPECT_EQ(errno, EWOULDBLOCK);
  EXPECT_EQ(::flock(fd, LOCK_SH | LOCK_NB), 0);
  ASSERT_EQ(::flock(fd, LOCK_UN), 0);
  lock->reset();
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  StatusOr<std::unique_ptr<FileLock>> refused = fs_->LockFileShared(Path("LOCK"));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsBusy()) << refused.status().ToString();
  EXPECT_EQ(refused.status().message(),
            "database " + Path("LOCK") + " is locked by another process (open for writing)");
  ::close(fd);
}

TEST_F(PosixFsTest, LockExcludesChildProcess) {
  StatusOr<std::unique_ptr<FileLock>> lock = fs_->LockFile(Path("LOCK"));
  ASSERT_TRUE(lock.ok());
  const std::string path = Path("LOCK");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: only async-signal-safe calls. Exit 0 if the lock is held by the parent.
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) ::_exit(2);
    const int r = ::flock(fd, LOCK_EX | LOCK_NB);
    ::_exit(r == -1 && errno == EWOULDBLOCK ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
}

TEST_F(PosixFsTest, SyncDirOnFileFails) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("f"), {.create = true});
  ASSERT_TRUE(file.ok());
  Status s = fs_->SyncDir(Path("f"));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("Not a directory"));
}

TEST_F(PosixFsTest, PreallocateReservesBlocks) {
  StatusOr<std::unique_ptr<File>> file = fs_->OpenFile(Path("f"), {.create = true});
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Preallocate(0, 1 << 20).ok());
  EXPECT_EQ(*(*file)->Size(), uint64_t{1} << 20);
  struct stat st;
  ASSERT_EQ(::stat(Path("f").c_str(), &st), 0);
  // Space is really reserved where fallocate is supported (not a sparse file); where it is not,
  // the emulation writes zeros, which also allocates.
  EXPECT_GE(static_cast<uint64_t>(st.st_blocks) * 512, uint64_t{1} << 20);
}

TEST(SystemClockTest, NowIsMonotonic) {
  Clock* clock = SystemClock();
  uint64_t previous = clock->NowMicros();
  for (int i = 0; i < 1000; ++i) {
    const uint64_t now = clock->NowMicros();
    ASSERT_GE(now, previous);
    previous = now;
  }
}

TEST(SystemClockTest, SleepWaitsAtLeastTheDuration) {
  Clock* clock = SystemClock();
  const uint64_t start_us = clock->NowMicros();
  clock->SleepForMicros(20'000);
  EXPECT_GE(clock->NowMicros() - start_us, 20'000u);
  clock->SleepForMicros(0);  // Returns promptly.
}

}  // namespace
}  // namespace manifold
