#include "engine/wal/log_payload.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/util/coding.h"

namespace manifold::wal {
namespace {

struct Op {
  LogOpType type;
  std::string cf;
  std::string key;
  std::string value;
  uint32_t cf_id;
};

std::string Build(const std::vector<Op>& ops) {
  PayloadBuilder builder;
  size_t reserve = 0;
  for (const Op& op : ops) reserve += PayloadOpBytes(op.cf, op.key, op.value);
  builder.Reserve(reserve);
  for (const Op& op : ops) builder.Add(op.type, op.cf, op.key, op.value, op.cf_id);
  EXPECT_EQ(builder.ops(), ops.size());
  EXPECT_EQ(builder.bytes(), kPayloadHeaderBytes + reserve);
  return builder.Finish();
}

// True if `view` lies entirely inside `buffer` (decoding copies nothing).
bool Inside(std::string_view view, std::string_view buffer) {
  return view.empty() || (view.data() >= buffer.data() &&
                          view.data() + view.size() <= buffer.data() + buffer.size());
}

TEST(LogPayloadTest, RoundTripEveryOpType) {
  const std::vector<Op> ops = {
      {LogOpType::kCreateColumnFamily, "events", "", "", 7},
      {LogOpType::kPut, "events", "k1", "v1", 7},
      {LogOpType::kPut, "default", "", "", 0},  // Empty key and value are legal.
      {LogOpType::kPut, "default", std::string("a\0b", 3), std::string(100000, 'x'), 0},
      {LogOpType::kDelete, "events", "k1", "", 7},
      {LogOpType::kDropColumnFamily, "events", "", "", 7},
  };
  const std::string payload = Build(ops);
  std::vector<LogOpView> views;
  ASSERT_TRUE(DecodePayload(payload, &views).ok());
  ASSERT_EQ(views.size(), ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(views[i].type, ops[i].type) << i;
    EXPECT_EQ(views[i].column_family, ops[i].cf) << i;
    EXPECT_EQ(views[i].key, ops[i].key) << i;
    EXPECT_EQ(views[i].value, ops[i].value) << i;
    EXPECT_EQ(views[i].cf_id, ops[i].cf_id) << i;
    EXPECT_TRUE(Inside(views[i].column_family, payload));
    EXPECT_TRUE(Inside(views[i].key, payload));
    EXPECT_TRUE(Inside(views[i].value, payload));
  }
}

TEST(LogPayloadTest, LayoutIsAsDocumented) {
  const std::string payload = Build({{LogOpType::kPut, "cf", "key", "v", 9}});
  std::string expected;
  expected.push_back(1);     // version
  PutFixed32(&expected, 1);  // op count
  expected.push_back(1);     // kPut
  PutFixed32(&expected, 9);  // cf_id
  PutFixed32(&expected, 2);  // cf len
  expected += "cf";
  PutFixed32(&expected, 3);  // key len
  expected += "key";
  PutFixed32(&expected, 1);  // value len
  expected += "v";
  EXPECT_EQ(payload, expected);
}

TEST(LogPayloadTest, EmptyCommitHasNoOps) {
  PayloadBuilder builder;
  const std::string payload = builder.Finish();
  EXPECT_EQ(payload.size(), kPayloadHeaderBytes);
  std::vector<LogOpView> views = {LogOpView{LogOpType::kPut, "x", "y", "z", 1}};
  ASSERT_TRUE(DecodePayload(payload, &views).ok());
  EXPECT_TRUE(views.empty());  // Cleared first.
}

TEST(LogPayloadTest, BuilderIsReusableAfterFinish) {
  PayloadBuilder builder;
  builder.Add(LogOpType::kPut, "a", "b", "c");
  builder.Add(LogOpType::kDelete, "a", "b", "");
  const std::string first = builder.Finish();
  EXPECT_EQ(builder.ops(), 0u);
  EXPECT_EQ(builder.bytes(), kPayloadHeaderBytes);
  builder.Add(LogOpType::kPut, "d", "e", "f");
  const std::string second = builder.Finish();
  std::vector<LogOpView> views;
  ASSERT_TRUE(DecodePayload(first, &views).ok());
  EXPECT_EQ(views.size(), 2u);
  ASSERT_TRUE(DecodePayload(second, &views).ok());
  ASSERT_EQ(views.size(), 1u);
  EXPECT_EQ(views[0].column_family, "d");
  EXPECT_EQ(views[0].value, "f");
}

TEST(LogPayloadTest, EveryTruncationIsRejected) {
  const std::string payload = Build({{LogOpType::kPut, "cf", "key", "value", 0},
                                     {LogOpType::kCreateColumnFamily, "new", "", "", 3},
                                     {LogOpType::kDelete, "cf", "k", "", 0}});
  std::vector<LogOpView> views;
  for (size_t n = 0; n < payload.size(); ++n) {
    const Status s = DecodePayload(std::string_view(payload).substr(0, n), &views);
    EXPECT_TRUE(s.IsCorruption()) << n << ": " << s.ToString();
  }
  EXPECT_TRUE(DecodePayload(payload, &views).ok());
}

TEST(LogPayloadTest, MalformedInputsAreCorruption) {
  const std::string good = Build({{LogOpType::kPut, "cf", "key", "value", 0}});
  std::vector<LogOpView> views;

  std::string bad_version = good;
  bad_version[0] = 2;
  Status s = DecodePayload(bad_version, &views);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.ToString();

  for (int type : {0, 5, 200, 255}) {
    std::string bad_type = good;
    bad_type[kPayloadHeaderBytes] = static_cast<char>(type);
    s = DecodePayload(bad_type, &views);
    EXPECT_TRUE(s.IsCorruption()) << type;
    EXPECT_NE(s.message().find("unknown op type"), std::string::npos) << s.ToString();
  }

  s = DecodePayload(good + "x", &views);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("trailing"), std::string::npos) << s.ToString();

