// SimFileSystem's fault layers; see sim_fault_layers.h.
#include "sim/sim_fault_layers.h"

#include <cassert>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "engine/port/sync.h"
#include "faults/fault_model.h"
#include "manifold/env.h"
#include "manifold/status.h"
#include "sim/sim_clock.h"
#include "sim/sim_fs.h"
#include "sim/sim_fs_state.h"

namespace manifold::sim {
namespace {

using faults::OpClass;
using sim_fs_internal::AtOffset;
using sim_fs_internal::Normalize;
using State = SimFileSystem::State;

// Guards against a bogus offset turning into a multi-gigabyte allocation (which would abort).
constexpr uint64_t kMaxFileBytes = uint64_t{4} << 30;

// The device write faults of Write and Append: an injected EIO after which a sector-aligned
// prefix (maybe none) landed, an injected ENOSPC (nothing landed), and misdirected writes that
// report success with the bytes at another sector-aligned offset inside the current size, or at
// the offset of the newest write a sync of the same handle made durable (the file still grows to
// the requested end). Directly on the core, whose writes draw nothing, so a
// partial write's prefix is not misdirected again.
class DeviceWriteFaultFileSystem final : public FileSystemWrapper {
 public:
  DeviceWriteFaultFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<WriteFaultFile>(std::move(file), state_));
  }

 private:
  class WriteFaultFile final : public FileWrapper {
   public:
    WriteFaultFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}

    Status Write(uint64_t offset, std::string_view data) override {
      return WriteAt("write", offset, data);
    }
    Status Append(std::string_view data) override {
      MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
      return WriteAt("append", size, data);
    }
    Status Sync() override {
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Sync());
      // Only a sync that succeeded made the handle's last write durable.
      if (last_write_) newest_synced_write_ = std::exchange(last_write_, std::nullopt);
      return Status::OK();
    }

   private:
    Status WriteAt(std::string_view op, uint64_t offset, std::string_view data) {
      State& state = *state_;
      state.mu.AssertHeld();
      const std::string what =
          AtOffset(op, path(), offset) + " (" + std::to_string(data.size()) + " bytes)";
      const uint64_t sector_bytes = state.options.sector_bytes;
      Status injected = state.InjectError(OpClass::kWrite, what);
      if (!injected.ok()) {
        // A device failing part way through a write: a sector-aligned prefix (maybe none) landed.
        if (injected.IsIOError() && !data.empty()) {
          const uint64_t end = offset + data.size();
          const uint64_t first_boundary = (offset / sector_bytes + 1) * sector_bytes;
          const uint64_t boundaries =
              first_boundary < end ? (end - 1 - first_boundary) / sector_bytes + 1 : 0;
          const uint64_t choice = state.prng.Uniform(boundaries + 1);
          const uint64_t prefix_end =
              choice == 0 ? offset : first_boundary + (choice - 1) * sector_bytes;
          assert(prefix_end >= offset && prefix_end < end);
          if (prefix_end > offset) {
            FileWrapper::Write(offset, data.substr(0, prefix_end - offset)).IgnoreError();
            state.Trace("partial write: " + what + ": the first " +
                        std::to_string(prefix_end - offset) + " bytes landed before the EIO");
          }
        }
        return injected;
      }
      if (data.empty()) return Status::OK();  // Like pwrite: no bytes, no size change.
      MANIFOLD_ASSIGN_OR_RETURN(const uint64_t landing, Landing(what, offset, data.size()));
      // The landing is marked in the core, so a power cut keeps or loses it whole.
      state.next_write_misdirected = landing != offset;
      Status written = FileWrapper::Write(landing, data);
      state.next_write_misdirected = false;
      if (written.ok()) last_write_ = offset;
      return written;
    }

   private:
    // Where a write of `len` bytes meant for `offset` lands: `offset`, or (misdirected) a
    // uniformly drawn sector-aligned offset, or the offset of the newest write a sync of this
    // handle made durable (misdirected_onto_synced_write). Grows the file to the requested end
    // when the bytes go elsewhere: the file system records the requested size, only the device
    // put the bytes elsewhere.
    StatusOr<uint64_t> Landing(const std::string& what, uint64_t offset, uint64_t len) {
      State& state = *state_;
      state.mu.AssertHeld();
      uint64_t landing = offset;
      std::string how = "misdirected write: ";
      if (state.prng.Chance(state.options.misdirected_write)) {
        MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
        landing = MisdirectedOffset(offset, len, size);
      } else if (newest_synced_write_ && *newest_synced_write_ < offset &&
                 state.prng.Chance(state.options.misdirected_onto_synced_write)) {
        // A stale target address: the device (or a caching layer) reuses the address of the
        // last request it flushed. Earlier offsets only, so the landing stays inside the file.
        landing = *newest_synced_write_;
        newest_synced_write_.reset();
        how = "misdirected write onto the newest synced write: ";
      }
      if (landing == offset) return offset;
      ++state.counters.misdirected;
      state.Trace(how + what + " landed at offset " + std::to_string(landing));
      MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
      if (offset + len > size) MANIFOLD_RETURN_IF_ERROR(FileWrapper::Truncate(offset + len));
      return landing;
    }

    // A sector-aligned offset other than `offset` where `len` bytes fit inside `size`, drawn
    // uniformly; `offset` itself if there is none.
    uint64_t MisdirectedOffset(uint64_t offset, uint64_t len, uint64_t size) {
      State& state = *state_;
      state.mu.AssertHeld();
      const uint64_t sector_bytes = state.options.sector_bytes;
      if (size < len) return offset;
      const uint64_t positions = (size - len) / sector_bytes + 1;  // 0, sector, 2 sectors...
      const bool offset_is_one = offset % sector_bytes == 0 && offset <= size - len;
      const uint64_t choices = positions - (offset_is_one ? 1 : 0);
      if (choices == 0) return offset;
      uint64_t landing = state.prng.Uniform(choices) * sector_bytes;
      if (offset_is_one && landing >= offset) landing += sector_bytes;
      assert(landing != offset && landing % sector_bytes == 0 && landing + len <= size);
      return landing;
    }

    const std::shared_ptr<State> state_;
    // The offset of this handle's last successful write, and of the last one a successful Sync
    // made durable: misdirected_onto_synced_write's target.
    std::optional<uint64_t> last_write_;
    std::optional<uint64_t> newest_synced_write_;
  };

  const std::shared_ptr<State> state_;
};

