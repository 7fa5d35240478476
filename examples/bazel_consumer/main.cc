// A Bazel consumer of Manifold (@manifold//engine:manifold): opens a database in the directory
// given as argv[1], puts a key, reads it back, closes. Exit status 0 only if the value round-trips.
#include <cstdio>
#include <memory>
#include <string>

#include "manifold/db.h"
#include "manifold/version.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DB_DIR\n", argv[0]);
    return 2;
  }
  manifold::Options options;
  auto db = manifold::DB::Open(options, std::string(argv[1]) + "/db");
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n", db.status().ToString().c_str());
    return 1;
  }
  if (manifold::Status s = (*db)->Put({}, "default", "user:1", "alice"); !s.ok()) {
    std::fprintf(stderr, "put: %s\n", s.ToString().c_str());
    return 1;
  }
  auto value = (*db)->Get({}, "default", "user:1");
  if (!value.ok() || *value != "alice") {
    std::fprintf(
        stderr, "get: %s\n",
        value.ok() ? ("wrong value " + *value).c_str() : value.status().ToString().c_str());
    return 1;
  }
  if (manifold::Status s = (*db)->Close(); !s.ok()) {
    std::fprintf(stderr, "close: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("manifold %s: user:1 = %s\n", MANIFOLD_VERSION, value->c_str());
  return 0;
}
