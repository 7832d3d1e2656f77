// How the runner prints results: one compact JSON object per scenario and
// line (for scripts, CI and the charts), or aligned tables for people.
#pragma once

#include "bench/runner/scenario.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>

namespace bulwark::bench {

/// {"scenario": name, "seed": seed, ...fields, "modes": {mode: {...}}};
/// "modes" only when the result has modes.
boost::json::object to_json(const std::string& name, std::uint64_t seed,
                            const scenario_result& result);

/// `v` on one line, like boost::json::serialize but with doubles in their
/// shortest round-trip decimal form ("512.3", not "5.123E2") and non-finite
/// doubles as null.
std::string json_line(const boost::json::value& v);

/// A heading line and the fields as an aligned two-column table, or one
/// column per mode.
std::string format_table(const scenario& x, std::uint64_t seed,
                         const scenario_result& result);

/// A value as the table shows it (integers exact, doubles to a few
/// significant digits).
std::string format_value(const field_value& x);

} // namespace bulwark::bench
