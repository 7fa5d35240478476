#include "faults/fault_model.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace manifold::faults {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(FaultModelTest, OpClassNames) {
  EXPECT_STREQ(OpClassName(OpClass::kRead), "read");
  EXPECT_STREQ(OpClassName(OpClass::kWrite), "write");
  EXPECT_STREQ(OpClassName(OpClass::kSync), "sync");
  EXPECT_STREQ(OpClassName(OpClass::kMetadata), "metadata");
  EXPECT_STREQ(OpClassName(OpClass::kDirSync), "dirsync");
}

TEST(FaultModelTest, DefaultsInjectNothing) {
  const FaultOptions options;
  EXPECT_EQ(options.crash_per_mutation, 0);
  EXPECT_EQ(options.unsynced_sector_lost, 0);
  EXPECT_EQ(options.unsynced_sector_torn, 0);
  EXPECT_EQ(options.unsynced_dir_op_lost, 0);
  EXPECT_EQ(options.sync_delay_probability, 0);
  EXPECT_EQ(options.read_bit_flip, 0);
  EXPECT_EQ(options.misdirected_write, 0);
  for (const ErrorRates& rates : options.errors) {
    EXPECT_EQ(rates.eio, 0);
    EXPECT_EQ(rates.enospc, 0);
  }
  EXPECT_EQ(options.sector_bytes, 512u);
  EXPECT_TRUE(options.sector_atomic);
  EXPECT_TRUE(ValidateFaultOptions(options).ok());
}

TEST(FaultModelTest, ProfileNames) {
  EXPECT_THAT(FaultProfileNames(), ElementsAre("none", "crash", "storage", "chaos"));
  EXPECT_EQ(kDefaultFaultProfile, "storage");
  for (const std::string& name : FaultProfileNames()) {
    StatusOr<FaultOptions> options = FaultProfile(name);
    ASSERT_TRUE(options.ok()) << name << ": " << options.status().ToString();
    EXPECT_TRUE(ValidateFaultOptions(*options).ok()) << name;
  }
}

