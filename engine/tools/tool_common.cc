// Errors, byte formats, opening and iteration for every command of the tool.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "engine/tools/tool.h"

namespace manifold::tool {
namespace {

bool IsPrintable(std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// The smallest key greater than every key starting with `prefix`; nullopt if there is none
// (the prefix is empty or all 0xff bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
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

}  // namespace

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

// Only `create` may create a database; everything else needs an existing one.
StatusOr<std::unique_ptr<DB>> OpenDb(const Flags& flags, Access access) {
  Options options;
  options.create_if_missing = access == Access::kCreate;
  options.error_if_exists = access == Access::kCreate;
  options.read_only = access == Access::kRead;
  options.page_bytes = flags.page_bytes;
  options.wal_salvage = flags.salvage;
  options.ignore_damaged_header_slot = flags.ignore_damaged_header_slot;
  StatusOr<std::unique_ptr<DB>> db = DB::Open(options, flags.dir);
  if (db.ok() || !db.status().IsCorruption()) return db;
  // The engine's message names the option that would open anyway; name the tool's flag too.
  const std::string& message = db.status().message();
  std::string hint;
  if (!flags.salvage && message.find("Options::wal_salvage") != std::string::npos) {
    hint = "--salvage";
  } else if (!flags.ignore_damaged_header_slot &&
             message.find("Options::ignore_damaged_header_slot") != std::string::npos) {
    hint = "--ignore-damaged-header-slot";
  }
  if (hint.empty()) return db;
  return Status::Corruption(fmt::format("{}. To open that way with this tool: manifold {} {} ...",
                                        message, flags.dir, hint));
}

bool HasColumnFamily(DB& db, std::string_view name) {
  for (const std::string& cf : db.ListColumnFamilies()) {
    if (cf == name) return true;
  }
  return false;
}

// ---- Iteration ----------------------------------------------------------------------------

// Intersects --prefix, --from (inclusive) and --to (exclusive).
KeyRange ScanRange(const Flags& flags) {
  KeyRange range{flags.from, flags.to};
  if (!flags.prefix) return range;
  if (!range.lower || *range.lower < *flags.prefix) range.lower = *flags.prefix;
  std::optional<std::string> end = PrefixSuccessor(*flags.prefix);
  if (end && (!range.upper || *end < *range.upper)) range.upper = std::move(end);
  return range;
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

}  // namespace manifold::tool
