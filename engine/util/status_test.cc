#include "manifold/status.h"

#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace manifold {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, Status::OK());
}

TEST(StatusTest, FactoriesSetCodeAndPredicates) {
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_TRUE(Status::InvalidArgument("x").IsInvalidArgument());
  EXPECT_TRUE(Status::Corruption("x").IsCorruption());
  EXPECT_TRUE(Status::IOError("x").IsIOError());
  EXPECT_TRUE(Status::NoSpace("x").IsNoSpace());
  EXPECT_TRUE(Status::Busy("x").IsBusy());
  EXPECT_TRUE(Status::AlreadyExists("x").IsAlreadyExists());
  EXPECT_TRUE(Status::ReadOnly("x").IsReadOnly());
  EXPECT_EQ(Status::Aborted("x").code(), StatusCode::kAborted);
  EXPECT_EQ(Status::NotSupported("x").code(), StatusCode::kNotSupported);
  EXPECT_FALSE(Status::NotFound("x").ok());
  EXPECT_FALSE(Status::NotFound("x").IsCorruption());
}

TEST(StatusTest, CodeNames) {
  EXPECT_STREQ(StatusCodeName(StatusCode::kOk), "OK");
  EXPECT_STREQ(StatusCodeName(StatusCode::kNotFound), "NotFound");
  EXPECT_STREQ(StatusCodeName(StatusCode::kInvalidArgument), "InvalidArgument");
  EXPECT_STREQ(StatusCodeName(StatusCode::kCorruption), "Corruption");
  EXPECT_STREQ(StatusCodeName(StatusCode::kIOError), "IOError");
  EXPECT_STREQ(StatusCodeName(StatusCode::kNoSpace), "NoSpace");
  EXPECT_STREQ(StatusCodeName(StatusCode::kBusy), "Busy");
  EXPECT_STREQ(StatusCodeName(StatusCode::kAlreadyExists), "AlreadyExists");
  EXPECT_STREQ(StatusCodeName(StatusCode::kReadOnly), "ReadOnly");
  EXPECT_STREQ(StatusCodeName(StatusCode::kAborted), "Aborted");
  EXPECT_STREQ(StatusCodeName(StatusCode::kNotSupported), "NotSupported");
  EXPECT_STREQ(StatusCodeName(static_cast<StatusCode>(999)), "Unknown");
}

TEST(StatusTest, ToStringHasCodeAndMessage) {
  EXPECT_EQ(Status::Corruption("page 7 checksum mismatch").ToString(),
            "Corruption: page 7 checksum mismatch");
  EXPECT_EQ(Status::IOError("").ToString(), "IOError: ");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = Status::NoSpace("write /db/data at offset 4096: No space left on device");
  Status wrapped = s.WithContext("commit 42");
  EXPECT_TRUE(wrapped.IsNoSpace());
  EXPECT_EQ(wrapped.message(), "commit 42: write /db/data at offset 4096: No space left on device");
  // The original is untouched.
  EXPECT_EQ(s.message(), "write /db/data at offset 4096: No space left on device");
  EXPECT_EQ(wrapped.WithContext("open").message(),
            "open: commit 42: write /db/data at offset 4096: No space left on device");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::OK().WithContext("anything");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s, Status::OK());
}

TEST(StatusTest, Equality) {
  EXPECT_EQ(Status::NotFound("a"), Status::NotFound("a"));
  EXPECT_FALSE(Status::NotFound("a") == Status::NotFound("b"));
  EXPECT_FALSE(Status::NotFound("a") == Status::Corruption("a"));
}

TEST(StatusOrTest, HoldsValue) {
  StatusOr<int> v = 5;
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v.status().ok());
  EXPECT_EQ(v.value(), 5);
  EXPECT_EQ(*v, 5);
  *v = 6;
  EXPECT_EQ(v.value(), 6);
}

TEST(StatusOrTest, HoldsError) {
  StatusOr<int> v = Status::NotFound("key k");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsNotFound());
  EXPECT_EQ(v.status().message(), "key k");
}

TEST(StatusOrTest, OkStatusWithoutValueBecomesError) {
  StatusOr<int> v = Status::OK();
  EXPECT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsInvalidArgument());
}

TEST(StatusOrTest, ArrowAndMoveOnlyValues) {
  StatusOr<std::string> s = std::string("hello");
  EXPECT_EQ(s->size(), 5u);

  StatusOr<std::unique_ptr<int>> p = std::make_unique<int>(9);
  ASSERT_TRUE(p.ok());
  std::unique_ptr<int> taken = std::move(p).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 9);
}

TEST(StatusOrDeathTest, ValueOfErrorAborts) {
  StatusOr<int> v = Status::Corruption("bad");
  EXPECT_DEATH({ (void)v.value(); }, "");
}

// Helpers for the macro tests.
Status FailIf(bool fail, int* calls) {
  ++*calls;
  return fail ? Status::IOError("failed") : Status::OK();
}

Status TwoSteps(bool fail_first, bool fail_second, int* calls) {
  MANIFOLD_RETURN_IF_ERROR(FailIf(fail_first, calls));
  MANIFOLD_RETURN_IF_ERROR(FailIf(fail_second, calls).WithContext("second"));
  return Status::OK();
}

TEST(StatusMacrosTest, ReturnIfError) {
  int calls = 0;
  EXPECT_TRUE(TwoSteps(false, false, &calls).ok());
  EXPECT_EQ(calls, 2);

  calls = 0;
  Status s = TwoSteps(true, false, &calls);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.message(), "failed");
  EXPECT_EQ(calls, 1);  // The second step never ran.

  calls = 0;
  s = TwoSteps(false, true, &calls);
  EXPECT_EQ(s.message(), "second: failed");
  EXPECT_EQ(calls, 2);
}

StatusOr<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

// Uses two ASSIGN_OR_RETURNs in one function, which needs distinct temporaries per line.
StatusOr<int> Quarter(int x) {
  MANIFOLD_ASSIGN_OR_RETURN(int half, Half(x));
  MANIFOLD_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status QuarterInto(int x, int* out) {
  MANIFOLD_ASSIGN_OR_RETURN(*out, Quarter(x));
  return Status::OK();
}

StatusOr<std::unique_ptr<int>> MakeBox(int x) {
  if (x < 0) return Status::InvalidArgument("negative");
  return std::make_unique<int>(x);
}

StatusOr<int> Unbox(int x) {
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<int> box, MakeBox(x));
  return *box;
}

TEST(StatusMacrosTest, AssignOrReturn) {
  StatusOr<int> q = Quarter(12);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 3);

  q = Quarter(6);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().message(), "odd: 3");

  q = Quarter(5);
  EXPECT_EQ(q.status().message(), "odd: 5");

  int out = -1;
  EXPECT_TRUE(QuarterInto(8, &out).ok());
  EXPECT_EQ(out, 2);
  out = -1;
  EXPECT_TRUE(QuarterInto(7, &out).IsInvalidArgument());
  EXPECT_EQ(out, -1);  // Untouched on error.
}

TEST(StatusMacrosTest, AssignOrReturnMoveOnly) {
  StatusOr<int> v = Unbox(4);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 4);
  EXPECT_TRUE(Unbox(-1).status().IsInvalidArgument());
}

}  // namespace
}  // namespace manifold
