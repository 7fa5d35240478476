#include "engine/db/write_buffer.h"

#include <cstring>
#include <new>
#include <string>
#include <type_traits>

#include "engine/util/check.h"
#include "engine/util/random.h"

namespace manifold {

// One entry, in one arena allocation: this header, then `height` links (the tower), then the
// key's bytes, then the value's. Fields other than `aborted` and the links are written once,
// before the entry is linked in (I29), and never again.
struct WriteBuffer::Node {
  Node(uint64_t sequence_in, uint64_t key_prefix_in, uint32_t ordinal_in, uint32_t key_bytes_in,
       uint32_t value_bytes_in, EntryType type_in, uint8_t height_in)
      : sequence(sequence_in),
        key_prefix(key_prefix_in),
        ordinal(ordinal_in),
        key_bytes(key_bytes_in),
        value_bytes(value_bytes_in),
        type(type_in),
        height(height_in) {}

  port::Atomic<Node*>* tower() { return reinterpret_cast<port::Atomic<Node*>*>(this + 1); }
  const port::Atomic<Node*>* tower() const {
    return reinterpret_cast<const port::Atomic<Node*>*>(this + 1);
  }
  // Acquire: everything written into the next entry before it was linked is visible (I29).
  Node* Next(int level) const { return tower()[level].load(std::memory_order_acquire); }
  const char* key_data() const { return reinterpret_cast<const char*>(tower() + height); }
  std::string_view key() const { return std::string_view(key_data(), key_bytes); }
  std::string_view value() const { return std::string_view(key_data() + key_bytes, value_bytes); }
  bool IsAborted() const { return aborted.load(std::memory_order_acquire); }

  const uint64_t sequence;
  // The key's first 8 bytes (fewer: zero-padded) as a big-endian number: comparing two of them
  // orders most keys without touching the key bytes, which may sit in another cache line.
  const uint64_t key_prefix;
  // Insert order, to order entries of one key and sequence number (newest first) and to make
  // the order total, which Prev needs.
  const uint32_t ordinal;
  const uint32_t key_bytes;
  const uint32_t value_bytes;
  const EntryType type;
  const uint8_t height;
  port::Atomic<bool> aborted{false};  // I30.
};

namespace {

constexpr size_t kLinkBytes = sizeof(port::Atomic<void*>);
constexpr size_t kNodeAlign = alignof(port::Atomic<void*>);

constexpr size_t kNodeHeaderBytes = 32;

size_t NodeBytes(int height, size_t key_bytes, size_t value_bytes) {
  return kNodeHeaderBytes + static_cast<size_t>(height) * kLinkBytes + key_bytes + value_bytes;
}

// Prefix order agrees with bytewise order wherever it is strict: keys that differ in their first
// 8 bytes differ there the same way, and a shorter key padded with zeros never exceeds a longer
// one it is a prefix of. Equal prefixes leave the order to the full comparison.
uint64_t KeyPrefix(std::string_view key) {
  uint64_t prefix = 0;
  const size_t n = key.size() < 8 ? key.size() : 8;
  for (size_t i = 0; i < n; ++i) {
    prefix |= uint64_t{static_cast<unsigned char>(key[i])} << (56 - 8 * i);
  }
  return prefix;
}

// splitmix64: a fixed, seedable sequence (no random_device: the simulator replays buffers).
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// The key filter's hash: 8 bytes at a time through Mix64, the length folded in so that keys
// differing only in trailing zero bytes differ. In memory only, so byte order does not matter.
uint64_t KeyHash(std::string_view key) {
  uint64_t h = Mix64(key.size() + kSplitMix64Gamma);
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, key.data() + i, 8);
    h = Mix64(h ^ word);
  }
  uint64_t tail = 0;
  if (i < key.size()) std::memcpy(&tail, key.data() + i, key.size() - i);
  return Mix64(h ^ tail ^ kSplitMix64Gamma);
}

constexpr size_t kFilterWordsPerBlock = WriteBuffer::kFilterBlockBytes / 8;
// The filter is over-allocated by this much so that it can start on a 64-byte boundary (the
// arena aligns to 16): one probe block is one cache line.
constexpr size_t kFilterSlackBytes = WriteBuffer::kFilterBlockBytes - Arena::kAlignMax;

// The key's block and the bits it sets in each of the block's words.
struct FilterProbe {
  size_t block;
  uint64_t masks[kFilterWordsPerBlock] = {};
};

