// The two line formats of `export` and `load`, both binary-safe: every byte that could end a line
// or a field is escaped, so a file splits into records at each '\n' and `load` recovers the exact
// bytes.
//   jsonl: {"key":"...","value":"..."} per line, strings escaped as by --json (kFooter in
//          manifold_main.cc).
//   tsv:   key<TAB>value per line; '\\' -> \\, TAB -> \t, LF -> \n, CR -> \r, and every other
//          byte outside 0x20..0x7e -> \xHH (two lowercase hex digits).
#include <fmt/format.h>

#include <optional>
#include <string>

#include "engine/tools/tool.h"

namespace manifold::tool {
namespace {

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

}  // namespace

std::string FormatRecord(std::string_view format, std::string_view key, std::string_view value) {
  if (format == "tsv") return TsvField(key) + "\t" + TsvField(value) + "\n";
  return "{\"key\":" + JsonString(key) + ",\"value\":" + JsonString(value) + "}\n";
}

StatusOr<Record> ParseRecord(std::string_view format, std::string_view line) {
  return format == "tsv" ? ParseTsvLine(line) : JsonLineParser(line).Parse();
}

}  // namespace manifold::tool
