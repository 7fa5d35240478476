// A test-only FileSystem with a byte budget: a full disk that can be emptied again.
//
// CapacityFileSystem wraps another FileSystem (a MemFileSystem in the tests) and counts the size
// of every file it knows. A Write, Append, Truncate or Preallocate that would make the total
// exceed the capacity fails with NoSpace ("injected ENOSPC: ...") and changes nothing, as a file
// system that cannot allocate a block does. SetCapacity() makes room again (the "freed space").
// Files that existed before the wrapper saw them are counted when first opened.
#ifndef MANIFOLD_TESTS_CAPACITY_FS_H_
#define MANIFOLD_TESTS_CAPACITY_FS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/env.h"
#include "manifold/status.h"

namespace manifold {
namespace test_support {

class CapacityFileSystem final : public FileSystem {
 public:
  static constexpr uint64_t kUnlimited = UINT64_MAX;

  explicit CapacityFileSystem(FileSystem* inner) : state_(std::make_shared<State>()) {
    state_->inner = inner;
  }

  // Allocations beyond `capacity_bytes` in total fail from now on (existing bytes stay).
  void SetCapacity(uint64_t capacity_bytes) {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->capacity_bytes = capacity_bytes;
  }
  // Bytes held by all files.
  uint64_t used_bytes() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->used_bytes;
  }
  // NoSpace errors returned so far.
  uint64_t refusals() const {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->refusals;
  }

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    std::unique_ptr<File> file;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      auto known = state_->sizes.find(path);
      if (options.create && known == state_->sizes.end() &&
          state_->used_bytes >= state_->capacity_bytes) {
        ++state_->refusals;
        return Status::NoSpace("injected ENOSPC: create " + path);
      }
    }
    StatusOr<std::unique_ptr<File>> opened = state_->inner->OpenFile(path, options);
    if (!opened.ok()) return opened.status();
    file = std::move(*opened);
    MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    std::lock_guard<std::mutex> lock(state_->mu);
    auto [it, inserted] = state_->sizes.emplace(path, std::make_shared<Node>(Node{size, true}));
    if (inserted) state_->used_bytes += size;
    return std::unique_ptr<File>(new CapacityFile(state_, it->second, std::move(file)));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    MANIFOLD_RETURN_IF_ERROR(state_->inner->Rename(from, to));
    std::lock_guard<std::mutex> lock(state_->mu);
    Forget(to);
    auto it = state_->sizes.find(from);
    if (it != state_->sizes.end()) {
      state_->sizes[to] = it->second;
      state_->sizes.erase(it);
    }
    return Status::OK();
  }
  Status Remove(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(state_->inner->Remove(path));
    std::lock_guard<std::mutex> lock(state_->mu);
    Forget(path);
    return Status::OK();
  }
  Status CreateDir(const std::string& path) override { return state_->inner->CreateDir(path); }
  Status SyncDir(const std::string& path) override { return state_->inner->SyncDir(path); }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return state_->inner->ListDir(path);
  }
  StatusOr<bool> Exists(const std::string& path) override { return state_->inner->Exists(path); }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return state_->inner->LockFile(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    return state_->inner->LockFileShared(path);
  }

 private:
  struct Node {
    uint64_t size = 0;
    bool live = true;  // False once removed or replaced: its open handles no longer count.
  };
  struct State {
    FileSystem* inner = nullptr;
    mutable std::mutex mu;
    uint64_t capacity_bytes = kUnlimited;
    uint64_t used_bytes = 0;
    uint64_t refusals = 0;
    // Per path, the size shared with the open handles (a renamed file keeps its node).
    std::map<std::string, std::shared_ptr<Node>> sizes;
  };

  // Requires state_->mu.
  void Forget(const std::string& path) {
    auto it = state_->sizes.find(path);
    if (it == state_->sizes.end()) return;
    state_->used_bytes -= it->second->size;
    it->second->live = false;
    state_->sizes.erase(it);
  }

  class CapacityFile final : public File {
   public:
    CapacityFile(std::shared_ptr<State> state, std::shared_ptr<Node> node,
                 std::unique_ptr<File> inner)
        : state_(std::move(state)), node_(std::move(node)), inner_(std::move(inner)) {}

    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      return inner_->Read(offset, n, scratch);
    }
    Status Write(uint64_t offset, std::string_view data) override {
      return Grow("write", offset + data.size(), [&] { return inner_->Write(offset, data); });
    }
    Status Append(std::string_view data) override {
      MANIFOLD_ASSIGN_OR_RETURN(uint64_t size, inner_->Size());
      return Grow("append", size + data.size(), [&] { return inner_->Append(data); });
    }
    Status Sync() override { return inner_->Sync(); }
    Status Truncate(uint64_t size_bytes) override {
      return Grow(
          "truncate", size_bytes, [&] { return inner_->Truncate(size_bytes); },
          /*shrink=*/true);
    }
    Status Preallocate(uint64_t offset, uint64_t len) override {
      return Grow("preallocate", offset + len, [&] { return inner_->Preallocate(offset, len); });
    }
    StatusOr<uint64_t> Size() const override { return inner_->Size(); }
    const std::string& path() const override { return inner_->path(); }

   private:
    // Runs `op` if the file may reach `end` bytes, then accounts for the file's new size.
    template <typename Op>
    Status Grow(const char* what, uint64_t end, Op op, bool shrink = false) {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (!node_->live) return op();
      const uint64_t old_size = node_->size;
      const uint64_t new_size = shrink ? end : std::max(old_size, end);
      if (new_size > old_size &&
          state_->used_bytes - old_size + new_size > state_->capacity_bytes) {
        ++state_->refusals;
        return Status::NoSpace(std::string("injected ENOSPC: ") + what + " " + inner_->path() +
                               " to " + std::to_string(new_size) + " bytes (capacity " +
                               std::to_string(state_->capacity_bytes) + ")");
      }
      MANIFOLD_RETURN_IF_ERROR(op());
      state_->used_bytes = state_->used_bytes - old_size + new_size;
      node_->size = new_size;
      return Status::OK();
    }

    std::shared_ptr<State> state_;
    std::shared_ptr<Node> node_;
    std::unique_ptr<File> inner_;
  };

  std::shared_ptr<State> state_;
};

}  // namespace test_support
}  // namespace manifold

#endif  // MANIFOLD_TESTS_CAPACITY_FS_H_
