#include "bench/compare_result.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace manifold::bench {
namespace {

// Values are written on one line each: newlines inside them would break the format.
std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

void WriteResult(const PhaseResult& r, std::ostringstream& out) {
  out << "row " << OneLine(r.row) << "\n"
      << "unit " << OneLine(r.unit) << "\n"
      << "error " << OneLine(r.error) << "\n"
      << "notes " << OneLine(r.notes) << "\n"
      << "numbers " << r.ops << " " << r.commits << " " << r.seconds << " " << r.peak_rss_kib << " "
      << (r.engine_syncs ? 1 : 0) << " " << r.engine_syncs.value_or(0) << "\n"
      << "io " << r.io.fsync << " " << r.io.fdatasync << " " << r.io.msync << " "
      << r.io.dsync_writes << " " << r.io.sync_file_range << " " << r.io.sync_ns << " "
      << r.io.bytes_written << "\n"
      << "amp " << r.user_bytes << " " << r.device_bytes << " " << (r.rss_per_phase ? 1 : 0) << "\n"
      << "device_source " << OneLine(r.device_source) << "\n"
      << "budget " << (r.has_budget ? 1 : 0) << " " << r.budget_cache_bytes << " "
      << r.budget_write_buffer_bytes << "\n"
      << "latencies";
  for (double l : r.latencies_us) out << " " << l;
  out << "\nend\n";
}

void ParseNumbers(std::istringstream& in, PhaseResult& r) {
  int has_engine_syncs = 0;
  uint64_t engine_syncs = 0;
  in >> r.ops >> r.commits >> r.seconds >> r.peak_rss_kib >> has_engine_syncs >> engine_syncs;
  if (has_engine_syncs) r.engine_syncs = engine_syncs;
}

void ParseIo(std::istringstream& in, IoCounts& s) {
  in >> s.fsync >> s.fdatasync >> s.msync >> s.dsync_writes >> s.sync_file_range >> s.sync_ns >>
      s.bytes_written;
}

// Applies one "key value..." line to `r`.
void ParseLine(const std::string& key, const std::string& rest, PhaseResult& r) {
  std::istringstream in(rest);
  if (key == "row") r.row = rest;
  if (key == "unit") r.unit = rest;
  if (key == "error") r.error = rest;
  if (key == "notes") r.notes = rest;
  if (key == "numbers") ParseNumbers(in, r);
  if (key == "io") ParseIo(in, r.io);
  if (key == "amp") {
    int per_phase = 0;
    in >> r.user_bytes >> r.device_bytes >> per_phase;
    r.rss_per_phase = per_phase != 0;
  }
  if (key == "device_source") r.device_source = rest;
  if (key == "budget") {
    int has = 0;
    in >> has >> r.budget_cache_bytes >> r.budget_write_buffer_bytes;
    r.has_budget = has != 0;
  }
  if (key == "latencies") {
    for (double l; in >> l;) r.latencies_us.push_back(l);
  }
}

}  // namespace

std::string SerializeResults(const std::vector<PhaseResult>& results) {
  std::ostringstream out;
  out.precision(17);
  for (const PhaseResult& r : results) WriteResult(r, out);
  return out.str();
}

std::vector<PhaseResult> ParseResults(const std::string& text) {
  std::vector<PhaseResult> results;
  std::istringstream in(text);
  PhaseResult current;
  for (std::string line; std::getline(in, line);) {
    if (line == "end") {
      results.push_back(std::move(current));
      current = PhaseResult();
      continue;
    }
    const size_t space = line.find(' ');
    const std::string key = line.substr(0, space);
    ParseLine(key, space == std::string::npos ? "" : line.substr(space + 1), current);
  }
  return results;
}

double Percentile(std::vector<double> values, double pct) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(pct / 100.0 * values.size());
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(values.size()))) - 1;
  return values[index];
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace manifold::bench
