// Write buffers in the engine (docs/design.md "Write buffer", I32-I37): commits insert into
// their column families' active buffers; a checkpoint freezes them (FreezeBuffers), merges the
// immutable ones into the copy-on-write trees in key order (MergeBuffers), and once its header
// is durable releases them and moves readers to the new roots (InstallCheckpoint).

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "engine/db/db_impl.h"
#include "engine/util/check.h"
#include "engine/util/fault_point.h"

namespace manifold {

BufferList* DBImpl::ListFor(const ColumnFamilyState& state) {
  auto it = buffer_lists_.find(state.id);
  if (it == buffer_lists_.end()) {
    it = buffer_lists_
             .emplace(state.id, std::make_unique<BufferList>(BufferOptionsFor(options_, state.id),
                                                             state.root))
             .first;
  }
  return it->second.get();
}

void DBImpl::InsertIntoBuffers(Version* next, const std::vector<BufferUpdate>& updates) {
  if (dirty_bytes_ == 0) oldest_dirty_us_ = clock_->NowMicros();
  for (const BufferUpdate& update : updates) {
    if (update.ops.empty()) continue;
    ColumnFamilyState state = *next->Find(update.column_family);
    BufferList* list = ListFor(state);
    const size_t bytes_before = list->MemoryBytes();
    // The filter block of the key this many ahead is fetched while this one is added.
    constexpr size_t kPrefetchAhead = 8;
    const size_t n = update.ops.size();
    for (size_t i = 0; i < n && i < kPrefetchAhead; ++i) list->Prefetch(update.ops[i].key);
    for (size_t i = 0; i < n; ++i) {
      if (i + kPrefetchAhead < n) list->Prefetch(update.ops[i + kPrefetchAhead].key);
      const BufferOp& op = update.ops[i];
      const Status added = list->Add(next->sequence, op.type, op.key, op.value);
      MANIFOLD_CHECK(added.ok(), "I32: commits reach a buffer in sequence order");
    }
    dirty_bytes_ += list->MemoryBytes() - bytes_before;
    waiting_max_ = std::max(waiting_max_, list->WaitingCount());
    // The version names the stack only when it changed (a new buffer): O(log n) in the number
    // of column families, and only then.
    if (state.buffers != list->stack() || !(state.root == list->root())) {
      state.buffers = list->stack();
      state.root = list->root();
      next->column_families.Set(update.column_family, state);
    }
  }
}

std::vector<DBImpl::MergeJob> DBImpl::FreezeBuffers() {
  std::vector<MergeJob> jobs;
  for (auto& [id, list] : buffer_lists_) {
    // I33: every entry at or below the checkpoint's sequence number is in a buffer it merges.
    list->Freeze();
    list->MarkMerging();  // I47: none waits now; stalled writers go on (signalled below).
    if (list->ImmutableCount() == 0) continue;
    jobs.push_back(MergeJob{id, list->Immutables(), {}, {}, false});
    // The planted bug: readers stop seeing the buffers once they are handed to the merge, before
    // the tree holding their entries is durable (and for good if the checkpoint fails).
    if (MANIFOLD_PLANTED_BUG(planted_bug::kBufferReleasedBeforeDurable)) list->HideImmutables();
  }
  waiting_max_ = 0;
  log_cv_.SignalAll();
  return jobs;
}

void DBImpl::RecountWaiting() {
  waiting_max_ = 0;
  for (auto& [id, list] : buffer_lists_) {
    list->EndMerging();
    waiting_max_ = std::max(waiting_max_, list->WaitingCount());
  }
}

void DBImpl::ReleaseAbortedBuffers() {
  for (auto it = buffer_lists_.begin(); it != buffer_lists_.end();) {
    dirty_bytes_ -= it->second->ReleaseAborted();
    it = buffer_lists_.erase(it);
  }
  MANIFOLD_CHECK(dirty_bytes_ == 0, "I31: the buffers' bytes are counted exactly");
  waiting_max_ = 0;
  // New versions must not name the dropped stacks (their entries are all hidden anyway).
  log_cv_.SignalAll();
}

namespace {

// I36: the newest version of every key in `buffers` (oldest buffer first), applied to `tree` in
// key order: a put replaces, a tombstone deletes (the key may have an older value in the tree).
// I49: whenever the tree's dirty nodes reach held_bytes_max, `write_chunk` writes them out.
Status MergeInto(const std::vector<std::shared_ptr<const WriteBuffer>>& buffers, uint64_t sequence,
                 btree::WriteTree* tree, uint64_t held_bytes_max,
                 const std::function<Status()>& write_chunk) {
  std::vector<WriteBuffer::Iterator> its;  // Newest buffer first.
  for (auto it = buffers.rbegin(); it != buffers.rend(); ++it) {
    its.emplace_back(it->get());
    its.back().SeekToFirst();
  }
  const bool keep_oldest = MANIFOLD_PLANTED_BUG(planted_bug::kMergeLosesNewestVersion);
  const bool drop_tombstones = MANIFOLD_PLANTED_BUG(planted_bug::kMergeDropsTombstone);
  for (;;) {
    std::string_view key;
    bool any = false;
    for (const auto& it : its) {
      if (it.Valid() && (!any || it.key() < key)) {
        key = it.key();
        any = true;
      }
    }
    if (!any) return Status::OK();
    bool chosen = false;
    EntryType type = EntryType::kPut;
    std::string_view value;
    for (auto& it : its) {
      while (it.Valid() && it.key() == key) {
        MANIFOLD_CHECK(it.sequence() <= sequence,
                       "I36: a merge takes only entries its checkpoint covers");
        // Within a buffer the first entry of a key is its newest; the first buffer is the newest.
        if (!chosen || keep_oldest) {
          type = it.type();
          value = it.value();
          chosen = true;
        }
        it.Next();
      }
    }
    if (type == EntryType::kPut) {
      MANIFOLD_RETURN_IF_ERROR(tree->Put(key, value));
    } else if (!drop_tombstones) {
      MANIFOLD_RETURN_IF_ERROR(tree->Delete(key).status());
    }
    if (tree->dirty_bytes() >= held_bytes_max) MANIFOLD_RETURN_IF_ERROR(write_chunk());
  }
}

}  // namespace

Status DBImpl::MergeBuffers(const Version& target, std::vector<MergeJob>* jobs,
                            CommitWriter* writer,
                            std::map<std::string, ColumnFamilyState>* on_disk) {
  std::map<uint32_t, MergeJob*> by_id;
  for (MergeJob& job : *jobs) by_id[job.cf_id] = &job;
  for (const auto& [name, state] : target.column_families) {
    btree::PageRef root = state.root;
    auto found = by_id.find(state.id);
    if (found != by_id.end()) {
      MergeJob& job = *found->second;
      // Each touched leaf is copied once and rewritten once by a Flush (I36); in key order, a
      // chunk's flush leaves only the path to its last key for the next chunk to copy again.
      btree::WriteTree tree(pager_.get(), root);
      auto free_replaced = [&]() MANIFOLD_REQUIRES(checkpoint_mu_) {
        // I37: readers of versions made before the install may still read the old tree. (Before
        // the Flush, which forgets what the tree freed.)
        for (const btree::PageRun& run : tree.freed()) allocator_.FreeAt(kMergeFreedPending, run);
      };
      // I49: the chunk's pages go to the file and the cache at once, since the tree reads them
      // back (the path it copies again) through the pager.
      auto write_chunk = [&]() MANIFOLD_REQUIRES(checkpoint_mu_) {
        if (MANIFOLD_PLANTED_BUG(planted_bug::kChunkReusesReplacedPages)) {
          for (const btree::PageRun& run : tree.freed()) allocator_.AddFree(run);
        } else {
          free_replaced();
        }
        MANIFOLD_RETURN_IF_ERROR(tree.Flush(writer).status());
        return writer->WriteHeld();
      };
      MANIFOLD_RETURN_IF_ERROR(
          MergeInto(job.buffers, target.sequence, &tree, writer->held_bytes_max(), write_chunk));
      free_replaced();
      MANIFOLD_ASSIGN_OR_RETURN(root, tree.Flush(writer));
      job.name = name;
      job.root = root;
      job.merged = true;
    }
    (*on_disk)[name] = ColumnFamilyState{state.id, root, nullptr};
  }
  return Status::OK();
}

VersionPtr DBImpl::WithMergedRoots(const VersionPtr& version, const std::vector<MergeJob>& jobs,
                                   uint64_t merged_sequence) {
  // The merged trees hold every commit up to merged_sequence: a version below it (a commit not
  // yet visible, or the visible one while later ones wait for their sync) keeps its old trees and
  // buffers, or it would see commits after its own (I35, I37).
  if (version->sequence < merged_sequence) return version;
  std::shared_ptr<Version> rebuilt;
  for (const MergeJob& job : jobs) {
    if (!job.merged) continue;
    const ColumnFamilyState* state = version->Find(job.name);
    if (state == nullptr || state->id != job.cf_id) continue;
    ColumnFamilyState next = *state;
    next.root = job.root;
    if (state->buffers != nullptr) {
      // The buffers it held less the merged ones (it may hold newer ones too).
      std::set<const WriteBuffer*> merged;
      for (const auto& buffer : job.buffers) merged.insert(buffer.get());
      auto stack = std::make_shared<BufferStack>();
      for (const auto& buffer : state->buffers->buffers) {
        if (merged.count(buffer.get()) == 0) stack->buffers.push_back(buffer);
      }
      next.buffers = stack->buffers.empty() ? nullptr : std::move(stack);
    }
    if (rebuilt == nullptr) {
      rebuilt = std::make_shared<Version>(registry_, version->sequence);
      rebuilt->page_count = version->page_count;
      rebuilt->catalog = version->catalog;
      rebuilt->free_list = version->free_list;
      rebuilt->next_cf_id = version->next_cf_id;
      rebuilt->column_families = version->column_families;
    }
    rebuilt->column_families.Set(job.name, next);
  }
  return rebuilt == nullptr ? version : rebuilt;
}

void DBImpl::InstallCheckpoint(const Version& target, const std::vector<MergeJob>& jobs) {
  // I34: the header is durable, so the merged buffers may go.
  for (const MergeJob& job : jobs) {
    auto it = buffer_lists_.find(job.cf_id);
    if (it == buffer_lists_.end()) continue;
    if (job.merged) {
      dirty_bytes_ -= it->second->InstallMerged(job.buffers.size(), job.root);
    }
  }
  // A column family neither the checkpoint's version nor the newest one holds was dropped at or
  // below the checkpoint's sequence number, which no rollback goes below (I26), or its creation
  // was rolled back: its buffers go too, as do lists left empty (ListFor makes them again).
  for (auto it = buffer_lists_.begin(); it != buffer_lists_.end();) {
    const uint32_t id = it->first;
    auto holds = [id](const Version& version) {
      for (const auto& [name, state] : version.column_families) {
        if (state.id == id) return true;
      }
      return false;
    };
    if (it->second->empty() || (!holds(target) && !holds(*latest_))) {
      dirty_bytes_ -= it->second->MemoryBytes();
      it = buffer_lists_.erase(it);
    } else {
      ++it;
    }
  }
  // Every version the commit pipeline builds on or publishes moves to the new roots, so no
  // version made from now on reads the old trees (I37).
  std::map<const Version*, VersionPtr> rebuilt;
  auto rebuild = [&](const VersionPtr& version) {
    auto found = rebuilt.find(version.get());
    if (found != rebuilt.end()) return found->second;
    VersionPtr next = WithMergedRoots(version, jobs, target.sequence);
    rebuilt.emplace(version.get(), next);
    return next;
  };
  latest_ = rebuild(latest_);
  for (Unpublished& commit : unpublished_) commit.version = rebuild(commit.version);
  {
    port::MutexLock state_lock(&state_mu_);
    current_ = rebuild(current_);
  }
  size_t held = 0;
  for (const auto& [id, list] : buffer_lists_) held += list->MemoryBytes();
  MANIFOLD_CHECK(held == dirty_bytes_, "I31: the buffers' bytes are counted exactly");
  log_cv_.SignalAll();
}

}  // namespace manifold
