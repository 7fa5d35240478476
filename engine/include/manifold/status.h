// Status and StatusOr: every fallible Manifold call returns one of these. No exceptions cross the
// public API. Messages say what failed and where (file, page, offset) so an operator can act on
// them.
#ifndef MANIFOLD_STATUS_H_
#define MANIFOLD_STATUS_H_

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace manifold {

enum class StatusCode : int {
  kOk = 0,
  kNotFound = 1,         // The key, column family or file does not exist.
  kInvalidArgument = 2,  // The caller passed something the engine refuses (too large, bad name...).
  kCorruption = 3,       // Stored bytes fail a checksum or a structural check.
  kIOError = 4,          // The file system reported an error.
  kNoSpace = 5,          // The file system is full (ENOSPC) or a configured size limit is reached.
  kBusy = 6,             // The database is locked by another process, or a resource is in use.
  kAlreadyExists = 7,    // Creating something that already exists.
  kReadOnly = 8,         // The database refuses writes (opened read-only, or after a failed sync).
  kAborted = 9,          // The transaction was aborted or its database closed.
  kNotSupported = 10,    // The operation is not available in this configuration.
};

// Returns a stable name for `code`, e.g. "Corruption".
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK.

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(StatusCode::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(StatusCode::kInvalidArgument, msg);
  }
  static Status Corruption(std::string_view msg) { return Status(StatusCode::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(StatusCode::kIOError, msg); }
  static Status NoSpace(std::string_view msg) { return Status(StatusCode::kNoSpace, msg); }
  static Status Busy(std::string_view msg) { return Status(StatusCode::kBusy, msg); }
  static Status AlreadyExists(std::string_view msg) {
    return Status(StatusCode::kAlreadyExists, msg);
  }
  static Status ReadOnly(std::string_view msg) { return Status(StatusCode::kReadOnly, msg); }
  static Status Aborted(std::string_view msg) { return Status(StatusCode::kAborted, msg); }
  static Status NotSupported(std::string_view msg) {
    return Status(StatusCode::kNotSupported, msg);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }
  bool IsNoSpace() const { return code_ == StatusCode::kNoSpace; }
  bool IsBusy() const { return code_ == StatusCode::kBusy; }
  bool IsAlreadyExists() const { return code_ == StatusCode::kAlreadyExists; }
  bool IsReadOnly() const { return code_ == StatusCode::kReadOnly; }

  // Returns a copy whose message is "<context>: <message>", keeping the code.
  Status WithContext(std::string_view context) const;

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Explicitly discards a status where ignoring it is correct (e.g. best-effort cleanup).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Status(StatusCode code, std::string_view msg) : code_(code), message_(msg) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design.
    if (status_.ok()) {
      status_ = Status::InvalidArgument("StatusOr constructed from OK status without a value");
    }
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design.

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  const T& value() const& {
    AssertOk();
    return *value_;
  }
  T& value() & {
    AssertOk();
    return *value_;
  }
  T&& value() && {
    AssertOk();
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void AssertOk() const {
    if (!status_.ok()) std::abort();  // Reading the value of a failed StatusOr is a caller bug.
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace manifold

// Internal helpers for propagating errors; used in engine sources and tests.
#define MANIFOLD_CONCAT_INNER_(a, b) a##b
#define MANIFOLD_CONCAT_(a, b) MANIFOLD_CONCAT_INNER_(a, b)

#define MANIFOLD_RETURN_IF_ERROR(expr)           \
  do {                                           \
    ::manifold::Status _manifold_st = (expr);    \
    if (!_manifold_st.ok()) return _manifold_st; \
  } while (0)

#define MANIFOLD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(tmp).value()

#define MANIFOLD_ASSIGN_OR_RETURN(lhs, expr) \
  MANIFOLD_ASSIGN_OR_RETURN_IMPL_(MANIFOLD_CONCAT_(_manifold_so_, __LINE__), lhs, expr)

#endif  // MANIFOLD_STATUS_H_