// High half of the key's hash picks the block (multiply-shift range reduction).
size_t FilterBlockOf(uint64_t h, size_t blocks) {
  return static_cast<size_t>(((h >> 32) * static_cast<uint64_t>(blocks)) >> 32);
}

FilterProbe ProbeFor(std::string_view key, size_t blocks) {
  const uint64_t h = KeyHash(key);
  FilterProbe probe;
  // The low half picks the bits within the block, by double hashing as in LevelDB's filter.
  probe.block = FilterBlockOf(h, blocks);
  uint32_t bits = static_cast<uint32_t>(h);
  const uint32_t delta = (bits >> 17) | (bits << 15);
  for (int i = 0; i < WriteBuffer::kFilterProbes; ++i) {
    const uint32_t bit = bits % (WriteBuffer::kFilterBlockBytes * 8);
    probe.masks[bit / 64] |= uint64_t{1} << (bit % 64);
    bits += delta;
  }
  return probe;
}

}  // namespace

size_t WriteBuffer::FilterBytes(const WriteBufferOptions& options) {
  if (!options.key_filter) return 0;
  size_t bytes = options.bytes_max / kFilterBytesPerArenaByte;
  // Within an ordinary block (at most a quarter of it, slack included), so the first entry's
  // cost stays one block unless it is large itself.
  const size_t quarter = options.arena_block_bytes / 4;
  if (bytes > quarter - kFilterSlackBytes) bytes = quarter - kFilterSlackBytes;
  return bytes / kFilterBlockBytes * kFilterBlockBytes;
}

StatusOr<std::unique_ptr<WriteBuffer>> WriteBuffer::Create(const WriteBufferOptions& options) {
  ArenaOptions arena;
  arena.block_bytes = options.arena_block_bytes;
  arena.bytes_max = options.bytes_max;
  if (Status status = Arena::CheckOptions(arena); !status.ok()) {
    return Status::InvalidArgument("write buffer options: " + status.message());
  }
  if (options.entries_max == 0 || options.entries_max > kEntriesMaxLimit) {
    return Status::InvalidArgument(
        "write buffer entries_max is " + std::to_string(options.entries_max) +
        "; it must be between 1 and " + std::to_string(kEntriesMaxLimit));
  }
  return std::unique_ptr<WriteBuffer>(new WriteBuffer(options));
}

WriteBuffer::WriteBuffer(const WriteBufferOptions& options)
    : options_(options),
      arena_(ArenaOptions{options.arena_block_bytes, options.bytes_max}),
      random_state_(options.seed),
      filter_bytes_(FilterBytes(options)) {
  static_assert(sizeof(Node) == kNodeHeaderBytes, "NodeBytes counts the header's size");
  static_assert(alignof(Node) <= kNodeAlign && kNodeAlign <= Arena::kAlignMax);
  static_assert(sizeof(port::Atomic<Node*>) == kLinkBytes);
  static_assert(sizeof(head_storage_) >= kNodeHeaderBytes + kHeightMax * kLinkBytes,
                "the head's tower fits");
  head_ = new (head_storage_) Node(0, 0, 0, 0, 0, EntryType::kPut, kHeightMax);
  for (int level = 0; level < kHeightMax; ++level) {
    new (&head_->tower()[level]) port::Atomic<Node*>(nullptr);
    splice_[level] = head_;
  }
}

// Nodes hold only trivially destructible parts (port::Atomic over a pointer or a bool), so the
// arena frees them without running destructors.
WriteBuffer::~WriteBuffer() {
  static_assert(std::is_trivially_destructible_v<Node>,
                "the arena frees write buffer nodes without running destructors");
  static_assert(std::is_trivially_destructible_v<port::Atomic<Node*>>,
                "the arena frees the towers of links without running destructors");
}

int WriteBuffer::RandomHeight() {
  uint64_t bits = NextRandom(&random_state_);
  int height = 1;
  while (height < kHeightMax && (bits & 3) == 0) {
    ++height;
    bits >>= 2;
  }
  return height;
}

namespace {

// Whether `node` comes before (key, sequence, ordinal), `prefix` being KeyPrefix(key): key
// ascending, then sequence descending, then ordinal descending.
template <typename N>
bool Before(const N* node, std::string_view key, uint64_t prefix, uint64_t sequence,
            uint32_t ordinal) {
  if (node->key_prefix != prefix) return node->key_prefix < prefix;
  const int c = node->key().compare(key);
  if (c != 0) return c < 0;
  if (node->sequence != sequence) return node->sequence > sequence;
  return node->ordinal > ordinal;
}

}  // namespace

