// Turns what a transport saw for one attempt (an HTTP status, a transport
// error, or a non-HTTP failure report) into an `outcome` that policies can
// act on. Policies never look at status codes or error kinds: retry lists
// retryable classes, the breaker counts classes, fallbacks trigger on
// classes. Classification is also where "the attempt provably never reached
// the downstream" is decided, which is what allows retrying unsafe operations.
#pragma once

#include <cstdint>
#include <string>

#include "bulwark/runtime/classify/classifier_config.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/outcome.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// A failure below HTTP, as the transport reports it.
enum class transport_error : std::uint8_t {
  none,
  /// The connection was refused: nothing was sent.
  connection_refused,
  /// The connection broke mid-call: the request may have executed.
  connection_reset,
  /// The transport's per-attempt timer fired.
  timed_out,
  /// The name did not resolve: nothing was sent.
  dns_failure,
  /// The reply could not be understood (bad framing, bad status line).
  protocol_error,
  /// The caller or a winning hedge cancelled the attempt.
  cancelled,
  /// The transport itself is gone (crashed actor, lost node).
  transport_down,
};

/// @relates transport_error
std::string to_string(transport_error x);

/// What one attempt looked like from the transport's side.
struct transport_observation {
  /// The HTTP status; 0 = no status (a non-HTTP transport, or no response).
  int status = 0;
  transport_error error = transport_error::none;
  /// How long the attempt took as the transport measured it (0 = unknown).
  duration latency{0};
  /// A server retry-after (HTTP Retry-After, gRPC pushback); negative = none.
  duration retry_after{-1};
  /// The downstream said it already retried: callers must not retry.
  bool do_not_retry = false;
  /// A non-HTTP transport reporting failure (with status 0 and no error).
  bool failed = false;
  /// The class of that failure; used when failed && status == 0.
  failure_class reported_class = failure_class::transient;
  /// That failure provably never executed downstream (a non-HTTP transport
  /// that refused before sending). `rejected_locally` implies it.
  bool never_executed = false;
};

/// The outcome of one attempt, decided in this order:
///   1. a transport error wins over any status (the reply was not complete):
///      connection_refused, dns_failure -> transient, never_executed;
///      connection_reset, protocol_error, transport_down -> transient;
///      timed_out -> timeout; cancelled -> cancelled;
///   2. a status (non-zero) -> cfg.statuses (success, or its class); a
///      status outside 100-599 -> transient (a protocol error);
///   3. failed -> reported_class, never_executed when the observation says so
///      or the class is rejected_locally;
///   4. otherwise success.
/// retry_after and do_not_retry are copied into the outcome in every case.
/// Latency never turns a success into a failure: whether a call was slow is
/// the breaker's judgement (breaker_config::slow_call_duration). No
/// allocation.
outcome classify(const classifier_config& cfg,
                 const transport_observation& obs) noexcept;

} // namespace bulwark
