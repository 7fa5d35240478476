// MODEL_CHECK: the reference model's own consistency checks. A failed one is a bug in the model or
// in how the simulator calls it, never in the engine, so it prints and aborts. Internal to
// //model:model.
#ifndef MANIFOLD_MODEL_MODEL_CHECK_H_
#define MANIFOLD_MODEL_MODEL_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

namespace manifold::model::internal {

[[noreturn]] inline void Fatal(const char* file, int line, const char* condition,
                               const std::string& msg) {
  std::fprintf(stderr, "manifold::model: %s:%d: check failed: %s: %s\n", file, line, condition,
               msg.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace manifold::model::internal

#define MODEL_CHECK(condition, msg)                                                              \
  do {                                                                                           \
    if (!(condition)) ::manifold::model::internal::Fatal(__FILE__, __LINE__, #condition, (msg)); \
  } while (0)

#endif  // MANIFOLD_MODEL_MODEL_CHECK_H_
