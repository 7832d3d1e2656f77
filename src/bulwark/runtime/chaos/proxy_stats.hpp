// What the fault proxy saw, per route (the name of the fault that matched a
// request, or "(none)"): requests, how many it forwarded, faults it injected
// by kind, requests with an idempotency key, those that repeated a key (the
// retries that reached the proxy) and those forwarded with a key already
// forwarded before (the duplicates that reached the service, which it must
// deduplicate). Keys are remembered in a bounded key_window, and at most
// `max_routes` route names are kept (later ones count under "(other)"), so
// memory stays bounded whatever clients send. Not thread-safe: the proxy
// holds its lock around it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "bulwark/runtime/chaos/key_window.hpp"
#include "bulwark/runtime/chaos/proxy_fault.hpp"

namespace bulwark {

struct route_stats {
  std::uint64_t requests = 0;
  std::uint64_t forwarded = 0;
  /// Requests with a valid Idempotency-Key.
  std::uint64_t keyed = 0;
  /// Keyed requests whose key this route saw before.
  std::uint64_t repeated_keys = 0;
  /// Forwarded keyed requests whose key was forwarded before.
  std::uint64_t duplicates = 0;
  /// Requests whose Idempotency-Key was refused (not counted as keyed).
  std::uint64_t invalid_keys = 0;
  /// Forwarded requests the upstream did not answer (the proxy said 502).
  std::uint64_t upstream_errors = 0;
  /// Indexed by injected_fault.
  std::array<std::uint64_t, injected_fault_count> injected{};

  std::uint64_t count(injected_fault x) const noexcept {
    return injected[static_cast<std::size_t>(x)];
  }
};

class proxy_stats {
 public:
  static constexpr std::size_t max_routes = 256;

  /// The route name for requests no fault matched.
  static constexpr std::string_view unmatched_route = "(none)";

  explicit proxy_stats(std::size_t key_capacity = 1'000'000)
    : keys_(key_capacity) {}

  /// Counts one request on `route` and what `decision` does to it. `key` is
  /// the request's Idempotency-Key (empty: none); `key_valid` false counts
  /// it as invalid and remembers nothing.
  void observe(std::string_view route, std::string_view key, bool key_valid,
               const proxy_decision& decision);

  /// A forwarded request on `route` got no answer from the upstream.
  void upstream_failed(std::string_view route);

  /// The counters of `route` (zeros when unknown).
  route_stats route(std::string_view name) const;

  /// {"routes": {name: {...counters, "injected": {kind: n}}},
  ///  "keys": {"remembered": n, "capacity": n, "forgotten": n}}
  boost::json::object to_json() const;

  void clear();

 private:
  route_stats& slot(std::string_view route);

  key_window keys_;
  std::map<std::string, route_stats, std::less<>> routes_;
};

} // namespace bulwark
