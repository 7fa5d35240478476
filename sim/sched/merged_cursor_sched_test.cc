// The merged cursor (engine/db/merged_view.h) under the deterministic scheduler: a snapshot
// reader walks two buffers both ways, turning round, while a writer keeps overwriting and deleting
// the keys it walks over in the newest buffer. Every link load and store is a scheduling point, so
// the explored schedules put the writer's inserts between the searches of one cursor step. Such an
// insert once made a backward step land on a newer entry of the key it was leaving (a Seek to the
// key then a Prev), and the walk returned the key twice (tests/concurrency_test); I53 keeps each
// backward step one search (WriteBuffer::Iterator::SeekBefore). Built on the scheduled port layer.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/btree/tree.h"
#include "engine/db/buffer_list.h"
#include "engine/db/merged_view.h"
#include "engine/db/write_buffer.h"
#include "engine/port/atomic.h"
#include "engine/port/sched.h"
#include "engine/port/sync.h"
#include "gtest/gtest.h"
#include "sim/sched/explore.h"
#include "sim/sched/strategies.h"

#if !MANIFOLD_SIM_SCHEDULER
#error "merged_cursor_sched_test needs the scheduled port layer: build it as a sim_cc_test"
#endif

namespace manifold::sim::sched {
namespace {

using port::sched::Fail;
using Walk = std::vector<std::pair<std::string, std::string>>;

std::shared_ptr<WriteBuffer> NewBuffer(uint64_t seed) {
  WriteBufferOptions options;
  options.arena_block_bytes = Arena::kBlockBytesMin;
  options.seed = seed;
  StatusOr<std::unique_ptr<WriteBuffer>> created = WriteBuffer::Create(options);
  if (!created.ok()) Fail("create: " + created.status().ToString());
  return std::shared_ptr<WriteBuffer>(std::move(created).value());
}

void Add(WriteBuffer* buffer, uint64_t sequence, EntryType type, const std::string& key) {
  const std::string value = type == EntryType::kPut ? key + std::to_string(sequence) : "";
  Status status = buffer->Add(sequence, type, key, value);
  if (!status.ok()) Fail("add: " + status.ToString());
}

std::string Show(const Walk& walk) {
  std::string out;
  for (const auto& [key, value] : walk) out += key + "=" + value + " ";
  return out;
}

void ReaderBesideWriter() {
  // The older buffer holds sequence numbers 1-3, the newer 4-6 (I32); the reader reads at 6.
  std::shared_ptr<WriteBuffer> older = NewBuffer(1);
  Add(older.get(), 1, EntryType::kPut, "a");
  Add(older.get(), 2, EntryType::kPut, "c");
  Add(older.get(), 3, EntryType::kPut, "e");
  std::shared_ptr<WriteBuffer> newer = NewBuffer(2);
  Add(newer.get(), 4, EntryType::kPut, "b");
  Add(newer.get(), 5, EntryType::kPut, "d");
  Add(newer.get(), 6, EntryType::kTombstone, "e");
  auto stack = std::make_shared<BufferStack>();
  stack->buffers = {newer, older};
  const Walk want = {{"a", "a1"}, {"b", "b4"}, {"c", "c2"}, {"d", "d5"}};

  port::Thread writer("writer", [&] {
    // Newer than the reader: overwrites of the keys the walks cross, a delete, a new key.
    uint64_t sequence = 7;
    for (const char* key : {"c", "d", "b", "c", "a", "d"}) {
      Add(newer.get(), sequence++, EntryType::kPut, key);
    }
    Add(newer.get(), sequence++, EntryType::kTombstone, "b");
    Add(newer.get(), sequence++, EntryType::kPut, "bb");
  });

  port::Thread reader("reader", [&] {
    // No tree: an empty root is never read, so the cursor needs no page source.
    MergedCursor cursor(nullptr, btree::TreeRoot{}, stack, 6);
    for (int round = 0; round < 2; ++round) {
      Walk backward;
      if (!cursor.SeekToLast().ok()) Fail("SeekToLast");
      while (cursor.Valid()) {
        backward.emplace_back(cursor.key(), cursor.value());
        if (!cursor.Prev().ok()) Fail("Prev");
      }
      const Walk reversed(backward.rbegin(), backward.rend());
      if (reversed != want) Fail("backward walk at sequence 6: " + Show(reversed));
      Walk forward;
      if (!cursor.SeekToFirst().ok()) Fail("SeekToFirst");
      while (cursor.Valid()) {
        forward.emplace_back(cursor.key(), cursor.value());
        if (!cursor.Next().ok()) Fail("Next");
      }
      if (forward != want) Fail("forward walk at sequence 6: " + Show(forward));
      // Turning round at every key: Next then Prev comes back to it.
      if (!cursor.Seek("b").ok() || !cursor.Valid()) Fail("Seek b");
      for (size_t i = 1; i + 1 < want.size(); ++i) {
        if (!cursor.Next().ok() || !cursor.Prev().ok() || !cursor.Valid() ||
            cursor.key() != want[i].first) {
          Fail("turning round at " + want[i].first);
        }
        if (!cursor.Next().ok() || !cursor.Valid() || cursor.key() != want[i + 1].first) {
          Fail("after turning at " + want[i].first);
        }
      }
    }
  });

  writer.Join();
  reader.Join();
}

TEST(MergedCursorUnderSchedulerTest, SnapshotWalksBesideAWriter) {
  const ExploreResult random = ExploreRandom(ReaderBesideWriter, 1, 400);
  EXPECT_FALSE(random.found) << Describe(random);
  const ExploreResult pct = ExplorePct(ReaderBesideWriter, 1, 400, 3, random.steps_max);
  EXPECT_FALSE(pct.found) << Describe(pct);
  std::printf("random: %s, up to %llu steps; pct: %s\n", Describe(random).c_str(),
              static_cast<unsigned long long>(random.steps_max), Describe(pct).c_str());
}

}  // namespace
}  // namespace manifold::sim::sched
