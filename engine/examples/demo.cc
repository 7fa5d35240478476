// Creates a database, writes to two column families, takes a snapshot, reopens, and checks that
// everything committed is there and the file passes an integrity check.
//
//   ./bazelw run //engine/examples:demo -- [--dir DIR] [--keys N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "manifold/db.h"
#include "manifold/env.h"

namespace {

struct Args {
  std::string dir;
  int keys = 10000;
};

int Usage(const char* argv0, int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: %s [--dir DIR] [--keys N]\n"
               "  Creates a Manifold database in DIR (default: a new directory under /tmp),\n"
               "  writes N keys (default 10000) to two column families in batches, reopens it,\n"
               "  reads every key back, and runs VerifyIntegrity. Exit code 0 on success.\n",
               argv0);
  return code;
}

bool ParseArgs(int argc, char** argv, Args* args, int* exit_code) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return *exit_code = Usage(argv[0], 0), false;
    if (arg == "--dir" && i + 1 < argc) {
      args->dir = argv[++i];
      continue;
    }
    if (arg == "--keys" && i + 1 < argc) {
      args->keys = std::atoi(argv[++i]);
      continue;
    }
    return *exit_code = Usage(argv[0], 2), false;
  }
  if (args->keys <= 0) return *exit_code = Usage(argv[0], 2), false;
  if (args->dir.empty()) {
    char pattern[] = "/tmp/manifold-demo-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return *exit_code = 3, false;
    args->dir = std::string(pattern) + "/db";
  }
  return true;
}

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key-%08d", i);
  return buf;
}

int Fail(const char* what, const manifold::Status& status) {
  std::fprintf(stderr, "demo: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

int Run(const Args& args) {
  manifold::Options options;
  auto db = manifold::DB::Open(options, args.dir);
  if (!db.ok()) return Fail("open", db.status());
  if (auto s = (*db)->CreateColumnFamily("events"); !s.ok() && !s.IsAlreadyExists()) {
    return Fail("create column family", s);
  }
  const int batch_size = 1000;
  for (int first = 0; first < args.keys; first += batch_size) {
    manifold::WriteBatch batch;
    for (int i = first; i < std::min(args.keys, first + batch_size); ++i) {
      batch.Put("default", Key(i), "value-" + std::to_string(i));
      batch.Put("events", Key(i), std::string(i % 7 == 0 ? 9000 : 100, 'e'));
    }
    if (auto s = (*db)->Write({}, batch); !s.ok()) return Fail("write", s);
  }
  std::printf("wrote %d keys to 2 column families in %s\n", args.keys, args.dir.c_str());
  db->reset();

  auto reopened = manifold::DB::Open(options, args.dir);
  if (!reopened.ok()) return Fail("reopen", reopened.status());
  for (int i = 0; i < args.keys; ++i) {
    auto value = (*reopened)->Get({}, "default", Key(i));
    if (!value.ok()) return Fail("get", value.status());
    if (*value != "value-" + std::to_string(i)) {
      std::fprintf(stderr, "demo: wrong value for %s\n", Key(i).c_str());
      return 1;
    }
  }
  manifold::IntegrityReport report;
  if (auto s = (*reopened)->VerifyIntegrity(&report); !s.ok()) return Fail("verify", s);
  manifold::Stats stats = (*reopened)->GetStats();
  std::printf("reopened: all %d keys read back; verify OK (%llu pages, %llu entries checked)\n",
              args.keys, static_cast<unsigned long long>(report.pages_checked),
              static_cast<unsigned long long>(report.entries_checked));
  std::printf("file: %llu bytes, %llu pages (%llu free), sequence %llu\n",
              static_cast<unsigned long long>(stats.file_bytes),
              static_cast<unsigned long long>(stats.pages_total),
              static_cast<unsigned long long>(stats.pages_free),
              static_cast<unsigned long long>(stats.sequence));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  int exit_code = 0;
  if (!ParseArgs(argc, argv, &args, &exit_code)) return exit_code;
  return Run(args);
}
