// Reads: Get, iterators, snapshots, and the integrity check of the data file.

#include "engine/db/db_impl.h"
#include "engine/db/iterator_impl.h"
#include "engine/db/merged_view.h"
#include "engine/util/fault_point.h"

namespace manifold {

// --- Reads ---------------------------------------------------------------------------------

StatusOr<const ColumnFamilyState*> DBImpl::FindColumnFamily(const Version& version,
                                                            std::string_view name) {
  const ColumnFamilyState* state = version.Find(name);
  if (state == nullptr) {
    return Status::NotFound("column family '" + std::string(name) + "' does not exist");
  }
  return state;
}

StatusOr<VersionPtr> DBImpl::ReadVersion(const ReadOptions& options) {
  if (options.snapshot == nullptr) return current();
  auto* snapshot = dynamic_cast<const SnapshotImpl*>(options.snapshot);
  if (snapshot == nullptr || snapshot->version()->registry != registry_) {
    return Status::InvalidArgument("ReadOptions.snapshot belongs to another database");
  }
  return snapshot->version();
}

StatusOr<std::string> DBImpl::Get(const ReadOptions& options, std::string_view column_family,
                                  std::string_view key) {
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  MANIFOLD_ASSIGN_OR_RETURN(const ColumnFamilyState* state,
                            FindColumnFamily(*version, column_family));
  return GetFrom(*version, *state, key);
}

// `state` belongs to `version`, which the caller holds, so every page its tree reaches stays (I4).
StatusOr<std::string> DBImpl::GetFrom(const Version& version, const ColumnFamilyState& state,
                                      std::string_view key) {
  MANIFOLD_RETURN_IF_ERROR(CheckKey(key));
  // I35: the buffers at the version's sequence number, then its tree.
  MANIFOLD_ASSIGN_OR_RETURN(
      std::optional<std::string> value,
      MergedGet(pager_.get(), state.root, state.buffers.get(), key, version.sequence));
  if (!value.has_value()) return Status::NotFound("key not found");
  return std::move(*value);
}

Status DBImpl::GetPinned(const ReadOptions& options, std::string_view column_family,
                         std::string_view key, PinnableValue* value) {
  value->Reset();
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  MANIFOLD_ASSIGN_OR_RETURN(const ColumnFamilyState* state,
                            FindColumnFamily(*version, column_family));
  MANIFOLD_RETURN_IF_ERROR(CheckKey(key));
  // I35: a buffered entry at the version's sequence number shadows the tree. Its bytes live in a
  // buffer the version holds, not in a shared page, so they are copied into the handle.
  const WriteBuffer::Lookup buffered = LookupBuffers(state->buffers.get(), key, version->sequence);
  if (buffered.found == WriteBuffer::Found::kTombstone) return Status::NotFound("key not found");
  if (buffered.found == WriteBuffer::Found::kValue) {
    value->Assign(std::string(buffered.value));
    return Status::OK();
  }
  MANIFOLD_ASSIGN_OR_RETURN(
      std::optional<btree::LeafValue> found,
      btree::TreeFind(pager_.get(), btree::TreeRoot::OnDisk(state->root), key));
  if (!found.has_value()) return Status::NotFound("key not found");
  if (found->written()) {
    MANIFOLD_ASSIGN_OR_RETURN(std::string large, pager_->LoadLargeValue(*found));
    value->Assign(std::move(large));
    return Status::OK();
  }
  if (found->bytes.empty()) {
    value->Assign(std::string());
    return Status::OK();
  }
  // I43: the handle holds a reference on the buffer the bytes live in (the page image), which is
  // never changed once shared, so the version may go.
  const std::string_view bytes = found->bytes.view();
  value->Pin(bytes, &SharedBytes::ReleaseToken, found->bytes.DetachToken());
  return Status::OK();
}

StatusOr<std::unique_ptr<Iterator>> DBImpl::NewIterator(const ReadOptions& options,
                                                        std::string_view column_family) {
  MANIFOLD_ASSIGN_OR_RETURN(VersionPtr version, ReadVersion(options));
  MANIFOLD_ASSIGN_OR_RETURN(const ColumnFamilyState* state,
                            FindColumnFamily(*version, column_family));
  return NewIteratorOn(options, std::move(version), *state);
}

// `state` belongs to `version`; the iterator keeps `version` alive (I4).
StatusOr<std::unique_ptr<Iterator>> DBImpl::NewIteratorOn(const ReadOptions& options,
                                                          VersionPtr version,
                                                          const ColumnFamilyState& state) {
  const btree::PageRef root = state.root;
  BufferStackPtr buffers = state.buffers;
  const uint64_t sequence = version->sequence;
  // The planted bug: "the iterator has its root and its buffers, it needs no version".
  if (MANIFOLD_PLANTED_BUG(planted_bug::kCheckpointFreesReaderPages)) version = nullptr;
  return std::unique_ptr<Iterator>(new IteratorImpl(pager_.get(), std::move(version), root,
                                                    std::move(buffers), sequence,
                                                    options.lower_bound, options.upper_bound));
}

std::shared_ptr<const Snapshot> DBImpl::GetSnapshot() {
  return std::make_shared<SnapshotImpl>(current());
}

// --- Maintenance ---------------------------------------------------------------------------

Status DBImpl::VerifyIntegrity(IntegrityReport* report) {
  IntegrityReport local;
  if (report == nullptr) report = &local;
  *report = IntegrityReport{};
  // The data file as of the latest durable checkpoint (later commits are in the log).
  port::MutexLock checkpoint_lock(&checkpoint_mu_);
  VersionPtr version = checkpoint_.version;
  OpenFileOptions open_options;
  open_options.read_only = true;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                            fs_->OpenFile(pager_->path(), open_options));
  // A separate, uncached reader: verification must look at the bytes in the file.
  Pager uncached(std::move(file), pager_->path(), pager_->layout().page_bytes, 0, false);
  return VerifyVersion(&uncached, *version, report);
}

}  // namespace manifold
