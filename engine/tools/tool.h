// Shared pieces of the `manifold` command-line tool (docs/tool.md): the flags every command
// reads, exit codes and error reporting, byte formats, opening the database and iterating it, and
// one Run* function per command. Internal to //engine/tools.
#ifndef MANIFOLD_ENGINE_TOOLS_TOOL_H_
#define MANIFOLD_ENGINE_TOOLS_TOOL_H_

#include <fmt/format.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "manifold/db.h"
#include "manifold/options.h"
#include "manifold/status.h"

namespace manifold::tool {

// Process exit codes; keep in sync with kFooter (manifold_main.cc) and docs/tool.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNotFound = 1;  // Key or column family absent; verify found problems.
inline constexpr int kExitUsage = 2;     // Bad command line (unknown command or flag, bad hex...).
inline constexpr int kExitError = 3;     // Anything else: open failure, engine or file error.

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

// ---- Errors (tool_common.cc) ------------------------------------------------------------------

// Prints "manifold: <status>" to stderr and returns `exit_code`.
int Report(const Status& status, int exit_code);
// An engine error after the database was opened: NotFound means a key or column family.
int Fail(const Status& status);
int UsageError(std::string_view message);

// ---- Bytes in and out -------------------------------------------------------------------------

int HexDigit(char c);  // 0..15, or -1 for a character that is not a hex digit.
// Decodes `text` ("0x" prefix optional) into bytes; nullopt if it is not an even run of hex.
std::optional<std::string> DecodeHex(std::string_view text);
// With --hex, replaces `*arg` by its decoded bytes. False (after printing why) on bad hex.
bool DecodeArg(const Flags& flags, std::string_view what, std::string* arg);
bool DecodeArg(const Flags& flags, std::string_view what, std::optional<std::string>* arg);
// Human form: as-is when printable ASCII, else 0x<hex>.
std::string Display(std::string_view bytes);
// A quoted JSON string; see kFooter for the byte mapping.
std::string JsonString(std::string_view bytes);
StatusOr<std::string> ReadFile(const std::string& path);

// ---- Opening ----------------------------------------------------------------------------------

enum class Access { kCreate, kWrite, kRead };

// Only `create` may create a database; everything else needs an existing one. --salvage and
// --ignore-damaged-header-slot set the options of the same names.
StatusOr<std::unique_ptr<DB>> OpenDb(const Flags& flags, Access access);
bool HasColumnFamily(DB& db, std::string_view name);

// ---- Iteration --------------------------------------------------------------------------------

struct KeyRange {
  std::optional<std::string> lower;  // Inclusive.
  std::optional<std::string> upper;  // Exclusive.
};

// Intersects --prefix, --from (inclusive) and --to (exclusive).
KeyRange ScanRange(const Flags& flags);

// Calls `visit` for each entry of `column_family` in `range`, in key order (or reverse), at most
// `limit` times. The range goes to the engine as iterator bounds and is also checked here.
Status ForEachEntry(DB& db, const Snapshot* snapshot, std::string_view column_family,
                    const KeyRange& range, bool reverse, std::optional<uint64_t> limit,
                    const std::function<void(std::string_view, std::string_view)>& visit);

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

// ---- Record formats of export and load (record_formats.cc) ------------------------------------

struct Record {
  std::string key;
  std::string value;
};

// One line (without its '\n') of `format` ("jsonl" or "tsv"; docs/tool.md, "export / load"),
// binary-safe: ParseRecord reads back exactly the bytes FormatRecord was given.
std::string FormatRecord(std::string_view format, std::string_view key, std::string_view value);
// An error names the problem and, for tsv, its column.
StatusOr<Record> ParseRecord(std::string_view format, std::string_view line);

// ---- Commands: each opens the database with the least access it needs ----------------------

// commands.cc: keys, scans, column families, verify, dump.
int RunCreate(const Flags& flags);
int RunPut(Flags flags);
int RunGet(Flags flags);
int RunDelete(Flags flags);
int RunScan(Flags flags);
int RunCfCreate(const Flags& flags);
int RunCfDrop(const Flags& flags);
int RunCfList(const Flags& flags);
int RunVerify(const Flags& flags);
int RunDump(const Flags& flags);
// stats.cc.
int RunStats(const Flags& flags);
// load_export.cc: export and load, jsonl and tsv.
int RunExport(const Flags& flags);
int RunLoad(const Flags& flags);
// backup.cc.
int RunBackup(const Flags& flags);

}  // namespace manifold::tool

#endif  // MANIFOLD_ENGINE_TOOLS_TOOL_H_
