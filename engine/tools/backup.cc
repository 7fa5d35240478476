// `backup DIR`: a consistent, verified copy of a database.
#include <fmt/format.h>

#include <string>

#include "engine/tools/tool.h"
#include "manifold/write_batch.h"

namespace manifold::tool {
namespace {

// ---- backup -------------------------------------------------------------------------------

// Copies every column family of `src` as of `snapshot` into `dst`, in batches of `batch_keys`.
Status CopyAll(DB& src, const Snapshot* snapshot, DB& dst, uint64_t batch_keys, uint64_t* keys) {
  for (const std::string& name : src.ListColumnFamilies()) {
    if (name != kDefaultColumnFamily) MANIFOLD_RETURN_IF_ERROR(dst.CreateColumnFamily(name));
    WriteBatch batch;
    Status write_status;
    Status status = ForEachEntry(src, snapshot, name, KeyRange{}, /*reverse=*/false, std::nullopt,
                                 [&](std::string_view k, std::string_view v) {
                                   if (!write_status.ok()) return;
                                   batch.Put(name, k, v);
                                   ++*keys;
                                   if (batch.Count() >= batch_keys) {
                                     write_status = dst.Write(WriteOptions(), batch);
                                     batch.Clear();
                                   }
                                 });
    MANIFOLD_RETURN_IF_ERROR(status);
    MANIFOLD_RETURN_IF_ERROR(write_status);
    if (batch.Count() > 0) MANIFOLD_RETURN_IF_ERROR(dst.Write(WriteOptions(), batch));
  }
  return Status::OK();
}

// Compares every column family and entry of `a` (as of `snapshot`) with `b`.
Status CompareAll(DB& a, const Snapshot* snapshot, DB& b) {
  if (a.ListColumnFamilies() != b.ListColumnFamilies()) {
    return Status::Corruption("backup check: the column families differ");
  }
  for (const std::string& name : a.ListColumnFamilies()) {
    ReadOptions at;
    at.snapshot = snapshot;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Iterator> x, a.NewIterator(at, name));
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Iterator> y, b.NewIterator(ReadOptions(), name));
    for (x->SeekToFirst(), y->SeekToFirst(); x->Valid() && y->Valid(); x->Next(), y->Next()) {
      if (x->key() != y->key() || x->value() != y->value()) {
        return Status::Corruption(fmt::format("backup check: column family {} differs at key {}",
                                              Display(name), Display(x->key())));
      }
    }
    MANIFOLD_RETURN_IF_ERROR(x->status());
    MANIFOLD_RETURN_IF_ERROR(y->status());
    if (x->Valid() != y->Valid()) {
      return Status::Corruption(
          fmt::format("backup check: column family {} has a different key count", Display(name)));
    }
  }
  return Status::OK();
}

}  // namespace

// A consistent copy: the source is opened read-only (so nothing can write it meanwhile, I25) and
// copied from one snapshot into a new database, which is then closed, reopened read-only and
// compared entry by entry with the source.
int RunBackup(const Flags& flags) {
  auto src = OpenDb(flags, Access::kRead);
  if (!src.ok()) {
    if (src.status().IsBusy()) {
      fmt::print(stderr,
                 "manifold: backup needs the database to itself: it opens it read-only, and a "
                 "read-only open cannot share a database with a writer. Back up from inside the "
                 "application that has it open, or close that application first.\n");
    }
    return Report(src.status(), kExitError);
  }
  std::shared_ptr<const Snapshot> snapshot = (*src)->GetSnapshot();
  Flags dst_flags;
  dst_flags.dir = flags.backup_dir;
  dst_flags.page_bytes = (*src)->page_bytes();
  auto dst = OpenDb(dst_flags, Access::kCreate);
  if (!dst.ok()) return Report(dst.status(), kExitError);
  uint64_t keys = 0;
  Status status = CopyAll(**src, snapshot.get(), **dst, flags.batch_keys, &keys);
  if (status.ok()) status = (*dst)->Close();
  dst->reset();
  if (!status.ok()) {
    fmt::print(stderr, "manifold: backup to {} failed and is incomplete: delete it\n",
               flags.backup_dir);
    return Report(status, kExitError);
  }
  auto check = OpenDb(dst_flags, Access::kRead);
  if (!check.ok()) return Report(check.status(), kExitError);
  status = CompareAll(**src, snapshot.get(), **check);
  if (!status.ok()) return Report(status, kExitError);
  fmt::print("backed up {} column families, {} keys to {}; verified\n",
             (*src)->ListColumnFamilies().size(), keys, flags.backup_dir);
  return kExitOk;
}

}  // namespace manifold::tool