// Injected EIO/ENOSPC that refuse a call and change nothing: reads, truncates, preallocations,
// directory syncs and metadata calls (opens, renames, removes, mkdirs, locks). Messages start
// with "injected EIO: " / "injected ENOSPC: " and name the call.
class InjectedErrorFileSystem final : public FileSystemWrapper {
 public:
  InjectedErrorFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "open " + path));
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<ErrorFile>(std::move(file), state_));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "rename " + from + " to " + to));
    return FileSystemWrapper::Rename(from, to);
  }
  Status Remove(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "remove " + path));
    return FileSystemWrapper::Remove(path);
  }
  Status CreateDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "create dir " + path));
    return FileSystemWrapper::CreateDir(path);
  }
  Status SyncDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kDirSync, "sync dir " + path));
    return FileSystemWrapper::SyncDir(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "lock " + path));
    return FileSystemWrapper::LockFile(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(Inject(OpClass::kMetadata, "lock shared " + path));
    return FileSystemWrapper::LockFileShared(path);
  }

 private:
  class ErrorFile final : public FileWrapper {
   public:
    ErrorFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}

    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(
          state_->InjectError(OpClass::kRead, AtOffset("read", path(), offset)));
      return FileWrapper::Read(offset, n, scratch);
    }
    Status Truncate(uint64_t size_bytes) override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->InjectError(
          OpClass::kWrite, "truncate " + path() + " to " + std::to_string(size_bytes) + " bytes"));
      return FileWrapper::Truncate(size_bytes);
    }
    Status Preallocate(uint64_t offset, uint64_t len) override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->InjectError(
          OpClass::kWrite,
          AtOffset("preallocate", path(), offset) + " (" + std::to_string(len) + " bytes)"));
      return FileWrapper::Preallocate(offset, len);
    }

   private:
    const std::shared_ptr<State> state_;
  };

  Status Inject(OpClass op_class, const std::string& what) {
    state_->mu.AssertHeld();
    return state_->InjectError(op_class, what);
  }

  const std::shared_ptr<State> state_;
};

