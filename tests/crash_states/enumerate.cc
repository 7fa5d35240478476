#include "tests/crash_states/enumerate.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>

#include "engine/util/fault_point.h"
#include "manifold/db.h"
#include "manifold/env.h"
#include "manifold/logger.h"
#include "manifold/write_batch.h"
#include "tests/crash_states/crash_image.h"
#include "tests/crash_states/recording_fs.h"

#if defined(MANIFOLD_USES_FIU)
#include <fiu-control.h>
#endif

namespace manifold::crash_states {
namespace {

constexpr char kDbPath[] = "/db";
constexpr size_t kReportsMax = 3;

// Switches a planted bug on for its lifetime (libfiu, as `sim --plant-bug` does).
class ScopedPlantedBug {
 public:
  explicit ScopedPlantedBug(const std::string& name) : name_(name) {
#if defined(MANIFOLD_USES_FIU)
    if (name_.empty()) return;
    static const bool initialized = fiu_init(0) == 0;
    ok_ = initialized && fiu_enable(name_.c_str(), 1, nullptr, 0) == 0;
#else
    ok_ = name_.empty();
#endif
  }
  ~ScopedPlantedBug() {
#if defined(MANIFOLD_USES_FIU)
    if (!name_.empty() && ok_) fiu_disable(name_.c_str());
#endif
  }
  bool ok() const { return name_.empty() || ok_; }

