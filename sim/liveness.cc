#include "sim/liveness.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "engine/db/log_files.h"
#include "engine/port/sync.h"
#include "engine/wal/log_format.h"
#include "manifold/db.h"
#include "sim/sched/strategies.h"

namespace manifold::sim {
namespace {

namespace psched = port::sched;

// Forwards to a FileSystem and counts the open handles of each path, so the phase can tell the
// log segments the engine still holds (LogFiles keeps every live segment open; retiring one
// closes it) from those it retired. A std::mutex, not a port::Mutex: it is never held across a
// scheduling point, and it adds none.
class HandleCountingFileSystem final : public FileSystemWrapper {
 public:
  explicit HandleCountingFileSystem(FileSystem* base) : FileSystemWrapper(base) {}

  // Segment numbers with at least one open handle, ascending.
  std::vector<uint64_t> OpenSegments() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<uint64_t> numbers;
    for (const auto& [path, count] : open_) {
      uint64_t number = 0;
      const std::string name = path.substr(path.rfind('/') + 1);
      if (count > 0 && wal::ParseSegmentFileName(name, &number)) numbers.push_back(number);
    }
    std::sort(numbers.begin(), numbers.end());
    return numbers;
  }

  StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                           const OpenFileOptions& options) override {
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<File> file, base()->OpenFile(path, options));
    return std::unique_ptr<File>(new CountedFile(this, std::move(file), path));
  }
  Status Rename(const std::string& from, const std::string& to) override {
    MANIFOLD_RETURN_IF_ERROR(base()->Rename(from, to));
    std::lock_guard<std::mutex> lock(mu_);
    // Open handles follow the file (the engine renames only closed, retired segments).
    auto it = open_.find(from);
    if (it != open_.end()) {
      open_[to] += it->second;
      open_.erase(from);
    }
    return Status::OK();
  }

 private:
  // Counts itself open from construction to destruction; every call goes to the base file.
  class CountedFile final : public FileWrapper {
   public:
    CountedFile(HandleCountingFileSystem* fs, std::unique_ptr<File> base, std::string path)
        : FileWrapper(std::move(base)), fs_(fs), path_(std::move(path)) {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      ++fs_->open_[path_];
    }
    ~CountedFile() override {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      if (--fs_->open_[path_] == 0) fs_->open_.erase(path_);
    }

   private:
    HandleCountingFileSystem* const fs_;
    const std::string path_;  // As opened: what open_ counts it under.
  };

  std::mutex mu_;
  std::map<std::string, int> open_;  // Guarded by mu_.
};

// Writer 1 writes to "default" (which every database has), the others to a column family each.
std::string CfName(uint32_t writer) {
  return writer == 1 ? std::string("default") : "liveness-" + std::to_string(writer);
}

std::string KeyName(uint32_t key) { return "live-" + std::to_string(key); }

constexpr uint32_t kKeysPerWriter = 2;

// In ReadBack's report of a read that does not return an acknowledged write, and what
// LivenessDetail looks for.
constexpr char kLostWriteText[] = "not the acknowledged";

// Clears the phase bound however the phase ends, so that nothing after it (the rest of the run,
// or the unwinding of a failed one) runs under it. Declared before the phase's database, so that
// the database's destructor still runs inside the bound.
class PhaseBoundGuard {
 public:
  PhaseBoundGuard() {
    psched::SetPhaseBound(kLivenessStepsMax, kLivenessTimeMaxUs, "liveness phase");
  }
  ~PhaseBoundGuard() { psched::ClearPhaseBound(); }
  PhaseBoundGuard(const PhaseBoundGuard&) = delete;
  PhaseBoundGuard& operator=(const PhaseBoundGuard&) = delete;
};  // Key 0 takes the large values, key 1 the small.