// The power switch: while the power is cut every call is refused, and so is every call through
// a file opened before the last Restart(); each mutating call is counted and may be the one a
// power cut interrupts (random, or scheduled by ScheduleCrashAtMutation). Also the argument
// checks that come before a mutation is counted (paths, read-only files, the size limit).
class PowerSwitchFileSystem final : public FileSystemWrapper {
 public:
  PowerSwitchFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    state_->mu.AssertHeld();
    const std::string what = "open " + path;
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, nullptr));
    MANIFOLD_RETURN_IF_ERROR(Normalize("open", path).status());
    // Opening with O_CREAT is a mutation whether or not the file exists: the caller cannot know.
    if (options.create) MANIFOLD_RETURN_IF_ERROR(state_->Mutate(what));
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<PowerFile>(
        std::move(file), state_, options.read_only, state_->generation));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    state_->mu.AssertHeld();
    const std::string what = "rename " + from + " to " + to;
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, nullptr));
    MANIFOLD_RETURN_IF_ERROR(Normalize("rename", from).status());
    MANIFOLD_RETURN_IF_ERROR(Normalize("rename", to).status());
    MANIFOLD_RETURN_IF_ERROR(state_->Mutate(what));
    return FileSystemWrapper::Rename(from, to);
  }
  Status Remove(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("remove", path));
    return FileSystemWrapper::Remove(path);
  }
  Status CreateDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("create dir", path));
    return FileSystemWrapper::CreateDir(path);
  }
  Status SyncDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("sync dir", path));
    return FileSystemWrapper::SyncDir(path);
  }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeRead("list dir", "list dir", path));
    return FileSystemWrapper::ListDir(path);
  }
  StatusOr<bool> Exists(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeRead("exists", "exists", path));
    return FileSystemWrapper::Exists(path);
  }
  StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeMutation("lock", path));
    return FileSystemWrapper::LockFile(path);
  }
  // Not a mutation (nothing is created or written), so it never draws a power cut.
  StatusOr<std::unique_ptr<FileLock>> LockFileShared(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(BeforeRead("lock shared", "lock", path));
    return FileSystemWrapper::LockFileShared(path);
  }

 private:
  class PowerFile final : public FileWrapper {
   public:
    PowerFile(std::unique_ptr<File> base, std::shared_ptr<State> state, bool read_only,
              uint64_t generation)
        : FileWrapper(std::move(base)),
          state_(std::move(state)),
          read_only_(read_only),
          generation_(generation) {}

    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(AtOffset("read", path(), offset), &generation_));
      return FileWrapper::Read(offset, n, scratch);
    }
    Status Write(uint64_t offset, std::string_view data) override {
      MANIFOLD_RETURN_IF_ERROR(BeforeWrite("write", offset, data.size()));
      return FileWrapper::Write(offset, data);
    }
    Status Append(std::string_view data) override {
      MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, FileWrapper::Size());
      MANIFOLD_RETURN_IF_ERROR(BeforeWrite("append", size, data.size()));
      return FileWrapper::Append(data);
    }
    Status Sync() override {
      state_->mu.AssertHeld();
      const std::string what = "sync " + path();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, &generation_));
      MANIFOLD_RETURN_IF_ERROR(state_->Mutate(what));
      return FileWrapper::Sync();
    }
    Status Truncate(uint64_t size_bytes) override {
      MANIFOLD_RETURN_IF_ERROR(Before(
          "truncate " + path() + " to " + std::to_string(size_bytes) + " bytes", size_bytes, 0));
      return FileWrapper::Truncate(size_bytes);
    }
    Status Preallocate(uint64_t offset, uint64_t len) override {
      MANIFOLD_RETURN_IF_ERROR(
          Before(AtOffset("preallocate", path(), offset) + " (" + std::to_string(len) + " bytes)",
                 offset, len));
      return FileWrapper::Preallocate(offset, len);
    }
    StatusOr<uint64_t> Size() const override {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive("size " + path(), &generation_));
      return FileWrapper::Size();
    }

   private:
    Status BeforeWrite(std::string_view op, uint64_t offset, uint64_t len) {
      return Before(AtOffset(op, path(), offset) + " (" + std::to_string(len) + " bytes)", offset,
                    len);
    }
    // The checks of a call that changes [offset, offset + len), then its mutation count.
    Status Before(const std::string& what, uint64_t offset, uint64_t len) {
      state_->mu.AssertHeld();
      MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, &generation_));
      if (read_only_) return Status::ReadOnly(what + ": file is opened read-only");
      if (offset > kMaxFileBytes || len > kMaxFileBytes - offset) {
        return Status::NoSpace(what + ": would exceed the SimFileSystem file size limit of " +
                               std::to_string(kMaxFileBytes) + " bytes");
      }
      return state_->Mutate(what);
    }

    const std::shared_ptr<State> state_;
    const bool read_only_;
    const uint64_t generation_;  // State::generation when opened.
  };

  Status BeforeMutation(std::string_view op, const std::string& path) {
    state_->mu.AssertHeld();
    const std::string what = std::string(op) + " " + path;
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(what, nullptr));
    MANIFOLD_RETURN_IF_ERROR(Normalize(op, path).status());
    return state_->Mutate(what);
  }
  // `shown_op` names the call in messages, `op` the path error's operation.
  Status BeforeRead(std::string_view shown_op, std::string_view op, const std::string& path) {
    state_->mu.AssertHeld();
    MANIFOLD_RETURN_IF_ERROR(state_->CheckLive(std::string(shown_op) + " " + path, nullptr));
    return Normalize(op, path).status();
  }

  const std::shared_ptr<State> state_;
};

