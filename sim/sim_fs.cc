// SimFileSystem: see sim_fs.h for the durability and fault model.
//
// The facade. Layers, bottom to top: SimDisk (the core, sim_disk.h) implements every FileSystem
// call on the representation of sim_fs_state.h; then FileSystemWrappers (sim_fault_layers.h) that
// override only the calls their fault touches: DeviceWriteFaultFileSystem (Write/Append: partial
// writes before EIO, ENOSPC, misdirection), InjectedErrorFileSystem (refusals of reads, truncates,
// preallocations, directory syncs and metadata calls), PowerSwitchFileSystem (refusal while cut,
// stale handles, argument checks, power cuts at mutations), DelayedSyncFileSystem (Sync/SyncDir)
// ReadBitFlipFileSystem (Read) and RecyclePoolDamageFileSystem (Rename of a recycled log segment
// that was cut short at rest). SimFileSystem's own calls take the scheduling point and
// State::mu once and hand the call to the top layer, so the layers and the core run with the lock
// held. The harness-side controls (crashes, Restart, options, tracing, StateHash) are here too.
#include "sim/sim_fs.h"

#include <cassert>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/port/sync.h"
#include "faults/fault_model.h"
#include "manifold/env.h"
#include "manifold/status.h"
#include "sim/sim_clock.h"
#include "sim/sim_disk.h"
#include "sim/sim_fault_layers.h"
#include "sim/sim_fs_state.h"

namespace manifold::sim {
namespace {

using sim_fs_internal::DirOp;
using sim_fs_internal::Inode;
using sim_fs_internal::NewDelayedSyncFileSystem;
using sim_fs_internal::NewDeviceWriteFaultFileSystem;
using sim_fs_internal::NewInjectedErrorFileSystem;
using sim_fs_internal::NewPowerSwitchFileSystem;
using sim_fs_internal::NewReadBitFlipFileSystem;
using sim_fs_internal::NewRecyclePoolDamageFileSystem;
using sim_fs_internal::NewSimDisk;
using State = SimFileSystem::State;

// FNV-1a, 64 bits. Fields are length-prefixed so that ("ab", "c") and ("a", "bc") differ.
class Fnv1a {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      hash_ ^= p[i];
      hash_ *= 0x100000001b3ULL;
    }
  }
  void U64(uint64_t value) {
    unsigned char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<unsigned char>(value >> (8 * i));
    Bytes(buf, sizeof(buf));
  }
  void Str(std::string_view s) {
    U64(s.size());
    Bytes(s.data(), s.size());
  }
  uint64_t hash() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// ---- The facade's files: one scheduling point and State::mu around every call ----------------
//
// The lock is taken once, here, for the whole stack below, so a call is atomic across the layers
// and adds no lock (and so no scheduling decision) per layer.
class SerializedFile final : public FileWrapper {
 public:
  SerializedFile(std::unique_ptr<File> base, std::shared_ptr<State> state)
      : FileWrapper(std::move(base)), state_(std::move(state)) {}

