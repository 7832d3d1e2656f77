// The report folder: what a run leaves behind for people who were not
// watching the terminal. Per scenario `<scenario>.csv` (one row per mode),
// `<scenario>.md` (a Markdown table) and one `<scenario>-<chart>.png` per
// chart the scenario attached, drawn by the `gnuplot` binary from a generated
// script; plus a README.md saying what ran, with which seed, on what machine
// and when, because numbers without their machine mean little.
#pragma once

#include "bench/runner/scenario.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::bench {

class report_folder {
 public:
  /// Creates `dir` (and parents) if needed; throws std::runtime_error when
  /// it cannot.
  report_folder(std::string dir, std::uint64_t seed, bool quick);

  /// Writes the files of one scenario run. Problems that leave a partial
  /// report (gnuplot missing or failing) are warnings, returned and printed
  /// by the caller; unwritable files throw std::runtime_error.
  std::vector<std::string> add(const scenario& x,
                               const scenario_result& result);

  /// Writes README.md for every scenario added so far; returns the folder's
  /// absolute path.
  std::string finish();

  const std::string& dir() const noexcept {
    return dir_;
  }

 private:
  struct entry {
    std::string name;
    std::string description;
    std::string table;
    std::vector<std::string> pngs;
  };

  std::string dir_;
  std::uint64_t seed_;
  bool quick_;
  std::vector<entry> entries_;
  std::vector<std::string> warnings_;
};

/// The fields as CSV: a header and one row per mode (or one row).
std::string format_csv(const std::string& name, std::uint64_t seed,
                       const scenario_result& result);

/// The fields as a Markdown table, one column per mode.
std::string format_markdown_table(const scenario_result& result);

/// A gnuplot script drawing `c` into `png_path`.
std::string gnuplot_script(const chart& c, const std::string& png_path);

} // namespace bulwark::bench