// Delayed syncs: a successful File::Sync or SyncDir advances the SimClock by up to
// sync_delay_us_max, with probability sync_delay_probability.
class DelayedSyncFileSystem final : public FileSystemWrapper {
 public:
  DelayedSyncFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<DelayedSyncFile>(std::move(file), state_));
  }
  Status SyncDir(const std::string& path) override {
    MANIFOLD_RETURN_IF_ERROR(FileSystemWrapper::SyncDir(path));
    MaybeDelay(*state_, "sync dir " + path);
    return Status::OK();
  }

 private:
  class DelayedSyncFile final : public FileWrapper {
   public:
    DelayedSyncFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}
    Status Sync() override {
      MANIFOLD_RETURN_IF_ERROR(FileWrapper::Sync());
      MaybeDelay(*state_, "sync " + path());
      return Status::OK();
    }

   private:
    const std::shared_ptr<State> state_;
  };

  static void MaybeDelay(State& state, const std::string& what) {
    state.mu.AssertHeld();
    if (state.options.sync_delay_us_max == 0 ||
        !state.prng.Chance(state.options.sync_delay_probability)) {
      return;
    }
    const uint64_t delay_us = 1 + state.prng.Uniform(state.options.sync_delay_us_max);
    state.clock->Advance(delay_us);
    ++state.counters.delayed_syncs;
    state.Trace("delayed sync: " + what + " took " + std::to_string(delay_us) + " us");
  }

  const std::shared_ptr<State> state_;
};

// Bit flips on read: a successful, non-empty File::Read has one bit of the returned buffer
// flipped with probability read_bit_flip (the stored bytes stay intact).
class ReadBitFlipFileSystem final : public FileSystemWrapper {
 public:
  ReadBitFlipFileSystem(FileSystem* base, std::shared_ptr<State> state)
      : FileSystemWrapper(base), state_(std::move(state)) {}

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                              FileSystemWrapper::OpenFile(path, options));
    return std::unique_ptr<File>(std::make_unique<BitFlipFile>(std::move(file), state_));
  }

 private:
  class BitFlipFile final : public FileWrapper {
   public:
    BitFlipFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
        : FileWrapper(std::move(base)), state_(std::move(state)) {}
    StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      MANIFOLD_ASSIGN_OR_RETURN(const size_t count, FileWrapper::Read(offset, n, scratch));
      State& state = *state_;
      state.mu.AssertHeld();
      if (count > 0 && state.prng.Chance(state.options.read_bit_flip)) {
        const uint64_t bit = state.prng.Uniform(uint64_t{count} * 8);
        scratch[bit / 8] = static_cast<char>(scratch[bit / 8] ^ (1 << (bit % 8)));
        ++state.counters.bit_flips;
        state.Trace("bit flip: " + AtOffset("read", path(), offset) + ": byte " +
                    std::to_string(offset + bit / 8) + " bit " + std::to_string(bit % 8) +
                    " flipped in the returned buffer only");
      }
      return count;
    }

   private:
    const std::shared_ptr<State> state_;
  };

  const std::shared_ptr<State> state_;
};