// Distinct per writer and write, long enough that the phase rolls several log segments.
std::string ValueFor(uint32_t writer, uint32_t write) {
  std::string value = "writer " + std::to_string(writer) + " write " + std::to_string(write) + " ";
  value.resize(
      write < kLivenessLargeWritesPerWriter ? kLivenessValueBytes : kLivenessSmallValueBytes,
      static_cast<char>('a' + (writer * 7 + write) % 26));
  return value;
}

std::string Numbers(const std::vector<uint64_t>& numbers) {
  std::string text;
  for (uint64_t n : numbers) text += (text.empty() ? "" : ", ") + std::to_string(n);
  return text;
}

// I28: after a checkpoint with no commit in flight, the engine holds open only the segment it
// writes next (the log head) and perhaps the one before it (a head whose file was still being
// created, I21); it keeps at most LogFiles::kRecyclePoolMax retired files for reuse and removes the
// rest.
std::string CheckRetired(HandleCountingFileSystem* counting, FileSystem* fs,
                         const std::string& path, uint64_t checkpoint_sequence) {
  StatusOr<std::vector<std::string>> names = fs->ListDir(path);
  if (!names.ok()) return "liveness: listing " + path + ": " + names.status().ToString();
  std::vector<uint64_t> files;
  for (const std::string& name : *names) {
    uint64_t number = 0;
    if (wal::ParseSegmentFileName(name, &number)) files.push_back(number);
  }
  std::sort(files.begin(), files.end());
  const std::vector<uint64_t> open = counting->OpenSegments();
  const uint64_t newest = files.empty() ? 0 : files.back();
  std::vector<uint64_t> stale;
  for (uint64_t number : open) {
    if (number + 1 < newest) stale.push_back(number);
  }
  const std::string after = "after a checkpoint at sequence " +
                            std::to_string(checkpoint_sequence) + " with no commit in flight";
  if (!stale.empty()) {
    return "liveness: the log was not retired: " + after + ", segments " + Numbers(stale) +
           " are still open (newest " + std::to_string(newest) + "; open: " + Numbers(open) + ")";
  }
  if (files.size() > LogFiles::kRecyclePoolMax + 2) {
    return "liveness: the log was not retired: " + after + ", " + std::to_string(files.size()) +
           " segment files remain (" + Numbers(files) + "), at most " +
           std::to_string(LogFiles::kRecyclePoolMax + 2) +
           " expected (the head, the one before it, and the retired files kept for reuse)";
  }
  return "";
}

}  // namespace

std::string LivenessDetail(const std::string& failure) {
  if (failure.find("the log was not retired") != std::string::npos) {
    return "the log was not retired";
  }
  if (failure.find("the write buffers were not released") != std::string::npos) {
    return "the write buffers were not released";
  }
  if (failure.find("does not cover every commit") != std::string::npos) {
    return "the checkpoint left commits uncovered";
  }
  if (failure.find(kLostWriteText) != std::string::npos) return "an acknowledged write was lost";
  return "a call failed with every fault off";
}

std::string LivenessDetail(const psched::RunResult& run) {
  // kFailed is a failed MANIFOLD_CHECK (or a thrown exception) during the phase, not a hang.
  if (run.outcome == psched::Outcome::kFailed) return "check failed";
  return std::string("hang: ") + psched::OutcomeName(run.outcome);
}

LivenessPhase::LivenessPhase(LivenessSetup setup)
    : setup_(std::move(setup)),
      doing_(kLivenessWriters + 1),
      expected_(kLivenessWriters + 1, std::vector<std::string>(kKeysPerWriter)) {}

void LivenessPhase::Doing(uint32_t thread, std::string what) {
  // Once the run fails its threads unwind and move on: keep what they were doing then.
  if (!psched::Failing()) doing_[thread] = std::move(what);
}

void LivenessPhase::Trace(const std::string& line) {
  if (setup_.trace) setup_.trace("liveness: " + line);
}

