// WriteBuffer: the sorted, arena-allocated buffer of one column family's recent changes (issue 12,
// docs/design.md "Write buffer"). A skiplist of entries (user key, sequence number, put or
// tombstone, value), ordered by key ascending (bytewise, as the B+tree orders keys), then
// sequence number descending, then newest insert first, so the first entry of a key at or below
// a reader's sequence number is the one that reader sees.
//
// Concurrency (I29): one writer at a time (the caller serializes Add and MarkAborted; checked),
// any number of readers at once without locks. An entry is written completely before a release
// store links it in; readers follow links with acquire loads, so a reader sees every entry either
// whole or not at all. Entries are never moved or freed before the buffer is destroyed, so
// Lookup values and iterator positions stay valid for the buffer's lifetime.
//
// A Bloom filter over the user keys (FilterBytes) lets Get skip the search for keys the buffer
// does not hold: a reader searches every buffer of a stack until one knows the key.
#ifndef MANIFOLD_DB_WRITE_BUFFER_H_
#define MANIFOLD_DB_WRITE_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/port/atomic.h"
#include "engine/util/arena.h"
#include "manifold/status.h"

namespace manifold {

enum class EntryType : uint8_t {
  kPut = 1,
  kTombstone = 2,
};

struct WriteBufferOptions {
  // Most bytes the buffer's arena may hold (MemoryBytes()); at least arena_block_bytes.
  size_t bytes_max = 64 << 20;
  // Most entries (aborted ones included: they keep their memory until the buffer goes).
  uint64_t entries_max = uint64_t{1} << 24;
  // The arena's ordinary block size (Arena::kBlockBytesMin .. kBlockBytesMax).
  size_t arena_block_bytes = 1 << 20;
  // Seeds the skiplist's tower heights, so a buffer's shape is reproducible.
  uint64_t seed = 0;
  // Keep a Bloom filter over the user keys (WriteBuffer::FilterBytes), so that Get of a key the
  // buffer does not hold usually skips the skiplist search. Off for a buffer made for one
  // oversized entry, where it would only cost memory.
  bool key_filter = true;
};

class WriteBuffer {
 private:
  struct Node;  // An entry: its header, tower of links, key and value, in one arena allocation.

 public:
  // Towers have 1..kHeightMax levels; each level up holds about a quarter of the one below.
  static constexpr int kHeightMax = 12;
  // Bounds on an entry's key and value sizes (they are stored as 32-bit lengths).
  static constexpr size_t kKeyBytesMax = UINT32_MAX;
  static constexpr size_t kValueBytesMax = UINT32_MAX;
  // At most this many entries, because entries are numbered by a 32-bit insert ordinal.
  static constexpr uint64_t kEntriesMaxLimit = UINT32_MAX;
  // A read sequence number that sees every entry.
  static constexpr uint64_t kReadLatest = UINT64_MAX;
  // The key filter (docs/design.md "Write buffer", key filter): blocked Bloom, one 512-bit
  // (cache-line) block per key, kFilterProbes bits set in it. Its size is bytes_max /
  // kFilterBytesPerArenaByte (one filter bit per 8 arena bytes, so an entry of E arena bytes gets
  // about E / 8 bits: 10 bits and ~1% false positives at 80 bytes, 19 bits and ~0.1% at 150),
  // at most a quarter arena block less 64 bytes, rounded down to whole blocks; none below one
  // block. Taken from the arena with the first entry, so an empty buffer still holds nothing.
  static constexpr size_t kFilterBytesPerArenaByte = 64;
  static constexpr int kFilterProbes = 6;
  static constexpr size_t kFilterBlockBytes = 64;
  // The filter's bytes for `options` (0: no filter).
  static size_t FilterBytes(const WriteBufferOptions& options);

  // A buffer, or InvalidArgument naming the option that is out of range.
  static StatusOr<std::unique_ptr<WriteBuffer>> Create(const WriteBufferOptions& options);
  ~WriteBuffer();
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  // Adds one entry. A tombstone has an empty value. `sequence` must not be below the highest
  // sequence number added since the last MarkAborted (commits arrive in sequence order; several
  // entries of one commit share its number, and a later one of a key shadows an earlier one).
  // Errors, each leaving the buffer unchanged:
  //   NoSpace: the buffer is full (entries_max or bytes_max reached): make it immutable and add
  //     the entry to a new buffer.
  //   InvalidArgument: the entry could not fit even in an empty buffer (larger than bytes_max),
  //     a key or value too long, a tombstone with a value, an unknown type, or a sequence number
  //     below the highest one added.
  Status Add(uint64_t sequence, EntryType type, std::string_view key, std::string_view value);

  // Hides every entry whose sequence number is in [first, last] from Get and iterators: the
  // commits of a log group that was rolled back (I26), whose sequence numbers are then reused
  // (the next Add may use `first` again). The range must cover the newest entries: `last` at
  // least the highest sequence number added (InvalidArgument otherwise, or if first > last).
  // Walks every entry (a rare error path); the entries keep their memory.
  Status MarkAborted(uint64_t first, uint64_t last);

  enum class Found : uint8_t {
    kNotPresent,  // No entry of the key at or below the read sequence number.
    kValue,       // The newest such entry is a put: `value` is its value.
    kTombstone,   // The newest such entry is a tombstone: the key is deleted.
  };
  struct Lookup {
    Found found = Found::kNotPresent;
    uint64_t sequence = 0;   // The entry's sequence number, unless kNotPresent.
    std::string_view value;  // Points into the buffer; valid while the buffer lives.
  };
  // The newest entry of `key` with sequence number <= read_sequence that is not aborted. A key
  // the filter rules out is answered kNotPresent without searching the skiplist.
  Lookup Get(std::string_view key, uint64_t read_sequence) const;
  // Starts loading the filter block `key` maps to into the CPU cache, changing nothing: a writer
  // adding a batch calls it a few keys ahead, so that the cache misses of the filter updates
  // overlap instead of stalling each Add in turn. Writer only.
  void PrefetchFilter(std::string_view key) const;
  // False only if no entry of `key` was ever added (aborted ones included): the filter has no
  // false negatives. True without a filter.
  bool MayContain(std::string_view key) const;

