// manifold: command-line access to a Manifold database.
//
//   manifold <db-dir> <command> [args]
//
// One function per command (Run*), each opening the database itself with the least access it
// needs. The reference, with output formats and examples, is docs/tool.md.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/db.h"
#include "manifold/options.h"
#include "manifold/status.h"
#include "manifold/version.h"
#include "manifold/write_batch.h"

namespace manifold::tool {
namespace {

// Process exit codes; keep in sync with kFooter and docs/tool.md.
constexpr int kExitOk = 0;
constexpr int kExitNotFound = 1;  // Key or column family absent; verify found problems.
constexpr int kExitUsage = 2;     // Bad command line (unknown command or flag, bad hex...).
constexpr int kExitError = 3;     // Anything else: open failure, engine or file error.

constexpr const char* kDescription =
    "manifold: inspect and edit a Manifold database.\n"
    "Each command has its own --help: manifold <db-dir> <command> --help";

constexpr const char* kFooter = R"(
Output:
  Human output prints a key, value or name as-is when every byte is printable ASCII
  (0x20..0x7e), otherwise as 0x<lowercase hex> of all its bytes. A printable string that
  itself starts with "0x" is therefore ambiguous: use --json for exact output.
  --json output is ASCII JSON: '"' and '\' are backslash-escaped, every other byte outside
  0x20..0x7e (control characters, DEL, and every byte >= 0x80, including UTF-8) is written
  as \u00XX of that single byte. Each code point U+0000..U+00FF stands for one byte, so the
  exact bytes are recovered by encoding the string as Latin-1.
  Arguments that start with '-' must follow '--', e.g. put -- -key value.

Exit codes:
  0  success
  1  not found (the key or column family does not exist), or verify found problems
  2  usage error (unknown command or flag, missing argument, bad hex)
  3  any other error (the database cannot be opened, engine or file error)
  Errors are printed to stderr as "manifold: <Code>: <message>".)";

// Footer of every command's --help.
constexpr const char* kCommandFooter =
    R"(Exit codes: 0 success, 1 not found or verify problems, 2 usage error, 3 other error.
Output formats (printable ASCII as-is, else 0x<hex>; JSON escaping): manifold --help)";

// Everything the command line can set; each command reads the fields it needs.
struct Flags {
  std::string dir;
  bool json = false;
  std::string cf = std::string(kDefaultColumnFamily);
  bool hex = false;
  std::string key;
  std::optional<std::string> value;
  std::optional<std::string> value_file;
  std::optional<std::string> prefix;
  std::optional<std::string> from;
  std::optional<std::string> to;
  bool reverse = false;
  std::optional<uint64_t> limit;
  bool keys_only = false;
  uint32_t page_bytes = Options().page_bytes;
  std::string name;
  bool salvage = false;                     // Options::wal_salvage.
  bool ignore_damaged_header_slot = false;  // Options::ignore_damaged_header_slot.
  std::string format = "jsonl";             // export / load: jsonl or tsv.
  std::string file = "-";                   // load input / export output; "-" is stdin/stdout.
  uint64_t batch_keys = 1000;               // load: keys per commit.
  std::string backup_dir;
};

// ---- Errors -------------------------------------------------------------------------------

int Report(const Status& status, int exit_code) {
  fmt::print(stderr, "manifold: {}\n", status.ToString());
  return exit_code;
}

// An engine error after the database was opened: NotFound means a key or column family.
int Fail(const Status& status) {
  return Report(status, status.IsNotFound() ? kExitNotFound : kExitError);
}

int UsageError(std::string_view message) {
  return Report(Status::InvalidArgument(message), kExitUsage);
}

// ---- Bytes in and out ---------------------------------------------------------------------

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes `text` ("0x" prefix optional) into bytes; nullopt if it is not an even run of hex.
std::optional<std::string> DecodeHex(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
  }
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = HexDigit(text[i]);
    const int lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// With --hex, replaces `*arg` by its decoded bytes. False (after printing why) on bad hex.
bool DecodeArg(const Flags& flags, std::string_view what, std::string* arg) {
  if (!flags.hex) return true;
  std::optional<std::string> bytes = DecodeHex(*arg);
  if (!bytes) {
    UsageError(fmt::format("{} '{}' is not hex (--hex)", what, *arg));
    return false;
  }
  *arg = std::move(*bytes);
  return true;
}

bool DecodeArg(const Flags& flags, std::string_view what, std::optional<std::string>* arg) {
  return !arg->has_value() || DecodeArg(flags, what, &**arg);
}

bool IsPrintable(std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Human form: as-is when printable ASCII, else 0x<hex>.
std::string Display(std::string_view bytes) {
  if (IsPrintable(bytes)) return std::string(bytes);
  std::string out = "0x";
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// A quoted JSON string; see kFooter for the byte mapping.
std::string JsonString(std::string_view bytes) {
  std::string out = "\"";
  for (unsigned char c : bytes) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c <= 0x7e) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\u{:04x}", c);
    }
  }
  out += '"';
  return out;
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::IOError(fmt::format("cannot read {}", path));
  return data;
}

