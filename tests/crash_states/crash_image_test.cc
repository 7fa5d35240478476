// The recorder's shadow and the images built from it agree with MemFileSystem: the image that
// keeps nothing is what DropUnsyncedData leaves, the one that keeps everything is the live state;
// subsets, tears and directory operations build what crash_image.h says.
#include "tests/crash_states/crash_image.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/crash_states/recording_fs.h"

namespace manifold::crash_states {
namespace {

// Everything `fs` holds under "/d", as an Image.
Image Snapshot(FileSystem* fs) {
  Image image;
  image["/d"] = std::nullopt;
  auto names = fs->ListDir("/d");
  EXPECT_TRUE(names.ok());
  for (const std::string& name : *names) {
    auto file = fs->OpenFile("/d/" + name, {});
    EXPECT_TRUE(file.ok());
    std::string bytes(1 << 16, '\0');
    auto n = (*file)->Read(0, bytes.size(), bytes.data());
    EXPECT_TRUE(n.ok());
    bytes.resize(*n);
    image["/d/" + name] = bytes;
  }
  return image;
}

struct Fixture {
  std::unique_ptr<MemFileSystem> mem = NewMemFileSystem();
  RecordingFileSystem fs{mem.get()};
  std::vector<Shadow> barriers;
  Fixture() {
    fs.set_barrier_callback(
        [this](const Shadow& shadow, const std::string&) { barriers.push_back(shadow); });
  }
};

std::unique_ptr<File> Create(FileSystem* fs, const std::string& path) {
  OpenFileOptions options;
  options.create = true;
  auto file = fs->OpenFile(path, options);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  return std::move(file).value();
}

TEST(CrashImage, NothingKeptIsTheDurableStateAndEverythingKeptIsTheLiveOne) {
  Fixture f;
  ASSERT_TRUE(f.fs.CreateDir("/d").ok());
  ASSERT_TRUE(f.fs.SyncDir("/").ok());
  auto a = Create(&f.fs, "/d/a");
  ASSERT_TRUE(a->Write(0, std::string(1000, 'x')).ok());
  ASSERT_TRUE(a->Sync().ok());
  ASSERT_TRUE(f.fs.SyncDir("/d").ok());
  ASSERT_TRUE(a->Write(100, std::string(700, 'y')).ok());
  ASSERT_TRUE(a->Append("tail").ok());
  ASSERT_TRUE(a->Preallocate(0, 4096).ok());
  auto b = Create(&f.fs, "/d/b");
  ASSERT_TRUE(b->Write(0, "bee").ok());
  ASSERT_TRUE(f.fs.Rename("/d/b", "/d/c").ok());
  ASSERT_TRUE(f.fs.Remove("/d/a").ok());

  const Shadow& shadow = f.fs.shadow();
  const std::vector<Unit> units = PendingUnits(shadow);
  ASSERT_EQ(units.size(), 7u);  // 2 writes and a growth of a, create, write, rename, remove.
  const Image live = Snapshot(&f.fs);
  EXPECT_EQ(BuildImage(shadow, units, Selection{std::vector<bool>(7, true), {}}), live);

  f.fs.DropUnsyncedData();
  const Image durable = Snapshot(f.mem.get());
  EXPECT_EQ(BuildImage(shadow, units, Selection{std::vector<bool>(7, false), {}}), durable);
  EXPECT_EQ(durable.at("/d/a"), std::string(1000, 'x'));
  EXPECT_EQ(durable.size(), 2u);
}

TEST(CrashImage, SubsetsTearsAndDirectoryOperations) {
  Fixture f;
  ASSERT_TRUE(f.fs.CreateDir("/d").ok());
  auto a = Create(&f.fs, "/d/a");
  ASSERT_TRUE(a->Write(0, std::string(1024, 'o')).ok());
  ASSERT_TRUE(a->Sync().ok());
  ASSERT_TRUE(a->Write(0, std::string(1024, 'n')).ok());  // Unit 2 (after mkdir and create).
  ASSERT_TRUE(f.fs.Rename("/d/a", "/d/z").ok());
  const Shadow& shadow = f.fs.shadow();
  const std::vector<Unit> units = PendingUnits(shadow);
  ASSERT_EQ(units.size(), 4u);  // mkdir /d, create /d/a, write, rename.
  // The write's tears: 64 and 256 bytes inside its first sector, 512 before its last sector.
  EXPECT_EQ(units[2].tears, (std::vector<uint64_t>{64, 256, 512}));

  // The directory kept, the file's creation lost: the rename has no source, nothing survives.
  Image image = BuildImage(shadow, units, Selection{{true, false, true, true}, {}});
  EXPECT_EQ(image.size(), 1u);
  // Everything but the rename, the write torn after 256 bytes.
  image = BuildImage(shadow, units, Selection{{true, true, true, false}, {{2, 256}}});
  ASSERT_EQ(image.size(), 2u);
  EXPECT_EQ(*image.at("/d/a"), std::string(256, 'n') + std::string(768, 'o'));
  // The directory lost: its entries go with it.
  image = BuildImage(shadow, units, Selection{{false, true, true, true}, {}});
  EXPECT_TRUE(image.empty());
  // Fine tears add every 8 bytes of the first sector: 8 .. 504, and 512.
  EXPECT_EQ(TearPrefixes(0, 1024, true).size(), 64u);
  EXPECT_EQ(TearPrefixes(500, 20, false), (std::vector<uint64_t>{1, 6, 12}));
}

TEST(CrashImage, MaterializeWritesTheImage) {
  Image image = {{"/d", std::nullopt}, {"/d/f", std::string("abc")}, {"/d/g", std::string()}};
  std::unique_ptr<MemFileSystem> mem = NewMemFileSystem();
  ASSERT_TRUE(Materialize(image, mem.get()).ok());
  EXPECT_EQ(Snapshot(mem.get()), image);
  EXPECT_NE(ImageHash(image), ImageHash({{"/d", std::nullopt}}));
}

}  // namespace
}  // namespace manifold::crash_states