  // Internal entries in order (key ascending, sequence descending, newest insert first), aborted
  // entries skipped, every sequence number included. Valid while the buffer lives; sees entries
  // added after its creation that land where it walks.
  class Iterator {
   public:
    explicit Iterator(const WriteBuffer* buffer) : buffer_(buffer) {}
    bool Valid() const { return node_ != nullptr; }
    void SeekToFirst();
    void SeekToLast();
    // First entry with key >= target (the newest entry of `target` if it has one).
    void Seek(std::string_view target);
    // First entry at or after (target, sequence) in the order: the newest entry of `target` with
    // a sequence number <= `sequence`, or the next key's first entry.
    void Seek(std::string_view target, uint64_t sequence);
    // Last entry with key <= target (the oldest entry of `target` if it has one).
    void SeekForPrev(std::string_view target);
    // Last entry with key < target: one search, so an entry of `target` a writer adds meanwhile
    // cannot be landed on (a Seek then a Prev could land on one added between them).
    void SeekBefore(std::string_view target);
    void Next();
    void Prev();
    // Only when Valid().
    std::string_view key() const;
    uint64_t sequence() const;
    EntryType type() const;
    std::string_view value() const;

   private:
    void SkipAbortedForward();
    void SkipAbortedBackward();

    const WriteBuffer* buffer_;
    const Node* node_ = nullptr;  // The current entry, or null.
  };

  // Exact bytes of the buffer's arena (I31); the WriteBuffer object itself (fixed, about
  // sizeof(WriteBuffer)) is not counted. Any thread.
  size_t MemoryBytes() const { return arena_.MemoryBytes(); }
  // Entries added, aborted ones included. Any thread.
  uint64_t EntryCount() const { return entry_count_.load(std::memory_order_relaxed); }
  // Entries marked aborted.
  uint64_t AbortedCount() const { return aborted_count_.load(std::memory_order_relaxed); }
  // The lowest sequence number the next Add accepts: the highest one added, or first - 1 after
  // MarkAborted(first, last) (0 in a new buffer). Writer only.
  uint64_t sequence_max() const { return sequence_max_; }
  const WriteBufferOptions& options() const { return options_; }

  // What adding this entry would take from the arena of an empty buffer: the least bytes_max
  // under which it fits.
  size_t EntryCostInEmptyBuffer(std::string_view key, std::string_view value) const;

 private:
  explicit WriteBuffer(const WriteBufferOptions& options);

  int RandomHeight();
  // Takes the filter's bytes from the arena (the first Add; it fits, EntryCostInEmptyBuffer
  // counts it), zeroed, then publishes it to readers.
  void AllocateFilter();
  // Sets the key's bits (writer; before the entry is linked, I29).
  void AddToFilter(std::string_view key);
  // Fills `previous[level]` with the last node before (key, sequence, ordinal) on every level,
  // searching from splice_ instead of the head, and returns true; false (nothing filled) when
  // the entry comes before the splice.
  bool FindFromSplice(std::string_view key, uint64_t prefix, uint64_t sequence, uint32_t ordinal,
                      Node** previous) const;
  // The first node at or after (key, sequence, ordinal) in the order, or null; fills
  // `previous[level]` with the last node before it on each level if `previous` is not null.
  Node* FindGreaterOrEqual(std::string_view key, uint64_t sequence, uint32_t ordinal,
                           Node** previous) const;
  // The last node before `node` in the order; the head if none.
  Node* FindLessThan(const Node* node) const;
  // The last node whose key is <= key (< key when `strict`); the head if none.
  Node* FindLastAtMost(std::string_view key, bool strict = false) const;
  // The last node; the head if none.
  Node* FindLast() const;

  const WriteBufferOptions options_;
  Arena arena_;
  // The head's tower lives outside the arena, so an empty buffer holds no arena memory and the
  // first entry's cost is exactly what EntryCostInEmptyBuffer says.
  alignas(16) unsigned char head_storage_[32 + kHeightMax * 8];
  Node* head_;
  uint64_t random_state_;
  // The key filter: FilterBytes(options_) / 8 words in the arena, null until the first Add.
  // Words are set by the writer with release stores before the entry they describe is linked
  // and read with acquire loads (I29), so a reader that can reach an entry sees its bits.
  const size_t filter_bytes_;
  port::Atomic<port::Atomic<uint64_t>*> filter_{nullptr};
  // Writer state.
  uint64_t sequence_max_ = 0;
  // Where the last Add linked its entry: on every level, the last node before the point just
  // after that entry (the head where none). Commits insert their keys in key order (the write
  // path sorts each batch), so the next entry usually lands a few nodes on, and the search for
  // it starts here instead of at the head: O(1) per entry for keys in order, O(log gap) for a
  // sorted batch spread over the buffer. Only the writer reads it; the nodes never move (I29).
  Node* splice_[kHeightMax];
  // Tallest tower in the list; readers may see a stale value, which only costs a level.
  port::Atomic<int> height_{1};
  port::Atomic<uint64_t> entry_count_{0};
  port::Atomic<uint64_t> aborted_count_{0};
  // Set while a writer is inside Add or MarkAborted: a second writer at once is a caller bug.
  port::Atomic<bool> writing_{false};
};

}  // namespace manifold

#endif  // MANIFOLD_DB_WRITE_BUFFER_H_
