#include "engine/util/check.h"

#include <cstdio>
#include <cstdlib>

namespace manifold::check {
namespace {

FailureHandler g_handler = nullptr;

}  // namespace

FailureHandler SetFailureHandler(FailureHandler handler) {
  FailureHandler previous = g_handler;
  g_handler = handler;
  return previous;
}

void Failed(const char* condition, const char* message, const char* file, int line) {
  if (g_handler != nullptr) g_handler(condition, message, file, line);
  // A handler that returns, and the default: nothing after a broken invariant can be trusted.
  std::fprintf(stderr, "%s:%d: MANIFOLD_CHECK(%s) failed: %s\n", file, line, condition, message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace manifold::check