// Damage at rest in the engine's recycle pool: a Rename of one log segment file onto another
// segment name (the engine taking a retired segment back into use) finds the file cut, with
// probability recycled_segment_truncated, to a length drawn uniformly below its size. The cut is
// done on the core directly and synced there: damage at rest is not an engine operation, so it
// draws no power cut or injected error and counts no mutation. Only files the engine has retired
// are hit (they hold checkpointed records alone), so a correct engine must take any length in
// its stride (I22: it restores whole granules before a record goes in).
class RecyclePoolDamageFileSystem final : public FileSystemWrapper {
 public:
  RecyclePoolDamageFileSystem(FileSystem* base, FileSystem* core, std::shared_ptr<State> state)
      : FileSystemWrapper(base), core_(core), state_(std::move(state)) {}

  Status Rename(const std::string& from, const std::string& to) override {
    State& state = *state_;
    state.mu.AssertHeld();
    if (!state.crashed && sim_fs_internal::IsLogSegmentName(from) &&
        sim_fs_internal::IsLogSegmentName(to) &&
        state.prng.Chance(state.options.recycled_segment_truncated)) {
      MANIFOLD_RETURN_IF_ERROR(CutAtRest(from));
    }
    return FileSystemWrapper::Rename(from, to);
  }

 private:
  Status CutAtRest(const std::string& path) {
    State& state = *state_;
    StatusOr<std::unique_ptr<File>> file = core_->OpenFile(path, OpenFileOptions{});
    if (!file.ok()) return Status::OK();  // No such file: the rename below says so.
    MANIFOLD_ASSIGN_OR_RETURN(const uint64_t size, (*file)->Size());
    if (size == 0) return Status::OK();
    const uint64_t cut_at = state.prng.Uniform(size);
    MANIFOLD_RETURN_IF_ERROR((*file)->Truncate(cut_at));
    // The core's Sync draws the injected sync error; damage at rest must not fail, so that draw
    // is switched off for this one call.
    const faults::ErrorRates sync_rates = state.options.error_rates(OpClass::kSync);
    state.options.error_rates(OpClass::kSync) = {};
    const Status synced = (*file)->Sync();
    state.options.error_rates(OpClass::kSync) = sync_rates;
    MANIFOLD_RETURN_IF_ERROR(synced);
    ++state.counters.segments_cut_in_pool;
    state.Trace("at rest: recycled segment " + path + " cut from " + std::to_string(size) + " to " +
                std::to_string(cut_at) + " bytes before its rename");
    return Status::OK();
  }

  FileSystem* const core_;
  const std::shared_ptr<State> state_;
};

}  // namespace

namespace sim_fs_internal {

std::unique_ptr<FileSystem> NewRecyclePoolDamageFileSystem(
    FileSystem* base, FileSystem* core, std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<RecyclePoolDamageFileSystem>(base, core, std::move(state));
}

std::unique_ptr<FileSystem> NewDeviceWriteFaultFileSystem(
    FileSystem* base, std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<DeviceWriteFaultFileSystem>(base, std::move(state));
}

std::unique_ptr<FileSystem> NewInjectedErrorFileSystem(
    FileSystem* base, std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<InjectedErrorFileSystem>(base, std::move(state));
}

std::unique_ptr<FileSystem> NewPowerSwitchFileSystem(FileSystem* base,
                                                     std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<PowerSwitchFileSystem>(base, std::move(state));
}

std::unique_ptr<FileSystem> NewDelayedSyncFileSystem(FileSystem* base,
                                                     std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<DelayedSyncFileSystem>(base, std::move(state));
}

std::unique_ptr<FileSystem> NewReadBitFlipFileSystem(FileSystem* base,
                                                     std::shared_ptr<SimFileSystem::State> state) {
  return std::make_unique<ReadBitFlipFileSystem>(base, std::move(state));
}

}  // namespace sim_fs_internal
}  // namespace manifold::sim