  std::string more_ops = good;
  EncodeFixed32(more_ops.data() + 1, 2);
  EXPECT_TRUE(DecodePayload(more_ops, &views).IsCorruption());

  std::string fewer_ops = good;
  EncodeFixed32(fewer_ops.data() + 1, 0);
  EXPECT_TRUE(DecodePayload(fewer_ops, &views).IsCorruption());

  // A count no payload of this size could hold must not make the decoder allocate for it.
  std::string huge_count = good;
  EncodeFixed32(huge_count.data() + 1, 0xffffffffu);
  EXPECT_TRUE(DecodePayload(huge_count, &views).IsCorruption());

  // Key length pointing past the end.
  std::string long_key = good;
  EncodeFixed32(long_key.data() + kPayloadHeaderBytes + 1 + 4 + 4 + 2, 1000);
  s = DecodePayload(long_key, &views);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("key runs past the end"), std::string::npos) << s.ToString();

  // Column family ops carry no key or value; deletes carry no value.
  std::string create_with_key;
  create_with_key.push_back(1);
  PutFixed32(&create_with_key, 1);
  create_with_key.push_back(static_cast<char>(LogOpType::kCreateColumnFamily));
  PutFixed32(&create_with_key, 4);
  PutFixed32(&create_with_key, 1);
  create_with_key += "c";
  PutFixed32(&create_with_key, 1);
  create_with_key += "k";
  PutFixed32(&create_with_key, 0);
  EXPECT_TRUE(DecodePayload(create_with_key, &views).IsCorruption());

  std::string delete_with_value;
  delete_with_value.push_back(1);
  PutFixed32(&delete_with_value, 1);
  delete_with_value.push_back(static_cast<char>(LogOpType::kDelete));
  PutFixed32(&delete_with_value, 0);
  PutFixed32(&delete_with_value, 1);
  delete_with_value += "c";
  PutFixed32(&delete_with_value, 1);
  delete_with_value += "k";
  PutFixed32(&delete_with_value, 1);
  delete_with_value += "v";
  EXPECT_TRUE(DecodePayload(delete_with_value, &views).IsCorruption());
}

// Arbitrary bytes must at worst give Corruption (ASan and UBSan builds check the reads). Each
// accepted payload's views lie inside it.
TEST(LogPayloadTest, FuzzRandomBytesNeverCrash) {
  std::mt19937_64 rng(1234);
  std::vector<LogOpView> views;
  for (int i = 0; i < 50000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() % 4 == 0 ? rng() : rng() % 3);
    if (!bytes.empty() && rng() % 2 == 0) bytes[0] = 1;  // Get past the version check often.
    const Status s = DecodePayload(bytes, &views);
    if (s.ok()) {
      for (const LogOpView& op : views) {
        ASSERT_TRUE(Inside(op.column_family, bytes));
        ASSERT_TRUE(Inside(op.key, bytes));
        ASSERT_TRUE(Inside(op.value, bytes));
      }
    } else {
      ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    }
  }
}

TEST(LogPayloadTest, FuzzMutatedPayloadsNeverCrash) {
  std::mt19937_64 rng(99);
  const std::string good = Build({{LogOpType::kPut, "default", "key-1", "value-1", 0},
                                  {LogOpType::kDelete, "default", "key-2", "", 0},
                                  {LogOpType::kCreateColumnFamily, "cf", "", "", 2},
                                  {LogOpType::kPut, "cf", "k", std::string(40, 'v'), 2}});
  std::vector<LogOpView> views;
  for (int i = 0; i < 50000; ++i) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) bytes.resize(rng() % (bytes.size() + 1));
    const Status s = DecodePayload(bytes, &views);
    if (s.ok()) {
      for (const LogOpView& op : views) {
        ASSERT_TRUE(Inside(op.column_family, bytes));
        ASSERT_TRUE(Inside(op.key, bytes));
        ASSERT_TRUE(Inside(op.value, bytes));
      }
    } else {
      ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    }
  }
}

}  // namespace
}  // namespace manifold::wal
