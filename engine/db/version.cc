#include "engine/db/version.h"

#include <cassert>

#include "engine/util/coding.h"

namespace manifold {

constexpr size_t kColumnFamilyRecordBytes = 16;

void VersionRegistry::Add(uint64_t sequence) {
  port::MutexLock lock(&mu_);
  ++live_[sequence];
}

void VersionRegistry::Remove(uint64_t sequence) {
  port::MutexLock lock(&mu_);
  auto it = live_.find(sequence);
  assert(it != live_.end());
  if (--it->second == 0) live_.erase(it);
}

uint64_t VersionRegistry::OldestLive() {
  port::MutexLock lock(&mu_);
  return live_.empty() ? UINT64_MAX : live_.begin()->first;
}

Version::Version(std::shared_ptr<VersionRegistry> registry_in, uint64_t sequence_in)
    : registry(std::move(registry_in)), sequence(sequence_in) {
  registry->Add(sequence);
}

Version::~Version() { registry->Remove(sequence); }

const ColumnFamilyState* Version::Find(std::string_view name) const {
  auto it = column_families.find(name);
  return it == column_families.end() ? nullptr : &it->second;
}

std::string EncodeColumnFamilyRecord(const ColumnFamilyState& state) {
  std::string record;
  PutFixed32(&record, state.id);
  PutFixed64(&record, state.root.page_id);
  PutFixed32(&record, state.root.crc);
  return record;
}

StatusOr<ColumnFamilyState> DecodeColumnFamilyRecord(std::string_view record) {
  if (record.size() != kColumnFamilyRecordBytes) {
    return Status::Corruption("catalog record of " + std::to_string(record.size()) +
                              " bytes, expected " + std::to_string(kColumnFamilyRecordBytes));
  }
  ColumnFamilyState state;
  state.id = DecodeFixed32(record.data());
  state.root.page_id = DecodeFixed64(record.data() + 4);
  state.root.crc = DecodeFixed32(record.data() + 12);
  if (state.root.page_id != btree::kNoPage && state.root.page_id < btree::kFirstDataPage) {
    return Status::Corruption("catalog record points at header page " +
                              std::to_string(state.root.page_id));
  }
  return state;
}

}  // namespace manifold