WriteBuffer::Node* WriteBuffer::FindGreaterOrEqual(std::string_view key, uint64_t sequence,
                                                   uint32_t ordinal, Node** previous) const {
  Node* x = head_;
  const uint64_t prefix = KeyPrefix(key);
  const int top = height_.load(std::memory_order_relaxed) - 1;
  if (previous != nullptr) {
    for (int level = kHeightMax - 1; level > top; --level) previous[level] = head_;
  }
  // The node a level stopped at is often where the level below stops too: known not to come
  // before the target, it needs no second comparison (which would touch its memory again).
  const Node* stopped_at = nullptr;
  for (int level = top;; --level) {
    Node* next = x->Next(level);
    // The search is a chain of cache misses, one per node compared. The level below starts at
    // x's next node there (x's tower is in cache): fetching it while `next` is compared overlaps
    // the two misses whenever this level stops at `next`. A hint only: nothing is read early.
    if (level > 0) __builtin_prefetch(x->Next(level - 1));
    while (next != nullptr && next != stopped_at && Before(next, key, prefix, sequence, ordinal)) {
      x = next;
      next = x->Next(level);
      if (level > 0) __builtin_prefetch(x->Next(level - 1));
    }
    stopped_at = next;
    if (previous != nullptr) previous[level] = x;
    if (level == 0) return next;
  }
}

bool WriteBuffer::FindFromSplice(std::string_view key, uint64_t prefix, uint64_t sequence,
                                 uint32_t ordinal, Node** previous) const {
  // Every level of the splice brackets the same point of the order, so the first level whose
  // next node does not come before the entry brackets the entry too, and so do all above it
  // (a level's next node is at or after the next node of the level below).
  if (splice_[0] != head_ && !Before(splice_[0], key, prefix, sequence, ordinal)) return false;
  int top = 0;
  for (; top < kHeightMax - 1; ++top) {
    const Node* next = splice_[top]->Next(top);
    if (next == nullptr || !Before(next, key, prefix, sequence, ordinal)) break;
  }
  for (int level = kHeightMax - 1; level > top; --level) previous[level] = splice_[level];
  Node* x = splice_[top];
  for (int level = top;; --level) {
    // Start from the later of the node the level above stopped at and this level's splice
    // node: x stayed at the splice node above, so this level's is at or after it; x moved on,
    // so it is past this level's next splice node (a node of the level above it).
    if (level < top && x == splice_[level + 1]) x = splice_[level];
    Node* next = x->Next(level);
    while (next != nullptr && Before(next, key, prefix, sequence, ordinal)) {
      x = next;
      next = x->Next(level);
    }
    previous[level] = x;
    if (level == 0) return true;
  }
}

WriteBuffer::Node* WriteBuffer::FindLessThan(const Node* node) const {
  Node* x = head_;
  for (int level = height_.load(std::memory_order_relaxed) - 1; level >= 0; --level) {
    Node* next = x->Next(level);
    while (next != nullptr &&
           Before(next, node->key(), node->key_prefix, node->sequence, node->ordinal)) {
      x = next;
      next = x->Next(level);
    }
  }
  return x;
}

WriteBuffer::Node* WriteBuffer::FindLastAtMost(std::string_view key, bool strict) const {
  Node* x = head_;
  const uint64_t prefix = KeyPrefix(key);
  const int most = strict ? -1 : 0;  // The largest comparison result that keeps walking.
  for (int level = height_.load(std::memory_order_relaxed) - 1; level >= 0; --level) {
    Node* next = x->Next(level);
    while (next != nullptr && (next->key_prefix < prefix ||
                               (next->key_prefix == prefix && next->key().compare(key) <= most))) {
      x = next;
      next = x->Next(level);
    }
  }
  return x;
}

WriteBuffer::Node* WriteBuffer::FindLast() const {
  Node* x = head_;
  for (int level = height_.load(std::memory_order_relaxed) - 1; level >= 0; --level) {
    for (Node* next = x->Next(level); next != nullptr; next = x->Next(level)) x = next;
  }
  return x;
}

size_t WriteBuffer::EntryCostInEmptyBuffer(std::string_view key, std::string_view value) const {
  // The tallest tower, so that an entry within the bound fits whatever height it draws; the
  // filter comes first from the arena with the first entry (I31: its bytes are counted).
  const size_t node_bytes = NodeBytes(kHeightMax, key.size(), value.size());
  if (filter_bytes_ == 0) return arena_.CostInEmptyArena(node_bytes, kNodeAlign);
  return arena_.CostInEmptyArena(filter_bytes_ + kFilterSlackBytes, Arena::kAlignMax, node_bytes,
                                 kNodeAlign);
}

