// The logical contents of a log record: the operations of one commit. A record alone must be
// enough to redo its commit during recovery, so every operation names its column family, its key
// and its value in full. docs/wal_format.md, "Payload", describes every byte:
//   [u8 format version = 1][u32 op count]
//   per op: [u8 type][u32 cf_id][u32 cf len][cf][u32 key len][key][u32 value len][value]
#ifndef MANIFOLD_WAL_LOG_PAYLOAD_H_
#define MANIFOLD_WAL_LOG_PAYLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/status.h"

namespace manifold::wal {

inline constexpr uint8_t kPayloadFormatVersion = 1;
// [u8 version][u32 op count].
inline constexpr size_t kPayloadHeaderBytes = 5;
// [u8 type][u32 cf_id][u32 cf len][u32 key len][u32 value len]: an op's bytes besides its strings.
inline constexpr size_t kPayloadOpFixedBytes = 17;

enum class LogOpType : uint8_t {
  kPut = 1,                 // key, value in column_family.
  kDelete = 2,              // key in column_family; value empty.
  kCreateColumnFamily = 3,  // column_family with id cf_id; key and value empty.
  kDropColumnFamily = 4,    // column_family; key and value empty.
};

// One decoded operation. The views point into the payload it was decoded from.
struct LogOpView {
  LogOpType type;
  std::string_view column_family;
  std::string_view key;
  std::string_view value;
  // The column family's id: meaningful for kCreateColumnFamily (recovery must recreate the same
  // id the commit assigned), 0 or informational otherwise.
  uint32_t cf_id;
};

// Bytes one op adds to a payload.
inline constexpr size_t PayloadOpBytes(std::string_view column_family, std::string_view key,
                                       std::string_view value) {
  return kPayloadOpFixedBytes + column_family.size() + key.size() + value.size();
}

// Builds one payload. Typical use: Reserve(total of PayloadOpBytes), Add each op, Finish.
class PayloadBuilder {
 public:
  PayloadBuilder();
  // Builds into `buffer` (its contents dropped, its capacity kept): a caller that recycles the
  // payloads it has finished with spares a large allocation, and its page faults, per commit.
  explicit PayloadBuilder(std::string buffer);

  // Reserves room for `op_bytes` more bytes of ops (see PayloadOpBytes), so that building a large
  // commit does not reallocate as it grows.
  void Reserve(size_t op_bytes);

  // Appends one op. Every string must be shorter than 4 GiB; create/drop take no key or value.
  void Add(LogOpType type, std::string_view column_family, std::string_view key,
           std::string_view value, uint32_t cf_id = 0);

  // Ops added since construction or the last Finish.
  size_t ops() const { return ops_; }
  // Bytes the payload will have.
  size_t bytes() const { return buffer_.size(); }

  // Returns the payload and resets the builder for the next one.
  std::string Finish();

 private:
  void Reset();

  std::string buffer_;
  size_t ops_ = 0;
};

// Decodes `payload` into `*ops` (cleared first). The views point into `payload`, which must
// outlive them: recovery decodes millions of records and copies nothing. Returns Corruption
// naming the op and byte offset on any malformed input: truncation, an unknown version or op
// type, a key or value on a column family op, or bytes after the last op. Never reads outside
// `payload`, whatever its bytes.
[[nodiscard]] Status DecodePayload(std::string_view payload, std::vector<LogOpView>* ops);

}  // namespace manifold::wal

#endif  // MANIFOLD_WAL_LOG_PAYLOAD_H_
