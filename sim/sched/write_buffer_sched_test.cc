// The write buffer (engine/db/write_buffer.h) under the deterministic scheduler: one writer adds
// and aborts entries while a point reader and a scanning reader run, every link load and store a
// scheduling point, so the explored schedules interleave the readers between the steps of each
// insert (I29) and of an abort (I30). Built on the scheduled port layer (sim_cc_test).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/db/write_buffer.h"
#include "engine/port/atomic.h"
#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "engine/util/check.h"
#include "gtest/gtest.h"
#include "sim/sched/explore.h"
#include "sim/sched/strategies.h"

#if !MANIFOLD_SIM_SCHEDULER
#error "write_buffer_sched_test needs the scheduled port layer: build it as a sim_cc_test"
#endif

namespace manifold::sim::sched {
namespace {

using port::sched::Fail;
using Found = WriteBuffer::Found;

// The writer's fixed plan: adds in sequence order, one abort of the newest commit whose sequence
// number is then reused.
struct PlanOp {
  bool abort;  // MarkAborted(sequence, sequence) instead of an add.
  uint64_t sequence;
  EntryType type;
  std::string key;
};

const std::vector<PlanOp>& Plan() {
  static const std::vector<PlanOp> plan = {
      {false, 1, EntryType::kPut, "a"},       {false, 1, EntryType::kPut, "b"},
      {false, 2, EntryType::kPut, "a"},       {false, 2, EntryType::kPut, "a"},
      {false, 3, EntryType::kTombstone, "a"}, {false, 3, EntryType::kPut, "c"},
      {false, 4, EntryType::kPut, "b"},       {false, 4, EntryType::kPut, "d"},
      {true, 4, EntryType::kPut, ""},         {false, 4, EntryType::kPut, "d"},
      {false, 4, EntryType::kPut, "a"},       {false, 5, EntryType::kTombstone, "b"},
  };
  return plan;
}

const std::vector<std::string> kKeys = {"a", "b", "c", "d", "e"};
constexpr int kReaderRounds = 4;

// A value naming its plan step, so a reader can tell which add it came from.
std::string Value(size_t step) {
  return Plan()[step].type == EntryType::kPut ? "v" + std::to_string(step) : "";
}

struct ModelEntry {
  size_t step;
  bool aborted;
};

// The entries after the first `steps` steps of the plan, aborted ones marked, in add order.
std::vector<ModelEntry> ModelAfter(size_t steps) {
  std::vector<ModelEntry> entries;
  for (size_t i = 0; i < steps; ++i) {
    const PlanOp& op = Plan()[i];
    if (op.abort) {
      for (ModelEntry& e : entries) {
        if (Plan()[e.step].sequence == op.sequence) e.aborted = true;
      }
    } else {
      entries.push_back({i, false});
    }
  }
  return entries;
}

// What Get(key, kReadLatest) returns after `steps` steps: the plan step of the entry, or -1.
int64_t ModelGet(size_t steps, const std::string& key) {
  int64_t best = -1;
  for (const ModelEntry& e : ModelAfter(steps)) {
    const PlanOp& op = Plan()[e.step];
    if (e.aborted || op.key != key) continue;
    // Later steps have higher or equal sequence numbers and come first in the order.
    best = static_cast<int64_t>(e.step);
  }
  return best;
}

// The plan step whose entry the iterator or lookup shows, or -1 if none matches.
int64_t StepOf(std::string_view key, uint64_t sequence, EntryType type, std::string_view value) {
  for (size_t i = 0; i < Plan().size(); ++i) {
    const PlanOp& op = Plan()[i];
    if (!op.abort && op.key == key && op.sequence == sequence && op.type == type &&
        Value(i) == value) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

void WriterAndReaders() {
  WriteBufferOptions options;
  options.arena_block_bytes = Arena::kBlockBytesMin;  // Several blocks: allocation mid-run.
  options.seed = 3;
  StatusOr<std::unique_ptr<WriteBuffer>> created = WriteBuffer::Create(options);
  if (!created.ok()) Fail("create: " + created.status().ToString());
  WriteBuffer* buffer = created->get();
  port::Atomic<size_t> steps_done{0};  // Plan steps the writer has completed.

  port::Thread writer("writer", [&] {
    for (size_t i = 0; i < Plan().size(); ++i) {
      const PlanOp& op = Plan()[i];
      Status status = op.abort ? buffer->MarkAborted(op.sequence, op.sequence)
                               : buffer->Add(op.sequence, op.type, op.key, Value(i));
      if (!status.ok()) Fail("step " + std::to_string(i) + ": " + status.ToString());
      steps_done.store(i + 1, std::memory_order_release);
    }
  });

  // Point reads: each answer is the model's after some step between the read's start and end.
  // The readers make a fixed number of rounds rather than wait for the writer: a reader spinning
  // on loads would starve the writer under PCT, which runs the highest-priority thread.
  port::Thread getter("getter", [&] {
    for (int round = 0; round < kReaderRounds; ++round) {
      const size_t before = steps_done.load(std::memory_order_acquire);
      for (const std::string& key : kKeys) {
        const WriteBuffer::Lookup lookup = buffer->Get(key, WriteBuffer::kReadLatest);
        const size_t after = steps_done.load(std::memory_order_acquire);
        int64_t seen = -1;
        if (lookup.found != Found::kNotPresent) {
          seen = StepOf(key, lookup.sequence,
                        lookup.found == Found::kValue ? EntryType::kPut : EntryType::kTombstone,
                        lookup.value);
          if (seen < 0) Fail("Get(" + key + ") returned an entry the writer never added");
        }
        // `after` + 1: the writer may have finished the next step without announcing it yet.
        bool possible = false;
        for (size_t s = before; s <= after + 1 && s <= Plan().size() && !possible; ++s) {
          possible = ModelGet(s, key) == seen;
        }
        if (!possible) {
          Fail("Get(" + key + ") returned step " + std::to_string(seen) +
               ", which no state between steps " + std::to_string(before) + " and " +
               std::to_string(after) + " has");
        }
      }
    }
  });

  // Scans in both directions: ordered, only entries the writer added by the scan's end, and
  // every entry live from the scan's start to its end.
  port::Thread scanner("scanner", [&] {
    for (int round = 0; round < kReaderRounds; ++round) {
      const size_t before = steps_done.load(std::memory_order_acquire);
      const bool forward = round % 2 == 0;
      std::vector<int64_t> seen;
      WriteBuffer::Iterator it(buffer);
      for (forward ? it.SeekToFirst() : it.SeekToLast(); it.Valid();
           forward ? it.Next() : it.Prev()) {
        const int64_t step = StepOf(it.key(), it.sequence(), it.type(), it.value());
        if (step < 0) Fail("a scan returned an entry the writer never added");
        seen.push_back(step);
      }
      // + 1: the writer may have finished the next step (an add, or the abort) unannounced.
      const size_t after = std::min(steps_done.load(std::memory_order_acquire) + 1, Plan().size());
      // Order: key ascending, then sequence number and add order descending (I29).
      for (size_t i = 1; i < seen.size(); ++i) {
        const PlanOp& a = Plan()[static_cast<size_t>(forward ? seen[i - 1] : seen[i])];
        const PlanOp& b = Plan()[static_cast<size_t>(forward ? seen[i] : seen[i - 1])];
        const size_t step_a = static_cast<size_t>(forward ? seen[i - 1] : seen[i]);
        const size_t step_b = static_cast<size_t>(forward ? seen[i] : seen[i - 1]);
        const bool ordered = a.key < b.key || (a.key == b.key && step_a > step_b);
        if (!ordered) Fail("a scan returned entries out of order");
      }
      for (const ModelEntry& e : ModelAfter(after)) {
        if (e.step >= before) continue;  // Added during the scan: may or may not be seen.
        const bool live_throughout = !e.aborted;
        const bool found =
            std::find(seen.begin(), seen.end(), static_cast<int64_t>(e.step)) != seen.end();
        if (live_throughout && !found) {
          Fail("a scan missed step " + std::to_string(e.step) + ", added before it began");
        }
        // Aborted before the scan began: never returned (I30).
        bool aborted_before = false;
        for (const ModelEntry& b : ModelAfter(before)) {
          if (b.step == e.step) aborted_before = b.aborted;
        }
        if (aborted_before && found) {
          Fail("a scan returned step " + std::to_string(e.step) + ", aborted before it began");
        }
      }
    }
  });

  writer.Join();
  getter.Join();
  scanner.Join();
  if (buffer->EntryCount() != Plan().size() - 1) Fail("entry count");
  if (buffer->AbortedCount() != 2) Fail("aborted count");
}

TEST(WriteBufferUnderSchedulerTest, WriterPointReaderAndScanner) {
  const ExploreResult random = ExploreRandom(WriterAndReaders, 1, 300);
  EXPECT_FALSE(random.found) << Describe(random);
  const ExploreResult pct = ExplorePct(WriterAndReaders, 1, 300, 3, random.steps_max);
  EXPECT_FALSE(pct.found) << Describe(pct);
  std::printf("random: %s, up to %llu steps; pct: %s\n", Describe(random).c_str(),
              static_cast<unsigned long long>(random.steps_max), Describe(pct).c_str());
  // One seed, one interleaving.
  RandomStrategy first(7);
  RandomStrategy second(7);
  const RunResult a = port::sched::Run(WriterAndReaders, &first);
  const RunResult b = port::sched::Run(WriterAndReaders, &second);
  EXPECT_TRUE(a.ok()) << a.report;
  EXPECT_EQ(a.decisions, b.decisions);
}

// A failed MANIFOLD_CHECK inside a run ends the run as a failure naming it (as the simulator's
// runner does), instead of aborting the test binary.
void CheckFailedInRun(const char* condition, const char* message, const char* file, int line) {
  if (!port::sched::InRun()) return;  // check::Failed then prints and aborts.
  Fail(std::string("MANIFOLD_CHECK(") + condition + ") failed: " + message + " (" + file + ":" +
       std::to_string(line) + ")");
}

// Two threads adding at once break the caller's side of the contract: the writer check (I29)
// must catch it rather than let two inserts splice links concurrently.
void TwoWriters() {
  StatusOr<std::unique_ptr<WriteBuffer>> created = WriteBuffer::Create(WriteBufferOptions{});
  if (!created.ok()) Fail("create: " + created.status().ToString());
  WriteBuffer* buffer = created->get();
  std::vector<std::unique_ptr<port::Thread>> writers;
  for (int w = 0; w < 2; ++w) {
    writers.push_back(std::make_unique<port::Thread>("writer", [buffer, w] {
      for (int i = 0; i < 4; ++i) {
        Status status = buffer->Add(1, EntryType::kPut, "w" + std::to_string(w * 10 + i), "v");
        if (!status.ok()) Fail("add: " + status.ToString());
      }
    }));
  }
  for (auto& writer : writers) writer->Join();
}

TEST(WriteBufferUnderSchedulerTest, TwoWritersAtOnceAreCaught) {
  check::FailureHandler previous = check::SetFailureHandler(&CheckFailedInRun);
  const ExploreResult random = ExploreRandom(TwoWriters, 1, 200);
  check::SetFailureHandler(previous);
  ASSERT_TRUE(random.found) << Describe(random);
  EXPECT_NE(random.failure.report.find("I29: one writer at a time"), std::string::npos)
      << random.failure.report;
  std::printf("two writers: %s\n", Describe(random).c_str());
}

}  // namespace
}  // namespace manifold::sim::sched
