// When a supervisor restarts a crashed member and when it gives up. Two
// established ideas combined: Erlang/OTP's restart intensity (at most
// `intensity` restarts per `period`, Akka's `maxNrOfRetries` per
// `withinTimeRange`; one crash more escalates, because a member that keeps
// crashing will not be fixed by restarting it again) and Akka
// BackoffSupervisor's exponential restart delay (`minBackoff`, `maxBackoff`,
// `randomFactor`), so a member whose dependency is down is not restarted in a
// tight loop and replicas that crashed together do not restart together.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct restart_config {
  /// The largest `max_restarts` the parser accepts; it also sizes the
  /// tracker's fixed ring of restart times.
  static constexpr std::uint32_t max_restarts_limit = 100;

  /// False: every crash escalates at once (no local restarts).
  bool enabled = true;
  /// Restarts allowed within `within`; the crash that would need one more
  /// escalates (OTP `intensity`, Akka `maxNrOfRetries`). 0..100.
  std::uint32_t max_restarts = 3;
  /// The sliding window of restart times (OTP `period`, Akka
  /// `withinTimeRange`); above 0.
  duration within = seconds(10);
  /// Delay before the first of a run of consecutive restarts (Akka
  /// `minBackoff`); doubles for each further one.
  duration min_backoff = milliseconds(100);
  /// Cap of the doubled delay before the random factor (Akka `maxBackoff`).
  duration max_backoff = seconds(10);
  /// Percent (0..100) of the capped delay added at random on top: the delay
  /// is multiplied by 1 + random_factor/100 * uniform[0, 1) (Akka
  /// `randomFactor` 0.2 = 20).
  std::uint32_t random_factor = 20;
  /// A member that stayed up this long since its last start restarts its
  /// backoff from `min_backoff` on its next crash (Akka
  /// `withResetBackoffAfter`).
  duration reset_after = seconds(30);

  friend bool operator==(const restart_config& a, const restart_config& b) {
    return a.enabled == b.enabled && a.max_restarts == b.max_restarts
           && a.within == b.within && a.min_backoff == b.min_backoff
           && a.max_backoff == b.max_backoff
           && a.random_factor == b.random_factor
           && a.reset_after == b.reset_after;
  }
  friend bool operator!=(const restart_config& a, const restart_config& b) {
    return !(a == b);
  }
};

/// Reads a restart object (keys: enabled, max_restarts, within, min_backoff,
/// max_backoff, random_factor, reset_after). Cross-field rules: `within`
/// above 0s; `min_backoff` not above `max_backoff` (reported at
/// `min_backoff`). A bad value keeps its default.
restart_config parse_restart_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

/// @relates restart_config
boost::json::object to_json(const restart_config& cfg);

} // namespace bulwark