void WriteBuffer::AllocateFilter() {
  char* memory = arena_.Allocate(filter_bytes_ + kFilterSlackBytes, Arena::kAlignMax);
  MANIFOLD_CHECK(memory != nullptr, "I31: a write buffer's filter fits in its first block");
  const uintptr_t address = reinterpret_cast<uintptr_t>(memory);
  const uintptr_t aligned = (address + kFilterBlockBytes - 1) & ~uintptr_t{kFilterBlockBytes - 1};
  auto* words = reinterpret_cast<port::Atomic<uint64_t>*>(aligned);
  static_assert(sizeof(port::Atomic<uint64_t>) == 8 &&
                std::is_trivially_destructible_v<port::Atomic<uint64_t>>);
  for (size_t i = 0; i < filter_bytes_ / 8; ++i) new (&words[i]) port::Atomic<uint64_t>(0);
  // Release: a reader that loads the pointer sees the zeroed words.
  filter_.store(words, std::memory_order_release);
}

void WriteBuffer::AddToFilter(std::string_view key) {
  port::Atomic<uint64_t>* words = filter_.load(std::memory_order_relaxed);
  const FilterProbe probe = ProbeFor(key, filter_bytes_ / kFilterBlockBytes);
  port::Atomic<uint64_t>* block = words + probe.block * kFilterWordsPerBlock;
  for (size_t i = 0; i < kFilterWordsPerBlock; ++i) {
    if (probe.masks[i] == 0) continue;
    // One writer (I29): a plain read-modify-write; release so that a reader's acquire load of
    // the word sees the bits with whatever the writer did before.
    block[i].store(block[i].load(std::memory_order_relaxed) | probe.masks[i],
                   std::memory_order_release);
  }
}

void WriteBuffer::PrefetchFilter(std::string_view key) const {
  const port::Atomic<uint64_t>* words = filter_.load(std::memory_order_relaxed);
  if (words == nullptr) return;
  const size_t block = FilterBlockOf(KeyHash(key), filter_bytes_ / kFilterBlockBytes);
  __builtin_prefetch(words + block * kFilterWordsPerBlock, /*rw=*/1);
}

bool WriteBuffer::MayContain(std::string_view key) const {
  // Null: no entry added yet, or the first one is being added; the search decides.
  const port::Atomic<uint64_t>* words = filter_.load(std::memory_order_acquire);
  if (words == nullptr) return true;
  const FilterProbe probe = ProbeFor(key, filter_bytes_ / kFilterBlockBytes);
  const port::Atomic<uint64_t>* block = words + probe.block * kFilterWordsPerBlock;
  for (size_t i = 0; i < kFilterWordsPerBlock; ++i) {
    if (probe.masks[i] == 0) continue;
    if ((block[i].load(std::memory_order_acquire) & probe.masks[i]) != probe.masks[i]) {
      return false;
    }
  }
  return true;
}

namespace {

// Marks the one writer inside the buffer (I29); a second one at once is a caller bug.
class WriterScope {
 public:
  explicit WriterScope(port::Atomic<bool>* writing) : writing_(writing) {
    MANIFOLD_CHECK(!writing_->exchange(true, std::memory_order_acquire),
                   "I29: one writer at a time in a write buffer");
  }
  ~WriterScope() { writing_->store(false, std::memory_order_release); }
  WriterScope(const WriterScope&) = delete;
  WriterScope& operator=(const WriterScope&) = delete;

 private:
  port::Atomic<bool>* writing_;
};

}  // namespace

