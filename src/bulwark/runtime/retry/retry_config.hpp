// The retry section of a dependency: whether failed attempts are repeated, how
// many attempts a request may make in total, which failure classes are worth
// another attempt, how long one attempt may take, how long to wait between
// attempts (a nested backoff), and whether a server's retry-after hint is
// obeyed. The defaults are deliberately conservative (3 attempts in total, as
// Resilience4j and the SRE book's per-request budget) because every retry
// multiplies load on a downstream that is already failing.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/retry/backoff_config.hpp"

namespace bulwark {

struct retry_config {
  /// false: the first failure is final (verdict `disabled`).
  bool enabled = true;
  /// Total attempts including the first (Resilience4j maxAttempts), 1..10.
  std::uint32_t max_attempts = 3;
  /// Failure classes worth another attempt. `rejected_locally`,
  /// `deadline_exceeded` and `cancelled` are never allowed here: a local
  /// rejection means "send less", a passed deadline cannot be met by trying
  /// again, and a cancelled request has nobody waiting for it.
  failure_class_set retry_on{failure_class::transient, failure_class::timeout,
                             failure_class::overloaded};
  /// The longest one attempt may take (gRPC perAttemptRecvTimeout); the
  /// caller's deadline shortens it further (see attempt_timeout).
  duration per_attempt_timeout = seconds(1);
  /// The delay between attempts when the server gave no retry-after.
  backoff_config backoff;
  /// Wait exactly the server's retry-after (429/503 Retry-After, gRPC
  /// pushback) instead of the backoff.
  bool honour_retry_after = true;
  /// A retry-after longer than this ends the retries (verdict
  /// `retry_after_too_long`) rather than holding the request that long.
  duration max_retry_after = seconds(60);
};

/// Failure classes that `retry_on` rejects (see retry_config::retry_on).
inline constexpr failure_class_set never_retryable_classes{
  failure_class::rejected_locally, failure_class::deadline_exceeded,
  failure_class::cancelled};

/// Reads a retry object (keys: enabled, max_attempts, retry_on,
/// per_attempt_timeout, backoff, honour_retry_after, max_retry_after); the
/// nested `backoff` object is read by parse_backoff_config at `at/backoff`.
retry_config parse_retry_config(const boost::json::value& v,
                                const json_path& at, error_list& errors);

/// @relates retry_config
boost::json::object to_json(const retry_config& cfg);

} // namespace bulwark
