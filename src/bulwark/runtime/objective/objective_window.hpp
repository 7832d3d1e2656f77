// The windows error-budget burn rates are measured over, and the alerting
// pairs built from them, after the SRE workbook ("Alerting on SLOs",
// multiwindow, multi-burn-rate alerts): a page when both the 1 h and the 5 m
// burn rates exceed 14.4 (2% of a 30-day budget spent in an hour) or both
// the 6 h and the 30 m exceed 6 (5% in six hours); a ticket when both the 1 d
// and the 2 h exceed 3 or both the 3 d and the 6 h exceed 1. The short window
// makes an alert stop soon after the burning stops.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class objective_window : std::uint8_t { m5, m30, h1, h2, h6, d1, d3 };

inline constexpr std::array<objective_window, 7> all_objective_windows{
  objective_window::m5, objective_window::m30, objective_window::h1,
  objective_window::h2, objective_window::h6,  objective_window::d1,
  objective_window::d3,
};

inline constexpr std::size_t objective_window_count =
  all_objective_windows.size();

/// "5m", "30m", "1h", "2h", "6h", "1d", "3d": the `window` label.
/// @relates objective_window
constexpr std::string_view to_string(objective_window x) noexcept {
  switch (x) {
    case objective_window::m5:
      return "5m";
    case objective_window::m30:
      return "30m";
    case objective_window::h1:
      return "1h";
    case objective_window::h2:
      return "2h";
    case objective_window::h6:
      return "6h";
    case objective_window::d1:
      return "1d";
    case objective_window::d3:
      return "3d";
  }
  return "?";
}

/// The window's length.
constexpr duration length_of(objective_window x) noexcept {
  switch (x) {
    case objective_window::m5:
      return minutes(5);
    case objective_window::m30:
      return minutes(30);
    case objective_window::h1:
      return hours(1);
    case objective_window::h2:
      return hours(2);
    case objective_window::h6:
      return hours(6);
    case objective_window::d1:
      return hours(24);
    case objective_window::d3:
      return hours(72);
  }
  return duration{0};
}

/// What a burning pair asks for.
enum class burn_severity : std::uint8_t { page, ticket };

/// @relates burn_severity
constexpr std::string_view to_string(burn_severity x) noexcept {
  return x == burn_severity::page ? "page" : "ticket";
}

/// One alerting pair: fires while both windows burn faster than `factor`.
struct burn_alert {
  objective_window long_window;
  objective_window short_window;
  double factor;
  burn_severity severity;
};

inline constexpr std::array<burn_alert, 4> burn_alerts{{
  {objective_window::h1, objective_window::m5, 14.4, burn_severity::page},
  {objective_window::h6, objective_window::m30, 6.0, burn_severity::page},
  {objective_window::d1, objective_window::h2, 3.0, burn_severity::ticket},
  {objective_window::d3, objective_window::h6, 1.0, burn_severity::ticket},
}};

} // namespace bulwark
