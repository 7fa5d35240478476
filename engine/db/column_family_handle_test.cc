// ColumnFamilyHandle (manifold/column_family.h, I46): every call that takes a handle, drops,
// recreation under the same name, handles from another database, snapshots and batches.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "manifold/column_family.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/write_batch.h"

namespace manifold {
namespace {

class ColumnFamilyHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.file_system = fs_.get();
    options_.page_bytes = 1024;
    db_ = Open("/db");
  }
  std::unique_ptr<DB> Open(const std::string& path) {
    auto db = DB::Open(options_, path);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }
  ColumnFamilyHandle Handle(std::string_view name) {
    auto handle = db_->GetColumnFamily(name);
    EXPECT_TRUE(handle.ok()) << handle.status().ToString();
    return handle.ok() ? *handle : ColumnFamilyHandle();
  }
  // Every call taking `handle` fails with `is_expected` (NotFound or InvalidArgument).
  void ExpectEveryCallFails(const ColumnFamilyHandle& handle, bool (Status::*is_expected)() const) {
    Status put = db_->Put({}, handle, "k", "v");
    EXPECT_TRUE((put.*is_expected)()) << put.ToString();
    Status del = db_->Delete({}, handle, "k");
    EXPECT_TRUE((del.*is_expected)()) << del.ToString();
    auto get = db_->Get({}, handle, "k");
    EXPECT_TRUE((get.status().*is_expected)()) << get.status().ToString();
    auto it = db_->NewIterator({}, handle);
    EXPECT_TRUE((it.status().*is_expected)()) << it.status().ToString();
    auto txn = db_->BeginTransaction(handle);
    EXPECT_TRUE((txn.status().*is_expected)()) << txn.status().ToString();
    WriteBatch batch;
    batch.Put("default", "in-batch", "x");
    batch.Put(handle, "k", "v");
    Status write = db_->Write({}, batch);
    EXPECT_TRUE((write.*is_expected)()) << write.ToString();
    // The batch is atomic: its by-name op did not happen either.
    EXPECT_TRUE(db_->Get({}, "default", "in-batch").status().IsNotFound());
  }

  std::unique_ptr<MemFileSystem> fs_ = NewMemFileSystem();
  Options options_;
  std::unique_ptr<DB> db_;
};

TEST_F(ColumnFamilyHandleTest, EveryCallByHandleMatchesTheByNameForm) {
  ASSERT_TRUE(db_->CreateColumnFamily("users").ok());
  ColumnFamilyHandle users = Handle("users");
  ASSERT_TRUE(users.valid());
  EXPECT_EQ(users.name(), "users");
  EXPECT_NE(users.id(), Handle("default").id());
  EXPECT_EQ(Handle("default").id(), 0u);
  EXPECT_EQ(users, Handle("users"));
  EXPECT_NE(users, Handle("default"));
  EXPECT_TRUE(db_->GetColumnFamily("absent").status().IsNotFound());

  ASSERT_TRUE(db_->Put({}, users, "a", "1").ok());
  ASSERT_TRUE(db_->Put({}, users, "b", "2").ok());
  ASSERT_TRUE(db_->Delete({}, users, "a").ok());
  EXPECT_TRUE(db_->Get({}, "users", "a").status().IsNotFound());
  EXPECT_EQ(*db_->Get({}, "users", "b"), "2");
  EXPECT_EQ(*db_->Get({}, users, "b"), "2");
  EXPECT_TRUE(db_->Get({}, "default", "b").status().IsNotFound());

  WriteBatch batch;
  batch.Put(users, "c", "3");
  batch.Put("default", "d", "4");
  batch.Delete(users, "b");
  ASSERT_TRUE(db_->Write({}, batch).ok());
  EXPECT_EQ(*db_->Get({}, users, "c"), "3");
  EXPECT_EQ(*db_->Get({}, "default", "d"), "4");
  EXPECT_TRUE(db_->Get({}, users, "b").status().IsNotFound());

  auto txn = db_->BeginTransaction(users);
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  ASSERT_TRUE((*txn)->Put("e", "5").ok());
  ASSERT_TRUE((*txn)->Commit({}).ok());
  txn->reset();

  auto it = db_->NewIterator({}, users);
  ASSERT_TRUE(it.ok());
  std::string seen;
  for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
    seen += std::string((*it)->key()) + "=" + std::string((*it)->value()) + " ";
  }
  EXPECT_EQ(seen, "c=3 e=5 ");
  it->reset();

  // A handle survives checkpoints and reads its column family's data after them.
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(*db_->Get({}, users, "e"), "5");
}

