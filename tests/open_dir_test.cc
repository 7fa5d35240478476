// Opening a directory never destroys, creates or litters (docs/design.md I24, I25), on the POSIX
// file system: a data file missing beside log segments is Corruption and nothing is touched; a
// directory without a database is NotFound and stays as it was (no LOCK file); read-only opens
// share the lock, keep a writer out, and work on read-only media without writing anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"

namespace manifold {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int kKeys = 120;

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/open_dir_" + std::to_string(getpid()) +
         "_" + name;
}

std::string Key(int i) { return "key" + std::to_string(1000 + i); }
std::string ValueOf(int i) { return std::string(900, static_cast<char>('a' + i % 26)); }

std::string ContentsOf(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// Every entry under `path` (or the file `path` itself) with its bytes: two snapshots are equal
// only if nothing was created, removed or written.
std::map<std::string, std::string> Snapshot(const std::string& path) {
  std::map<std::string, std::string> entries;
  if (!fs::exists(path)) return entries;
  if (!fs::is_directory(path)) {
    entries["<file>"] = ContentsOf(path);
    return entries;
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
    entries[entry.path().filename().string()] =
        entry.is_regular_file() ? ContentsOf(entry.path()) : "<dir>";
  }
  return entries;
}

bool HasLogSegment(const std::map<std::string, std::string>& entries) {
  for (const auto& [name, bytes] : entries) {
    if (name.rfind("wal-", 0) == 0) return true;
  }
  return false;
}

Options SmallLogOptions() {
  Options options;
  options.page_bytes = 1024;
  options.wal_segment_bytes = 64 << 10;
  options.background_checkpoints = false;
  options.checkpoint_interval_us = 0;
  return options;
}

// A database whose last kKeys durable commits are only in its log (several segments): a child
// process writes them and exits without closing, as a crash would leave it.
void MakeCrashImage(const std::string& path) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = DB::Open(SmallLogOptions(), path);
    if (!db.ok()) _exit(1);
    for (int i = 0; i < kKeys; ++i) {
      if (!(*db)->Put({}, "default", Key(i), ValueOf(i)).ok()) _exit(2);
    }
    _exit(0);  // No close: no final checkpoint.
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);
}

void ExpectAllKeys(DB* db) {
  for (int i = 0; i < kKeys; ++i) {
    auto value = db->Get({}, "default", Key(i));
    ASSERT_TRUE(value.ok()) << Key(i) << ": " << value.status().ToString();
    EXPECT_EQ(*value, ValueOf(i));
  }
}

// The issue-11 report: a data file removed from a directory whose log segments remain. Every
// open (with any option that could "repair" it) is Corruption naming what is there, and leaves
// every byte in place, so putting the data file back loses nothing.
TEST(OpenDirTest, MissingDataFileBesideLogSegmentsIsCorruptionAndChangesNothing) {
  const std::string path = TempPath("orphan_log");
  MakeCrashImage(path);
  fs::rename(path + "/MANIFOLD", path + ".MANIFOLD");
  const auto before = Snapshot(path);
  ASSERT_TRUE(HasLogSegment(before));

  std::vector<std::pair<std::string, Options>> variants;
  variants.emplace_back("defaults (create_if_missing)", SmallLogOptions());
  variants.emplace_back("wal_salvage", SmallLogOptions());
  variants.back().second.wal_salvage = true;
  variants.emplace_back("ignore_damaged_header_slot", SmallLogOptions());
  variants.back().second.ignore_damaged_header_slot = true;
  variants.emplace_back("read_only", SmallLogOptions());
  variants.back().second.read_only = true;
  variants.emplace_back("no create_if_missing", SmallLogOptions());
  variants.back().second.create_if_missing = false;
  for (const auto& [name, options] : variants) {
    SCOPED_TRACE(name);
    auto db = DB::Open(options, path);
    ASSERT_FALSE(db.ok());
    EXPECT_TRUE(db.status().IsCorruption()) << db.status().ToString();
    EXPECT_THAT(db.status().message(), HasSubstr(path + "/MANIFOLD is missing"));
    EXPECT_THAT(db.status().message(), HasSubstr("wal-0000000000000001.log"));
    EXPECT_THAT(db.status().message(), HasSubstr("Nothing was created or changed"));
    EXPECT_EQ(Snapshot(path), before) << "the refused open changed the directory";
  }

  fs::rename(path + ".MANIFOLD", path + "/MANIFOLD");
  auto db = DB::Open(SmallLogOptions(), path);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ExpectAllKeys(db->get());
}

