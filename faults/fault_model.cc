#include "faults/fault_model.h"

#include <cassert>
#include <cstdio>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/status.h"

namespace manifold::faults {
namespace {

constexpr OpClass kAllClasses[] = {OpClass::kRead, OpClass::kWrite, OpClass::kSync,
                                   OpClass::kMetadata, OpClass::kDirSync};
static_assert(std::size(kAllClasses) == kOpClassCount, "kAllClasses must list every OpClass");

// Shortest round-trippable-enough form ("0.02", "1e-05") so Describe stays readable and stable.
std::string FormatDouble(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", value);
  return buf;
}

FaultOptions CrashProfile() {
  FaultOptions options;
  options.crash_per_mutation = 0.02;
  options.unsynced_sector_lost = 0.5;
  options.unsynced_sector_torn = 0.2;
  options.sector_atomic = false;  // Otherwise the torn rate would have no effect.
  options.unsynced_dir_op_lost = 0.5;
  return options;
}

FaultOptions StorageProfile() {
  FaultOptions options = CrashProfile();
  options.error_rates(OpClass::kRead) = {.eio = 0.001, .enospc = 0};
  options.error_rates(OpClass::kWrite) = {.eio = 0.002, .enospc = 0.002};
  options.error_rates(OpClass::kSync) = {.eio = 0.005, .enospc = 0.001};
  options.error_rates(OpClass::kMetadata) = {.eio = 0.001, .enospc = 0.001};
  options.error_rates(OpClass::kDirSync) = {.eio = 0.002, .enospc = 0};
  options.sync_delay_probability = 0.05;
  options.sync_delay_us_max = 50'000;  // A slow but plausible fsync on a busy disk.
  options.read_bit_flip = 0.001;
  // Rare, since a detected loss ends the run: about one run in five meets one.
  options.segment_lost = 0.005;
  options.segment_truncated = 0.005;
  // Both harmless to a correct engine (garbling hits only never-synced bytes, the pool holds only
  // checkpointed records), so they need not be rare.
  options.unsynced_sector_garbled = 0.2;
  options.recycled_segment_truncated = 0.25;
  return options;
}

FaultOptions ChaosProfile() {
  FaultOptions options;
  options.crash_per_mutation = 0.05;
  options.unsynced_sector_lost = 0.5;
  options.unsynced_sector_torn = 0.3;
  options.sector_atomic = false;
  options.unsynced_dir_op_lost = 0.7;
  options.error_rates(OpClass::kRead) = {.eio = 0.01, .enospc = 0};
  options.error_rates(OpClass::kWrite) = {.eio = 0.01, .enospc = 0.01};
  options.error_rates(OpClass::kSync) = {.eio = 0.02, .enospc = 0.005};
  options.error_rates(OpClass::kMetadata) = {.eio = 0.01, .enospc = 0.005};
  options.error_rates(OpClass::kDirSync) = {.eio = 0.01, .enospc = 0};
  options.sync_delay_probability = 0.2;
  options.sync_delay_us_max = 1'000'000;
  options.read_bit_flip = 0.01;
  options.misdirected_write =
      0.0005;  // Permanent damage: keep it rare enough that most runs go on.
  options.misdirected_onto_synced_write = 0.002;  // Likewise; it needs a synced write to aim at.
  options.segment_lost = 0.01;
  options.segment_truncated = 0.01;
  options.unsynced_sector_garbled = 0.2;
  options.recycled_segment_truncated = 0.5;
  return options;
}

Status CheckProbability(std::string_view field, double value) {
  // Written as !(in range) so that NaN is rejected too.
  if (!(value >= 0 && value <= 1)) {
    return Status::InvalidArgument("fault option " + std::string(field) + " = " +
                                   FormatDouble(value) + " is not a probability in [0, 1]");
  }
  return Status::OK();
}

}  // namespace

const char* OpClassName(OpClass op_class) {
  switch (op_class) {
    case OpClass::kRead:
      return "read";
    case OpClass::kWrite:
      return "write";
    case OpClass::kSync:
      return "sync";
    case OpClass::kMetadata:
      return "metadata";
    case OpClass::kDirSync:
      return "dirsync";
  }
  assert(false && "OpClassName: unknown OpClass");
  return "unknown";
}

std::vector<std::string> FaultProfileNames() { return {"none", "crash", "storage", "chaos"}; }

StatusOr<FaultOptions> FaultProfile(std::string_view name) {
  FaultOptions options;
  if (name == "none") {
    options = FaultOptions();
  } else if (name == "crash") {
    options = CrashProfile();
  } else if (name == "storage") {
    options = StorageProfile();
  } else if (name == "chaos") {
    options = ChaosProfile();
  } else {
    std::string valid;
    for (const std::string& known : FaultProfileNames()) {
      if (!valid.empty()) valid += ", ";
      valid += known;
    }
    return Status::InvalidArgument("unknown fault profile '" + std::string(name) +
                                   "'; valid profiles: " + valid);
  }
  assert(ValidateFaultOptions(options).ok());
  return options;
}

Status ValidateFaultOptions(const FaultOptions& options) {
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("crash_per_mutation", options.crash_per_mutation));
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("unsynced_sector_lost", options.unsynced_sector_lost));
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("unsynced_sector_torn", options.unsynced_sector_torn));
  MANIFOLD_RETURN_IF_ERROR(
      CheckProbability("unsynced_sector_garbled", options.unsynced_sector_garbled));
  const double fates =
      options.unsynced_sector_lost + options.unsynced_sector_torn + options.unsynced_sector_garbled;
  if (fates > 1) {
    return Status::InvalidArgument(
        "fault options unsynced_sector_lost + unsynced_sector_torn + unsynced_sector_garbled = " +
        FormatDouble(fates) + " exceed 1");
  }
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("unsynced_dir_op_lost", options.unsynced_dir_op_lost));
  MANIFOLD_RETURN_IF_ERROR(
      CheckProbability("sync_delay_probability", options.sync_delay_probability));
  for (OpClass op_class : kAllClasses) {
    const std::string prefix = std::string("errors.") + OpClassName(op_class) + ".";
    const ErrorRates& rates = options.error_rates(op_class);
    MANIFOLD_RETURN_IF_ERROR(CheckProbability(prefix + "eio", rates.eio));
    MANIFOLD_RETURN_IF_ERROR(CheckProbability(prefix + "enospc", rates.enospc));
  }
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("read_bit_flip", options.read_bit_flip));
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("misdirected_write", options.misdirected_write));
  MANIFOLD_RETURN_IF_ERROR(
      CheckProbability("misdirected_onto_synced_write", options.misdirected_onto_synced_write));
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("segment_lost", options.segment_lost));
  MANIFOLD_RETURN_IF_ERROR(CheckProbability("segment_truncated", options.segment_truncated));
  MANIFOLD_RETURN_IF_ERROR(
      CheckProbability("recycled_segment_truncated", options.recycled_segment_truncated));
  const uint32_t sector = options.sector_bytes;
  if (sector == 0 || (sector & (sector - 1)) != 0) {
    return Status::InvalidArgument("fault option sector_bytes = " + std::to_string(sector) +
                                   " is not a power of two");
  }
  return Status::OK();
}