Status WriteBuffer::Add(uint64_t sequence, EntryType type, std::string_view key,
                        std::string_view value) {
  WriterScope writer(&writing_);
  if (type != EntryType::kPut && type != EntryType::kTombstone) {
    return Status::InvalidArgument("write buffer entry type " +
                                   std::to_string(static_cast<int>(type)) +
                                   " is neither put (1) nor tombstone (2)");
  }
  if (type == EntryType::kTombstone && !value.empty()) {
    return Status::InvalidArgument("a write buffer tombstone carries no value; got " +
                                   std::to_string(value.size()) + " bytes");
  }
  if (key.size() > kKeyBytesMax || value.size() > kValueBytesMax) {
    return Status::InvalidArgument(
        "write buffer entry too long: key " + std::to_string(key.size()) + " bytes, value " +
        std::to_string(value.size()) + " bytes, each at most " + std::to_string(kKeyBytesMax));
  }
  if (sequence < sequence_max_) {
    return Status::InvalidArgument("write buffer sequence number " + std::to_string(sequence) +
                                   " is below " + std::to_string(sequence_max_) +
                                   ", already added: commits are added in sequence order");
  }
  const size_t cost_max = EntryCostInEmptyBuffer(key, value);
  if (cost_max > options_.bytes_max) {
    return Status::InvalidArgument(
        "write buffer entry of a " + std::to_string(key.size()) + "-byte key and a " +
        std::to_string(value.size()) + "-byte value needs up to " + std::to_string(cost_max) +
        " bytes, more than the buffer's limit of " + std::to_string(options_.bytes_max) +
        " (write_buffer bytes_max); it can never fit");
  }
  const uint64_t count = entry_count_.load(std::memory_order_relaxed);
  if (count >= options_.entries_max) {
    return Status::NoSpace("write buffer is full: " + std::to_string(count) + " entries of " +
                           std::to_string(options_.entries_max) + "; continue in a new buffer");
  }
  // The filter first (the first entry's cost counts it), so an empty buffer holds nothing.
  if (filter_bytes_ != 0 && filter_.load(std::memory_order_relaxed) == nullptr) AllocateFilter();
  const uint64_t random_before = random_state_;
  const int height = RandomHeight();
  const size_t node_bytes = NodeBytes(height, key.size(), value.size());
  char* memory = arena_.Allocate(node_bytes, kNodeAlign);
  if (memory == nullptr) {
    MANIFOLD_CHECK(count > 0, "I31: the first entry fits beside the filter (its cost counts both)");
    random_state_ = random_before;  // Unchanged: the same entry in a new buffer, the same shape.
    return Status::NoSpace("write buffer is full: " + std::to_string(MemoryBytes()) +
                           " bytes held, " + std::to_string(node_bytes) + " more needed, limit " +
                           std::to_string(options_.bytes_max) + "; continue in a new buffer");
  }
  Node* node = new (memory) Node(
      sequence, KeyPrefix(key), static_cast<uint32_t>(count), static_cast<uint32_t>(key.size()),
      static_cast<uint32_t>(value.size()), type, static_cast<uint8_t>(height));
  char* bytes = const_cast<char*>(node->key_data());
  if (!key.empty()) std::memcpy(bytes, key.data(), key.size());
  if (!value.empty()) std::memcpy(bytes + key.size(), value.data(), value.size());
  // Before the entry is linked (I29): a reader that can reach it finds its bits set. Bits are
  // never cleared, so an aborted entry's key stays "maybe" and its reused sequence numbers are
  // no concern (no false negatives).
  if (filter_bytes_ != 0) AddToFilter(key);

  Node* previous[kHeightMax];
  Node* successor;
  if (FindFromSplice(key, node->key_prefix, sequence, node->ordinal, previous)) {
    successor = previous[0]->Next(0);
  } else {
    successor = FindGreaterOrEqual(key, sequence, node->ordinal, previous);
  }
  // The order is total (the ordinal is new), so nothing equal exists to replace.
  MANIFOLD_CHECK(
      successor == nullptr || !Before(successor, key, node->key_prefix, sequence, node->ordinal),
      "I29: a write buffer entry goes before its successor");
  if (height > height_.load(std::memory_order_relaxed)) {
    // A reader that sees the taller height before the links finds null at the head and steps
    // down: harmless.
    height_.store(height, std::memory_order_relaxed);
  }
  for (int level = 0; level < height; ++level) {
    // The new entry's own link on this level first, then the release store that makes it
    // reachable on this level, bottom level first, so an entry reachable from above is already
    // in the bottom list (I29). Once level 0 is published readers can reach the entry, but only
    // a reader that reached it on `level` or above reads tower()[level], and it got there by an
    // acquire load of this level's release store below or of a later one on a higher level, so
    // this initialization happens before its read.
    new (&node->tower()[level])
        port::Atomic<Node*>(previous[level]->tower()[level].load(std::memory_order_relaxed));
    previous[level]->tower()[level].store(node, std::memory_order_release);
    splice_[level] = node;
  }
  for (int level = height; level < kHeightMax; ++level) splice_[level] = previous[level];
  sequence_max_ = sequence;
  entry_count_.store(count + 1, std::memory_order_relaxed);
  return Status::OK();
}

