// A write transaction on one column family: its own writes, in order, over the version it began
// on (read merged at that version's sequence number, merged_view.h), holding the column family's
// writer slot until it commits or aborts; its commit inserts the writes into the write buffer.
#ifndef MANIFOLD_DB_TRANSACTION_IMPL_H_
#define MANIFOLD_DB_TRANSACTION_IMPL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/btree/tree.h"
#include "engine/db/db_impl.h"
#include "engine/db/version.h"
#include "engine/wal/log_payload.h"
#include "manifold/db.h"

namespace manifold {

class TransactionImpl : public Transaction {
 public:
  // Takes over the writer slot of `column_family`, already acquired by the caller.
  TransactionImpl(DBImpl* db, std::string column_family, VersionPtr base);
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
  struct Write {
    EntryType type;
    std::string key;
    std::string value;
  };
  VersionPtr base_;            // What reads see under the transaction's own writes (its pages, I4).
  std::vector<Write> writes_;  // In order; the last write of a key wins.
  // The newest own write of each key: a value, or nullopt for a delete.
  std::map<std::string, std::optional<std::string>, std::less<>> newest_;
  wal::PayloadBuilder payload_;  // The log record: every Put and Delete, in order.
  uint64_t ops_ = 0;
  uint64_t bytes_ = 0;
  bool finished_ = false;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_TRANSACTION_IMPL_H_
