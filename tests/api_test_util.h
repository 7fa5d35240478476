// What the API error tests share (api_errors_test.cc, api_limits_test.cc): status checks that
// also demand a message, whole-column-family reads, a power-cut image of an open database, and
// the fixture holding one database on a MemFileSystem.
#ifndef MANIFOLD_TESTS_API_TEST_UTIL_H_
#define MANIFOLD_TESTS_API_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/options.h"
#include "manifold/status.h"

namespace manifold::api_test {

constexpr uint32_t kPageBytes = 1024;
constexpr uint32_t kKeyMax = Limits::KeyBytesMax(kPageBytes);

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
inline const Status& StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// Checks the code and that the message says something.
#define EXPECT_CODE(expr, expected_code)                                     \
  do {                                                                       \
    const auto& _result = (expr);                                            \
    const ::manifold::Status& _status = StatusOf(_result);                   \
    EXPECT_EQ(_status.code(), (expected_code))                               \
        << #expr << " returned " << _status.ToString() << ", expected "      \
        << ::manifold::StatusCodeName(expected_code);                        \
    if (!_status.ok()) {                                                     \
      EXPECT_FALSE(_status.message().empty()) << #expr << ": empty message"; \
    }                                                                        \
  } while (0)

#define EXPECT_OK(expr)                                                                   \
  do {                                                                                    \
    const auto& _result = (expr);                                                         \
    EXPECT_TRUE(StatusOf(_result).ok()) << #expr << ": " << StatusOf(_result).ToString(); \
  } while (0)

// Every key and value of one column family.
inline std::map<std::string, std::string> ReadAll(DB* db, const std::string& column_family) {
  std::map<std::string, std::string> all;
  auto it = db->NewIterator({}, column_family);
  EXPECT_TRUE(it.ok()) << it.status().ToString();
  if (!it.ok()) return all;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    all.emplace(std::string((*it)->key()), std::string((*it)->value()));
  }
  EXPECT_TRUE((*it)->status().ok()) << (*it)->status().ToString();
  return all;
}

// What a power cut right now would leave of the database in directory `from`, copied to `to`,
// where it can be opened although the database in `from` is still open: its lock refuses a second
// open, and closing it would first write a final checkpoint, which a crash does not. The power
// cut reaches every file of `fs`, so the database in `from` must only be closed afterwards.
inline Status CopyCrashImage(MemFileSystem* fs, const std::string& from, const std::string& to) {
  fs->DropUnsyncedData();
  MANIFOLD_RETURN_IF_ERROR(fs->CreateDir(to));
  MANIFOLD_RETURN_IF_ERROR(fs->SyncDir("/"));
  MANIFOLD_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(from));
  for (const std::string& name : names) {
    if (name == "LOCK") continue;  // Held by the open database; opening the copy makes its own.
    OpenFileOptions read_only;
    read_only.read_only = true;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> source,
                              fs->OpenFile(from + "/" + name, read_only));
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, source->Size());
    std::string bytes(size, '\0');
    MANIFOLD_ASSIGN_OR_RETURN(size_t got, source->Read(0, size, bytes.data()));
    if (got != size) return Status::IOError("short read of " + from + "/" + name);
    OpenFileOptions create;
    create.create = true;
    create.exclusive = true;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> copy, fs->OpenFile(to + "/" + name, create));
    MANIFOLD_RETURN_IF_ERROR(copy->Write(0, bytes));
    MANIFOLD_RETURN_IF_ERROR(copy->Sync());
  }
  return fs->SyncDir(to);
}

class ApiErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.file_system = fs_.get();
    options_.page_bytes = kPageBytes;
    Open();
  }

  void Open() {
    db_.reset();
    auto db = DB::Open(options_, "/db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  // Nothing but what the test put there: the "default" family holding `expected_keys` keys.
  void ExpectDefaultHolds(size_t expected_keys) {
    EXPECT_EQ(db_->ListColumnFamilies(), std::vector<std::string>{"default"});
    auto it = db_->NewIterator({}, "default");
    ASSERT_TRUE(it.ok());
    size_t n = 0;
    for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) ++n;
    EXPECT_EQ(n, expected_keys);
  }

  std::unique_ptr<MemFileSystem> fs_ = NewMemFileSystem();
  Options options_;
  std::unique_ptr<DB> db_;
};

}  // namespace manifold::api_test

#endif  // MANIFOLD_TESTS_API_TEST_UTIL_H_
