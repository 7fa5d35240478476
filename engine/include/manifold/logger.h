// The info log: where the database reports what it does on its own (opens, recoveries,
// checkpoints, background errors, write stalls), since none of it is the answer to a call.
#ifndef MANIFOLD_LOGGER_H_
#define MANIFOLD_LOGGER_H_

#include <string_view>

namespace manifold {

enum class LogLevel {
  kInfo = 0,   // Routine: an open, a recovery, a checkpoint.
  kWarn = 1,   // The database coped: a write stall, a checkpoint or commit refused for NoSpace.
  kError = 2,  // The database refuses writes until it is reopened (docs/errors.md), or a close
               // could not finish.
};

// "INFO", "WARN" or "ERROR".
const char* LogLevelName(LogLevel level);

// Receives info-log messages (one line each, without a newline). Called from any thread that
// runs engine work, never with an engine lock held that a reader or writer waits for, so it may
// block briefly; it must be thread-safe and must not call back into the database.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view message) = 0;
};

}  // namespace manifold

#endif  // MANIFOLD_LOGGER_H_
