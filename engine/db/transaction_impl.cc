#include "engine/db/transaction_impl.h"

#include "engine/db/merged_view.h"

namespace manifold {

TransactionImpl::TransactionImpl(DBImpl* db, std::string column_family, VersionPtr base)
    : db_(db), column_family_(std::move(column_family)), base_(std::move(base)) {}

TransactionImpl::~TransactionImpl() { Abort(); }

Status TransactionImpl::CheckOpen() const {
  if (finished_) return Status::Aborted("the transaction has already committed or aborted");
  return Status::OK();
}

Status TransactionImpl::Count(uint64_t bytes) {
  const Options& options = db_->options();
  if (ops_ + 1 > options.batch_ops_max || bytes_ + bytes > options.batch_bytes_max) {
    return Status::InvalidArgument("transaction would exceed batch_ops_max " +
                                   std::to_string(options.batch_ops_max) + " or batch_bytes_max " +
                                   std::to_string(options.batch_bytes_max));
  }
  ++ops_;
  bytes_ += bytes;
  return Status::OK();
}

Status TransactionImpl::Put(std::string_view key, std::string_view value) {
  MANIFOLD_RETURN_IF_ERROR(CheckOpen());
  MANIFOLD_RETURN_IF_ERROR(db_->CheckPut(key, value));
  MANIFOLD_RETURN_IF_ERROR(Count(key.size() + value.size()));
  writes_.push_back(Write{EntryType::kPut, std::string(key), std::string(value)});
  newest_.insert_or_assign(std::string(key), std::optional<std::string>(value));
  payload_.Add(wal::LogOpType::kPut, column_family_, key, value);
  return Status::OK();
}

Status TransactionImpl::Delete(std::string_view key) {
  MANIFOLD_RETURN_IF_ERROR(CheckOpen());
  MANIFOLD_RETURN_IF_ERROR(db_->CheckKey(key));
  MANIFOLD_RETURN_IF_ERROR(Count(key.size()));
  writes_.push_back(Write{EntryType::kTombstone, std::string(key), {}});
  newest_.insert_or_assign(std::string(key), std::optional<std::string>());
  payload_.Add(wal::LogOpType::kDelete, column_family_, key, "");
  return Status::OK();
}

StatusOr<std::string> TransactionImpl::Get(std::string_view key) {
  MANIFOLD_RETURN_IF_ERROR(CheckOpen());
  MANIFOLD_RETURN_IF_ERROR(db_->CheckKey(key));
  auto own = newest_.find(key);
  if (own != newest_.end()) {
    if (!own->second.has_value()) return Status::NotFound("key not found");
    return *own->second;
  }
  const ColumnFamilyState* state = base_->Find(column_family_);
  // The writer slot keeps the column family from being dropped (I7).
  if (state == nullptr) return Status::NotFound("column family '" + column_family_ + "' is gone");
  MANIFOLD_ASSIGN_OR_RETURN(
      std::optional<std::string> value,
      MergedGet(db_->pager(), state->root, state->buffers.get(), key, base_->sequence));
  if (!value.has_value()) return Status::NotFound("key not found");
  return std::move(*value);
}

Status TransactionImpl::Commit(const WriteOptions& options) {
  MANIFOLD_RETURN_IF_ERROR(CheckOpen());
  Status status = db_->CheckWritable();
  if (!status.ok()) {
    Finish();
    return status;
  }
  // Even a transaction that changed nothing commits (and takes a sequence number), like a batch
  // of deletes that all miss: every acknowledged commit has its own sequence number.
  DBImpl::CommitRequest request;
  request.payload = payload_.Finish();
  DBImpl::BufferUpdate update{column_family_, {}};
  update.ops.reserve(writes_.size());
  for (const Write& write : writes_) {
    update.ops.push_back(DBImpl::BufferOp{write.type, write.key, write.value});
  }
  request.updates.push_back(std::move(update));
  request.sync = options.sync;
  request.assigned_sequence = options.assigned_sequence;
  status = db_->Commit(std::move(request));
  Finish();
  return status;
}

void TransactionImpl::Abort() {
  if (!finished_) Finish();
}

void TransactionImpl::Finish() {
  finished_ = true;
  base_.reset();
  db_->ReleaseColumnFamilies({column_family_});
}

}  // namespace manifold
