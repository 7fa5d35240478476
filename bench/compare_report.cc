#include "bench/compare_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace manifold::bench {
namespace {

// --- Summaries of a cell's runs ---------------------------------------------------------------

void AddIo(IoCounts& total, const IoCounts& s) {
  total.bytes_written += s.bytes_written;
  total.fsync += s.fsync;
  total.fdatasync += s.fdatasync;
  total.msync += s.msync;
  total.dsync_writes += s.dsync_writes;
  total.sync_file_range += s.sync_file_range;
  total.sync_ns += s.sync_ns;
}

}  // namespace

Summary Summarize(const std::vector<PhaseResult>& runs) {
  Summary s;
  std::vector<double> rates, written, device, amps, calls_amps;
  s.engine_syncs = 0;
  for (const PhaseResult& r : runs) {
    if (!r.error.empty() && s.error.empty()) s.error = r.error;
    s.unit = r.unit;
    rates.push_back(r.OpsPerSecond());
    written.push_back(r.io.bytes_written / 1048576.0);
    device.push_back(r.device_bytes / 1048576.0);
    if (r.user_bytes > 0) {
      amps.push_back(r.WriteAmplification());
      calls_amps.push_back(static_cast<double>(r.io.bytes_written) / r.user_bytes);
    }
    if (!r.device_source.empty()) s.device_source = r.device_source;
    s.rss_per_phase = s.rss_per_phase && r.rss_per_phase;
    s.latencies_us.insert(s.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
    s.commits += r.commits;
    AddIo(s.io, r.io);
    s.engine_syncs = (s.engine_syncs && r.engine_syncs) ? *s.engine_syncs + *r.engine_syncs
                                                        : std::optional<uint64_t>();
    s.peak_rss_mib = std::max(s.peak_rss_mib, r.peak_rss_kib / 1024.0);
    if (r.has_budget) {
      s.has_bound = true;
      s.rss_bound_mib = std::max(s.rss_bound_mib, r.RssBoundBytes() / 1048576.0);
    }
  }
  s.median = Median(rates);
  s.min = rates.empty() ? 0 : *std::min_element(rates.begin(), rates.end());
  s.max = rates.empty() ? 0 : *std::max_element(rates.begin(), rates.end());
  s.write_mib = Median(written);
  s.device_mib = Median(device);
  s.wrote_user_data = !amps.empty();
  s.write_amp = Median(amps);
  s.calls_write_amp = Median(calls_amps);
  // The notes of the run closest to the median (sizes, sync histograms).
  size_t closest = 0;
  for (size_t i = 1; i < runs.size(); ++i) {
    if (std::abs(rates[i] - s.median) < std::abs(rates[closest] - s.median)) closest = i;
  }
  if (!runs.empty()) s.notes = runs[closest].notes;
  return s;
}

bool Summary::WithinBound() const { return has_bound && peak_rss_mib <= rss_bound_mib; }

namespace {

// --- Number formatting --------------------------------------------------------------------------

}  // namespace

// Three significant digits with a k/M/G suffix: 123, 12.3k, 1.23M.
std::string Rate(double v) {
  if (v >= 999.5e6) return fmt::format("{:.3g}G", v / 1e9);
  if (v >= 999.5e3) return fmt::format("{:.3g}M", v / 1e6);
  if (v >= 999.5) return fmt::format("{:.3g}k", v / 1e3);
  return fmt::format("{:.3g}", v);
}

namespace {

std::string Latency(double us) {
  if (us >= 999.5e3) return fmt::format("{:.3g}s", us / 1e6);
  if (us >= 999.5) return fmt::format("{:.3g}ms", us / 1e3);
  return fmt::format("{:.3g}us", us);
}

std::string PerCommit(uint64_t count, uint64_t commits) {
  return commits == 0 ? "-" : fmt::format("{:.2f}", static_cast<double>(count) / commits);
}

// Breakdown of the file-system syncs per commit, e.g. "fdatasync 2.00, O_DSYNC write 1.00".
std::string SyncBreakdown(const Summary& s) {
  if (s.commits == 0) return "";
  std::vector<std::string> parts;
  auto add = [&](const char* name, uint64_t n) {
    if (n > 0) parts.push_back(fmt::format("{} {}", name, PerCommit(n, s.commits)));
  };
  add("fsync", s.io.fsync);
  add("fdatasync", s.io.fdatasync);
  add("msync", s.io.msync);
  add("O_DSYNC write", s.io.dsync_writes);
  add("sync_file_range", s.io.sync_file_range);
  if (parts.empty()) return "";
  std::string out = "fs per commit: " + parts[0];
  for (size_t i = 1; i < parts.size(); ++i) out += ", " + parts[i];
  if (s.io.Durable() > 0) {
    out += fmt::format(" ({} in sync calls per commit)",
                       Latency(s.io.sync_ns / 1e3 / static_cast<double>(s.commits)));
  }
  return out;
}

// "yes", or "**no (+N)**" with N the MiB over the bound (bold, so a row over it stands out);
// "-" without a bound.
std::string BoundVerdict(const Summary& s) {
  if (!s.has_bound) return "-";
  if (s.WithinBound()) return "yes";
  return fmt::format("**no (+{:.0f})**", s.peak_rss_mib - s.rss_bound_mib);
}

std::string JoinNotes(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "; " + b;
}

std::vector<std::string> TableRow(const std::string& row, const std::string& engine,
                                  const Summary& s, const Summary* base) {
  if (!s.error.empty()) return {row, engine, "error: " + s.error};
  const bool has_latency = !s.latencies_us.empty();
  auto pct = [&](double p) { return has_latency ? Latency(Percentile(s.latencies_us, p)) : "-"; };
  // The fallback source is named in the cell, so a number is never read as the other kind.
  const std::string wchar = s.device_source == "wchar" ? " (wchar)" : "";
  std::string ratio = "-";
  if (base != nullptr && base->error.empty() && base->median > 0) {
    ratio = fmt::format("{:.2f}x", s.median / base->median);
  }
  return {row,
          engine,
          Rate(s.median),
          Rate(s.min) + " - " + Rate(s.max),
          s.unit,
          ratio,
          pct(50),
          pct(95),
          pct(99),
          pct(100),
          PerCommit(s.io.Durable(), s.commits),
          s.engine_syncs ? PerCommit(*s.engine_syncs, s.commits) : "n/a",
          fmt::format("{:.1f}", s.write_mib),
          fmt::format("{:.1f}{}", s.device_mib, wchar),
          s.wrote_user_data ? fmt::format("{:.2f}{}", s.write_amp, wchar) : "-",
          s.wrote_user_data ? fmt::format("{:.2f}", s.calls_write_amp) : "-",
          fmt::format("{:.0f}{}", s.peak_rss_mib, s.rss_per_phase ? "" : " (job)"),
          s.has_bound ? fmt::format("{:.0f}", s.rss_bound_mib) : "-",
          BoundVerdict(s),
          JoinNotes(s.notes, SyncBreakdown(s))};
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// --- SVG chart ----------------------------------------------------------------------------------

// Layout of the chart, in pixels. Ratios use a log scale from 1/100 to 100.
constexpr int kPlotLeft = 150;
constexpr int kPlotWidth = 620;
constexpr int kWidth = 960;
constexpr int kBarHeight = 13;
constexpr int kBarGap = 3;
constexpr int kGroupGap = 8;
constexpr int kHeading = 18;  // The workload's name above its bars.
constexpr int kTop = 120;
constexpr double kLogMin = -2, kLogMax = 2;

double RatioX(double ratio) {
  const double l = std::clamp(std::log10(ratio), kLogMin, kLogMax);
  return kPlotLeft + (l - kLogMin) / (kLogMax - kLogMin) * kPlotWidth;
}

const char* Color(size_t engine_index) {
  static const char* kColors[] = {"#2ca02c", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b",
                                  "#17becf", "#bcbd22", "#e377c2", "#7f7f7f", "#d62728"};
  return kColors[engine_index % (sizeof(kColors) / sizeof(kColors[0]))];
}

std::string SvgText(double x, double y, const std::string& text, const std::string& attrs = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" {}>{}</text>\n", x, y, attrs, Escape(text));
}

std::string SvgAxes(int bottom) {
  std::string out;
  for (int e = static_cast<int>(kLogMin); e <= static_cast<int>(kLogMax); ++e) {
    const double x = RatioX(std::pow(10.0, e));
    const char* stroke = e == 0 ? "#000" : "#ccc";
    out += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"{}\"/>\n", x,
                       kTop - 8, x, bottom, stroke);
    const std::string label = e >= 0 ? fmt::format("{:g}x", std::pow(10.0, e))
                                     : fmt::format("1/{:g}", std::pow(10.0, -e));
    out += SvgText(x, kTop - 12, label, "text-anchor=\"middle\"");
  }
  return out;
}

std::string SvgLegend(const std::vector<std::string>& engines, const std::string& baseline) {
  std::string out;
  double x = 10;
  for (size_t i = 0; i < engines.size(); ++i) {
    if (engines[i] == baseline) continue;
    out += fmt::format("<rect x=\"{:.0f}\" y=\"80\" width=\"12\" height=\"12\" fill=\"{}\"/>\n", x,
                       Color(i));
    out += SvgText(x + 16, 90, engines[i]);
    x += 30 + 7.5 * engines[i].size();
  }
  return out;
}

// One bar from the 1x line to the engine's ratio, labelled with the engine and the ratio.
std::string SvgBar(double y, size_t engine_index, const std::string& engine, const Summary& s,
                   const Summary& base) {
  const double one = RatioX(1);
  if (!s.error.empty() || !base.error.empty() || base.median <= 0 || s.median <= 0) {
    return SvgText(one + 4, y + kBarHeight - 3, engine + ": error", "fill=\"#888\"");
  }
  const double ratio = s.median / base.median;
  const double x = RatioX(ratio);
  std::string out = fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"/>\n",
      std::min(x, one), y, std::max(std::abs(x - one), 1.0), kBarHeight, Color(engine_index));
  const std::string label = fmt::format("{} {:.2f}x", engine, ratio);
  const bool right = ratio >= 1;
  out += SvgText(right ? std::max(x, one) + 4 : std::min(x, one) - 4, y + kBarHeight - 3, label,
                 right ? "" : "text-anchor=\"end\"");
  return out;
}

}  // namespace

