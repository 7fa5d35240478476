// Column-family handles (manifold/column_family.h): taking one, checking it belongs to this
// database, and the calls that take one. A handle resolves by id through the version's id index
// (ColumnFamilyMap::FindById), never by name, and reaches only the column family it was taken
// for: ids are never reused within a database (next_cf_id only grows), so a dropped column
// family's id is absent from every later version (I46).

#include "engine/db/column_family_rep.h"
#include "engine/db/db_impl.h"
#include "engine/db/transaction_impl.h"

namespace manifold {

StatusOr<ColumnFamilyHandle> DBImpl::GetColumnFamily(std::string_view name) {
  // The visible version, not latest(): a commit not yet visible (a create) may still be rolled
  // back (I26), and its id handed out again.
  VersionPtr version = current();
  MANIFOLD_ASSIGN_OR_RETURN(const ColumnFamilyState* state, FindColumnFamily(*version, name));
  auto rep = std::make_shared<ColumnFamilyHandle::Rep>();
  rep->id = state->id;
  rep->name = std::string(name);
  rep->owner = registry_;
  return ColumnFamilyHandle(std::move(rep));
}

Status DBImpl::CheckHandle(const ColumnFamilyHandle& handle) const {
  if (handle.rep_ == nullptr) {
    return Status::InvalidArgument("empty ColumnFamilyHandle: take one with DB::GetColumnFamily");
  }
  if (handle.rep_->owner != registry_) {
    return Status::InvalidArgument("the handle of column family '" + handle.rep_->name +
                                   "' belongs to another database (or an earlier open of this "
                                   "one): take a new one with DB::GetColumnFamily");
  }
  return Status::OK();
}

StatusOr<const ColumnFamilyState*> DBImpl::ResolveHandle(const Version& version,
                                                         const ColumnFamilyHandle& handle) const {
  MANIFOLD_RETURN_IF_ERROR(CheckHandle(handle));
  const ColumnFamilyMap::Entry* entry = version.FindById(handle.rep_->id);
  // The name comparison is a guard, not the lookup: with ids never reused (I46) an id found
  // always carries the handle's name.
  if (entry == nullptr || entry->name != handle.rep_->name) {
    return Status::NotFound("column family '" + handle.rep_->name + "' (id " +
                            std::to_string(handle.rep_->id) + ") does not exist at sequence " +
                            std::to_string(version.sequence) +
                            ": it was dropped, or the snapshot read predates it");
  }
  return &entry->state;
}

Status DBImpl::CheckBatchHandles(const WriteBatch& batch) {
  VersionPtr base;
  for (const WriteBatch::Op& op : batch.ops()) {
    if (!op.handle.valid()) continue;
    // The writer slots are held, so no drop or create can change these names now (I7).
    if (base == nullptr) base = latest();
    MANIFOLD_RETURN_IF_ERROR(ResolveHandle(*base, op.handle).status());
  }
  return Status::OK();
}

Status DBImpl::Put(const WriteOptions& options, const ColumnFamilyHandle& column_family,
                   std::string_view key, std::string_view value) {
  MANIFOLD_RETURN_IF_ERROR(CheckHandle(column_family));
  WriteBatch batch;
  batch.Put(column_family, key, value);
  return Write(options, batch);
}

Status DBImpl::Delete(const WriteOptions& options, const ColumnFamilyHandle& column_family,
                      std::string_view key) {
  MANIFOLD_RETURN_IF_ERROR(CheckHandle(column_family));
  WriteBatch batch;
  batch.Delete(column_family, key);
  return Write(options, batch);
}

StatusOr<std::unique_ptr<Transaction>> DBImpl::BeginTransaction(
    const ColumnFamilyHandle& column_family) {
  MANIFOLD_RETURN_IF_ERROR(CheckWritable());
  MANIFOLD_RETURN_IF_ERROR(CheckHandle(column_family));
  std::vector<std::string> held = {column_family.rep_->name};
  MANIFOLD_RETURN_IF_ERROR(AcquireColumnFamilies(held));
  // As in the by-name form: with the slot held, this tree in `base` is final until the
  // transaction commits (I7).
  VersionPtr base = latest();
  StatusOr<const ColumnFamilyState*> state = ResolveHandle(*base, column_family);
  if (!state.ok()) {
    ReleaseColumnFamilies(held);
    return state.status();
  }
  return std::unique_ptr<Transaction>(
      new TransactionImpl(this, column_family.rep_->name, std::move(base)));
}

StatusOr<std::string> DBImpl::Get(const ReadOptions& options,
                                  const ColumnFamilyHandle& column_family, std::string_view key) {
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  MANIFOLD_ASSIGN_OR_RETURN(const ColumnFamilyState* state, ResolveHandle(*version, column_family));
  return GetFrom(*version, *state, key);
}

StatusOr<std::unique_ptr<Iterator>> DBImpl::NewIterator(const ReadOptions& options,
                                                        const ColumnFamilyHandle& column_family) {
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  MANIFOLD_ASSIGN_OR_RETURN(const ColumnFamilyState* state, ResolveHandle(*version, column_family));
  return NewIteratorOn(options, version, *state);
}

}  // namespace manifold
