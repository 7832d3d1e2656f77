// What an HTTP service (bulwark/actors/http/http_service.hpp) counted: its
// requests by what became of them, its ledger verdicts, and the requests in
// flight. A plain struct of numbers so that the metric table
// (metric_table.hpp) can export it as `bulwark_http_service_*` next to the
// dependencies and supervisors, without the runtime knowing about HTTP.
#pragma once

#include <cstdint>

#include "bulwark/runtime/objective/objective_stats.hpp"

namespace bulwark {

struct http_service_stats {
  /// Requests that reached the service (well-formed HTTP).
  std::uint64_t received = 0;
  /// Requests handed to a route (actor or ledger).
  std::uint64_t dispatched = 0;
  std::uint64_t not_found = 0;
  std::uint64_t method_not_allowed = 0;
  /// 400s of the service itself (bad deadline/attempt/criticality header,
  /// missing, repeated or invalid `Idempotency-Key` (see
  /// bulwark/runtime/core/idempotency_key.hpp), bad JSON on a JSON route).
  std::uint64_t bad_requests = 0;
  /// Rejected 504 because the deadline had passed on arrival.
  std::uint64_t expired_on_arrival = 0;
  /// 503 because `max_in_flight` requests were in flight.
  std::uint64_t overloaded = 0;
  /// 504 because the route did not answer before the deadline.
  std::uint64_t timed_out = 0;
  /// 503 because the route actor was gone (or died while handling).
  std::uint64_t unavailable = 0;
  /// 503 during or after `stop()`.
  std::uint64_t shut_down = 0;
  /// Requests whose route failed before answering: a handler threw, a
  /// route actor died or answered an error (500).
  std::uint64_t route_failures = 0;
  /// New incarnations of factory routes' actors started after one died.
  std::uint64_t route_restarts = 0;
  /// Ledger verdicts over all ledger routes; `ledger_executed` counts
  /// executions that committed (answered, recorded, journaled if durable).
  std::uint64_t ledger_executed = 0;
  std::uint64_t ledger_duplicates = 0;
  std::uint64_t ledger_waits = 0;
  std::uint64_t ledger_rejected = 0;
  /// Journal records replayed at start over all ledger routes.
  std::uint64_t ledger_replayed = 0;
  /// Records appended (and synced) to ledger journals.
  std::uint64_t ledger_journaled = 0;
  /// Overload control (http_service_options::overload): requests shed
  /// (503 + Retry-After + do-not-retry) by their criticality, requests
  /// whose deadline passed while they waited in a route's queue (504), and
  /// requests started newest first because their route was overloaded.
  std::uint64_t shed_critical = 0;
  std::uint64_t shed_standard = 0;
  std::uint64_t shed_sheddable = 0;
  std::uint64_t expired_in_queue = 0;
  std::uint64_t started_newest_first = 0;
  /// Gauges: requests waiting in the routes' queues, and routes whose
  /// queue counts as overloaded now.
  std::uint64_t queued = 0;
  std::uint64_t overloaded_routes = 0;
  /// Progressive routes (route_options::progressive): preliminary answers
  /// sent (streamed or plain), final answers fetched from the result store
  /// (`GET /bulwark/final/<token>`, 200 only), and finals dropped from the
  /// store unfetched (expired or evicted by its count cap).
  std::uint64_t preliminary_answers = 0;
  std::uint64_t finals_fetched = 0;
  std::uint64_t finals_expired = 0;
  /// Requests admitted and not answered yet (a gauge; the rest only grow,
  /// except `queued` and `overloaded_routes`).
  std::uint64_t in_flight = 0;
  /// The service's objectives (http_service_options::objective): counters
  /// and burn rates as of the stats call.
  objective_stats objective;
};

} // namespace bulwark
