#include "manifold/status.h"

#include <string>
#include <string_view>

namespace manifold {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kIOError:
      return "IOError";
    case StatusCode::kNoSpace:
      return "NoSpace";
    case StatusCode::kBusy:
      return "Busy";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kReadOnly:
      return "ReadOnly";
    case StatusCode::kAborted:
      return "Aborted";
    case StatusCode::kNotSupported:
      return "NotSupported";
  }
  // A value outside the enum can only come from a cast of corrupt data; name it rather than crash
  // so the error path that reports it still works.
  return "Unknown";
}

Status Status::WithContext(std::string_view context) const {
  // OK carries no message, and adding one would make it compare unequal to Status::OK().
  if (ok()) return *this;
  std::string message;
  message.reserve(context.size() + 2 + message_.size());
  message.append(context);
  message.append(": ");
  message.append(message_);
  return Status(code_, message);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string result = StatusCodeName(code_);
  result.append(": ");
  result.append(message_);
  return result;
}

}  // namespace manifold
