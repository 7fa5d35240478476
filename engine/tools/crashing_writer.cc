// Test helper for //engine/tools:manifold_tool_test: creates a database in DIR, commits COUNT
// durable puts ("k000" = "v000", ...), prints "log_bytes N" (what the log holds) and exits
// without closing, as a crash would: no final checkpoint, so recovery must replay the log.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "manifold/db.h"
#include "manifold/options.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crashing_writer DIR COUNT\n");
    return 2;
  }
  const int count = std::atoi(argv[2]);
  if (count <= 0 || count > 999) {
    std::fprintf(stderr, "crashing_writer: COUNT must be 1..999\n");
    return 2;
  }
  manifold::Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  auto db = manifold::DB::Open(options, argv[1]);
  if (!db.ok()) {
    std::fprintf(stderr, "crashing_writer: %s\n", db.status().ToString().c_str());
    return 1;
  }
  manifold::WriteOptions write;
  write.sync = true;
  for (int i = 0; i < count; ++i) {
    char key[16], value[16];  // Room for any int: -c opt checks snprintf truncation.
    std::snprintf(key, sizeof(key), "k%03d", i);
    std::snprintf(value, sizeof(value), "v%03d", i);
    manifold::Status status = (*db)->Put(write, manifold::kDefaultColumnFamily, key, value);
    if (!status.ok()) {
      std::fprintf(stderr, "crashing_writer: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  std::printf("log_bytes %llu\n", static_cast<unsigned long long>((*db)->GetStats().log_bytes));
  std::fflush(stdout);
  // No close: the process ends as if the power went after the last sync.
  std::_Exit(0);
}