// Item 8 of issue 11: an open that finds no database says so and leaves no LOCK (or anything
// else) behind, whatever is at the path.
TEST(OpenDirTest, NoDatabaseIsNotFoundAndChangesNothing) {
  const std::string base = TempPath("nodb");
  fs::create_directories(base + "/empty");
  fs::create_directories(base + "/other");
  std::ofstream(base + "/other/notes.txt") << "not a database";
  std::ofstream(base + "/file") << "a regular file";
  fs::create_directories(base + "/unfinished");
  std::ofstream(base + "/unfinished/MANIFOLD.tmp") << "half a creation";
  // A creation writes the empty log head before it renames MANIFOLD.tmp (I21); a crash can keep
  // the segment's directory entry and lose the tmp file's.
  fs::create_directories(base + "/unfinished_log");
  std::ofstream(base + "/unfinished_log/wal-0000000000000001.log");
  const std::vector<std::pair<std::string, std::string>> places = {
      {base + "/missing", "does not exist"},
      {base + "/empty", "the directory is empty"},
      {base + "/other", "holds 1 other entries"},
      {base + "/file", "it is a file, not a directory"},
      {base + "/unfinished", "MANIFOLD.tmp is left from a creation that did not finish"},
      {base + "/unfinished_log",
       "an empty wal-0000000000000001.log is left from a creation that did not finish"},
  };
  Options read_only;
  read_only.read_only = true;
  Options read_only_create = read_only;
  read_only_create.create_if_missing = true;
  Options writable;
  writable.create_if_missing = false;
  for (const auto& [place, why] : places) {
    const auto before = Snapshot(place);
    for (const Options& options : {read_only, read_only_create, writable}) {
      SCOPED_TRACE(place + (options.read_only ? " read-only" : " writable") +
                   (options.create_if_missing ? " create_if_missing" : ""));
      auto db = DB::Open(options, place);
      ASSERT_FALSE(db.ok());
      EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
      EXPECT_THAT(db.status().message(), HasSubstr(why));
      EXPECT_EQ(Snapshot(place), before) << "the refused open changed " << place;
    }
  }
  // Even create_if_missing cannot make a database out of a regular file.
  Options create;
  // But it finishes an unfinished creation, reusing the empty log head.
  {
    auto created = DB::Open(create, base + "/unfinished_log");
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    ASSERT_TRUE((*created)->Put(WriteOptions{}, "default", "k", "v").ok());
  }
  {
    auto reopened = DB::Open(create, base + "/unfinished_log");
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    auto value = (*reopened)->Get(ReadOptions{}, "default", "k");
    ASSERT_TRUE(value.ok()) << value.status().ToString();
    EXPECT_EQ(*value, "v");
  }
  auto db = DB::Open(create, base + "/file");
  EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
  EXPECT_EQ(ContentsOf(base + "/file"), "a regular file");
}

// Read-only media: every call that would create, write, rename, remove or sync fails (as EROFS
// or EACCES would) and is counted. Everything else goes to the POSIX file system.
class ReadOnlyMediaFileSystem final : public FileSystem {
 public:
  explicit ReadOnlyMediaFileSystem(std::string why) : why_(std::move(why)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    if (options.create || !options.read_only) return Refuse("open for writing", path);
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<ReadOnlyFile>(this, std::move(file)));
  }
  Status Rename(const std::string& from, const std::string&) override {
    return Refuse("rename", from);
  }
  Status Remove(const std::string& path) override { return Refuse("remove", path); }
  Status CreateDir(const std::string& path) override { return Refuse("create dir", path); }
  Status SyncDir(const std::string& path) override { return Refuse("sync dir", path); }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  StatusOr<bool> Exists(const std::string& path) override { return base_->Exists(path); }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return Refuse("lock", path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    return base_->LockFileShared(path);
  }

  int refused() const { return refused_; }

 private:
  class ReadOnlyFile final : public File {
   public:
    ReadOnlyFile(ReadOnlyMediaFileSystem* fs, std::unique_ptr<File> base)
        : fs_(fs), base_(std::move(base)) {}
    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      return base_->Read(offset, n, scratch);
    }
    Status Write(uint64_t, std::string_view) override { return fs_->Refuse("write", path()); }
    Status Append(std::string_view) override { return fs_->Refuse("append", path()); }
    Status Sync() override { return fs_->Refuse("sync", path()); }
    Status Truncate(uint64_t) override { return fs_->Refuse("truncate", path()); }
    Status Preallocate(uint64_t, uint64_t) override { return fs_->Refuse("preallocate", path()); }
    StatusOr<uint64_t> Size() const override { return base_->Size(); }
    const std::string& path() const override { return base_->path(); }

   private:
    ReadOnlyMediaFileSystem* const fs_;
    const std::unique_ptr<File> base_;
  };

  Status Refuse(const std::string& op, const std::string& path) {
    ++refused_;
    return Status::IOError(op + " " + path + ": " + why_);
  }

  FileSystem* const base_ = PosixFileSystem();
  const std::string why_;
  int refused_ = 0;
};

