// Commands on keys, scans and column families, plus verify and dump.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "engine/tools/tool.h"

namespace manifold::tool {
namespace {

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

}  // namespace

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

}  // namespace manifold::tool