// ---- Opening ------------------------------------------------------------------------------

enum class Access { kCreate, kWrite, kRead };

// Only `create` may create a database; everything else needs an existing one.
StatusOr<std::unique_ptr<DB>> OpenDb(const Flags& flags, Access access) {
  Options options;
  options.create_if_missing = access == Access::kCreate;
  options.error_if_exists = access == Access::kCreate;
  options.read_only = access == Access::kRead;
  options.page_bytes = flags.page_bytes;
  options.wal_salvage = flags.salvage;
  options.ignore_damaged_header_slot = flags.ignore_damaged_header_slot;
  return DB::Open(options, flags.dir);
}

// ---- Iteration ----------------------------------------------------------------------------

struct KeyRange {
  std::optional<std::string> lower;  // Inclusive.
  std::optional<std::string> upper;  // Exclusive.
};

// The smallest key greater than every key starting with `prefix`; nullopt if there is none
// (the prefix is empty or all 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Intersects --prefix, --from (inclusive) and --to (exclusive).
KeyRange ScanRange(const Flags& flags) {
  KeyRange range{flags.from, flags.to};
  if (!flags.prefix) return range;
  if (!range.lower || *range.lower < *flags.prefix) range.lower = *flags.prefix;
  std::optional<std::string> end = PrefixSuccessor(*flags.prefix);
  if (end && (!range.upper || *end < *range.upper)) range.upper = std::move(end);
  return range;
}

// Positions `it` at the first entry of `range` in the scan direction.
void SeekStart(Iterator& it, const KeyRange& range, bool reverse) {
  if (!reverse) {
    range.lower ? it.Seek(*range.lower) : it.SeekToFirst();
  } else if (!range.upper) {
    it.SeekToLast();
  } else {
    it.SeekForPrev(*range.upper);
    if (it.Valid() && it.key() == *range.upper) it.Prev();
  }
}

// True once a scan in the given direction has left `range`.
bool PastEnd(const KeyRange& range, bool reverse, std::string_view key) {
  return reverse ? (range.lower && key < *range.lower) : (range.upper && key >= *range.upper);
}

// Calls `visit` for each entry of `column_family` in `range`, in key order (or reverse), at most
// `limit` times. The range goes to the engine as iterator bounds and is also checked here.
Status ForEachEntry(DB& db, const Snapshot* snapshot, std::string_view column_family,
                    const KeyRange& range, bool reverse, std::optional<uint64_t> limit,
                    const std::function<void(std::string_view, std::string_view)>& visit) {
  ReadOptions read_options;
  read_options.snapshot = snapshot;
  read_options.lower_bound = range.lower;
  read_options.upper_bound = range.upper;
  MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Iterator> it,
                            db.NewIterator(read_options, column_family));
  SeekStart(*it, range, reverse);
  for (uint64_t n = 0; it->Valid() && (!limit || n < *limit); ++n) {
    if (PastEnd(range, reverse, it->key())) break;
    visit(it->key(), it->value());
    reverse ? it->Prev() : it->Next();
  }
  return it->status();
}

// Prints entries one per line: "key<TAB>value" (or just the key), or JSON objects separated by
// commas, each on its own line after `indent`.
class EntryPrinter {
 public:
  EntryPrinter(bool json, bool keys_only, std::string indent)
      : json_(json), keys_only_(keys_only), indent_(std::move(indent)) {}

  void Print(std::string_view key, std::string_view value) {
    if (!json_) {
      fmt::print("{}{}{}\n", Display(key), keys_only_ ? "" : "\t",
                 keys_only_ ? "" : Display(value));
      return;
    }
    fmt::print("{}\n{}{{\"key\":{}", count_ == 0 ? "" : ",", indent_, JsonString(key));
    if (!keys_only_) fmt::print(",\"value\":{}", JsonString(value));
    fmt::print("}}");
    ++count_;
  }

  // JSON only: ends the last line of entries.
  void Finish() {
    if (json_ && count_ > 0) fmt::print("\n");
  }

  uint64_t count() const { return count_; }

 private:
  bool json_;
  bool keys_only_;
  std::string indent_;
  uint64_t count_ = 0;
};

// ---- Commands -----------------------------------------------------------------------------

int RunCreate(const Flags& flags) {
  auto db = OpenDb(flags, Access::kCreate);
  if (!db.ok()) return Report(db.status(), kExitError);
  fmt::print("created {} (page size {} bytes)\n", flags.dir, (*db)->page_bytes());
  return kExitOk;
}