std::string Describe(const FaultOptions& options) {
  std::string out;
  auto line = [&out](std::string_view field, const std::string& value) {
    out += field;
    out += " = ";
    out += value;
    out += '\n';
  };
  line("crash_per_mutation", FormatDouble(options.crash_per_mutation));
  line("unsynced_sector_lost", FormatDouble(options.unsynced_sector_lost));
  line("unsynced_sector_torn", FormatDouble(options.unsynced_sector_torn));
  line("unsynced_sector_garbled", FormatDouble(options.unsynced_sector_garbled));
  line("unsynced_dir_op_lost", FormatDouble(options.unsynced_dir_op_lost));
  line("sync_delay_probability", FormatDouble(options.sync_delay_probability));
  line("sync_delay_us_max", std::to_string(options.sync_delay_us_max));
  for (OpClass op_class : kAllClasses) {
    const std::string prefix = std::string("errors.") + OpClassName(op_class) + ".";
    line(prefix + "eio", FormatDouble(options.error_rates(op_class).eio));
    line(prefix + "enospc", FormatDouble(options.error_rates(op_class).enospc));
  }
  line("read_bit_flip", FormatDouble(options.read_bit_flip));
  line("misdirected_write", FormatDouble(options.misdirected_write));
  line("misdirected_onto_synced_write", FormatDouble(options.misdirected_onto_synced_write));
  line("segment_lost", FormatDouble(options.segment_lost));
  line("segment_truncated", FormatDouble(options.segment_truncated));
  line("recycled_segment_truncated", FormatDouble(options.recycled_segment_truncated));
  line("sector_bytes", std::to_string(options.sector_bytes));
  line("sector_atomic", options.sector_atomic ? "true" : "false");
  return out;
}

}  // namespace manifold::faults
