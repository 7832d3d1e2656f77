// A scenario file: a user-written fault benchmark as a JSON document (a name,
// an open-loop load, a fault schedule, the modes to compare and, optionally,
// the bulwark mode's policies), run in virtual time like `outage`. Files are
// how users test their own failure stories without writing C++, so a bad file
// must be a clear error: parsing collects every problem, each with the JSON
// Pointer of the offending value, and nothing runs until the file is clean.
// The keys are documented in docs/benchmarks.md, "Scenario files".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "bench/runner/scenario.hpp"
#include "bench/scenarios/modes.hpp"
#include "bulwark/runtime/chaos/fault_schedule.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark::bench {

struct scenario_file_config {
  /// Reported as `"scenario"`; lowercase letters, digits, '-' and '_'.
  std::string name;
  std::string description;
  /// Open-loop Poisson arrivals per virtual second.
  double rate_per_s = 1000;
  /// Virtual length of the load.
  duration length = seconds(30);
  /// The downstream's faults (docs/chaos.md), relative to the run's start.
  fault_schedule faults;
  /// Modes to run, in report order.
  std::vector<bench_mode> modes{bench_mode::bulwark, bench_mode::naive,
                                bench_mode::none};
  /// The bulwark mode's dependency config; absent: the default bulwark mode.
  std::optional<dependency_config> policies;
  /// Seed of the run when --seed is not given.
  std::optional<std::uint64_t> seed;
};

/// Parses a scenario document; every error is added to `errors` with its
/// JSON Pointer (errors from the policies are mapped to `/policies/...`).
scenario_file_config parse_scenario_file(const boost::json::value& v,
                                         error_list& errors);

/// Reads and parses the file at `path`; an unreadable file or invalid JSON
/// is a document error.
scenario_file_config read_scenario_file(const std::string& path,
                                        error_list& errors);

/// Runs a parsed scenario in virtual time (bench/scenarios/file_scenario.cpp):
/// per mode `requests`, `success_ratio`, `attempts`, `amplification`,
/// `p50_ms`, `p99_ms`.
scenario_result run_scenario_file(const scenario_file_config& cfg,
                                  const scenario_options& opts);

} // namespace bulwark::bench