TEST_F(ColumnFamilyHandleTest, DroppedColumnFamilyIsNotFoundAndRecreationGivesANewHandle) {
  ASSERT_TRUE(db_->CreateColumnFamily("logs").ok());
  ColumnFamilyHandle old_logs = Handle("logs");
  ASSERT_TRUE(db_->Put({}, old_logs, "k", "old").ok());
  auto before_drop = db_->GetSnapshot();
  ASSERT_TRUE(db_->DropColumnFamily("logs").ok());
  ExpectEveryCallFails(old_logs, &Status::IsNotFound);

  ASSERT_TRUE(db_->CreateColumnFamily("logs").ok());
  ColumnFamilyHandle new_logs = Handle("logs");
  EXPECT_NE(new_logs.id(), old_logs.id());
  EXPECT_NE(new_logs, old_logs);
  // The old handle never reaches the new column family of the same name.
  ExpectEveryCallFails(old_logs, &Status::IsNotFound);
  EXPECT_TRUE(db_->Get({}, new_logs, "k").status().IsNotFound());
  ASSERT_TRUE(db_->Put({}, new_logs, "k", "new").ok());
  EXPECT_EQ(*db_->Get({}, "logs", "k"), "new");

  // A snapshot taken before the drop still holds the old column family, and the old handle
  // reads it there; the new handle finds nothing in it.
  ReadOptions at_old;
  at_old.snapshot = before_drop.get();
  EXPECT_EQ(*db_->Get(at_old, old_logs, "k"), "old");
  EXPECT_TRUE(db_->Get(at_old, new_logs, "k").status().IsNotFound());
  EXPECT_TRUE(db_->NewIterator(at_old, new_logs).status().IsNotFound());
  EXPECT_EQ(*db_->Get(at_old, "logs", "k"), "old");
}

TEST_F(ColumnFamilyHandleTest, HandlesFromAnotherDatabaseOrEmptyAreRejected) {
  std::unique_ptr<DB> other = Open("/other");
  ASSERT_NE(other, nullptr);
  auto foreign = other->GetColumnFamily("default");
  ASSERT_TRUE(foreign.ok());
  EXPECT_NE(*foreign, Handle("default"));  // Same id and name, another database.
  ExpectEveryCallFails(*foreign, &Status::IsInvalidArgument);
  EXPECT_TRUE(other->Put({}, *foreign, "k", "v").ok());  // Its own database accepts it.
  other.reset();
  // Outliving its database is safe: it is rejected, never dereferenced into freed memory.
  ExpectEveryCallFails(*foreign, &Status::IsInvalidArgument);

  ColumnFamilyHandle empty;
  EXPECT_FALSE(empty.valid());
  EXPECT_EQ(empty.id(), 0u);
  EXPECT_EQ(empty.name(), "");
  Status put = db_->Put({}, empty, "k", "v");
  EXPECT_TRUE(put.IsInvalidArgument()) << put.ToString();
  EXPECT_TRUE(db_->Get({}, empty, "k").status().IsInvalidArgument());
  EXPECT_TRUE(db_->NewIterator({}, empty).status().IsInvalidArgument());
  EXPECT_TRUE(db_->BeginTransaction(empty).status().IsInvalidArgument());
}

TEST_F(ColumnFamilyHandleTest, HandleFromAnEarlierOpenIsRejectedAfterReopen) {
  ColumnFamilyHandle first_open = Handle("default");
  ASSERT_TRUE(db_->Put({}, first_open, "k", "v").ok());
  db_.reset();
  db_ = Open("/db");
  ASSERT_NE(db_, nullptr);
  // Ids are stable across opens, but a handle belongs to one open: a reopened database could
  // otherwise accept a handle whose id a dropped column family held before the crash.
  ExpectEveryCallFails(first_open, &Status::IsInvalidArgument);
  EXPECT_EQ(*db_->Get({}, Handle("default"), "k"), "v");
  EXPECT_EQ(Handle("default").id(), first_open.id());
}

}  // namespace
}  // namespace manifold
