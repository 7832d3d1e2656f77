#include "bulwark/runtime/chaos/proxy_stats.hpp"

namespace bulwark {

route_stats& proxy_stats::slot(std::string_view route) {
  auto i = routes_.find(route);
  if (i != routes_.end())
    return i->second;
  if (routes_.size() >= max_routes)
    return routes_[std::string{"(other)"}];
  return routes_[std::string{route}];
}

void proxy_stats::observe(std::string_view route, std::string_view key,
                          bool key_valid, const proxy_decision& decision) {
  auto& s = slot(route);
  ++s.requests;
  auto forwarded = decision.action == proxy_action::forward;
  if (forwarded)
    ++s.forwarded;
  switch (decision.action) {
    case proxy_action::forward:
      break;
    case proxy_action::error:
      for (std::size_t i = 0; i < std::size(chaos_failure_classes); ++i)
        if (chaos_failure_classes[i] == decision.failure)
          ++s.injected[i]; // the first four kinds mirror the classes
      break;
    case proxy_action::reset:
      ++s.injected[static_cast<std::size_t>(injected_fault::reset)];
      break;
    case proxy_action::black_hole:
      ++s.injected[static_cast<std::size_t>(injected_fault::black_hole)];
      break;
  }
  if (decision.slow_body)
    ++s.injected[static_cast<std::size_t>(injected_fault::slow_body)];
  if (decision.latency > duration::zero())
    ++s.injected[static_cast<std::size_t>(injected_fault::latency)];
  if (key.empty())
    return;
  if (!key_valid) {
    ++s.invalid_keys;
    return;
  }
  ++s.keyed;
  auto seen = keys_.observe(key_fingerprint(route, key), forwarded);
  if (seen.seen_before)
    ++s.repeated_keys;
  if (forwarded && seen.forwarded_before)
    ++s.duplicates;
}

void proxy_stats::upstream_failed(std::string_view route) {
  ++slot(route).upstream_errors;
}

route_stats proxy_stats::route(std::string_view name) const {
  auto i = routes_.find(name);
  return i == routes_.end() ? route_stats{} : i->second;
}

boost::json::object proxy_stats::to_json() const {
  boost::json::object routes;
  for (auto& [name, s] : routes_) {
    boost::json::object injected;
    for (std::size_t i = 0; i < injected_fault_count; ++i)
      injected[to_string(static_cast<injected_fault>(i))] = s.injected[i];
    routes[name] = boost::json::object{
      {"requests", s.requests},
      {"forwarded", s.forwarded},
      {"keyed", s.keyed},
      {"repeated_keys", s.repeated_keys},
      {"duplicates", s.duplicates},
      {"invalid_keys", s.invalid_keys},
      {"upstream_errors", s.upstream_errors},
      {"injected", std::move(injected)},
    };
  }
  return boost::json::object{
    {"routes", std::move(routes)},
    {"keys", boost::json::object{{"remembered", keys_.size()},
                                 {"capacity", keys_.capacity()},
                                 {"forgotten", keys_.evicted()}}},
  };
}

void proxy_stats::clear() {
  routes_.clear();
  keys_.clear();
}

} // namespace bulwark
