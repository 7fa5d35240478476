// A write transaction on one column family: a private copy-on-write tree over the committed root,
// holding the column family's writer slot until it commits or aborts.
#ifndef MANIFOLD_DB_TRANSACTION_IMPL_H_
#define MANIFOLD_DB_TRANSACTION_IMPL_H_

#include <string>

#include "engine/btree/tree.h"
#include "engine/db/db_impl.h"
#include "engine/db/version.h"
#include "engine/wal/log_payload.h"
#include "manifold/db.h"

namespace manifold {

class TransactionImpl : public Transaction {
 public:
  // Takes over the writer slot of `column_family`, already acquired by the caller.
  TransactionImpl(DBImpl* db, std::string column_family, VersionPtr base, btree::TreeRoot root);
  ~TransactionImpl() override;

  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  StatusOr<std::string> Get(std::string_view key) override;
  Status Commit(const WriteOptions& options) override;
  void Abort() override;

 private:
  [[nodiscard]] Status CheckOpen() const;
  [[nodiscard]] Status Count(uint64_t bytes);
  void Finish();

  DBImpl* db_;
  std::string column_family_;
  VersionPtr base_;  // Keeps every page the private tree shares with the committed one alive.
  btree::WriteTree tree_;
  wal::PayloadBuilder payload_;  // The log record: every Put and Delete, in order.
  uint64_t ops_ = 0;
  uint64_t bytes_ = 0;
  bool finished_ = false;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_TRANSACTION_IMPL_H_
