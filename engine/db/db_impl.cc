// DBImpl's lifetime (construction, Close) and what every part uses: argument checks, the
// background error and the info log. The other parts are in db_impl_*.cc.

#include "engine/db/db_impl.h"

#include <cassert>

namespace manifold {

// A read-only open writes nothing, not even its log; with no LOG budget there is no log at all.
static std::unique_ptr<FileLogger> DefaultInfoLog(const Options& options, const std::string& path) {
  if (options.info_log != nullptr || options.read_only || options.info_log_bytes_max == 0) {
    return nullptr;
  }
  return std::make_unique<FileLogger>(options.file_system, options.clock, path,
                                      options.info_log_bytes_max);
}

DBImpl::DBImpl(const Options& options, std::string path, std::unique_ptr<FileLock> lock)
    : options_(options),
      path_(std::move(path)),
      fs_(options.file_system),
      clock_(options.clock),
      file_log_(DefaultInfoLog(options, path_)),
      info_log_(options.info_log != nullptr ? options.info_log : file_log_.get()),
      lock_(std::move(lock)) {}

DBImpl::~DBImpl() {
  Status closed = Close();
  if (!closed.ok()) {
    Log(LogLevel::kError, "close (from the destructor) failed: " + closed.ToString());
  }
  port::MutexLock lock(&state_mu_);
  // Transactions and iterators hold a pointer to the database: they must be gone by now.
  assert(busy_column_families_.empty());
}

Status DBImpl::Close() {
  if (closed_.exchange(true)) return Status::OK();
  {
    port::MutexLock lock(&log_mu_);
    shutting_down_ = true;
    log_cv_.SignalAll();
  }
  if (checkpoint_thread_ != nullptr) checkpoint_thread_->Join();
  if (pager_ == nullptr || log_files_ == nullptr || options_.read_only) return Status::OK();
  Status status = FinishClose();
  ReportBackgroundError();
  if (status.ok()) Log(LogLevel::kInfo, "closed " + path_);
  return status;
}

Status DBImpl::FinishClose() {
  // A clean close makes every acknowledged commit durable, no-sync ones included. If the
  // checkpoint cannot run, at least the log is synced.
  Status checkpointed = RunCheckpoint(/*forced=*/false);
  if (checkpointed.ok()) return Status::OK();
  port::MutexLock lock(&log_mu_);
  Status synced;
  if (log_error_.ok() && written_lsn_ < buffered_lsn_ && !leader_active_) {
    synced = LeadGroup(/*sync=*/true);
  }
  if (!synced.ok() || !log_error_.ok()) {
    return Status::IOError("close: the final checkpoint failed (" + checkpointed.ToString() +
                           ") and the log could not be synced (" +
                           (synced.ok() ? log_error_ : synced).ToString() +
                           "); acknowledged no-sync commits may be lost");
  }
  return checkpointed.WithContext(
      "close: the final checkpoint failed; the log holds every acknowledged commit and the next "
      "open replays it");
}

// --- Checks --------------------------------------------------------------------------------

Status DBImpl::CheckKey(std::string_view key) const {
  const uint32_t key_max = pager_->layout().key_bytes_max();
  if (key.size() > key_max) {
    return Status::InvalidArgument("key of " + std::to_string(key.size()) +
                                   " bytes exceeds the limit of " + std::to_string(key_max) +
                                   " bytes (page_bytes / 8)");
  }
  return Status::OK();
}

Status DBImpl::CheckPut(std::string_view key, std::string_view value) const {
  MANIFOLD_RETURN_IF_ERROR(CheckKey(key));
  if (value.size() > Limits::kValueBytesMax) {
    return Status::InvalidArgument("value of " + std::to_string(value.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(Limits::kValueBytesMax) + " bytes");
  }
  return Status::OK();
}

Status DBImpl::CheckColumnFamilyName(std::string_view name) const {
  if (name.empty() || name.size() > Limits::kColumnFamilyNameBytesMax) {
    return Status::InvalidArgument("column family name must be 1 to " +
                                   std::to_string(Limits::kColumnFamilyNameBytesMax) +
                                   " bytes, got " + std::to_string(name.size()));
  }
  return Status::OK();
}

Status DBImpl::CheckWritable() {
  if (options_.read_only) return Status::ReadOnly("database " + path_ + " was opened read-only");
  if (closed_) return Status::InvalidArgument("database " + path_ + " is closed");
  port::MutexLock lock(&state_mu_);
  if (!background_error_.ok()) {
    return Status::ReadOnly("database " + path_ +
                            " refuses writes after an earlier failure; reopen it to recover (" +
                            background_error_.ToString() + ")");
  }
  return Status::OK();
}

void DBImpl::SetBackgroundError(const Status& status) {
  port::MutexLock lock(&state_mu_);
  if (background_error_.ok()) background_error_ = status;
}

// --- Info log --------------------------------------------------------------------------------

void DBImpl::Log(LogLevel level, const std::string& message) {
  if (info_log_ != nullptr) info_log_->Log(level, message);
}

void DBImpl::ReportBackgroundError() {
  Status error;
  {
    port::MutexLock lock(&state_mu_);
    if (background_error_.ok() || background_error_reported_) return;
    background_error_reported_ = true;
    error = background_error_;
  }
  Log(LogLevel::kError,
      "database " + path_ + " refuses writes until it is reopened (I8): " + error.ToString());
}

void DBImpl::LogOpened() {
  uint64_t sequence;
  {
    port::MutexLock lock(&log_mu_);
    sequence = published_sequence_;
  }
  // Replayed records have consecutive sequence numbers right after the checkpoint's.
  std::string message = "opened " + path_ + (options_.read_only ? " read-only" : "") +
                        ": page_bytes " + std::to_string(pager_->layout().page_bytes) +
                        ", replayed " + std::to_string(records_replayed_) +
                        " log records after the checkpoint at sequence " +
                        std::to_string(sequence - records_replayed_) +
                        (replay_torn_tail_ ? " (the log ended at a torn tail)" : "") +
                        ", sequence " + std::to_string(sequence);
  if (records_salvage_dropped_ > 0) {
    message += "; wal_salvage dropped " + std::to_string(records_salvage_dropped_) + " records";
  }
  Log(records_salvage_dropped_ > 0 ? LogLevel::kWarn : LogLevel::kInfo, message);
}

}  // namespace manifold
