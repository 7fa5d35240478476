// MANIFOLD_CHECK: an always-on assertion for cheap invariants, kept in -c opt builds (unlike
// assert, which stays for costly checks). A failed check means the engine's own state is wrong
// (a bug, never bad input or a failed disk: those get a Status), so continuing could write
// damage to disk. The default handler prints the check and its invariant and aborts; the
// simulator installs one that ends the run as a reported failure (docs/simulator.md).
//
//   MANIFOLD_CHECK(synced_lsn_ <= target, "I17: synced_lsn never passes what was written");
#ifndef MANIFOLD_UTIL_CHECK_H_
#define MANIFOLD_UTIL_CHECK_H_

namespace manifold::check {

// Called with the failed condition's text, the message, and where. Must not return.
using FailureHandler = void (*)(const char* condition, const char* message, const char* file,
                                int line);

// Installs `handler` (nullptr restores the default: print to stderr and abort). Returns the
// previous one. Not thread-safe: install before starting the engine.
FailureHandler SetFailureHandler(FailureHandler handler);

[[noreturn]] void Failed(const char* condition, const char* message, const char* file, int line);

}  // namespace manifold::check

#define MANIFOLD_CHECK(condition, message)                                \
  do {                                                                    \
    if (!(condition)) [[unlikely]] {                                      \
      ::manifold::check::Failed(#condition, message, __FILE__, __LINE__); \
    }                                                                     \
  } while (false)

#endif  // MANIFOLD_UTIL_CHECK_H_