Status WriteBuffer::MarkAborted(uint64_t first, uint64_t last) {
  WriterScope writer(&writing_);
  if (first > last) {
    return Status::InvalidArgument("write buffer abort range " + std::to_string(first) + ".." +
                                   std::to_string(last) + " is empty (first > last)");
  }
  if (last < sequence_max_) {
    return Status::InvalidArgument(
        "write buffer abort range " + std::to_string(first) + ".." + std::to_string(last) +
        " does not reach the newest entry (sequence " + std::to_string(sequence_max_) +
        "): only the newest commits can be rolled back (I26)");
  }
  uint64_t marked = 0;
  for (Node* node = head_->Next(0); node != nullptr; node = node->Next(0)) {
    if (node->sequence >= first && node->sequence <= last && !node->IsAborted()) {
      // I30: from here on no Get or iterator returns the entry.
      node->aborted.store(true, std::memory_order_release);
      ++marked;
    }
  }
  aborted_count_.store(aborted_count_.load(std::memory_order_relaxed) + marked,
                       std::memory_order_relaxed);
  // The aborted sequence numbers are reused by the next commits (I26).
  sequence_max_ = first == 0 ? 0 : first - 1;
  return Status::OK();
}

WriteBuffer::Lookup WriteBuffer::Get(std::string_view key, uint64_t read_sequence) const {
  Lookup lookup;
  // Most buffers of a stack do not hold the key a reader looks for: the filter answers for them
  // with one cache line instead of a skiplist search.
  if (!MayContain(key)) return lookup;
  for (const Node* node = FindGreaterOrEqual(key, read_sequence, UINT32_MAX, nullptr);
       node != nullptr && node->key() == key; node = node->Next(0)) {
    if (node->IsAborted()) continue;  // I30.
    lookup.sequence = node->sequence;
    if (node->type == EntryType::kTombstone) {
      lookup.found = Found::kTombstone;
    } else {
      lookup.found = Found::kValue;
      lookup.value = node->value();
    }
    return lookup;
  }
  return lookup;
}

// ---- Iterator ---------------------------------------------------------------------------

void WriteBuffer::Iterator::SkipAbortedForward() {
  while (node_ != nullptr && node_->IsAborted()) node_ = node_->Next(0);  // I30.
}

void WriteBuffer::Iterator::SkipAbortedBackward() {
  while (node_ != nullptr && node_->IsAborted()) {  // I30.
    const Node* previous = buffer_->FindLessThan(node_);
    node_ = previous == buffer_->head_ ? nullptr : previous;
  }
}

void WriteBuffer::Iterator::SeekToFirst() {
  node_ = buffer_->head_->Next(0);
  SkipAbortedForward();
}

void WriteBuffer::Iterator::SeekToLast() {
  const Node* last = buffer_->FindLast();
  node_ = last == buffer_->head_ ? nullptr : last;
  SkipAbortedBackward();
}

void WriteBuffer::Iterator::Seek(std::string_view target) { Seek(target, kReadLatest); }

void WriteBuffer::Iterator::Seek(std::string_view target, uint64_t sequence) {
  node_ = buffer_->FindGreaterOrEqual(target, sequence, UINT32_MAX, nullptr);
  SkipAbortedForward();
}

void WriteBuffer::Iterator::SeekForPrev(std::string_view target) {
  const Node* last = buffer_->FindLastAtMost(target);
  node_ = last == buffer_->head_ ? nullptr : last;
  SkipAbortedBackward();
}

void WriteBuffer::Iterator::SeekBefore(std::string_view target) {
  const Node* last = buffer_->FindLastAtMost(target, /*strict=*/true);
  node_ = last == buffer_->head_ ? nullptr : last;
  SkipAbortedBackward();
}

void WriteBuffer::Iterator::Next() {
  MANIFOLD_CHECK(node_ != nullptr, "WriteBuffer::Iterator::Next needs a valid position");
  node_ = node_->Next(0);
  SkipAbortedForward();
}

void WriteBuffer::Iterator::Prev() {
  MANIFOLD_CHECK(node_ != nullptr, "WriteBuffer::Iterator::Prev needs a valid position");
  const Node* previous = buffer_->FindLessThan(node_);
  node_ = previous == buffer_->head_ ? nullptr : previous;
  SkipAbortedBackward();
}

std::string_view WriteBuffer::Iterator::key() const { return node_->key(); }
uint64_t WriteBuffer::Iterator::sequence() const { return node_->sequence; }
EntryType WriteBuffer::Iterator::type() const { return node_->type; }
std::string_view WriteBuffer::Iterator::value() const { return node_->value(); }

}  // namespace manifold
