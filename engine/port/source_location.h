// port::SourceLocation: std::source_location where the compiler provides it, and otherwise
// (clang 14 with libstdc++ 12, used by //engine:thread_safety_test) an equivalent built on the
// __builtin_FILE/__builtin_LINE/__builtin_FUNCTION default arguments both GCC and clang support.
// The scheduler's reports name `file:line` from it; production builds never read it.
#ifndef MANIFOLD_PORT_SOURCE_LOCATION_H_
#define MANIFOLD_PORT_SOURCE_LOCATION_H_

#include <cstdint>
#include <version>

#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace manifold::port {

#if defined(__cpp_lib_source_location)
using SourceLocation = std::source_location;
#else
class SourceLocation {
 public:
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          const char* function = __builtin_FUNCTION(),
                                          uint_least32_t line = __builtin_LINE()) noexcept {
    SourceLocation where;
    where.file_ = file;
    where.function_ = function;
    where.line_ = line;
    return where;
  }
  constexpr SourceLocation() noexcept = default;
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr uint_least32_t line() const noexcept { return line_; }
  constexpr uint_least32_t column() const noexcept { return 0; }

 private:
  const char* file_ = "";
  const char* function_ = "";
  uint_least32_t line_ = 0;
};
#endif

}  // namespace manifold::port

#endif  // MANIFOLD_PORT_SOURCE_LOCATION_H_
