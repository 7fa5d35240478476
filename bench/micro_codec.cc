// CPU-only micro-benchmarks: CRC32C (hardware-dispatched vs portable) and the B+tree page codec.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bench/micro_common.h"
#include "engine/btree/node_page.h"
#include "engine/btree/page.h"
#include "engine/util/crc32c.h"
#include "engine/wal/log_format.h"
#include "engine/wal/log_payload.h"

namespace manifold::bench {
namespace {

std::string RandomBytes(size_t n, uint64_t seed) {
  Random rng(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng.Next());
  return bytes;
}

// --- CRC32C --------------------------------------------------------------------------------

// crc32c::Value: what every page read and write pays. Uses SSE4.2 when the CPU has it.
void Crc32c_Value(benchmark::State& state) {
  const std::string buffer = RandomBytes(static_cast<size_t>(state.range(0)), 1);
  for (auto _ : state) {
    uint32_t crc = crc32c::Value(buffer.data(), buffer.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.SetLabel(crc32c::IsHardwareAccelerated() ? "sse4.2" : "portable (no sse4.2)");
}
BENCHMARK(Crc32c_Value)->Arg(64)->Arg(4096)->Arg(65536);

// The table-driven (slicing-by-8) fallback, for comparison.
void Crc32c_Portable(benchmark::State& state) {
  const std::string buffer = RandomBytes(static_cast<size_t>(state.range(0)), 1);
  if (crc32c::internal::ExtendPortable(0, buffer.data(), buffer.size()) !=
      crc32c::Value(buffer.data(), buffer.size())) {
    return Fail(state, "portable and dispatched CRC32C disagree");
  }
  for (auto _ : state) {
    uint32_t crc = crc32c::internal::ExtendPortable(0, buffer.data(), buffer.size());
    benchmark::DoNotOptimize(crc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(Crc32c_Portable)->Arg(64)->Arg(4096)->Arg(65536);

// --- Page codec ----------------------------------------------------------------------------

constexpr uint64_t kLeafPageId = 7;
constexpr uint64_t kLeafSequence = 1;
constexpr size_t kLeafKeyBytes = 16;
constexpr size_t kLeafValueBytes = 100;

// A leaf filled to capacity with 16-byte keys and 100-byte inline values (33 entries in 4 KiB).
btree::Node FullLeaf(const btree::Layout& layout) {
  btree::Node node;
  node.leaf = true;
  const std::string value = RandomBytes(kLeafValueBytes, 2);
  for (uint64_t i = 0;; ++i) {
    std::string key(kLeafKeyBytes, '\0');
    for (size_t b = 0; b < 8; ++b) key[kLeafKeyBytes - 1 - b] = static_cast<char>(i >> (8 * b));
    btree::LeafValue leaf_value = btree::LeafValue::Inline(value);
    if (node.EncodedBodyBytes() + btree::LeafEntryBytes(key, leaf_value) > layout.body_bytes()) {
      break;
    }
    node.keys.push_back(std::move(key));
    node.values.push_back(std::move(leaf_value));
  }
  return node;
}

void SetPageCounters(benchmark::State& state, const btree::Node& node,
                     const btree::Layout& layout) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));  // Pages.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * layout.page_bytes);
  state.counters["entries/page"] = static_cast<double>(node.keys.size());
  state.counters["body_fill_%"] =
      100.0 * static_cast<double>(node.EncodedBodyBytes()) / layout.body_bytes();
}

// What a commit does per leaf it writes: encode the body, then fill the header and checksum.
void PageCodec_EncodeSealLeaf(benchmark::State& state) {
  const btree::Layout layout{kPageBytes};
  const btree::Node node = FullLeaf(layout);
  const auto count = static_cast<uint16_t>(node.keys.size());
  std::string page(layout.page_bytes, '\0');
  for (auto _ : state) {
    btree::EncodeNodePage(node, layout, page.data());
    uint32_t crc = btree::SealPage(page.data(), layout.page_bytes, btree::PageType::kLeaf, count,
                                   kLeafPageId, kLeafSequence);
    benchmark::DoNotOptimize(crc);
    benchmark::ClobberMemory();
  }
  SetPageCounters(state, node, layout);
}
BENCHMARK(PageCodec_EncodeSealLeaf);

// What a cache miss does per leaf it reads: verify the checksum and header, then check the slotted
// structure once (I40); a cache hit does neither.
void PageCodec_VerifyValidateLeaf(benchmark::State& state) {
  const btree::Layout layout{kPageBytes};
  const btree::Node node = FullLeaf(layout);
  std::string page(layout.page_bytes, '\0');
  btree::EncodeNodePage(node, layout, page.data());
  const uint32_t crc =
      btree::SealPage(page.data(), layout.page_bytes, btree::PageType::kLeaf,
                      static_cast<uint16_t>(node.keys.size()), kLeafPageId, kLeafSequence);
  {  // The page must round-trip before its checking is worth timing.
    btree::MutableNodePtr decoded = btree::DecodeNodePage(SharedBytes(page));
    if (decoded->keys != node.keys || decoded->values.size() != node.values.size() ||
        decoded->values.back().bytes != node.values.back().bytes) {
      return Fail(state, "decoded leaf differs from the encoded one");
    }
  }
  for (auto _ : state) {
    Status verified = btree::VerifyPage(page.data(), layout.page_bytes, kLeafPageId,
                                        btree::PageType::kLeaf, &crc, "bench");
    if (!verified.ok()) return Fail(state, "VerifyPage", verified);
    Status valid = btree::ValidateNodePage(page.data(), layout, kLeafPageId, "bench");
    if (!valid.ok()) return Fail(state, "ValidateNodePage", valid);
  }
  SetPageCounters(state, node, layout);
}
BENCHMARK(PageCodec_VerifyValidateLeaf);

// A lookup in a cached leaf image: the binary search over its offset array (no decode).
void PageCodec_SearchLeaf(benchmark::State& state) {
  const btree::Layout layout{kPageBytes};
  const btree::Node node = FullLeaf(layout);
  std::string page(layout.page_bytes, '\0');
  btree::EncodeNodePage(node, layout, page.data());
  btree::SealPage(page.data(), layout.page_bytes, btree::PageType::kLeaf,
                  static_cast<uint16_t>(node.keys.size()), kLeafPageId, kLeafSequence);
  const btree::NodePage view(page.data());
  size_t i = 0;
  for (auto _ : state) {
    const std::string_view key = node.keys[i++ % node.keys.size()].view();
    benchmark::DoNotOptimize(view.LowerBound(key));
  }
  SetPageCounters(state, node, layout);
}
BENCHMARK(PageCodec_SearchLeaf);

}  // namespace

// --- Write-ahead log record codec ---------------------------------------------------------------

// Building one commit's log record (payload of one put, then the framed, checksummed record):
// what every commit pays under the log mutex's neighbourhood. Arg: value bytes.
void Wal_AppendRecord(benchmark::State& state) {
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  char key[kKeyBytes];
  std::string out;
  uint64_t lsn = 1;
  for (auto _ : state) {
    wal::PayloadBuilder payload;
    payload.Add(wal::LogOpType::kPut, "default", EncodeKey(lsn, key), value);
    out.clear();
    wal::AppendRecord(&out, 1, lsn, lsn - 1, payload.Finish());
    benchmark::DoNotOptimize(out.data());
    ++lsn;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
}
BENCHMARK(Wal_AppendRecord)->Arg(150)->Arg(4096);

// Recovery's per-record work before the tree: check and decode a record of a 1000-put batch.
void Wal_DecodeBatchRecord(benchmark::State& state) {
  const std::string value(kValueBytes, '\0');
  char key[kKeyBytes];
  wal::PayloadBuilder payload;
  for (uint64_t i = 0; i < kBatchKeys; ++i) {
    payload.Add(wal::LogOpType::kPut, "default", EncodeKey(i, key), value);
  }
  std::string record;
  wal::AppendRecord(&record, 1, 2, 1, payload.Finish());
  std::vector<wal::LogOpView> ops;
  for (auto _ : state) {
    wal::RecordView view;
    if (!wal::DecodeRecord(record, 1, &view)) return Fail(state, "record does not decode");
    Status status = wal::DecodePayload(view.payload, &ops);
    if (!status.ok() || ops.size() != kBatchKeys) return Fail(state, "payload", status);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * record.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatchKeys));
}
BENCHMARK(Wal_DecodeBatchRecord);

}  // namespace manifold::bench
