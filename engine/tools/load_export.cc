// `export` and `load`: one column family out to, or in from, a line file (record_formats.cc).
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "engine/tools/tool.h"
#include "manifold/write_batch.h"

namespace manifold::tool {
namespace {

bool ValidFormat(const Flags& flags) { return flags.format == "jsonl" || flags.format == "tsv"; }

// Progress of `load`: a bar redrawn in place on a terminal, nothing until the summary otherwise.
class LoadProgress {
 public:
  explicit LoadProgress(std::optional<uint64_t> total_bytes)
      : terminal_(isatty(fileno(stderr)) != 0),
        total_(total_bytes),
        start_(std::chrono::steady_clock::now()) {}

  void Update(uint64_t keys, uint64_t input_bytes) {
    if (!terminal_) return;
    if (total_ && *total_ > 0) {
      const uint64_t percent = std::min<uint64_t>(100, input_bytes * 100 / *total_);
      const std::string bar(percent / 5, '#');
      fmt::print(stderr, "\r[{:<20}] {:3}% {} keys", bar, percent, keys);
    } else {
      fmt::print(stderr, "\r{} keys, {} bytes read", keys, input_bytes);
    }
    std::fflush(stderr);
  }

  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // Ends the bar's line so the next message starts on its own.
  void EndLine() {
    if (terminal_) fmt::print(stderr, "\n");
  }

 private:
  bool terminal_;
  std::optional<uint64_t> total_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

int RunExport(const Flags& flags) {
  if (!ValidFormat(flags)) return UsageError("--format must be jsonl or tsv");
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  std::FILE* out = stdout;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, &std::fclose);
  if (flags.file != "-") {
    file.reset(std::fopen(flags.file.c_str(), "wb"));
    if (!file) {
      return Report(
          Status::IOError(fmt::format("cannot create {}: {}", flags.file, std::strerror(errno))),
          kExitError);
    }
    out = file.get();
  }
  std::shared_ptr<const Snapshot> snapshot = (*db)->GetSnapshot();
  uint64_t keys = 0;
  Status status = ForEachEntry(**db, snapshot.get(), flags.cf, KeyRange{}, /*reverse=*/false,
                               std::nullopt, [&](std::string_view k, std::string_view v) {
                                 const std::string line = FormatRecord(flags.format, k, v);
                                 std::fwrite(line.data(), 1, line.size(), out);
                                 ++keys;
                               });
  if (!status.ok()) return Fail(status);
  if (file) {
    std::FILE* raw = file.release();
    if (std::ferror(raw) || std::fclose(raw) != 0) {
      return Report(Status::IOError(fmt::format("writing {} failed", flags.file)), kExitError);
    }
    fmt::print(stderr, "exported {} keys from column family {} to {}\n", keys, Display(flags.cf),
               flags.file);
  }
  return kExitOk;
}

int RunLoad(const Flags& flags) {
  if (!ValidFormat(flags)) return UsageError("--format must be jsonl or tsv");
  if (flags.batch_keys == 0) return UsageError("--batch-keys must be at least 1");
  std::ifstream file;
  std::istream* in = &std::cin;
  std::optional<uint64_t> total_bytes;
  if (flags.file != "-") {
    file.open(flags.file, std::ios::binary);
    if (!file) {
      return Report(
          Status::IOError(fmt::format("cannot open {}: {}", flags.file, std::strerror(errno))),
          kExitError);
    }
    file.seekg(0, std::ios::end);
    if (file) total_bytes = static_cast<uint64_t>(file.tellg());
    file.clear();
    file.seekg(0);
    in = &file;
  }
  auto db = OpenDb(flags, Access::kWrite);
  if (!db.ok()) return Report(db.status(), kExitError);
  if (!HasColumnFamily(**db, flags.cf)) {
    return Fail(Status::NotFound(
        fmt::format("column family '{}' does not exist (create it with cf create)", flags.cf)));
  }
  LoadProgress progress(total_bytes);
  WriteBatch batch;
  uint64_t committed_keys = 0;
  uint64_t committed_bytes = 0;  // Key and value bytes.
  uint64_t committed_line = 0;   // Last line whose record is committed.
  uint64_t pending_bytes = 0;
  uint64_t input_bytes = 0;
  uint64_t line_number = 0;
  auto commit = [&]() -> Status {
    if (batch.Count() == 0) return Status::OK();
    MANIFOLD_RETURN_IF_ERROR((*db)->Write(WriteOptions(), batch));
    committed_keys += batch.Count();
    committed_bytes += pending_bytes;
    committed_line = line_number;
    pending_bytes = 0;
    batch.Clear();
    progress.Update(committed_keys, input_bytes);
    return Status::OK();
  };
  // What is in the database when load stops early, so a rerun can resume or undo it.
  auto stopped = [&](std::string_view why) {
    progress.EndLine();
    const std::string done =
        committed_keys == 0
            ? std::string("nothing was committed")
            : fmt::format("lines 1..{} ({} keys) were committed", committed_line, committed_keys);
    return Report(Status::InvalidArgument(fmt::format("{}; {}; nothing after line {} was applied",
                                                      why, done, committed_line)),
                  kExitError);
  };
  std::string line;
  while (std::getline(*in, line)) {
    ++line_number;
    input_bytes += line.size() + 1;
    if (line.empty()) continue;
    StatusOr<Record> record = ParseRecord(flags.format, line);
    if (!record.ok()) {
      return stopped(fmt::format("{} line {}: {}", flags.file == "-" ? "stdin" : flags.file,
                                 line_number, record.status().message()));
    }
    batch.Put(flags.cf, record->key, record->value);
    pending_bytes += record->key.size() + record->value.size();
    if (batch.Count() >= flags.batch_keys) {
      Status status = commit();
      if (!status.ok()) {
        return stopped(fmt::format("committing the batch ending at line {} failed: {}", line_number,
                                   status.ToString()));
      }
    }
  }
  if (in->bad()) return stopped(fmt::format("reading {} failed", flags.file));
  Status status = commit();
  if (!status.ok()) {
    return stopped(fmt::format("committing the batch ending at line {} failed: {}", line_number,
                               status.ToString()));
  }
  progress.EndLine();
  fmt::print(stderr, "loaded {} keys ({} bytes of keys and values) into {} in {:.3f} seconds\n",
             committed_keys, committed_bytes, Display(flags.cf), progress.Seconds());
  return kExitOk;
}

}  // namespace manifold::tool