TEST(FaultModelTest, NoneProfileIsTheDefaults) {
  StatusOr<FaultOptions> none = FaultProfile("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(Describe(*none), Describe(FaultOptions()));
}

TEST(FaultModelTest, CrashProfileOnlyCrashes) {
  StatusOr<FaultOptions> crash = FaultProfile("crash");
  ASSERT_TRUE(crash.ok());
  EXPECT_GT(crash->crash_per_mutation, 0);
  EXPECT_GT(crash->unsynced_sector_lost, 0);
  EXPECT_GT(crash->unsynced_sector_torn, 0);
  EXPECT_FALSE(crash->sector_atomic);  // Torn sectors need a non-atomic device.
  EXPECT_GT(crash->unsynced_dir_op_lost, 0);
  for (const ErrorRates& rates : crash->errors) {
    EXPECT_EQ(rates.eio, 0);
    EXPECT_EQ(rates.enospc, 0);
  }
  EXPECT_EQ(crash->read_bit_flip, 0);
  EXPECT_EQ(crash->misdirected_write, 0);
  EXPECT_EQ(crash->sync_delay_probability, 0);
  EXPECT_EQ(crash->unsynced_sector_garbled, 0);  // Media damage belongs to storage and chaos.
  EXPECT_EQ(crash->recycled_segment_truncated, 0);
}

TEST(FaultModelTest, StorageProfileAddsErrorsDelaysAndFlips) {
  StatusOr<FaultOptions> storage = FaultProfile("storage");
  ASSERT_TRUE(storage.ok());
  EXPECT_GT(storage->crash_per_mutation, 0);
  for (const ErrorRates& rates : storage->errors) EXPECT_GT(rates.eio, 0);
  EXPECT_GT(storage->error_rates(OpClass::kWrite).enospc, 0);
  EXPECT_GT(storage->sync_delay_probability, 0);
  EXPECT_GT(storage->sync_delay_us_max, 0u);
  EXPECT_GT(storage->read_bit_flip, 0);
  EXPECT_EQ(storage->misdirected_write, 0);
  EXPECT_EQ(storage->misdirected_onto_synced_write, 0);
  EXPECT_GT(storage->unsynced_sector_garbled, 0);
  EXPECT_GT(storage->recycled_segment_truncated, 0);
}

TEST(FaultModelTest, ChaosProfileHasEverythingAtHigherRates) {
  StatusOr<FaultOptions> storage = FaultProfile("storage");
  StatusOr<FaultOptions> chaos = FaultProfile("chaos");
  ASSERT_TRUE(storage.ok());
  ASSERT_TRUE(chaos.ok());
  EXPECT_GT(chaos->misdirected_write, 0);
  EXPECT_GT(chaos->misdirected_onto_synced_write, 0);
  EXPECT_GE(chaos->crash_per_mutation, storage->crash_per_mutation);
  EXPECT_GE(chaos->read_bit_flip, storage->read_bit_flip);
  for (size_t i = 0; i < kOpClassCount; ++i) {
    EXPECT_GE(chaos->errors[i].eio, storage->errors[i].eio) << i;
    EXPECT_GE(chaos->errors[i].enospc, storage->errors[i].enospc) << i;
  }
}

TEST(FaultModelTest, UnknownProfileListsValidNames) {
  StatusOr<FaultOptions> bogus = FaultProfile("bogus");
  ASSERT_FALSE(bogus.ok());
  EXPECT_TRUE(bogus.status().IsInvalidArgument());
  EXPECT_THAT(bogus.status().message(), HasSubstr("'bogus'"));
  EXPECT_THAT(bogus.status().message(), HasSubstr("none, crash, storage, chaos"));
  EXPECT_FALSE(FaultProfile("").ok());
  EXPECT_FALSE(FaultProfile("Crash").ok());  // Names are case-sensitive.
}

TEST(FaultModelTest, DescribeHasOneLinePerField) {
  StatusOr<FaultOptions> chaos = FaultProfile("chaos");
  ASSERT_TRUE(chaos.ok());
  const std::string text = Describe(*chaos);
  // 13 rate/latency fields, 2 rates per class, sector_bytes and sector_atomic.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 13 + 2 * 5 + 2);
  EXPECT_THAT(text, HasSubstr("misdirected_onto_synced_write = 0.002\n"));
  EXPECT_THAT(text, HasSubstr("unsynced_sector_garbled = 0.2\n"));
  EXPECT_THAT(text, HasSubstr("recycled_segment_truncated = 0.5\n"));
  EXPECT_THAT(text, HasSubstr("segment_lost = 0.01\n"));
  EXPECT_THAT(text, HasSubstr("segment_truncated = 0.01\n"));
  EXPECT_THAT(text, HasSubstr("crash_per_mutation = 0.05\n"));
  EXPECT_THAT(text, HasSubstr("errors.sync.eio = 0.02\n"));
  EXPECT_THAT(text, HasSubstr("errors.dirsync.enospc = 0\n"));
  EXPECT_THAT(text, HasSubstr("sector_bytes = 512\n"));
  EXPECT_THAT(text, HasSubstr("sector_atomic = false\n"));
  EXPECT_THAT(text, HasSubstr("sync_delay_us_max = 1000000\n"));
}

TEST(FaultModelTest, ValidateRejectsBadValues) {
  FaultOptions options;
  options.crash_per_mutation = 1.5;
  Status status = ValidateFaultOptions(options);
  EXPECT_TRUE(status.IsInvalidArgument());
  EXPECT_THAT(status.message(), HasSubstr("crash_per_mutation"));

  options = FaultOptions();
  options.segment_truncated = 2;
  EXPECT_THAT(ValidateFaultOptions(options).message(), HasSubstr("segment_truncated"));

  options = FaultOptions();
  options.error_rates(OpClass::kMetadata).enospc = -0.1;
  status = ValidateFaultOptions(options);
  EXPECT_THAT(status.message(), HasSubstr("errors.metadata.enospc"));

  options = FaultOptions();
  options.read_bit_flip = std::nan("");
  EXPECT_THAT(ValidateFaultOptions(options).message(), HasSubstr("read_bit_flip"));

  options = FaultOptions();
  options.unsynced_sector_lost = 0.6;
  options.unsynced_sector_torn = 0.6;
  EXPECT_THAT(ValidateFaultOptions(options).message(), HasSubstr("exceed 1"));

  options = FaultOptions();
  options.unsynced_sector_lost = 0.5;
  options.unsynced_sector_torn = 0.3;
  options.unsynced_sector_garbled = 0.3;  // The three fates together exceed 1.
  EXPECT_THAT(ValidateFaultOptions(options).message(), HasSubstr("unsynced_sector_garbled"));
  options.unsynced_sector_garbled = 0.2;
  EXPECT_TRUE(ValidateFaultOptions(options).ok());

  options = FaultOptions();
  options.recycled_segment_truncated = -1;
  EXPECT_THAT(ValidateFaultOptions(options).message(), HasSubstr("recycled_segment_truncated"));

  options = FaultOptions();
  options.sector_bytes = 500;
  EXPECT_THAT(ValidateFaultOptions(options).message(), HasSubstr("power of two"));
  options.sector_bytes = 0;
  EXPECT_FALSE(ValidateFaultOptions(options).ok());
  options.sector_bytes = 4096;
  EXPECT_TRUE(ValidateFaultOptions(options).ok());
}

}  // namespace
}  // namespace manifold::faults
