// Turning the results of all runs into the report: a plain-text table for the terminal, a
// Markdown document and an SVG bar chart of ops/s ratios.
#ifndef MANIFOLD_BENCH_COMPARE_REPORT_H_
#define MANIFOLD_BENCH_COMPARE_REPORT_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/compare_engine.h"
#include "bench/compare_result.h"

namespace manifold::bench {

// Every run of every (row, engine) cell, in the order rows and engines were first seen.
class Results {
 public:
  void Add(const std::string& engine, const PhaseResult& result);

  const std::vector<std::string>& rows() const { return rows_; }
  const std::vector<std::string>& engines() const { return engines_; }
  // The runs of one cell; empty when the cell was not run.
  const std::vector<PhaseResult>& Runs(const std::string& row, const std::string& engine) const;

 private:
  std::vector<std::string> rows_;
  std::vector<std::string> engines_;
  std::map<std::pair<std::string, std::string>, std::vector<PhaseResult>> cells_;
};

// A cell's runs summarized: what the table and the targets quote.
struct Summary {
  std::string error;
  std::string unit;
  double median = 0, min = 0, max = 0;  // ops/s over the runs.
  std::vector<double> latencies_us;     // Pooled over the runs.
  uint64_t commits = 0;
  IoCounts io;                           // Summed over the runs.
  std::optional<uint64_t> engine_syncs;  // Summed, when every run has it.
  double write_mib = 0;                  // Median per run (interposers).
  double device_mib = 0;                 // Median per run (/proc/self/io, see DeviceBytes).
  std::string device_source;             // "write_bytes" or "wchar".
  bool wrote_user_data = false;          // Write amplification is defined.
  double write_amp = 0;                  // Median per run.
  double calls_write_amp = 0;            // Median per run, of the interposers' bytes.
  double peak_rss_mib = 0;               // Largest of the runs.
  bool rss_per_phase = true;             // Every run measured the phase alone.
  bool has_bound = false;                // Some run had an open engine to ask.
  double rss_bound_mib = 0;              // Largest of the runs' PhaseResult::RssBoundBytes.
  std::string notes;                     // Of the median run.

  bool WithinBound() const;
};

Summary Summarize(const std::vector<PhaseResult>& runs);

// Three significant digits with a k/M/G suffix: 123, 12.3k, 1.23M.
std::string Rate(double v);

// What the report says around the table.
struct ReportContext {
  std::string command;  // The command line that produced it.
  int runs = 0;
  std::string baseline;  // The engine the ratios are relative to.
  std::vector<std::pair<std::string, std::string>> machine;
  std::vector<std::pair<std::string, EngineDescription>> engines;  // By family.
  std::vector<std::string> workloads;                              // Markdown bullets.
  std::vector<std::string> methods;  // How device bytes and peak RSS were measured here.
};

// The table as cells (first row: header), shared by the text and Markdown forms.
std::vector<std::vector<std::string>> ResultTable(const Results& results,
                                                  const std::string& baseline);

std::string RenderText(const std::vector<std::vector<std::string>>& table);
std::string RenderMarkdown(const ReportContext& context,
                           const std::vector<std::vector<std::string>>& table);
// `subtitle` lines say what was run (command, machine) so the chart can stand alone.
std::string RenderSvg(const Results& results, const std::string& baseline,
                      const std::vector<std::string>& subtitle);

// The description of the engines and how syncs are counted, as plain text for the terminal.
std::string RenderSetupText(const ReportContext& context);

}  // namespace manifold::bench

#endif  // MANIFOLD_BENCH_COMPARE_REPORT_H_
