#include "sim/sim_fs_test_util.h"

#include <utility>

namespace manifold::sim {

std::unique_ptr<File> MustOpen(FileSystem* fs, const std::string& path, OpenFileOptions options) {
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile(path, options);
  EXPECT_TRUE(file.ok()) << path << ": " << file.status().ToString();
  return file.ok() ? std::move(file).value() : nullptr;
}

std::string Contents(const File& file) {
  StatusOr<uint64_t> size = file.Size();
  EXPECT_TRUE(size.ok()) << size.status().ToString();
  if (!size.ok()) return "<error>";
  std::string buf(*size, '\0');
  StatusOr<size_t> n = file.Read(0, buf.size(), buf.data());
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return "<error>";
  buf.resize(*n);
  return buf;
}

std::optional<std::string> ContentsOf(FileSystem* fs, const std::string& path) {
  StatusOr<std::unique_ptr<File>> file = fs->OpenFile(path, {});
  if (file.status().IsNotFound()) return std::nullopt;
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return file.ok() ? Contents(**file) : "<error>";
}

std::string Pattern(char seed, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 7 + i / 13);
  return s;
}

FaultOptions CrashOnly(double lost, double torn, bool atomic, double dir_lost) {
  FaultOptions options;
  options.unsynced_sector_lost = lost;
  options.unsynced_sector_torn = torn;
  options.sector_atomic = atomic;
  options.unsynced_dir_op_lost = dir_lost;
  return options;
}

std::unique_ptr<SimFileSystem> SimFsTest::MakeFs(uint64_t seed, const FaultOptions& options) {
  auto fs = std::make_unique<SimFileSystem>(seed, options, &clock_);
  fs->set_random_crashes(false);  // The setup itself must not be cut.
  EXPECT_TRUE(fs->CreateDir("/db").ok());
  EXPECT_TRUE(fs->SyncDir("/").ok());
  fs->set_random_crashes(true);
  return fs;
}

}  // namespace manifold::sim
