// The database: recovery, the commit protocol, column families, transactions and reads.
#ifndef MANIFOLD_DB_DB_IMPL_H_
#define MANIFOLD_DB_DB_IMPL_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/btree/tree.h"
#include "engine/db/pager.h"
#include "engine/db/version.h"
#include "engine/port/sync.h"
#include "manifold/db.h"
#include "manifold/env.h"

namespace manifold {

// Names of the files in a database directory.
inline constexpr char kDataFileName[] = "MANIFOLD";
inline constexpr char kLockFileName[] = "LOCK";

class DBImpl : public DB {
 public:
  static StatusOr<std::unique_ptr<DB>> Open(const Options& options, const std::string& path);
  ~DBImpl() override;

  Status CreateColumnFamily(std::string_view name) override;
  Status DropColumnFamily(std::string_view name) override;
  std::vector<std::string> ListColumnFamilies() override;
  Status Put(const WriteOptions& options, std::string_view column_family, std::string_view key,
             std::string_view value) override;
  Status Delete(const WriteOptions& options, std::string_view column_family,
                std::string_view key) override;
  Status Write(const WriteOptions& options, const WriteBatch& batch) override;
  StatusOr<std::unique_ptr<Transaction>> BeginTransaction(std::string_view column_family) override;
  StatusOr<std::string> Get(const ReadOptions& options, std::string_view column_family,
                            std::string_view key) override;
  StatusOr<std::unique_ptr<Iterator>> NewIterator(const ReadOptions& options,
                                                  std::string_view column_family) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override;
  Status VerifyIntegrity(IntegrityReport* report) override;
  Stats GetStats() override;
  uint32_t page_bytes() const override { return pager_->layout().page_bytes; }

  // --- Used by transactions -------------------------------------------------------------------
  struct TreeUpdate {
    std::string column_family;
    btree::PageRef base_root;  // The root the tree started from.
    btree::WriteTree* tree;
  };
  [[nodiscard]] Status CheckPut(std::string_view key, std::string_view value) const;
  [[nodiscard]] Status CheckKey(std::string_view key) const;
  [[nodiscard]] Status CheckWriteOptions(const WriteOptions& options) const;
  // ReadOnly when opened read-only or after a failed commit write (I8).
  [[nodiscard]] Status CheckWritable();
  // Waits until no other writer holds any of `names`, then holds them all.
  [[nodiscard]] Status AcquireColumnFamilies(const std::vector<std::string>& names);
  void ReleaseColumnFamilies(const std::vector<std::string>& names);
  [[nodiscard]] Status CommitTrees(std::vector<TreeUpdate> updates);
  VersionPtr current();
  Pager* pager() { return pager_.get(); }
  const Options& options() const { return options_; }

 private:
  // What a catalog edit (create or drop) may change while a commit is being built.
  struct CommitContext {
    Version* next;
    btree::WriteTree* catalog;
    uint64_t sequence;
  };
  using CatalogEdit = std::function<Status(CommitContext&)>;

  DBImpl(const Options& options, std::string path, std::unique_ptr<FileLock> lock);

  [[nodiscard]] Status Recover(std::unique_ptr<File> file, const HeaderSlot& slot);
  [[nodiscard]] Status Commit(std::vector<TreeUpdate> updates, const CatalogEdit& edit);
  [[nodiscard]] Status BuildCommit(const std::vector<TreeUpdate>& updates, const CatalogEdit& edit,
                                   CommitWriter* writer, Version* next,
                                   std::vector<uint64_t>* free_list_chain)
      MANIFOLD_REQUIRES(commit_mu_);
  [[nodiscard]] Status WriteCommit(const CommitWriter& writer, const Version& next,
                                   uint64_t free_list_pages) MANIFOLD_REQUIRES(commit_mu_);
  [[nodiscard]] Status WriteBatchHeld(const WriteBatch& batch,
                                      const std::vector<std::string>& names,
                                      const VersionPtr& base);
  void SetBackgroundError(const Status& status);
  [[nodiscard]] StatusOr<VersionPtr> ReadVersion(const ReadOptions& options);
  [[nodiscard]] Status CheckColumnFamilyName(std::string_view name) const;

  const Options options_;
  const std::string path_;
  FileSystem* const fs_;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<Pager> pager_;
  std::shared_ptr<VersionRegistry> registry_ = std::make_shared<VersionRegistry>();

  // Serializes commits: building pages, writing them, and publishing the next version.
  port::Mutex commit_mu_;
  PageAllocator allocator_ MANIFOLD_GUARDED_BY(commit_mu_);
  std::vector<uint64_t> free_list_chain_ MANIFOLD_GUARDED_BY(commit_mu_);

  port::Mutex state_mu_;
  port::CondVar column_family_released_{&state_mu_};
  VersionPtr current_ MANIFOLD_GUARDED_BY(state_mu_);
  std::set<std::string, std::less<>> busy_column_families_ MANIFOLD_GUARDED_BY(state_mu_);
  Status background_error_ MANIFOLD_GUARDED_BY(state_mu_);
  uint64_t commits_ MANIFOLD_GUARDED_BY(state_mu_) = 0;
};

// Checks the committed state of `version` page by page (engine/db/verify.cc).
[[nodiscard]] Status VerifyVersion(Pager* uncached, const Version& version,
                                   IntegrityReport* report);

}  // namespace manifold

#endif  // MANIFOLD_DB_DB_IMPL_H_