class ReadOnlyMediaTest : public ::testing::TestWithParam<const char*> {};

// Issue 11 item 4: `read_only` on read-only media used to fail at the lock ("IOError: lock
// .../LOCK: Permission denied"). Now it opens, replays the log, reads and verifies without a
// single write, sync or creation, and a writable open fails without changing anything.
TEST_P(ReadOnlyMediaTest, ReadOnlyOpenWritesNothing) {
  const std::string path =
      TempPath(std::string("ro_media_") + (GetParam()[0] == 'R' ? "rofs" : "acces"));
  MakeCrashImage(path);
  const auto before = Snapshot(path);
  ReadOnlyMediaFileSystem media(GetParam());
  Options options = SmallLogOptions();
  options.file_system = &media;
  options.read_only = true;
  {
    auto db = DB::Open(options, path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ExpectAllKeys(db->get());
    EXPECT_TRUE((*db)->VerifyIntegrity(nullptr).ok());
    EXPECT_TRUE((*db)->Put({}, "default", "k", "v").IsReadOnly());
  }
  EXPECT_EQ(media.refused(), 0) << "a read-only open tried to write, sync or create";
  EXPECT_EQ(Snapshot(path), before);

  options.read_only = false;
  auto writable = DB::Open(options, path);
  ASSERT_FALSE(writable.ok());
  EXPECT_THAT(writable.status().message(), HasSubstr(GetParam()));
  EXPECT_EQ(Snapshot(path), before);
}

INSTANTIATE_TEST_SUITE_P(Errors, ReadOnlyMediaTest,
                         ::testing::Values("Read-only file system", "Permission denied"));

// Runs `open` in a child process and returns the status code it got (100 for OK).
template <typename OpenFn>
int CodeInChild(OpenFn open) {
  const pid_t child = fork();
  if (child == 0) {
    StatusOr<std::unique_ptr<DB>> db = open();
    _exit(db.ok() ? 100 : static_cast<int>(db.status().code()));
  }
  int wstatus = 0;
  if (child < 0 || waitpid(child, &wstatus, 0) != child || !WIFEXITED(wstatus)) return -1;
  return WEXITSTATUS(wstatus);
}

// I25: read-only opens share the lock (in this and other processes); a writer excludes them and
// they exclude a writer, each with a Busy that says what to do.
TEST(OpenDirTest, ReadOnlyOpensShareTheLockAndExcludeAWriter) {
  const std::string path = TempPath("shared");
  Options writable;
  {
    auto db = DB::Open(writable, path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Put({}, "default", "k", "v").ok());
  }
  Options read_only;
  read_only.read_only = true;
  auto open_read_only = [&] { return DB::Open(read_only, path); };
  auto open_writable = [&] { return DB::Open(writable, path); };
  {
    auto first = DB::Open(read_only, path);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto second = DB::Open(read_only, path);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(*(*second)->Get({}, "default", "k"), "v");
    EXPECT_EQ(CodeInChild(open_read_only), 100);
    auto writer = DB::Open(writable, path);
    ASSERT_TRUE(writer.status().IsBusy()) << writer.status().ToString();
    EXPECT_THAT(writer.status().message(), HasSubstr("close the other user first"));
    EXPECT_EQ(CodeInChild(open_writable), static_cast<int>(StatusCode::kBusy));
  }
  auto writer = DB::Open(writable, path);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  auto reader = DB::Open(read_only, path);
  ASSERT_TRUE(reader.status().IsBusy()) << reader.status().ToString();
  EXPECT_THAT(reader.status().message(), HasSubstr("retry once the process that has it open"));
  EXPECT_EQ(CodeInChild(open_read_only), static_cast<int>(StatusCode::kBusy));
}

// A read-only open on writable media never creates the lock file it needs; it says how to get
// one back instead of reading unprotected.
TEST(OpenDirTest, ReadOnlyOpenWithoutLockFileCreatesNothing) {
  const std::string path = TempPath("no_lock");
  {
    auto db = DB::Open(Options(), path);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
  }
  fs::remove(path + "/LOCK");
  const auto before = Snapshot(path);
  Options read_only;
  read_only.read_only = true;
  auto db = DB::Open(read_only, path);
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(db.status().IsNotFound()) << db.status().ToString();
  EXPECT_THAT(db.status().message(), HasSubstr("has no LOCK file"));
  EXPECT_EQ(Snapshot(path), before);
  ASSERT_TRUE(DB::Open(Options(), path).ok());  // A writable open recreates it.
  EXPECT_TRUE(DB::Open(read_only, path).ok());
}

}  // namespace
}  // namespace manifold