int RunPut(Flags flags) {
  if (flags.value.has_value() == flags.value_file.has_value()) {
    return UsageError("put needs exactly one of VALUE and --value-file");
  }
  if (!DecodeArg(flags, "KEY", &flags.key) || !DecodeArg(flags, "VALUE", &flags.value)) {
    return kExitUsage;
  }
  if (flags.value_file) {
    StatusOr<std::string> data = ReadFile(*flags.value_file);
    if (!data.ok()) return Report(data.status(), kExitError);
    flags.value = std::move(*data);
  }
  auto db = OpenDb(flags, Access::kWrite);
  if (!db.ok()) return Report(db.status(), kExitError);
  Status status = (*db)->Put(WriteOptions(), flags.cf, flags.key, *flags.value);
  return status.ok() ? kExitOk : Fail(status);
}

bool HasColumnFamily(DB& db, std::string_view name) {
  for (const std::string& cf : db.ListColumnFamilies()) {
    if (cf == name) return true;
  }
  return false;
}

int RunGet(Flags flags) {
  if (!DecodeArg(flags, "KEY", &flags.key)) return kExitUsage;
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  StatusOr<std::string> value = (*db)->Get(ReadOptions(), flags.cf, flags.key);
  if (value.status().IsNotFound() && HasColumnFamily(**db, flags.cf)) {
    fmt::print(stderr, "manifold: not found: {}\n", Display(flags.key));
    return kExitNotFound;
  }
  if (!value.ok()) return Fail(value.status());
  if (flags.json) {
    fmt::print("{{\"key\":{},\"value\":{}}}\n", JsonString(flags.key), JsonString(*value));
  } else {
    fmt::print("{}\n", Display(*value));
  }
  return kExitOk;
}

int RunDelete(Flags flags) {
  if (!DecodeArg(flags, "KEY", &flags.key)) return kExitUsage;
  auto db = OpenDb(flags, Access::kWrite);
  if (!db.ok()) return Report(db.status(), kExitError);
  Status status = (*db)->Delete(WriteOptions(), flags.cf, flags.key);
  return status.ok() ? kExitOk : Fail(status);
}

int RunScan(Flags flags) {
  if (!DecodeArg(flags, "--prefix", &flags.prefix) || !DecodeArg(flags, "--from", &flags.from) ||
      !DecodeArg(flags, "--to", &flags.to)) {
    return kExitUsage;
  }
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  EntryPrinter printer(flags.json, flags.keys_only, "  ");
  if (flags.json) {
    fmt::print("{{\"column_family\":{},\"entries\":[", JsonString(flags.cf));
  }
  Status status =
      ForEachEntry(**db, nullptr, flags.cf, ScanRange(flags), flags.reverse, flags.limit,
                   [&](std::string_view k, std::string_view v) { printer.Print(k, v); });
  printer.Finish();
  if (flags.json) fmt::print("],\"count\":{}}}\n", printer.count());
  return status.ok() ? kExitOk : Fail(status);
}

int RunCfCreate(const Flags& flags) {
  auto db = OpenDb(flags, Access::kWrite);
  if (!db.ok()) return Report(db.status(), kExitError);
  Status status = (*db)->CreateColumnFamily(flags.name);
  return status.ok() ? kExitOk : Fail(status);
}

int RunCfDrop(const Flags& flags) {
  auto db = OpenDb(flags, Access::kWrite);
  if (!db.ok()) return Report(db.status(), kExitError);
  Status status = (*db)->DropColumnFamily(flags.name);
  return status.ok() ? kExitOk : Fail(status);
}

int RunCfList(const Flags& flags) {
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  std::vector<std::string> names = (*db)->ListColumnFamilies();
  if (!flags.json) {
    for (const std::string& name : names) fmt::print("{}\n", Display(name));
    return kExitOk;
  }
  std::vector<std::string> quoted;
  for (const std::string& name : names) quoted.push_back(JsonString(name));
  fmt::print("{{\"column_families\":[{}]}}\n", fmt::join(quoted, ","));
  return kExitOk;
}

// Every integer field of Stats, in declaration order (commits_per_sync_histogram, the one
// vector, is printed after log_sync_commits by RunStats).
constexpr std::pair<const char*, uint64_t Stats::*> kStatsFields[] = {
    {"pages_read", &Stats::pages_read},
    {"pages_written", &Stats::pages_written},
    {"bytes_read", &Stats::bytes_read},
    {"bytes_written", &Stats::bytes_written},
    {"syncs", &Stats::syncs},
    {"commits", &Stats::commits},
    {"cache_hits", &Stats::cache_hits},
    {"cache_misses", &Stats::cache_misses},
    {"read_retries", &Stats::read_retries},
    {"cache_bytes", &Stats::cache_bytes},
    {"file_bytes", &Stats::file_bytes},
    {"pages_total", &Stats::pages_total},
    {"pages_free", &Stats::pages_free},
    {"sequence", &Stats::sequence},
    {"log_records", &Stats::log_records},
    {"log_bytes", &Stats::log_bytes},
    {"log_syncs", &Stats::log_syncs},
    {"log_sync_commits", &Stats::log_sync_commits},
    {"log_segments_created", &Stats::log_segments_created},
    {"log_segments_recycled", &Stats::log_segments_recycled},
    {"log_records_replayed", &Stats::log_records_replayed},
    {"log_records_salvage_dropped", &Stats::log_records_salvage_dropped},
    {"checkpoints", &Stats::checkpoints},
    {"checkpoint_us_total", &Stats::checkpoint_us_total},
    {"checkpoint_us_max", &Stats::checkpoint_us_max},
    {"checkpoint_sequence", &Stats::checkpoint_sequence},
    {"dirty_bytes", &Stats::dirty_bytes},
    {"writer_stall_us", &Stats::writer_stall_us},
    {"writer_stalls", &Stats::writer_stalls},
};