std::string LivenessPhase::Run() {
  // Not on a failing run: its threads are unwinding, and the failure is not the phase's.
  if (psched::Failing()) return "liveness: not run: the run had already failed";
  started_ = true;
  ScopedFaultPointSink sink(setup_.sink);
  SimFileSystem& fs = *setup_.fs;
  // Every fault off for good: rates, random power cuts, a scheduled cut.
  fs.set_options(faults::FaultOptions());
  fs.set_random_crashes(false);
  fs.ScheduleCrashAtMutation(0);
  if (fs.crashed()) {
    Status restarted = fs.Restart();
    if (!restarted.ok()) return "liveness: SimFileSystem::Restart: " + restarted.ToString();
  }
  const PhaseBoundGuard bound;
  const uint64_t first_step = psched::CurrentStep();
  HandleCountingFileSystem counting(&fs);
  Options options = setup_.options;
  options.file_system = &counting;
  // Only the phase's forced checkpoint covers (and so retires) what it writes.
  options.checkpoint_interval_us = 0;
  options.checkpoint_log_bytes = UINT64_MAX;
  options.write_buffer_bytes_max = std::max<uint64_t>(options.write_buffer_bytes_max, 16 << 20);
  options.checkpoint_dirty_bytes = options.write_buffer_bytes_max;
  Trace("faults off; reopening");
  Doing(0, "DB::Open");
  StatusOr<std::unique_ptr<DB>> opened = DB::Open(options, setup_.path);
  if (!opened.ok()) {
    return "liveness: DB::Open failed with every fault off: " + opened.status().ToString();
  }
  std::unique_ptr<DB> db = std::move(opened).value();
  for (uint32_t w = 2; w <= kLivenessWriters; ++w) {
    Doing(0, "creating column family " + CfName(w));
    Status created = db->CreateColumnFamily(CfName(w));
    if (!created.ok() && !created.IsAlreadyExists()) {
      return "liveness: CreateColumnFamily(" + CfName(w) +
             ") failed with every fault off: " + created.ToString();
    }
  }
  const Stats before = db->GetStats();
  db_ = db.get();
  std::vector<std::string> failures(kLivenessWriters + 1);
  {
    std::vector<std::unique_ptr<port::Thread>> writers;
    for (uint32_t w = 1; w <= kLivenessWriters; ++w) {
      auto body = [this, w, &failures] {
        ScopedFaultPointSink writer_sink(setup_.sink);
        failures[w] = Writer(w);
      };
      // `new` here, not std::make_unique: a thread's start is where scheduler reports place waits
      // for it in its destructor. One line, since the location GCC gives a call is the line its
      // argument list closes on.
      writers.emplace_back(new port::Thread("liveness-writer", std::move(body)));
    }
    Doing(0, "joining the writers");
    writers.clear();
  }
  for (const std::string& failure : failures) {
    if (!failure.empty()) return failure;
  }
  Doing(0, "DB::Checkpoint");
  Status checkpointed = db->Checkpoint();
  if (!checkpointed.ok()) {
    return "liveness: Checkpoint failed with every fault off: " + checkpointed.ToString();
  }
  const Stats after = db->GetStats();
  Trace("checkpoint at sequence " + std::to_string(after.checkpoint_sequence) + "; " +
        std::to_string(after.log_segments_created + after.log_segments_recycled -
                       before.log_segments_created - before.log_segments_recycled) +
        " segments rolled");
  if (after.checkpoint_sequence != after.sequence) {
    return "liveness: the forced checkpoint does not cover every commit: checkpoint_sequence " +
           std::to_string(after.checkpoint_sequence) + ", sequence " +
           std::to_string(after.sequence) + ", no commit in flight";
  }
  // The checkpoint merged every buffer and nothing commits: their memory is given back (I31).
  if (after.dirty_bytes != 0) {
    return "liveness: the write buffers were not released: a forced checkpoint at sequence " +
           std::to_string(after.checkpoint_sequence) +
           " covers every commit, no commit in flight, and Stats::dirty_bytes is still " +
           std::to_string(after.dirty_bytes) + " (write_buffer_bytes_max " +
           std::to_string(setup_.options.write_buffer_bytes_max) + ")";
  }
  Doing(0, "checking the log was retired");
  if (std::string failure = CheckRetired(&counting, &fs, setup_.path, after.checkpoint_sequence);
      !failure.empty()) {
    return failure;
  }
  if (std::string failure = ReadBack(db.get(), "after the checkpoint"); !failure.empty()) {
    return failure;
  }
  Doing(0, "DB::Close");
  db_ = nullptr;
  Status closed = db->Close();
  if (!closed.ok()) return "liveness: Close failed with every fault off: " + closed.ToString();
  Doing(0, "destroying the DB");
  db.reset();
  Doing(0, "done");
  Trace("OK: " + std::to_string(writes_) + " durable writes in " +
        std::to_string(psched::CurrentStep() - first_step) + " scheduling points");
  return "";
}

