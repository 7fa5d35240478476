// manifold: command-line access to a Manifold database.
//
//   manifold <db-dir> <command> [args]
//
// One function per command (Run*), each opening the database itself with the least access it
// needs. The reference, with output formats and examples, is docs/tool.md.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tools/tool.h"
#include "manifold/version.h"

namespace manifold::tool {
namespace {

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
