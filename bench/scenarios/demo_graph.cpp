#include "bench/scenarios/demo_graph.hpp"

#include <algorithm>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "bulwark/runtime/config/bulwark_config.hpp"

namespace bulwark::bench {

const char* const demo_dependency_names[demo_dependency_count] = {
  "inventory", "pricing", "payments", "recommendations"};

namespace {

// -- the fault schedules (chaos transports), the same in every mode ----------

const char* const schedules[demo_dependency_count] = {
  // inventory: fast, but 5% of answers take 0.4-1.5 s (a slow tail).
  R"({"latency": {"kind": "mixture", "parts": [
       {"weight": 95, "kind": "log_normal", "median": "15ms", "sigma": 0.4},
       {"weight": 5, "kind": "uniform", "min": "400ms", "max": "1500ms"}]}})",
  // pricing: a brownout, 60% transient errors from 15 s to 30 s.
  R"({"errors": {"transient": 0.5},
      "latency": {"kind": "log_normal", "median": "10ms", "sigma": 0.3},
      "windows": [{"kind": "brownout", "start": "15s", "end": "30s",
                   "failure": "transient", "rate": 60}]})",
  // payments: 8% transient errors all along.
  R"({"errors": {"transient": 8},
      "latency": {"kind": "log_normal", "median": "40ms", "sigma": 0.3}})",
  // recommendations: down from 35 s to 50 s, hanging 10x longer than usual
  // before each failure (an outage that times out rather than refuses).
  R"({"latency": {"kind": "log_normal", "median": "30ms", "sigma": 0.3},
      "windows": [{"kind": "outage", "start": "35s", "end": "50s",
                   "failure": "timeout"},
                  {"kind": "slowdown", "start": "35s", "end": "50s",
                   "factor": 10}]})",
};

// -- the policies, per mode ----------------------------------------------------

// What stays the same in every mode: idempotency (a fact about the
// operation, not a policy), the per-attempt timeouts and a bulkhead large
// enough never to be the bottleneck, so modes differ only in resilience.
std::string common(int dep) {
  static const char* const base[demo_dependency_count] = {
    R"("idempotency": "idempotent", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
    R"("idempotency": "idempotent", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
    R"("idempotency": "keyed", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
    R"("idempotency": "idempotent", "bulkhead": {"max_concurrent": 1000,
       "max_queue": 0, "max_queue_wait": "0s"}, "journeys": {"enabled": false})",
  };
  static const char* const timeouts[demo_dependency_count] = {"300ms", "200ms",
                                                              "500ms", "400ms"};
  return std::string{base[dep]} + R"(, "retry": {"per_attempt_timeout": ")"
         + timeouts[dep] + "\"";
}

std::string bulwark_policies(int dep) {
  switch (dep) {
    case 0: // inventory: idempotent reads, retried and hedged past the tail.
      return common(dep) + R"(, "max_attempts": 3,
        "backoff": {"base": "10ms", "cap": "100ms"}},
        "hedge": {"enabled": true, "delay_kind": "fixed", "delay": "50ms"},
        "breaker": {"minimum_calls": 50})";
    case 1: // pricing: cached; the breaker opens in the brownout and stale
            // prices answer until it is over.
      return common(dep) + R"(, "max_attempts": 2,
        "backoff": {"base": "10ms", "cap": "50ms"}},
        "breaker": {"window_size": 50, "minimum_calls": 20,
                    "open_duration": "2s", "max_open_duration": "4s"},
        "cache": {"enabled": true, "ttl": "2s", "stale_if_error": "60s",
                  "max_entries": 1000},
        "fallback": [{"kind": "stale_cache"}])";
    case 2: // payments: keyed, so retries are safe; never hedged.
      return common(dep) + R"(, "max_attempts": 3,
        "backoff": {"base": "20ms", "cap": "200ms"}},
        "breaker": {"minimum_calls": 50})";
    default: // recommendations: sheddable, a static list when it is down.
      return common(dep) + R"(, "max_attempts": 2,
        "backoff": {"base": "20ms", "cap": "100ms"}},
        "breaker": {"window_size": 20, "minimum_calls": 10,
                    "open_duration": "2s", "max_open_duration": "4s"},
        "fallback": [{"kind": "static", "value": "bestsellers"}])";
  }
}

std::string naive_policies(int dep) {
  return common(dep) + R"(, "max_attempts": 3, "honour_retry_after": false,
    "backoff": {"kind": "constant", "base": "0s", "jitter": "none"}},
    "budget": {"mode": "unlimited"}, "breaker": {"mode": "disabled"},
    "fallback": [])";
}

std::string no_policies(int dep) {
  return common(dep) + R"(, "enabled": false},
    "budget": {"mode": "unlimited"}, "breaker": {"mode": "disabled"},
    "fallback": [])";
}

} // namespace

fault_schedule demo_fault_schedule(int dep) {
  error_list errors;
  auto cfg = parse_fault_schedule(boost::json::parse(schedules[dep]),
                                  json_path{}, errors);
  if (!errors.empty())
    throw std::runtime_error(std::string{"demo fault schedule of "}
                             + demo_dependency_names[dep]
                             + " invalid: " + errors.to_string());
  return cfg;
}

std::string demo_policy_text(const std::string& mode, int dep) {
  return mode == "bulwark" ? bulwark_policies(dep)
         : mode == "naive" ? naive_policies(dep)
                           : no_policies(dep);
}

std::vector<dependency_config>
parse_demo_configs(const std::vector<std::pair<int, std::string>>& texts,
                   const std::string& label) {
  std::string doc = R"({"dependencies": {)";
  bool first = true;
  for (auto& [dep, text] : texts) {
    doc += std::string{first ? "" : ", "} + "\"" + demo_dependency_names[dep]
           + "\": {" + text + "}";
    first = false;
  }
  doc += "}}";
  auto parsed = parse_bulwark_config(doc);
  if (!parsed.ok())
    throw std::runtime_error(label
                             + " config invalid: " + parsed.errors.to_string());
  std::vector<dependency_config> result;
  for (auto& [dep, text] : texts)
    for (auto& d : parsed.config->dependencies)
      if (d.name == demo_dependency_names[dep])
        result.push_back(d);
  return result;
}

std::vector<dependency_config> demo_configs(const std::string& mode) {
  std::vector<std::pair<int, std::string>> texts;
  for (int i = 0; i < demo_dependency_count; ++i)
    texts.emplace_back(i, demo_policy_text(mode, i));
  return parse_demo_configs(texts, "demo (" + mode + ")");
}

double demo_quantile(std::vector<double> xs, double q) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto rank =
    static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
  return xs[std::min(rank, xs.size() - 1)];
}

} // namespace bulwark::bench