int RunStats(const Flags& flags) {
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  const Stats stats = (*db)->GetStats();
  const uint32_t page_bytes = (*db)->page_bytes();
  const std::string histogram = fmt::format("{}", fmt::join(stats.commits_per_sync_histogram, ","));
  if (!flags.json) {
    fmt::print("page_bytes: {}\n", page_bytes);
    for (const auto& [name, field] : kStatsFields) {
      fmt::print("{}: {}\n", name, stats.*field);
      if (field == &Stats::log_sync_commits) {
        fmt::print("commits_per_sync_histogram: {}\n", histogram);
      }
    }
    return kExitOk;
  }
  fmt::print("{{\"page_bytes\":{}", page_bytes);
  for (const auto& [name, field] : kStatsFields) {
    fmt::print(",\"{}\":{}", name, stats.*field);
    if (field == &Stats::log_sync_commits) {
      fmt::print(",\"commits_per_sync_histogram\":[{}]", histogram);
    }
  }
  fmt::print("}}\n");
  return kExitOk;
}

void PrintReport(const Flags& flags, const IntegrityReport& report) {
  if (flags.json) {
    std::vector<std::string> problems;
    for (const std::string& p : report.problems) problems.push_back(JsonString(p));
    fmt::print(
        "{{\"ok\":{},\"pages_checked\":{},\"entries_checked\":{},\"column_families\":{},"
        "\"problems\":[{}]}}\n",
        report.problems.empty(), report.pages_checked, report.entries_checked,
        report.column_families, fmt::join(problems, ","));
    return;
  }
  fmt::print("pages_checked: {}\nentries_checked: {}\ncolumn_families: {}\nproblems: {}\n",
             report.pages_checked, report.entries_checked, report.column_families,
             report.problems.size());
  for (const std::string& p : report.problems) fmt::print("problem: {}\n", p);
  fmt::print("{}\n", report.problems.empty() ? "verify OK" : "verify FAILED");
}

// A database too damaged to open counts as a problem found (exit 1), not as a tool failure.
int RunVerify(const Flags& flags) {
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) {
    return Report(db.status(), db.status().IsCorruption() ? kExitNotFound : kExitError);
  }
  IntegrityReport report;
  Status status = (*db)->VerifyIntegrity(&report);
  if (!status.ok() && !status.IsCorruption()) return Fail(status);
  if (!status.ok() && report.problems.empty()) report.problems.push_back(status.ToString());
  PrintReport(flags, report);
  return report.problems.empty() ? kExitOk : kExitNotFound;
}

// One column family of `dump`, as of `snapshot`.
Status DumpColumnFamily(const Flags& flags, DB& db, const Snapshot* snapshot,
                        const std::string& name, bool first) {
  if (flags.json) {
    fmt::print("{}\n  {{\"name\":{},\"entries\":[", first ? "" : ",", JsonString(name));
  } else {
    fmt::print("[{}]\n", Display(name));
  }
  EntryPrinter printer(flags.json, /*keys_only=*/false, "    ");
  Status status =
      ForEachEntry(db, snapshot, name, KeyRange{}, /*reverse=*/false, std::nullopt,
                   [&](std::string_view k, std::string_view v) { printer.Print(k, v); });
  printer.Finish();
  if (flags.json) fmt::print("{}]}}", printer.count() > 0 ? "  " : "");
  return status;
}

int RunDump(const Flags& flags) {
  auto db = OpenDb(flags, Access::kRead);
  if (!db.ok()) return Report(db.status(), kExitError);
  std::shared_ptr<const Snapshot> snapshot = (*db)->GetSnapshot();
  if (flags.json) fmt::print("{{\"column_families\":[");
  bool first = true;
  for (const std::string& name : (*db)->ListColumnFamilies()) {
    Status status = DumpColumnFamily(flags, **db, snapshot.get(), name, first);
    if (!status.ok()) return Fail(status);
    first = false;
  }
  if (flags.json) fmt::print("\n]}}\n");
  return kExitOk;
}

// ---- export / load ------------------------------------------------------------------------
//
// Two line formats, both binary-safe: every byte that could end a line or a field is escaped,
// so a file splits into records at each '\n' and `load` recovers the exact bytes.
//   jsonl: {"key":"...","value":"..."} per line, strings escaped as by --json (kFooter).
//   tsv:   key<TAB>value per line; '\\' -> \\, TAB -> \t, LF -> \n, CR -> \r, and every other
//          byte outside 0x20..0x7e -> \xHH (two lowercase hex digits).

