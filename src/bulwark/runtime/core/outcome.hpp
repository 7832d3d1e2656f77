// The result of one attempt as policies see it: success, or a classified
// failure with what the downstream told us (retry-after) and whether the
// attempt provably never executed (which is what makes retrying an `unsafe`
// operation allowed).
#pragma once

#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct outcome {
  bool success = true;
  /// Meaningful only when `success` is false.
  failure_class cls = failure_class::transient;
  /// Server hint: do not try again before this much time has passed.
  /// Negative means "no hint".
  duration retry_after = duration{-1};
  /// True when the failure proves the downstream never ran the operation
  /// (connection refused, breaker open, shed before sending).
  bool never_executed = false;
  /// The downstream (or a bulwark layer below) already retried: callers must
  /// not retry this failure, so attempts do not multiply across layers.
  bool do_not_retry = false;

  static constexpr outcome ok() noexcept {
    return outcome{};
  }

  static constexpr outcome failure(failure_class cls,
                                   bool never_executed = false) noexcept {
    outcome result;
    result.success = false;
    result.cls = cls;
    result.never_executed = never_executed;
    return result;
  }

  static constexpr outcome overloaded(duration retry_after) noexcept {
    auto result = failure(failure_class::overloaded);
    result.retry_after = retry_after;
    return result;
  }

  constexpr bool has_retry_after() const noexcept {
    return retry_after.count() >= 0;
  }
};

} // namespace bulwark