 private:
  const std::string name_;
  bool ok_ = false;
};

class NullLogger final : public Logger {
 public:
  void Log(LogLevel, std::string_view) override {}
};

Logger* DiscardLogger() {
  static NullLogger logger;
  return &logger;
}

Options EngineOptions(const Workload& workload, FileSystem* fs) {
  Options options;
  options.file_system = fs;
  options.page_bytes = workload.page_bytes;
  options.wal_segment_bytes = workload.wal_segment_bytes;
  // One thread issues every I/O, so the recorded order is the engine's order.
  options.background_checkpoints = false;
  options.checkpoint_interval_us = 0;
  // Grow the data file a few pages at a time (preallocations in the workload, small images).
  options.file_growth_bytes = 8 * workload.page_bytes;
  // The info log is not database state: its writes would only multiply the images.
  options.info_log = DiscardLogger();
  return options;
}

// splitmix64: the sample is a function of the workload's seed and the barrier.
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct Barrier {
  std::string what;
  Shadow shadow;
  model::Model model;  // The model as it stood at the barrier (an open commit is uncertain).
};

StatusOr<model::StateMap> ReadAll(DB* db) {
  model::StateMap state;
  for (const std::string& cf : db->ListColumnFamilies()) {
    model::KeyMap& data = state[cf];
    auto it = db->NewIterator({}, cf);
    if (!it.ok()) return it.status();
    for ((*it)->SeekToFirst(); (*it)->Valid(); (*it)->Next()) {
      data.emplace(std::string((*it)->key()), std::string((*it)->value()));
    }
    MANIFOLD_RETURN_IF_ERROR((*it)->status());
  }
  return state;
}

// Recovers `image` with the engine and judges it; empty when legal, else why not. With
// `recovery_barriers`, the recovery's own I/O is recorded too and its barriers appended (each
// judged by the same model: a crash during recovery must still leave a legal state).
std::string CheckImage(const Workload& workload, const Image& image, const model::Model& before,
                       std::vector<Barrier>* recovery_barriers = nullptr) {
  std::unique_ptr<MemFileSystem> mem = NewMemFileSystem();
  RecordingFileSystem recording(mem.get());
  FileSystem* fs = recovery_barriers != nullptr ? static_cast<FileSystem*>(&recording) : mem.get();
  Status s = Materialize(image, fs);
  if (!s.ok()) return "materializing the image failed: " + s.ToString();
  if (recovery_barriers != nullptr) {
    // The image is the durable state: make its directory entries durable in the shadow too.
    for (const auto& [path, content] : image) {
      if (!content.has_value()) s = recording.SyncDir(path);
      if (s.ok()) s = recording.SyncDir(ParentOf(path));
      if (!s.ok()) return "materializing the image failed: " + s.ToString();
    }
    recording.set_barrier_callback([&](const Shadow& shadow, const std::string& what) {
      recovery_barriers->push_back(Barrier{"recovery: " + what, shadow, before});
    });
  }
  auto db = DB::Open(EngineOptions(workload, fs), kDbPath);
  if (!db.ok()) return "recovery failed: " + db.status().ToString();
  auto state = ReadAll(db->get());
  if (!state.ok()) return "reading the recovered database failed: " + state.status().ToString();
  model::Model model = before;
  model::CrashVerdict verdict =
      model.CheckRecovered(*state, model::Reopen::kCrash, (*db)->GetStats().sequence);
  if (!verdict.legal) return "illegal recovered state: " + verdict.explanation;
  return {};
}

std::string DescribeImage(const Image& image, const std::vector<Unit>& units,
                          const Selection& selection, const Shadow& shadow) {
  std::ostringstream os;
  os << "units kept:";
  for (size_t u = 0; u < units.size(); ++u) {
    const Unit& unit = units[u];
    os << (u ? ", " : " ") << (selection.kept[u] ? "+" : "-");
    if (auto it = selection.torn.find(u); it != selection.torn.end()) {
      os << "torn (first " << it->second << " bytes) ";
    }
    if (unit.kind == Unit::kDirOp) {
      const DirOp& op = shadow.pending_dir_ops[unit.index];
      static const char* kNames[] = {"create", "mkdir", "rename", "remove"};
      os << kNames[op.kind] << " " << op.path << (op.kind == DirOp::kRename ? " to " + op.to : "");
    } else {
      const FileOp& op = shadow.inodes[static_cast<size_t>(unit.inode)].pending[unit.index];
      static const char* kNames[] = {"write", "truncate", "grow"};
      os << kNames[op.kind] << " inode " << unit.inode << " @" << op.offset;
      if (op.kind == FileOp::kWrite) os << "+" << op.data.size();
    }
  }
  os << "; image:";
  for (const auto& [path, content] : image) {
    os << " " << path << (content ? "(" + std::to_string(content->size()) + ")" : "/");
  }
  return os.str();
}

// The subsets of `n` units a barrier checks (see enumerate.h).
std::vector<std::vector<bool>> Masks(size_t n, const EnumerateOptions& options, uint64_t seed,
                                     bool* sampled) {
  std::vector<std::vector<bool>> masks;
  *sampled = n > options.exhaustive_units_max;
  if (!*sampled) {
    for (uint64_t m = 0; m < (uint64_t{1} << n); ++m) {
      std::vector<bool> mask(n);
      for (size_t i = 0; i < n; ++i) mask[i] = (m >> i) & 1;
      masks.push_back(std::move(mask));
    }
    return masks;
  }
  for (size_t k = 0; k <= n; ++k) {  // Prefixes, the empty and the full one included.
    std::vector<bool> mask(n, false);
    for (size_t i = 0; i < k; ++i) mask[i] = true;
    masks.push_back(std::move(mask));
  }
  for (size_t i = 0; i < n; ++i) {
    std::vector<bool> all_but(n, true), only(n, false);
    all_but[i] = false;
    only[i] = true;
    masks.push_back(std::move(all_but));
    masks.push_back(std::move(only));
  }
  uint64_t state = seed;
  for (size_t s = 0; s < options.sample_masks; ++s) {
    std::vector<bool> mask(n);
    for (size_t i = 0; i < n; ++i) mask[i] = NextRandom(&state) & 1;
    masks.push_back(std::move(mask));
  }
  return masks;
}

bool IsWrite(const Unit& unit, const Shadow& shadow) {
  return unit.kind == Unit::kFileOp &&
         shadow.inodes[static_cast<size_t>(unit.inode)].pending[unit.index].kind == FileOp::kWrite;
}

// Every mask as is and with each tear of its last kept write; then, when the product is within
// the bound, every combination of lost, kept and coarse-torn over all units (several writes torn
// at once). Duplicates are left to the caller's image hash.
std::vector<Selection> Selections(const std::vector<Unit>& units, const Shadow& shadow,
                                  const std::vector<std::vector<bool>>& masks,
                                  const EnumerateOptions& options) {
  std::vector<Selection> selections;
  for (const std::vector<bool>& mask : masks) {
    selections.push_back(Selection{mask, {}});
    std::optional<size_t> last_write;
    for (size_t u = 0; u < units.size(); ++u) {
      if (mask[u] && IsWrite(units[u], shadow)) last_write = u;
    }
    if (!last_write) continue;
    for (uint64_t bytes : units[*last_write].tears) {
      selections.push_back(Selection{mask, {{*last_write, bytes}}});
    }
  }
  if (!options.tear_every_write) return selections;
  std::vector<std::vector<uint64_t>> coarse(units.size());
  uint64_t product = 1;
  const uint64_t bound = uint64_t{1} << options.exhaustive_units_max;
  for (size_t u = 0; u < units.size() && product <= bound; ++u) {
    if (IsWrite(units[u], shadow)) {
      const FileOp& op = shadow.inodes[static_cast<size_t>(units[u].inode)].pending[units[u].index];
      coarse[u] = TearPrefixes(op.offset, op.data.size(), /*fine=*/false);
    }
    product *= 2 + coarse[u].size();
  }
  if (product > bound) return selections;
  std::vector<size_t> choice(units.size(), 0);  // 0 lost, 1 kept, 2.. torn by coarse[u][c - 2].
  for (uint64_t n = 0; n < product; ++n) {
    Selection selection{std::vector<bool>(units.size()), {}};
    size_t torn = 0;
    for (size_t u = 0; u < units.size(); ++u) {
      selection.kept[u] = choice[u] > 0;
      if (choice[u] >= 2) {
        selection.torn[u] = coarse[u][choice[u] - 2];
        ++torn;
      }
    }
    // At most one torn write is already among the selections above.
    if (torn >= 2) selections.push_back(std::move(selection));
    for (size_t u = 0; u < units.size(); ++u) {  // Mixed-radix increment.
      if (++choice[u] < 2 + coarse[u].size()) break;
      choice[u] = 0;
    }
  }
  return selections;
}

Status RunCommit(DB* db, const Step& step) {
  const model::Commit& commit = step.commit;
  switch (commit.kind) {
    case model::Commit::kCreateCf:
      return db->CreateColumnFamily(commit.cf);
    case model::Commit::kDropCf:
      return db->DropColumnFamily(commit.cf);
    case model::Commit::kBatch: {
      WriteBatch batch;
      for (const model::Op& op : commit.ops) {
        if (op.kind == model::Op::kPut) {
          batch.Put(op.cf, op.key, op.value);
        } else {
          batch.Delete(op.cf, op.key);
        }
      }
      WriteOptions write;
      write.sync = step.sync;
      return db->Write(write, batch);
    }
  }
  return Status::InvalidArgument("unknown commit kind");
}

std::string StepName(size_t index, const Step& step) {
  std::ostringstream os;
  os << "step " << index << " (";
  switch (step.kind) {
    case Step::kCommit:
      os << step.commit.Describe();
      if (step.commit.kind == model::Commit::kBatch) os << (step.sync ? ", sync" : ", no sync");
      break;
    case Step::kCheckpoint:
      os << "checkpoint";
      break;
    case Step::kCloseReopen:
      os << "close and reopen";
      break;
    case Step::kCrashReopen:
      os << "power cut and recovery";
      break;
  }
  os << ")";
  return os.str();
}

// Runs the workload once, recording every barrier. Returns an error message if the workload
// itself misbehaved (without any crash).
std::string Record(const Workload& workload, std::vector<Barrier>* barriers,
                   EnumerateResult* result) {
  std::unique_ptr<MemFileSystem> mem = NewMemFileSystem();
  RecordingFileSystem fs(mem.get());
  model::Model model;
  std::string phase = "open";
  fs.set_barrier_callback([&](const Shadow& shadow, const std::string& what) {
    barriers->push_back(Barrier{phase + ": " + what, shadow, model});
  });
  const Options options = EngineOptions(workload, &fs);
  auto opened = DB::Open(options, kDbPath);
  if (!opened.ok()) return "open: " + opened.status().ToString();
  std::unique_ptr<DB> db = std::move(opened).value();

  auto reopen = [&](model::Reopen kind) -> std::string {
    auto again = DB::Open(options, kDbPath);
    if (!again.ok()) return "reopen: " + again.status().ToString();
    db = std::move(again).value();
    auto state = ReadAll(db.get());
    if (!state.ok()) return "read after reopen: " + state.status().ToString();
    model::CrashVerdict verdict = model.CheckRecovered(*state, kind, db->GetStats().sequence);
    if (!verdict.legal) return "reopen: illegal state: " + verdict.explanation;
    return {};
  };

  for (size_t i = 0; i < workload.steps.size(); ++i) {
    const Step& step = workload.steps[i];
    phase = StepName(i, step);
    std::string error;
    switch (step.kind) {
      case Step::kCommit: {
        const uint64_t id = model.BeginCommit(step.commit);
        Status s = RunCommit(db.get(), step);
        if (!s.ok()) return phase + ": " + s.ToString();
        const bool durable = step.sync || step.commit.kind != model::Commit::kBatch;
        model::Verdict verdict =
            model.EndCommit(id, durable ? model::Outcome::kAcknowledgedDurable
                                        : model::Outcome::kAcknowledgedNonDurable);
        if (!verdict.ok) return phase + ": " + verdict.explanation;
        break;
      }
      case Step::kCheckpoint: {
        Status s = db->Checkpoint();
        if (!s.ok()) return phase + ": " + s.ToString();
        break;
      }
      case Step::kCloseReopen: {
        Status s = db->Close();
        if (!s.ok()) return phase + ": close: " + s.ToString();
        db.reset();
        error = reopen(model::Reopen::kClean);
        break;
      }
      case Step::kCrashReopen:
        fs.set_frozen(true);
        db.reset();  // Its close fails: the power is off.
        fs.set_frozen(false);
        fs.DropUnsyncedData();
        error = reopen(model::Reopen::kCrash);
        break;
    }
    if (!error.empty()) return phase + ": " + error;
  }
  phase = "close";
  Status s = db->Close();
  if (!s.ok()) return "close: " + s.ToString();
  db.reset();
  // After the close: a crash now must lose nothing acknowledged.
  barriers->push_back(Barrier{"after close", fs.shadow(), model});
  result->writes = fs.writes();
  result->syncs = fs.syncs();
  result->dir_ops = fs.dir_ops();
  return {};
}

}  // namespace

// Builds, recovers and judges every image of every barrier. Outside `nested`, with
// crash_during_recovery, the barriers of each legal image's recovery are checked in turn.
void CheckBarriers(const Workload& workload, const std::vector<Barrier>& barriers,
                   const EnumerateOptions& options, bool nested, EnumerateResult* result) {
  auto done = [&] {
    return options.violations_max != 0 && result->violations >= options.violations_max;
  };
  for (size_t b = 0; b < barriers.size() && !done(); ++b) {
    const Barrier& barrier = barriers[b];
    // Inside a recovery, coarse tears only: the images multiply with each level.
    const std::vector<Unit> units = PendingUnits(barrier.shadow, options.fine_tears && !nested);
    BarrierStats stats;
    stats.what = barrier.what;
    stats.units = units.size();
    const std::vector<std::vector<bool>> masks = Masks(
        units.size(), options, workload.seed * 1000003 + b + (nested ? 7777 : 0), &stats.sampled);
    if (nested) {
      ++result->recovery_barriers;
    } else {
      result->units_max = std::max(result->units_max, units.size());
      if (stats.sampled) ++result->barriers_sampled;
    }
    std::set<uint64_t> seen;
    for (const Selection& selection : Selections(units, barrier.shadow, masks, options)) {
      if (done()) break;
      const Image image = BuildImage(barrier.shadow, units, selection);
      ++result->images_built;
      if (!seen.insert(ImageHash(image)).second) continue;
      ++stats.images;
      ++(nested ? result->recovery_images_checked : result->images_checked);
      std::vector<Barrier> recovery;
      const bool record = !nested && options.crash_during_recovery;
      std::string why = CheckImage(workload, image, barrier.model, record ? &recovery : nullptr);
      if (why.empty() && !recovery.empty()) {
        CheckBarriers(workload, recovery, options, /*nested=*/true, result);
        continue;
      }
      if (why.empty()) continue;
      ++result->violations;
      if (result->violation_reports.size() < kReportsMax) {
        result->violation_reports.push_back("crash at " + barrier.what + ": " + why + "\n    " +
                                            DescribeImage(image, units, selection, barrier.shadow));
      }
    }
    if (!nested) result->per_barrier.push_back(stats);
  }
}

EnumerateResult Enumerate(const Workload& workload, const EnumerateOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  EnumerateResult result;
  result.workload = workload.name;
  ScopedPlantedBug bug(options.planted_bug);
  if (!bug.ok()) {
    result.error = "cannot plant " + options.planted_bug + " (fault points not compiled in?)";
    return result;
  }
  std::vector<Barrier> barriers;
  result.error = Record(workload, &barriers, &result);
  result.barriers = barriers.size();
  CheckBarriers(workload, barriers, options, /*nested=*/false, &result);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string Summary(const EnumerateResult& r) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "%-22s barriers %4zu (sampled %3zu, units max %3zu) images built %7zu checked "
                "%6zu violations %zu  %.2f s",
                r.workload.c_str(), r.barriers, r.barriers_sampled, r.units_max, r.images_built,
                r.images_checked, r.violations, r.seconds);
  std::string out = line;
  if (r.recovery_barriers > 0) {
    out += "; crashes during recovery: " + std::to_string(r.recovery_barriers) + " barriers, " +
           std::to_string(r.recovery_images_checked) + " images";
  }
  return out;
}

}  // namespace manifold::crash_states
