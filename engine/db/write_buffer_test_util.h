// Helpers the write buffer's tests share: a buffer made with given options, and entries added
// that must fit.
#ifndef MANIFOLD_DB_WRITE_BUFFER_TEST_UTIL_H_
#define MANIFOLD_DB_WRITE_BUFFER_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include "engine/db/write_buffer.h"

namespace manifold::write_buffer_test {

inline std::unique_ptr<WriteBuffer> NewBuffer(WriteBufferOptions options = {}) {
  StatusOr<std::unique_ptr<WriteBuffer>> buffer = WriteBuffer::Create(options);
  EXPECT_TRUE(buffer.ok()) << buffer.status().ToString();
  return std::move(buffer).value();
}

inline void Put(WriteBuffer* buffer, uint64_t sequence, std::string_view key,
                std::string_view value) {
  Status status = buffer->Add(sequence, EntryType::kPut, key, value);
  ASSERT_TRUE(status.ok()) << status.ToString();
}

inline void Delete(WriteBuffer* buffer, uint64_t sequence, std::string_view key) {
  Status status = buffer->Add(sequence, EntryType::kTombstone, key, "");
  ASSERT_TRUE(status.ok()) << status.ToString();
}

}  // namespace manifold::write_buffer_test

#endif  // MANIFOLD_DB_WRITE_BUFFER_TEST_UTIL_H_