// One TSV field; see above.
std::string TsvField(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c >= 0x20 && c <= 0x7e) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

std::string FormatRecord(std::string_view format, std::string_view key, std::string_view value) {
  if (format == "tsv") return TsvField(key) + "\t" + TsvField(value) + "\n";
  return "{\"key\":" + JsonString(key) + ",\"value\":" + JsonString(value) + "}\n";
}

// Decodes one TSV field; an error names the column (1-based, within the line) of the problem.
StatusOr<std::string> ParseTsvField(std::string_view text, size_t column) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c != '\\') {
      if (c < 0x20 || c == 0x7f) {
        return Status::InvalidArgument(fmt::format(
            "column {}: raw control byte 0x{:02x} (write it as \\xHH; a CRLF file needs \\r)",
            column + i, c));
      }
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 1 >= text.size()) {
      return Status::InvalidArgument(
          fmt::format("column {}: '\\' at the end of a field", column + i));
    }
    const char e = text[++i];
    if (e == '\\') {
      out.push_back('\\');
    } else if (e == 't') {
      out.push_back('\t');
    } else if (e == 'n') {
      out.push_back('\n');
    } else if (e == 'r') {
      out.push_back('\r');
    } else if (e == 'x' && i + 2 < text.size() && HexDigit(text[i + 1]) >= 0 &&
               HexDigit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(text[i + 1]) * 16 + HexDigit(text[i + 2])));
      i += 2;
    } else {
      return Status::InvalidArgument(fmt::format(
          "column {}: bad escape '\\{}' (valid: \\\\ \\t \\n \\r \\xHH)", column + i - 1,
          e == 'x' ? std::string("x") + std::string(text.substr(i + 1, 2)) : std::string(1, e)));
    }
  }
  return out;
}

struct Record {
  std::string key;
  std::string value;
};

StatusOr<Record> ParseTsvLine(std::string_view line) {
  const size_t tab = line.find('\t');
  if (tab == line.npos) {
    return Status::InvalidArgument("no TAB between key and value (want key<TAB>value)");
  }
  if (line.find('\t', tab + 1) != line.npos) {
    return Status::InvalidArgument(
        fmt::format("column {}: a second TAB (a TAB inside a key or value is written \\t)",
                    line.find('\t', tab + 1) + 1));
  }
  Record record;
  MANIFOLD_ASSIGN_OR_RETURN(record.key, ParseTsvField(line.substr(0, tab), 1));
  MANIFOLD_ASSIGN_OR_RETURN(record.value, ParseTsvField(line.substr(tab + 1), tab + 2));
  return record;
}

// A strict parser for the one object shape `export` writes: {"key":S,"value":S} in either
// order, with optional JSON whitespace between tokens.
class JsonLineParser {
 public:
  explicit JsonLineParser(std::string_view line) : text_(line) {}