// --- Results ------------------------------------------------------------------------------------

void Results::Add(const std::string& engine, const PhaseResult& result) {
  if (std::find(rows_.begin(), rows_.end(), result.row) == rows_.end()) rows_.push_back(result.row);
  if (std::find(engines_.begin(), engines_.end(), engine) == engines_.end()) {
    engines_.push_back(engine);
  }
  cells_[{result.row, engine}].push_back(result);
}

const std::vector<PhaseResult>& Results::Runs(const std::string& row,
                                              const std::string& engine) const {
  static const std::vector<PhaseResult> kNone;
  auto it = cells_.find({row, engine});
  return it == cells_.end() ? kNone : it->second;
}

std::vector<std::vector<std::string>> ResultTable(const Results& results,
                                                  const std::string& baseline) {
  std::vector<std::vector<std::string>> table = {{"workload",
                                                  "engine",
                                                  "ops/s",
                                                  "min - max",
                                                  "unit",
                                                  "vs " + baseline,
                                                  "p50",
                                                  "p95",
                                                  "p99",
                                                  "max",
                                                  "syncs/commit (fs)",
                                                  "syncs/commit (engine)",
                                                  "MiB written",
                                                  "MiB to device",
                                                  "write amp",
                                                  "write amp (calls)",
                                                  "peak RSS MiB",
                                                  "RSS bound MiB",
                                                  "within bound",
                                                  "notes"}};
  for (const std::string& row : results.rows()) {
    const std::vector<PhaseResult>& base_runs = results.Runs(row, baseline);
    const Summary base = Summarize(base_runs);
    for (const std::string& engine : results.engines()) {
      const std::vector<PhaseResult>& runs = results.Runs(row, engine);
      if (runs.empty()) continue;
      table.push_back(TableRow(row, engine, Summarize(runs), base_runs.empty() ? nullptr : &base));
    }
  }
  return table;
}

