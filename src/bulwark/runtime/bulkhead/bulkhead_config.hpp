// The configuration of a dependency's concurrency limit (bulkhead): how many
// requests may be in flight to it at once, how many more may wait for a slot
// and for how long, and how much of the limit only `critical` requests may
// use. The limit keeps one slow dependency from tying up every caller; the
// bounded, short wait absorbs bursts without building the long queues that
// turn overload into latency for everyone.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct bulkhead_config {
  /// Requests in flight at once (Resilience4j `maxConcurrentCalls`, default
  /// 25 there; 64 here because bulwark calls are asynchronous and cheap to
  /// keep in flight, unlike a blocked thread).
  std::uint32_t max_concurrent = 64;
  /// Requests that may wait for a slot; 0 rejects at once when full.
  std::uint32_t max_queue = 128;
  /// The longest a request waits in the queue before it is given up on.
  duration max_queue_wait = milliseconds(100);
  /// Fraction (0..1; a percent 0..100 in JSON) of `max_concurrent` kept for
  /// `critical` requests: the last `reserved_slots()` slots.
  double critical_reserve = 0.1;

  /// floor(max_concurrent * critical_reserve): slots standard and sheddable
  /// requests may not take.
  std::uint32_t reserved_slots() const noexcept;

  friend bool operator==(const bulkhead_config& a, const bulkhead_config& b) {
    return a.max_concurrent == b.max_concurrent && a.max_queue == b.max_queue
           && a.max_queue_wait == b.max_queue_wait
           && a.critical_reserve == b.critical_reserve;
  }
  friend bool operator!=(const bulkhead_config& a, const bulkhead_config& b) {
    return !(a == b);
  }
};

/// Reads a bulkhead object (keys: max_concurrent, max_queue, max_queue_wait,
/// critical_reserve). Cross-field rules: a queue (max_queue > 0) needs a
/// max_queue_wait above 0; the reserve must leave at least one slot to
/// non-critical requests.
bulkhead_config parse_bulkhead_config(const boost::json::value& v,
                                      const json_path& at, error_list& errors);

/// @relates bulkhead_config
boost::json::object to_json(const bulkhead_config& cfg);

} // namespace bulwark
