// Why a dependency's call did or did not retry after a failed round: the
// one typed answer of the retry step (bulwark/runtime/retry/retry_step.hpp), in
// the order the step checks. The reply to the caller, the call's journey and
// the counters all give this reason, so they never disagree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark {

/// What the retry step decided, in the order it checks (the first that
/// applies wins).
enum class retry_status : std::uint8_t {
  /// Try again after `retry_step_result::delay`.
  retry,
  /// The last attempt succeeded: nothing to retry.
  succeeded,
  /// A sheddable call whose failure a fallback step handles takes the
  /// fallback instead of a retry (it must not add load to a struggling
  /// dependency).
  sheddable_fallback,
  /// Retries are switched off by the configuration.
  disabled,
  /// A layer below already retried (do-not-retry marker).
  do_not_retry,
  /// The failure's class is not in `retry_on`.
  not_retryable,
  /// The operation is `unsafe` and the failed attempt may have executed.
  unsafe,
  /// The call made all the attempts it may make (`max_attempts`, shared with
  /// the attempts made upstream).
  attempts_exhausted,
  /// The server asked for a pause longer than `max_retry_after`.
  retry_after_too_long,
  /// The retry could not finish before the caller's deadline.
  deadline,
  /// Everything allowed a retry, but a feature flag switches retries off.
  disabled_by_flag,
  /// Everything allowed a retry, but the shared retry budget has no token.
  budget_exhausted,
};

/// @relates retry_status
std::string to_string(retry_status x);

/// The reason a failed call's reply gives when the step said no: the status
/// name for the reasons of retry_policy (`"deadline"`,
/// `"attempts_exhausted"`, ...), a sentence for the others.
std::string_view retry_message(retry_status x) noexcept;

} // namespace bulwark
