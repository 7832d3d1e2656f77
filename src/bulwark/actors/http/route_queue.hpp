// The overload-control queue actor of http_service (a service with
// `overload_control_options`): one actor per route owns the route's
// server_queue. Internal to http_service's translation units (see
// service_internals.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/http/service_internals.hpp"
#include "bulwark/runtime/overload/server_queue.hpp"

namespace bulwark::service_detail {

// -- overload control: one queue actor per route --------------------------------

/// Owns a route's server_queue: requests wait here (not in the route
/// actor's mailbox) until one of the route's `max_concurrent` slots is
/// free, and what the queue decides (shed, expired) is answered at once.
struct route_gauges {
  std::atomic<std::uint64_t> queued{0};
  std::atomic<bool> overloaded{false};
};

struct route_queue_state {
  std::unique_ptr<server_queue> queue;
  core_ptr core;
  caf::actor anchor;
  cell_ptr target;
  std::size_t max_running = 1;
  std::size_t running = 0;
  /// The requests in the queue, by id.
  std::unordered_map<std::uint64_t, service_request> waiting;
  std::vector<queue_verdict> verdicts;
  /// When the pending `svc_late` wakeup is due (no_deadline: none).
  time_point wake_scheduled = no_deadline;
  /// This route's share of the core's gauges, as last published; shared
  /// with the exit hook that takes the share back when the actor ends.
  std::shared_ptr<route_gauges> gauges;
  std::uint64_t published_lifo = 0;
  /// The route answers progressively (its bridges relay preliminaries).
  bool progressive = false;

  static inline const char* name = "bulwark.service.route_queue";
};

using route_queue_self = caf::stateful_actor<route_queue_state>*;

caf::behavior route_queue_actor(route_queue_self self, core_ptr core,
                                caf::actor anchor, cell_ptr target,
                                overload_control_options opts,
                                bool progressive);

} // namespace bulwark::service_detail