std::string RenderText(const std::vector<std::vector<std::string>>& table) {
  std::vector<size_t> width(table[0].size(), 0);
  for (const auto& row : table) {
    const bool error = row.size() == 3;  // Error rows overflow instead of widening the column.
    for (size_t c = 0; c < row.size() && !(error && c == 2); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  for (const auto& row : table) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      line += c + 1 == row.size() ? row[c] : fmt::format("{:<{}}  ", row[c], width[c]);
    }
    out += line + "\n";
  }
  return out;
}

std::string RenderSetupText(const ReportContext& context) {
  std::string out = "Machine:\n";
  for (const auto& [what, value] : context.machine) out += fmt::format("  {}: {}\n", what, value);
  out += "Engines (same durability per variant; 'durable' = each commit survives a power cut):\n";
  for (const auto& [family, d] : context.engines) {
    out += fmt::format("  {}: {}, linked {}\n", family, d.version, d.linkage);
    out +=
        fmt::format("    durable: {}\n    not durable: {}\n    8 key spaces: {}\n    other: {}\n",
                    d.durable, d.not_durable, d.tables, d.other);
  }
  out += fmt::format(
      "ops/s: median of {} run(s), each in a fresh directory and a fresh forked "
      "process; latencies pooled over the runs.\n",
      context.runs);
  for (const std::string& m : context.methods) out += m + "\n";
  return out;
}