  StatusOr<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    port::SchedulingPoint("SimFile::Read", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Read(offset, n, scratch);
  }
  Status Write(uint64_t offset, std::string_view data) override {
    port::SchedulingPoint("SimFile::Write", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Write(offset, data);
  }
  Status Append(std::string_view data) override {
    port::SchedulingPoint("SimFile::Append", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Append(data);
  }
  Status Sync() override {
    port::SchedulingPoint("SimFile::Sync", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Sync();
  }
  Status Truncate(uint64_t size_bytes) override {
    port::SchedulingPoint("SimFile::Truncate", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Truncate(size_bytes);
  }
  Status Preallocate(uint64_t offset, uint64_t len) override {
    port::SchedulingPoint("SimFile::Preallocate", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Preallocate(offset, len);
  }
  StatusOr<uint64_t> Size() const override {
    port::SchedulingPoint("SimFile::Size", this);
    port::MutexLock lock(&state_->mu);
    return FileWrapper::Size();
  }

 private:
  const std::shared_ptr<State> state_;
};

}  // namespace

SimFileSystem::SimFileSystem(uint64_t seed, faults::FaultOptions options, SimClock* clock)
    : state_(std::make_shared<State>(seed, std::move(options), clock)) {
  assert(clock != nullptr);
  {
    port::MutexLock lock(&state_->mu);
    assert(faults::ValidateFaultOptions(state_->options).ok());
  }
  // Bottom to top: the core, then the layers whose draws follow the core's within a call.
  layers_.push_back(NewSimDisk(state_));
  layers_.push_back(NewDeviceWriteFaultFileSystem(layers_.back().get(), state_));
  layers_.push_back(NewInjectedErrorFileSystem(layers_.back().get(), state_));
  layers_.push_back(NewPowerSwitchFileSystem(layers_.back().get(), state_));
  layers_.push_back(NewDelayedSyncFileSystem(layers_.back().get(), state_));
  layers_.push_back(NewReadBitFlipFileSystem(layers_.back().get(), state_));
  layers_.push_back(
      NewRecyclePoolDamageFileSystem(layers_.back().get(), layers_.front().get(), state_));
  top_ = layers_.back().get();
}

// The FileSystem calls: a scheduling point and the lock, then the layers.

StatusOr<std::unique_ptr<File>> SimFileSystem::OpenFile(const std::string& path,
                                                        const OpenFileOptions& options) {
  port::SchedulingPoint("SimFileSystem::OpenFile", state_.get());
  port::MutexLock lock(&state_->mu);
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, top_->OpenFile(path, options));
  return std::unique_ptr<File>(std::make_unique<SerializedFile>(std::move(file), state_));
}

Status SimFileSystem::Rename(const std::string& from, const std::string& to) {
  port::SchedulingPoint("SimFileSystem::Rename", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->Rename(from, to);
}

Status SimFileSystem::Remove(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::Remove", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->Remove(path);
}

Status SimFileSystem::CreateDir(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::CreateDir", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->CreateDir(path);
}

Status SimFileSystem::SyncDir(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::SyncDir", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->SyncDir(path);
}

StatusOr<std::vector<std::string>> SimFileSystem::ListDir(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::ListDir", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->ListDir(path);
}

StatusOr<bool> SimFileSystem::Exists(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::Exists", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->Exists(path);
}

StatusOr<std::unique_ptr<FileLock>> SimFileSystem::LockFile(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::LockFile", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->LockFile(path);
}

StatusOr<std::unique_ptr<FileLock>> SimFileSystem::LockFileShared(const std::string& path) {
  port::SchedulingPoint("SimFileSystem::LockFileShared", state_.get());
  port::MutexLock lock(&state_->mu);
  return top_->LockFileShared(path);
}

SimFileSystem::~SimFileSystem() = default;

void SimFileSystem::ScheduleCrashAtMutation(uint64_t n) {
  port::MutexLock lock(&state_->mu);
  state_->crash_at_mutation = n == 0 ? 0 : state_->counters.mutations + n;
  if (n == 0) state_->namespace_ops_until_cut = 0;
}

void SimFileSystem::ScheduleCrashAfterNamespaceOp(uint32_t n, uint32_t delay) {
  port::MutexLock lock(&state_->mu);
  state_->namespace_ops_until_cut = n;
  state_->cut_delay_after_namespace_op = delay;
}

void SimFileSystem::set_random_crashes(bool enabled) {
  port::MutexLock lock(&state_->mu);
  state_->random_crashes = enabled;
}

bool SimFileSystem::random_crashes() const {
  port::MutexLock lock(&state_->mu);
  return state_->random_crashes;
}

void SimFileSystem::CrashNow() {
  port::MutexLock lock(&state_->mu);
  if (state_->crashed) return;
  state_->Cut();
  state_->Trace("crash: power cut between operations after mutation " +
                std::to_string(state_->counters.mutations));
}

bool SimFileSystem::crashed() const {
  port::MutexLock lock(&state_->mu);
  return state_->crashed;
}

Status SimFileSystem::Restart() {
  port::MutexLock lock(&state_->mu);
  return state_->RestartLocked();
}

void SimFileSystem::set_options(const faults::FaultOptions& options) {
  assert(faults::ValidateFaultOptions(options).ok());
  port::MutexLock lock(&state_->mu);
  state_->options = options;
}

faults::FaultOptions SimFileSystem::options() const {
  port::MutexLock lock(&state_->mu);
  return state_->options;
}

const SimFsCounters& SimFileSystem::counters() const MANIFOLD_NO_THREAD_SAFETY_ANALYSIS {
  // Unlocked by contract (see the header): a reference cannot carry the lock with it.
  return state_->counters;
}

void SimFileSystem::set_trace(std::function<void(const std::string&)> trace) {
  port::MutexLock lock(&state_->mu);
  state_->trace = std::move(trace);
}

uint64_t SimFileSystem::StateHash() const {
  port::MutexLock lock(&state_->mu);
  Fnv1a h;
  auto hash_file = [&h](const Inode& inode) {
    h.U64(inode.id);
    h.Str(inode.current);
    h.Str(inode.durable);
    h.U64(inode.pending.size());
  };
  for (const auto& [path, entry] : state_->live) {
    h.Str(path);
    if (entry.is_dir()) {
      h.U64(0);
    } else {
      hash_file(*entry.inode);
    }
  }
  for (const auto& [dir, state] : state_->dirs) {
    h.Str(dir);
    for (const auto& [name, entry] : state.durable) {
      h.Str(name);
      // Files whose durable entry is no longer live (pending remove or rename) matter too.
      if (entry.is_dir()) {
        h.U64(0);
      } else {
        hash_file(*entry.inode);
      }
    }
    h.U64(state.pending.size());
    for (const DirOp& op : state.pending) {
      h.U64(static_cast<uint64_t>(op.kind));
      h.Str(op.name);
      h.Str(op.to);
      h.U64(op.entry.id());
    }
  }
  return h.hash();
}

}  // namespace manifold::sim