std::string LivenessPhase::Writer(uint32_t w) {
  WriteOptions durable;
  durable.sync = true;
  for (uint32_t i = 0; i < kLivenessWritesPerWriter; ++i) {
    const uint32_t key = i < kLivenessLargeWritesPerWriter ? 0 : 1;
    Doing(w, "durable put " + std::to_string(i + 1) + " of " +
                 std::to_string(kLivenessWritesPerWriter) + " (" + CfName(w) + "/" + KeyName(key) +
                 ")");
    std::string value = ValueFor(w, i);
    Status status = db_->Put(durable, CfName(w), KeyName(key), value);
    if (!status.ok()) {
      return "liveness: " + doing_[w] + " failed with every fault off: " + status.ToString();
    }
    expected_[w][key] = std::move(value);
    ++writes_;
  }
  Doing(w, "done");
  return "";
}

std::string LivenessPhase::ReadBack(DB* db, const char* when) {
  Doing(0, std::string("reading back ") + when);
  for (uint32_t w = 1; w <= kLivenessWriters; ++w) {
    for (uint32_t key = 0; key < kKeysPerWriter; ++key) {
      const std::string& expected = expected_[w][key];
      if (expected.empty()) continue;
      StatusOr<std::string> got = db->Get({}, CfName(w), KeyName(key));
      const std::string what = "liveness: get " + CfName(w) + "/" + KeyName(key) + " " + when;
      if (!got.ok()) return what + " failed with every fault off: " + got.status().ToString();
      if (*got != expected) {
        return what + " returned " + std::to_string(got->size()) + " bytes starting '" +
               got->substr(0, 24) + "', " + kLostWriteText + " '" + expected.substr(0, 24) + "'";
      }
    }
  }
  return "";
}

std::string LivenessPhase::HangFailure(const psched::RunResult& run) const {
  std::string failure =
      "liveness: the database stopped making progress with every fault off "
      "(scheduler " +
      std::string(psched::OutcomeName(run.outcome)) + "): " + run.report;
  if (!failure.empty() && failure.back() != '\n') failure += '\n';
  failure += "  the phase: controller " + doing_[0];
  for (uint32_t w = 1; w < doing_.size(); ++w) {
    failure +=
        "; writer " + std::to_string(w) + " " + (doing_[w].empty() ? "not started" : doing_[w]);
  }
  return failure;
}

std::string LivenessPhase::RunScheduled(uint64_t seed, std::string* detail) {
  sim::sched::RandomStrategy strategy(seed ^ 0x11fe11e55ull);
  std::string failure;
  const psched::RunResult run = psched::Run([&] { failure = Run(); }, &strategy);
  // The detail comes from the scheduler's outcome, not from HangFailure's text (which names
  // neither of the patterns LivenessDetail(failure) looks for).
  if (!run.ok()) {
    *detail = LivenessDetail(run);
    return HangFailure(run);
  }
  *detail = failure.empty() ? "" : LivenessDetail(failure);
  return failure;
}

}  // namespace manifold::sim
