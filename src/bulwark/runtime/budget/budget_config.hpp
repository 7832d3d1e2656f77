// The configuration of a dependency's retry budget: the one account that every
// retry and every hedge of every request to that dependency draws from, so
// extra load stays bounded however many requests fail or slow down at once.
// Two published algorithms are offered: Finagle's RetryBudget (a fraction of
// recent requests plus a per-second reserve, over a sliding `ttl`) and gRPC's
// retryThrottling (a token bucket drained by failures and refilled by
// successes). `unlimited` turns the budget off (each request still has its
// own attempt cap).
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class budget_mode : std::uint8_t {
  /// Finagle `RetryBudget(ttl, minRetriesPerSec, percentCanRetry)`.
  finagle,
  /// gRPC `retryThrottling {maxTokens, tokenRatio}` (gRFC A6).
  grpc,
  /// No budget: every retry and hedge is allowed.
  unlimited,
};

/// @relates budget_mode
std::string to_string(budget_mode x);

/// What wants to spend from the budget (counted separately for metrics).
enum class budget_use : std::uint8_t { retry, hedge };

/// @relates budget_use
std::string to_string(budget_use x);

struct budget_config {
  /// Finagle by default: it bounds extra load as a fraction of requests
  /// whatever triggers it, while gRPC tokens only drain on failures, so they
  /// never limit hedges sent because a dependency is slow but succeeding.
  budget_mode mode = budget_mode::finagle;

  // -- finagle ----------------------------------------------------------------

  /// How long a request's deposit (and a retry's withdrawal) counts.
  duration ttl = seconds(10);
  /// Reserve: this many retries per second of `ttl` are allowed with no
  /// requests at all (for clients that just started or have little traffic).
  double min_retries_per_second = 10.0;
  /// Fraction (0..1; a percent 0..100 in JSON) of requests that may be retried
  /// on top of the reserve.
  double percent_can_retry = 0.2;

  // -- grpc -------------------------------------------------------------------

  /// Bucket size; the bucket starts full. The gRFC A6 example value.
  double max_tokens = 10.0;
  /// Tokens a success puts back (a failure takes 1).
  double token_ratio = 0.1;

  friend bool operator==(const budget_config& a, const budget_config& b) {
    return a.mode == b.mode && a.ttl == b.ttl
           && a.min_retries_per_second == b.min_retries_per_second
           && a.percent_can_retry == b.percent_can_retry
           && a.max_tokens == b.max_tokens && a.token_ratio == b.token_ratio;
  }
  friend bool operator!=(const budget_config& a, const budget_config& b) {
    return !(a == b);
  }
};

/// Reads a budget object: keys `mode`, `finagle` {ttl, min_retries_per_second,
/// percent_can_retry}, `grpc` {max_tokens, token_ratio}. Both sub-objects may
/// be present whatever the mode (only the one `mode` names is used), so a mode
/// switch is a one-word change. gRPC numbers keep at most 3 decimals, as in
/// gRPC, which counts in thousandths of a token.
budget_config parse_budget_config(const boost::json::value& v,
                                  const json_path& at, error_list& errors);

/// @relates budget_config
boost::json::object to_json(const budget_config& cfg);

} // namespace bulwark
