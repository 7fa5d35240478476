// The fixed workloads of the exhaustive crash-state check (enumerate.h).
#include <string>
#include <utility>
#include <vector>

#include "tests/crash_states/enumerate.h"

namespace manifold::crash_states {
namespace {

std::string Value(size_t len, uint64_t seed) {
  std::string v(len, '\0');
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<char>('a' + (seed * 7 + i * 13) % 26);
  return v;
}

Step Put(const std::string& cf, const std::string& key, std::string value, bool sync) {
  Step step;
  step.commit = model::Commit::Batch({model::Op::Put(cf, key, value)});
  step.sync = sync;
  return step;
}

Step Del(const std::string& cf, const std::string& key, bool sync) {
  Step step;
  step.commit = model::Commit::Batch({model::Op::Delete(cf, key)});
  step.sync = sync;
  return step;
}

Step Batch(std::vector<model::Op> ops, bool sync) {
  Step step;
  step.commit = model::Commit::Batch(std::move(ops));
  step.sync = sync;
  return step;
}

Step CreateCf(const std::string& cf) {
  Step step;
  step.commit = model::Commit::CreateCf(cf);
  return step;
}

Step DropCf(const std::string& cf) {
  Step step;
  step.commit = model::Commit::DropCf(cf);
  return step;
}

Step Do(Step::Kind kind) {
  Step step;
  step.kind = kind;
  return step;
}

// A few commits across two column families, sync and not, then a clean close and reopen.
Workload Commits() {
  Workload w{"commits_two_cfs", 1024, 64 << 10, 11, {}};
  w.steps = {
      CreateCf("users"),
      Put("default", "a", "1", true),
      Put("users", "u1", "one", false),
      Batch({model::Op::Put("default", "b", "2"), model::Op::Put("users", "u2", "two"),
             model::Op::Delete("default", "a")},
            true),
      Put("users", "u3", Value(700, 3), false),  // Spans sectors: its tail can tear.
      Do(Step::kCloseReopen),
      Del("users", "u1", true),
  };
  return w;
}

// Commits, a forced checkpoint (pages, sync, header slot, sync), more commits, another one.
Workload Checkpoints() {
  Workload w{"checkpoints", 1024, 64 << 10, 12, {}};
  w.steps = {
      CreateCf("logs"),
      Put("default", "k1", Value(300, 1), true),
      Put("logs", "l1", Value(1500, 2), false),  // An overflow page.
      Do(Step::kCheckpoint),
      Put("default", "k2", "v2", true),
      Batch({model::Op::Put("logs", "l2", "x"), model::Op::Delete("default", "k1")}, false),
      Do(Step::kCheckpoint),
      Put("default", "k3", "v3", true),
  };
  return w;
}

// Values large enough that the smallest log segments (64 KiB) roll over, then checkpoints that
// retire the covered segments.
Workload Rollover() {
  Workload w{"segment_rollover", 1024, 64 << 10, 13, {}};
  w.steps = {
      CreateCf("blobs"),
      Put("blobs", "b1", Value(24 << 10, 1), true),
      Put("blobs", "b2", Value(24 << 10, 2), false),
      Put("default", "d1", "small", true),
      Put("blobs", "b3", Value(24 << 10, 3), true),  // Past 64 KiB: a new segment.
      Do(Step::kCheckpoint),                         // Retires the first segment.
      Put("blobs", "b1", Value(20 << 10, 4), true),
      Do(Step::kCheckpoint),
  };
  return w;
}

// Unsynced commits, a power cut, recovery, more commits, a second power cut and recovery.
Workload Recovery() {
  Workload w{"crash_recovery", 1024, 64 << 10, 14, {}};
  w.steps = {
      CreateCf("users"),
      Put("default", "a", "1", true),
      Put("users", "u1", Value(600, 1), false),
      Put("default", "b", "2", false),
      Do(Step::kCrashReopen),
      Put("users", "u2", "two", true),
      Del("default", "a", false),
      Do(Step::kCrashReopen),
      // A run of unsynced commits that the next sync commit's barrier sees all pending.
      Put("default", "c", "3", false),
      Put("users", "u3", Value(900, 5), false),
      Batch({model::Op::Put("default", "d", "4"), model::Op::Delete("users", "u2")}, false),
      Put("default", "e", Value(40, 6), false),
      Put("users", "u4", "four", true),
  };
  return w;
}

}  // namespace

std::vector<Workload> SmallWorkloads() {
  return {Commits(), Checkpoints(), Rollover(), Recovery()};
}

Workload PlantedBugWorkload() {
  Workload w{"planted_bug", 1024, 64 << 10, 21, {}};
  w.steps = {
      CreateCf("users"),
      Put("default", "a", "1", true),
      Put("users", "big1", Value(30 << 10, 1), true),
      Put("users", "big2", Value(30 << 10, 2), false),
      Put("default", "b", Value(30 << 10, 3), true),  // Rolls over to a second segment.
      Do(Step::kCheckpoint),  // Retires the first segment (after its header is durable).
      Put("users", "u1", "one", true),
      Do(Step::kCheckpoint),
      Put("default", "c", "3", true),
      Do(Step::kCrashReopen),
      Put("users", "u2", "two", true),
      Do(Step::kCheckpoint),
  };
  return w;
}

std::vector<Workload> LargeWorkloads() {
  std::vector<Workload> all = SmallWorkloads();
  all.push_back(PlantedBugWorkload());
  // A longer mix: three column families, a drop and re-create, several rollovers and
  // checkpoints, unsynced runs, a power cut and a close, on 4 KiB pages.
  Workload w{"long_mix", 4096, 64 << 10, 31, {}};
  w.steps.push_back(CreateCf("users"));
  w.steps.push_back(CreateCf("logs"));
  for (int i = 0; i < 12; ++i) {
    const bool sync = i % 3 == 0;
    if (i % 4 == 0) {
      w.steps.push_back(Batch({model::Op::Put("users", "u" + std::to_string(i), Value(200, i)),
                               model::Op::Put("logs", "l" + std::to_string(i), Value(9000, i)),
                               model::Op::Delete("default", "d" + std::to_string(i - 4))},
                              sync));
    } else {
      w.steps.push_back(Put("default", "d" + std::to_string(i), Value(i * 900, i), sync));
    }
    if (i == 5) w.steps.push_back(Do(Step::kCheckpoint));
    if (i == 7) {
      w.steps.push_back(DropCf("logs"));
      w.steps.push_back(CreateCf("logs"));  // Empty again, under a new id.
    }
    if (i == 9) w.steps.push_back(Do(Step::kCrashReopen));
  }
  w.steps.push_back(Do(Step::kCheckpoint));
  w.steps.push_back(Do(Step::kCloseReopen));
  w.steps.push_back(Put("users", "after", "reopen", true));
  all.push_back(w);

  // Segments retired and recycled under new numbers (their stale records still in them): a
  // checkpoint after every rollover, a power cut while recycled segments are in use.
  Workload recycle{"segment_recycling", 1024, 64 << 10, 41, {}};
  recycle.steps.push_back(CreateCf("blobs"));
  for (int i = 0; i < 10; ++i) {
    recycle.steps.push_back(
        Put("blobs", "b" + std::to_string(i % 3), Value(30 << 10, 100 + i), i % 2 == 0));
    if (i % 2 == 1) recycle.steps.push_back(Do(Step::kCheckpoint));
    if (i == 6) recycle.steps.push_back(Do(Step::kCrashReopen));
  }
  recycle.steps.push_back(Put("default", "end", "x", true));
  all.push_back(recycle);

  // A wide tree (leaf splits, a second level), then scattered updates: a checkpoint writes
  // pages that are not contiguous, so its barrier has more units.
  Workload wide{"wide_tree", 1024, 64 << 10, 51, {}};
  std::vector<model::Op> fill;
  for (int i = 0; i < 150; ++i) {
    fill.push_back(model::Op::Put("default", "k" + std::to_string(1000 + i), Value(60, i)));
  }
  wide.steps.push_back(Batch(fill, true));
  wide.steps.push_back(Do(Step::kCheckpoint));
  for (int i = 0; i < 6; ++i) {
    wide.steps.push_back(
        Put("default", "k" + std::to_string(1000 + i * 29), Value(90, 500 + i), i % 2 == 0));
  }
  wide.steps.push_back(Del("default", "k1100", false));
  wide.steps.push_back(Do(Step::kCheckpoint));
  wide.steps.push_back(Do(Step::kCrashReopen));
  wide.steps.push_back(Put("default", "k2000", "last", true));
  all.push_back(wide);
  return all;
}

}  // namespace manifold::crash_states
