// The default info log: the LOG file in the database directory (Options::info_log_bytes_max).
#ifndef MANIFOLD_DB_INFO_LOG_H_
#define MANIFOLD_DB_INFO_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/port/sync.h"
#include "manifold/env.h"
#include "manifold/logger.h"

namespace manifold {

inline constexpr char kInfoLogFileName[] = "LOG";
inline constexpr char kOldInfoLogFileName[] = "LOG.old";

// Appends "<Clock::NowMicros()> <LEVEL> <message>\n" to DIR/LOG through the database's file
// system. Before a line would take the file past `bytes_max`, LOG is renamed to LOG.old and a
// new LOG started. Never synced: it is a report, not state, so losing its tail to a crash is
// harmless. A failed write drops the line (the database must never fail for its log) and the
// next line tries to reopen the file.
class FileLogger final : public Logger {
 public:
  FileLogger(FileSystem* fs, Clock* clock, std::string dir, uint64_t bytes_max);
  void Log(LogLevel level, std::string_view message) override;

 private:
  [[nodiscard]] Status Append(std::string_view line) MANIFOLD_REQUIRES(mu_);
  [[nodiscard]] Status Rotate() MANIFOLD_REQUIRES(mu_);

  FileSystem* const fs_;
  Clock* const clock_;
  const std::string path_;
  const std::string old_path_;
  const uint64_t bytes_max_;
  port::Mutex mu_;
  std::unique_ptr<File> file_ MANIFOLD_GUARDED_BY(mu_);
  uint64_t size_ MANIFOLD_GUARDED_BY(mu_) = 0;
};

}  // namespace manifold

#endif  // MANIFOLD_DB_INFO_LOG_H_
