#include "engine/db/info_log.h"

#include <utility>

namespace manifold {

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

FileLogger::FileLogger(FileSystem* fs, Clock* clock, std::string dir, uint64_t bytes_max)
    : fs_(fs),
      clock_(clock),
      path_(dir + "/" + kInfoLogFileName),
      old_path_(dir + "/" + kOldInfoLogFileName),
      bytes_max_(bytes_max) {}

void FileLogger::Log(LogLevel level, std::string_view message) {
  std::string line = std::to_string(clock_->NowMicros()) + " " + LogLevelName(level) + " ";
  line.append(message);
  // A line longer than the whole budget is cut, so one message cannot defeat the bound.
  if (line.size() + 1 > bytes_max_) line.resize(bytes_max_ > 1 ? bytes_max_ - 1 : 0);
  line.push_back('\n');
  port::MutexLock lock(&mu_);
  if (!Append(line).ok()) file_.reset();  // Dropped; the next line reopens the file.
}

Status FileLogger::Append(std::string_view line) {
  if (file_ == nullptr) {
    OpenFileOptions create;
    create.create = true;
    MANIFOLD_ASSIGN_OR_RETURN(file_, fs_->OpenFile(path_, create));
    MANIFOLD_ASSIGN_OR_RETURN(size_, file_->Size());
  }
  if (size_ > 0 && size_ + line.size() > bytes_max_) MANIFOLD_RETURN_IF_ERROR(Rotate());
  // Appended at the file's real end, whatever another writer (or a crash) did to it meanwhile.
  MANIFOLD_RETURN_IF_ERROR(file_->Append(line));
  size_ += line.size();
  return Status::OK();
}

Status FileLogger::Rotate() {
  file_.reset();
  MANIFOLD_RETURN_IF_ERROR(fs_->Rename(path_, old_path_));
  OpenFileOptions create;
  create.create = true;
  MANIFOLD_ASSIGN_OR_RETURN(file_, fs_->OpenFile(path_, create));
  size_ = 0;
  // A LOG left by a failed rotation (renamed, then the create failed and was retried) is empty.
  return file_->Truncate(0);
}

}  // namespace manifold