std::string RenderMarkdown(const ReportContext& context,
                           const std::vector<std::vector<std::string>>& table) {
  std::string out = "# Manifold compared with RocksDB, LevelDB, LMDB and SQLite\n\n";
  out += fmt::format("Produced by `{}`.\n\n## Machine\n\n", context.command);
  for (const auto& [what, value] : context.machine) out += fmt::format("- {}: {}\n", what, value);
  out +=
      "\n## Engines\n\n| engine | version | linked | durable | not durable | 8 key spaces | "
      "other settings |\n| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const auto& [family, d] : context.engines) {
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", family, d.version, d.linkage,
                       d.durable, d.not_durable, d.tables, d.other);
  }
  out += "\n## Workloads\n\n";
  for (const std::string& w : context.workloads) out += w + "\n";
  out += fmt::format(
      "\n## Results\n\nops/s: median of {} run(s) (min - max); `vs {}`: ratio of medians. "
      "Latencies: per commit, pooled over the runs. `syncs/commit (fs)`: fsync + fdatasync + "
      "msync(MS_SYNC) + writes to O_SYNC/O_DSYNC files, counted by linker-level interposers; "
      "`(engine)`: the engine's own count (Manifold `Stats::syncs`, RocksDB "
      "`rocksdb.wal.synced`). `MiB written`: bytes the engine passed to write/pwrite/writev "
      "(interposers; median run). `MiB to device`: /proc/self/io write_bytes - "
      "cancelled_write_bytes over the phase (median run), which on kernels with large page-cache "
      "folios counts a whole folio per small write, so it can exceed the bytes written several "
      "times over. `write amp`: that / bytes of keys and values the phase wrote (keys only for "
      "deletes; median run; `-` for phases that write no user data); `write amp (calls)`: `MiB "
      "written` / the same user bytes, which the folio effect does not inflate. Peak RSS: largest "
      "of the runs, each the phase's own peak (one process per engine, workload and run). "
      "`RSS bound MiB`: issue 12's bound, the engine's configured cache + write buffers + 64 MiB "
      "(from its settings: Manifold cache_bytes_max + write_buffer_bytes_max; RocksDB block "
      "cache + write_buffer_size x max_write_buffer_number per column family; LevelDB block "
      "cache + 2 x write_buffer_size per database; SQLite cache_size x the most connections "
      "open at once; LMDB none, so 64 MiB); `within bound`: peak RSS <= that bound.\n\n",
      context.runs, context.baseline);
  for (const std::string& m : context.methods) out += "- " + m + "\n";
  if (!context.methods.empty()) out += "\n";
  for (size_t i = 0; i < table.size(); ++i) {
    std::string line = "|";
    for (const std::string& cell : table[i]) line += " " + Escape(cell) + " |";
    out += line + "\n";
    if (i == 0) {
      out += "|";
      for (size_t c = 0; c < table[0].size(); ++c) out += " --- |";
      out += "\n";
    }
  }
  out += fmt::format("\n![ops/s relative to {}](compare.svg)\n", context.baseline);
  return out;
}

std::string RenderSvg(const Results& results, const std::string& baseline,
                      const std::vector<std::string>& subtitle) {
  std::string bars;
  double y = kTop;
  for (const std::string& row : results.rows()) {
    const Summary base = Summarize(results.Runs(row, baseline));
    bars += SvgText(10, y + 12, row, "font-weight=\"bold\"");
    y += kHeading;
    for (size_t i = 0; i < results.engines().size(); ++i) {
      const std::string& engine = results.engines()[i];
      if (engine == baseline || results.Runs(row, engine).empty()) continue;
      bars += SvgBar(y, i, engine, Summarize(results.Runs(row, engine)), base);
      y += kBarHeight + kBarGap;
    }
    y += kGroupGap;
  }
  const int height = static_cast<int>(y) + 10;
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"#fff\"/>\n",
      kWidth, height);
  out += SvgText(10, 20, "ops/s of each engine relative to " + baseline + " (median of runs)",
                 "font-size=\"15\" font-weight=\"bold\"");
  out += SvgText(10, 38,
                 "log scale: right of the black line = faster than " + baseline +
                     ", left = slower; bars stop at 1/100 and 100x");
  for (size_t i = 0; i < subtitle.size() && i < 2; ++i) {
    out += SvgText(10, 54 + 14 * i, subtitle[i], "fill=\"#555\"");
  }
  out += SvgLegend(results.engines(), baseline) + SvgAxes(height - 5) + bars + "</svg>\n";
  return out;
}

}  // namespace manifold::bench