  StatusOr<Record> Parse() {
    std::optional<std::string> key;
    std::optional<std::string> value;
    MANIFOLD_RETURN_IF_ERROR(Expect('{'));
    for (int field = 0; field < 2; ++field) {
      if (field > 0) MANIFOLD_RETURN_IF_ERROR(Expect(','));
      MANIFOLD_ASSIGN_OR_RETURN(std::string name, String());
      MANIFOLD_RETURN_IF_ERROR(Expect(':'));
      std::optional<std::string>* slot = name == "key" ? &key : name == "value" ? &value : nullptr;
      if (slot == nullptr) {
        return Error(
            fmt::format("unknown field {} (want \"key\" and \"value\")", JsonString(name)));
      }
      if (slot->has_value()) return Error(fmt::format("field \"{}\" given twice", name));
      MANIFOLD_ASSIGN_OR_RETURN(std::string bytes, String());
      *slot = std::move(bytes);
    }
    MANIFOLD_RETURN_IF_ERROR(Expect('}'));
    SkipSpace();
    if (pos_ != text_.size()) return Error("text after the closing '}'");
    return Record{std::move(*key), std::move(*value)};
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidArgument(fmt::format("column {}: {}", pos_ + 1, what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  Status Expect(char c) {
    SkipSpace();
    if (pos_ >= text_.size()) return Error(fmt::format("line ends where '{}' was expected", c));
    if (text_[pos_] != c) {
      return Error(fmt::format("'{}' expected, found '{}'", c, Display(text_.substr(pos_, 1))));
    }
    ++pos_;
    return Status::OK();
  }

  // A JSON string; \u escapes must be U+0000..U+00FF, each standing for one byte (kFooter).
  StatusOr<std::string> String() {
    MANIFOLD_RETURN_IF_ERROR(Expect('"'));
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return Error(fmt::format("raw control byte 0x{:02x} in a string", c));
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= text_.size()) return Error("unterminated string");
      const char e = text_[pos_ + 1];
      const char* simple = nullptr;
      switch (e) {
        case '"':
          simple = "\"";
          break;
        case '\\':
          simple = "\\";
          break;
        case '/':
          simple = "/";
          break;
        case 'b':
          simple = "\b";
          break;
        case 'f':
          simple = "\f";
          break;
        case 'n':
          simple = "\n";
          break;
        case 'r':
          simple = "\r";
          break;
        case 't':
          simple = "\t";
          break;
        default:
          break;
      }
      if (simple != nullptr) {
        out.push_back(*simple);
        pos_ += 2;
        continue;
      }
      if (e != 'u') return Error(fmt::format("bad escape '\\{}'", Display(std::string(1, e))));
      int code = 0;
      for (size_t i = 0; i < 4; ++i) {
        const int d = pos_ + 2 + i < text_.size() ? HexDigit(text_[pos_ + 2 + i]) : -1;
        if (d < 0) return Error("\\u needs four hex digits");
        code = code * 16 + d;
      }
      if (code > 0xff) {
        return Error(fmt::format(
            "\\u{:04x} is not a byte: each \\u00XX stands for one byte (U+0000..U+00FF)", code));
      }
      out.push_back(static_cast<char>(code));
      pos_ += 6;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool ValidFormat(const Flags& flags) { return flags.format == "jsonl" || flags.format == "tsv"; }

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
    StatusOr<Record> record =
        flags.format == "tsv" ? ParseTsvLine(line) : JsonLineParser(line).Parse();
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

// ---- backup -------------------------------------------------------------------------------

// Copies every column family of `src` as of `snapshot` into `dst`, in batches of `batch_keys`.
Status CopyAll(DB& src, const Snapshot* snapshot, DB& dst, uint64_t batch_keys, uint64_t* keys) {
  for (const std::string& name : src.ListColumnFamilies()) {
    if (name != kDefaultColumnFamily) MANIFOLD_RETURN_IF_ERROR(dst.CreateColumnFamily(name));
    WriteBatch batch;
    Status write_status;
    Status status = ForEachEntry(src, snapshot, name, KeyRange{}, /*reverse=*/false, std::nullopt,
                                 [&](std::string_view k, std::string_view v) {
                                   if (!write_status.ok()) return;
                                   batch.Put(name, k, v);
                                   ++*keys;
                                   if (batch.Count() >= batch_keys) {
                                     write_status = dst.Write(WriteOptions(), batch);
                                     batch.Clear();
                                   }
                                 });
    MANIFOLD_RETURN_IF_ERROR(status);
    MANIFOLD_RETURN_IF_ERROR(write_status);
    if (batch.Count() > 0) MANIFOLD_RETURN_IF_ERROR(dst.Write(WriteOptions(), batch));
  }
  return Status::OK();
}

// Compares every column family and entry of `a` (as of `snapshot`) with `b`.
Status CompareAll(DB& a, const Snapshot* snapshot, DB& b) {
  if (a.ListColumnFamilies() != b.ListColumnFamilies()) {
    return Status::Corruption("backup check: the column families differ");
  }
  for (const std::string& name : a.ListColumnFamilies()) {
    ReadOptions at;
    at.snapshot = snapshot;
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Iterator> x, a.NewIterator(at, name));
    MANIFOLD_ASSIGN_OR_RETURN(std::unique_ptr<Iterator> y, b.NewIterator(ReadOptions(), name));
    for (x->SeekToFirst(), y->SeekToFirst(); x->Valid() && y->Valid(); x->Next(), y->Next()) {
      if (x->key() != y->key() || x->value() != y->value()) {
        return Status::Corruption(fmt::format("backup check: column family {} differs at key {}",
                                              Display(name), Display(x->key())));
      }
    }
    MANIFOLD_RETURN_IF_ERROR(x->status());
    MANIFOLD_RETURN_IF_ERROR(y->status());
    if (x->Valid() != y->Valid()) {
      return Status::Corruption(
          fmt::format("backup check: column family {} has a different key count", Display(name)));
    }
  }
  return Status::OK();
}

// A consistent copy: the source is opened read-only (so nothing can write it meanwhile, I25) and
// copied from one snapshot into a new database, which is then closed, reopened read-only and
// compared entry by entry with the source.
int RunBackup(const Flags& flags) {
  auto src = OpenDb(flags, Access::kRead);
  if (!src.ok()) {
    if (src.status().IsBusy()) {
      fmt::print(stderr,
                 "manifold: backup needs the database to itself: it opens it read-only, and a "
                 "read-only open cannot share a database with a writer. Back up from inside the "
                 "application that has it open, or close that application first.\n");
    }
    return Report(src.status(), kExitError);
  }
  std::shared_ptr<const Snapshot> snapshot = (*src)->GetSnapshot();
  Flags dst_flags;
  dst_flags.dir = flags.backup_dir;
  dst_flags.page_bytes = (*src)->page_bytes();
  auto dst = OpenDb(dst_flags, Access::kCreate);
  if (!dst.ok()) return Report(dst.status(), kExitError);
  uint64_t keys = 0;
  Status status = CopyAll(**src, snapshot.get(), **dst, flags.batch_keys, &keys);
  if (status.ok()) status = (*dst)->Close();
  dst->reset();
  if (!status.ok()) {
    fmt::print(stderr, "manifold: backup to {} failed and is incomplete: delete it\n",
               flags.backup_dir);
    return Report(status, kExitError);
  }
  auto check = OpenDb(dst_flags, Access::kRead);
  if (!check.ok()) return Report(check.status(), kExitError);
  status = CompareAll(**src, snapshot.get(), **check);
  if (!status.ok()) return Report(status, kExitError);
  fmt::print("backed up {} column families, {} keys to {}; verified\n",
             (*src)->ListColumnFamilies().size(), keys, flags.backup_dir);
  return kExitOk;
}

// ---- Command line -------------------------------------------------------------------------

using Runner = std::function<int()>;
using Commands = std::vector<std::pair<CLI::App*, Runner>>;

CLI::App* AddCommand(CLI::App& parent, Commands& commands, const std::string& name,
                     const std::string& help, Runner run) {
  CLI::App* sub = parent.add_subcommand(name, help);
  commands.emplace_back(sub, std::move(run));
  return sub;
}

template <typename T>
CLI::Option* AddOptional(CLI::App* app, const std::string& name, std::optional<T>* field,
                         const std::string& help) {
  return app->add_option_function<T>(
      name, [field](const T& value) { *field = value; }, help);
}

void AddCfOption(CLI::App* app, Flags& flags) {
  app->add_option("--cf,--column-family", flags.cf, "Column family")->capture_default_str();
}

void AddFormatOption(CLI::App* app, Flags& flags) {
  app->add_option("--format", flags.format, "jsonl or tsv (docs/tool.md, \"export / load\")")
      ->capture_default_str()
      ->check(CLI::IsMember({"jsonl", "tsv"}));
}

void AddHexFlag(CLI::App* app, Flags& flags, const std::string& what) {
  app->add_flag("--hex", flags.hex, what + " given as hex digits (optional 0x prefix)");
}

void AddKeyCommands(CLI::App& app, Commands& commands, Flags& flags) {
  CLI::App* put =
      AddCommand(app, commands, "put", "Write KEY = VALUE", [&] { return RunPut(flags); });
  AddCfOption(put, flags);
  AddHexFlag(put, flags, "KEY and VALUE are");
  put->add_option("KEY", flags.key, "Key")->required();
  AddOptional(put, "VALUE", &flags.value, "Value (or use --value-file)");
  AddOptional(put, "--value-file", &flags.value_file, "Read the value (raw bytes) from this file");

  CLI::App* get = AddCommand(app, commands, "get", "Print the value of KEY (exit 1 if absent)",
                             [&] { return RunGet(flags); });
  AddCfOption(get, flags);
  AddHexFlag(get, flags, "KEY is");
  get->add_option("KEY", flags.key, "Key")->required();

  CLI::App* del = AddCommand(app, commands, "delete", "Delete KEY (absent keys are not an error)",
                             [&] { return RunDelete(flags); });
  AddCfOption(del, flags);
  AddHexFlag(del, flags, "KEY is");
  del->add_option("KEY", flags.key, "Key")->required();
}

void AddScanCommand(CLI::App& app, Commands& commands, Flags& flags) {
  CLI::App* scan =
      AddCommand(app, commands, "scan", "Print entries in key order: \"key<TAB>value\" per line",
                 [&] { return RunScan(flags); });
  AddCfOption(scan, flags);
  AddOptional(scan, "--prefix", &flags.prefix, "Only keys starting with P");
  AddOptional(scan, "--from", &flags.from, "Only keys >= K (inclusive)");
  AddOptional(scan, "--to", &flags.to, "Only keys < K (exclusive)");
  scan->add_flag("--reverse", flags.reverse, "Descending key order");
  AddOptional(scan, "--limit", &flags.limit, "Print at most N entries")
      ->check(CLI::Validator(
          [](std::string& s) {
            const bool digits = !s.empty() && s.find_first_not_of("0123456789") == s.npos;
            return digits ? "" : "must be a non-negative integer";
          },
          "N"));
  scan->add_flag("--keys-only", flags.keys_only, "Print keys without values");
  AddHexFlag(scan, flags, "--prefix, --from and --to are");
}

void AddCfCommands(CLI::App& app, Commands& commands, Flags& flags) {
  CLI::App* cf = app.add_subcommand("cf", "Column families: create, drop, list");
  cf->require_subcommand(1);
  CLI::App* create = AddCommand(*cf, commands, "create", "Create column family NAME",
                                [&] { return RunCfCreate(flags); });
  create->add_option("NAME", flags.name, "Column family name")->required();
  CLI::App* drop = AddCommand(*cf, commands, "drop", "Drop column family NAME and all its data",
                              [&] { return RunCfDrop(flags); });
  drop->add_option("NAME", flags.name, "Column family name")->required();
  AddCommand(*cf, commands, "list", "List column families in byte order",
             [&] { return RunCfList(flags); });
}

bool IsPowerOfTwo(uint32_t n) { return n != 0 && (n & (n - 1)) == 0; }

void AddDatabaseCommands(CLI::App& app, Commands& commands, Flags& flags) {
  CLI::App* create =
      AddCommand(app, commands, "create", "Create a new database (fails if it exists)",
                 [&] { return RunCreate(flags); });
  create->add_option("--page-bytes", flags.page_bytes, "Page size in bytes: a power of two")
      ->capture_default_str()
      ->check(CLI::Range(Limits::kPageBytesMin, Limits::kPageBytesMax))
      ->check(CLI::Validator(
          [](std::string& s) {
            uint32_t n = 0;
            return CLI::detail::lexical_cast(s, n) && IsPowerOfTwo(n) ? "" : "not a power of two";
          },
          "POWER OF 2"));
  AddCommand(app, commands, "stats", "Print the database's counters",
             [&] { return RunStats(flags); });
  AddCommand(app, commands, "verify", "Check every page and tree; exit 1 on problems",
             [&] { return RunVerify(flags); });
  AddCommand(app, commands, "dump", "Print every column family and every key/value",
             [&] { return RunDump(flags); });

  CLI::App* exp = AddCommand(app, commands, "export",
                             "Write one column family's entries, binary-safe, for load",
                             [&] { return RunExport(flags); });
  AddCfOption(exp, flags);
  AddFormatOption(exp, flags);
  exp->add_option("--output,-o", flags.file, "Output file ('-': stdout)")->capture_default_str();

  CLI::App* load = AddCommand(app, commands, "load",
                              "Put every record of FILE (export's format) into a column family",
                              [&] { return RunLoad(flags); });
  AddCfOption(load, flags);
  AddFormatOption(load, flags);
  load->add_option("--batch-keys", flags.batch_keys, "Keys per commit")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 32));
  load->add_option("FILE", flags.file, "Input file ('-': stdin)")->capture_default_str();

  CLI::App* backup = AddCommand(app, commands, "backup",
                                "Copy the database into a new database DIR and verify the copy",
                                [&] { return RunBackup(flags); });
  backup->add_option("DIR", flags.backup_dir, "New database directory (must not exist)")
      ->required();
}

// Shows the db-dir in every command's usage line: "Usage: manifold <db-dir> scan [OPTIONS]".
class UsageFormatter : public CLI::Formatter {
 public:
  std::string make_usage(const CLI::App* app, std::string name) const override {
    if (app->get_parent() != nullptr) name.replace(0, name.find(' '), "manifold <db-dir>");
    return CLI::Formatter::make_usage(app, name);
  }
};

void BuildCli(CLI::App& app, Commands& commands, Flags& flags) {
  app.formatter(std::make_shared<UsageFormatter>());  // Inherited by subcommands, as are
  app.footer(kCommandFooter);                         // this footer and fallthrough.
  app.fallthrough();  // Inherited by subcommands: --json is accepted after the command too.
  app.require_subcommand(1);
  app.add_option("db-dir", flags.dir, "Database directory")->required();
  app.set_version_flag("--version", std::string("manifold ") + MANIFOLD_VERSION,
                       "Print the library version and exit");
  app.add_flag("--json", flags.json,
               "Machine-readable JSON output (get, scan, cf list, stats, verify, dump)");
  app.add_flag("--salvage", flags.salvage,
               "Open with Options::wal_salvage: drop every log record after damage (see "
               "docs/errors.md)");
  app.add_flag("--ignore-damaged-header-slot", flags.ignore_damaged_header_slot,
               "Open with Options::ignore_damaged_header_slot: open at the older checkpoint");
  AddDatabaseCommands(app, commands, flags);
  AddKeyCommands(app, commands, flags);
  AddScanCommand(app, commands, flags);
  AddCfCommands(app, commands, flags);
  app.footer(kFooter);
}

int ParseErrorExit(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    return app.exit(e);  // --help: prints the help to stdout.
  }
  const std::vector<std::string> extra = app.remaining(/*recurse=*/true);
  if (e.get_name() != "RequiredError" || extra.empty()) {
    fmt::print(stderr, "manifold: {}\n", e.what());
  } else {
    fmt::print(stderr, "manifold: unknown command '{}'\n", extra.front());
  }
  fmt::print(stderr, "Run 'manifold --help' for usage.\n");
  return kExitUsage;
}

int Main(int argc, char** argv) {
  CLI::App app(kDescription, "manifold");
  Flags flags;
  Commands commands;
  BuildCli(app, commands, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ParseErrorExit(app, e);
  }
  int exit_code = kExitUsage;
  for (const auto& [sub, run] : commands) {
    if (sub->parsed()) exit_code = run();
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return Report(Status::IOError("writing to stdout failed"), kExitError);
  }
  return exit_code;
}

}  // namespace
}  // namespace manifold::tool

int main(int argc, char** argv) { return manifold::tool::Main(argc, argv); }
