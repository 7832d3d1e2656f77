#include "bulwark/runtime/chaos/proxy_fault.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/object_reader.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"

namespace bulwark {

std::string to_string(proxy_action x) {
  switch (x) {
    case proxy_action::forward:
      return "forward";
    case proxy_action::error:
      return "error";
    case proxy_action::reset:
      return "reset";
    case proxy_action::black_hole:
      return "black_hole";
  }
  return "invalid";
}

std::string to_string(injected_fault x) {
  switch (x) {
    case injected_fault::transient:
      return "transient";
    case injected_fault::timeout:
      return "timeout";
    case injected_fault::overloaded:
      return "overloaded";
    case injected_fault::persistent:
      return "persistent";
    case injected_fault::reset:
      return "reset";
    case injected_fault::black_hole:
      return "black_hole";
    case injected_fault::slow_body:
      return "slow_body";
    case injected_fault::latency:
      return "latency";
  }
  return "invalid";
}

namespace {

constexpr double max_latency_ns = 1.0e15;

std::size_t class_slot(failure_class cls) {
  for (std::size_t i = 0; i < std::size(chaos_failure_classes); ++i)
    if (chaos_failure_classes[i] == cls)
      return i;
  return 0;
}

} // namespace

proxy_decision decide_proxy(const proxy_fault_config& cfg, time_point added,
                            time_point now, rng& gen) noexcept {
  proxy_decision result;
  auto& schedule = cfg.schedule;
  auto elapsed = now - added;
  if (schedule.crash_at != duration::max() && elapsed >= schedule.crash_at) {
    result.action = proxy_action::reset;
    return result;
  }
  auto rates = schedule.error_rate;
  const fault_window* outage = nullptr;
  double factor = 1.0;
  for (auto& w : schedule.windows) {
    if (elapsed < w.start || elapsed >= w.end)
      continue;
    switch (w.kind) {
      case fault_window_kind::outage:
        if (outage == nullptr)
          outage = &w;
        break;
      case fault_window_kind::brownout:
        rates[static_cast<std::size_t>(w.failure)] += w.rate;
        break;
      case fault_window_kind::slowdown:
        factor *= w.factor;
        break;
    }
  }
  // One draw for the action, always, so a window never shifts the random
  // stream of the requests after it.
  auto u = gen.uniform();
  bool failed = false;
  if (outage != nullptr) {
    failed = true;
    result.failure = outage->failure;
  } else {
    double acc = cfg.reset_rate;
    if (u < acc) {
      result.action = proxy_action::reset;
    } else if (u < (acc += cfg.black_hole_rate)) {
      result.action = proxy_action::black_hole;
    } else {
      for (auto cls : chaos_failure_classes) {
        acc += rates[static_cast<std::size_t>(cls)];
        if (u < acc) {
          failed = true;
          result.failure = cls;
          break;
        }
      }
    }
  }
  if (failed) {
    result.action = proxy_action::error;
    result.status = cfg.statuses[class_slot(result.failure)];
    if (result.failure == failure_class::overloaded)
      result.retry_after = schedule.retry_after;
  }
  auto latency = draw_latency(schedule.latency, gen);
  if (factor != 1.0) {
    auto ns = static_cast<double>(latency.count()) * factor;
    ns = ns > max_latency_ns ? max_latency_ns : (ns > 0.0 ? ns : 0.0);
    latency = duration{static_cast<duration::rep>(std::llround(ns))};
  }
  result.latency =
    result.action == proxy_action::black_hole ? duration::zero() : latency;
  auto slow = gen.uniform() < cfg.slow_body_rate;
  if (result.action == proxy_action::forward
      || result.action == proxy_action::error) {
    result.slow_body = slow;
    auto limit = cfg.bandwidth_bytes_per_s;
    if (slow && (limit == 0 || cfg.slow_body_bytes_per_s < limit))
      limit = cfg.slow_body_bytes_per_s;
    result.body_bytes_per_s = limit;
  }
  return result;
}

bool matches(const proxy_fault_config& cfg, std::string_view method,
             std::string_view path) noexcept {
  if (!cfg.method.empty() && cfg.method != method)
    return false;
  auto query = path.find('?');
  if (query != std::string_view::npos)
    path = path.substr(0, query);
  return path.substr(0, cfg.path_prefix.size()) == cfg.path_prefix;
}

// -- parsing ------------------------------------------------------------------

namespace {

constexpr std::uint64_t max_bytes_per_s = 10'000'000'000ULL;

bool is_method_char(char c) {
  return c >= 'A' && c <= 'Z';
}

// Reads {"bytes_per_s": N} (and "rate" when `rate` is given).
void read_rate_object(const boost::json::value& v, const json_path& at,
                      double* rate, std::uint64_t& bytes_per_s,
                      error_list& errors) {
  auto reader = rate != nullptr
                  ? object_reader{v, at, errors, {"rate", "bytes_per_s"}}
                  : object_reader{v, at, errors, {"bytes_per_s"}};
  if (!reader.valid())
    return;
  if (rate != nullptr)
    reader.read_percent("rate", *rate);
  else if (!reader.require("bytes_per_s"))
    return;
  auto x = static_cast<std::int64_t>(bytes_per_s);
  reader.read("bytes_per_s", x, 1, static_cast<std::int64_t>(max_bytes_per_s));
  bytes_per_s = static_cast<std::uint64_t>(x);
}

} // namespace

proxy_fault_config parse_proxy_fault(const boost::json::value& v,
                                     const json_path& at, error_list& errors) {
  proxy_fault_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"method", "path", "statuses", "reset", "black_hole",
                   "slow_body", "bandwidth", "errors", "retry_after", "latency",
                   "windows", "crash_at"}};
  if (!r.valid())
    return cfg;
  if (auto* m = r.find("method")) {
    bool ok = m->is_string() && !m->get_string().empty()
              && m->get_string().size() <= 16;
    if (ok)
      for (char c : m->get_string())
        ok = ok && is_method_char(c);
    if (ok)
      cfg.method = std::string{m->get_string()};
    else
      errors.add(r.path("method"),
                 fmt::format("must be an HTTP method: 1 to 16 uppercase "
                             "letters (got: {})",
                             describe_json(*m)));
  }
  if (r.find("path") != nullptr) {
    std::string path;
    auto before = errors.size();
    r.read_key("path", path, 1024);
    if (errors.size() == before) {
      if (path.front() != '/')
        errors.add(r.path("path"), "must start with '/'");
      else
        cfg.path_prefix = std::move(path);
    }
  }
  if (auto* s = r.find("statuses")) {
    object_reader sr{*s,
                     r.path("statuses"),
                     errors,
                     {"transient", "timeout", "overloaded", "persistent"}};
    if (sr.valid())
      for (std::size_t i = 0; i < std::size(chaos_failure_classes); ++i) {
        std::int64_t x = cfg.statuses[i];
        sr.read(to_string(chaos_failure_classes[i]), x, 400, 599);
        cfg.statuses[i] = static_cast<int>(x);
      }
  }
  r.read_percent("reset", cfg.reset_rate);
  r.read_percent("black_hole", cfg.black_hole_rate);
  if (auto* sb = r.find("slow_body"))
    read_rate_object(*sb, r.path("slow_body"), &cfg.slow_body_rate,
                     cfg.slow_body_bytes_per_s, errors);
  if (auto* b = r.find("bandwidth")) {
    std::uint64_t limit = 1;
    auto before = errors.size();
    read_rate_object(*b, r.path("bandwidth"), nullptr, limit, errors);
    if (errors.size() == before)
      cfg.bandwidth_bytes_per_s = limit;
  }
  // The schedule's keys go through its own parser, at the same paths.
  boost::json::object schedule_keys;
  for (auto key : {"errors", "retry_after", "latency", "windows", "crash_at"})
    if (auto* x = r.find(key))
      schedule_keys[key] = *x;
  cfg.schedule = parse_fault_schedule(schedule_keys, at, errors);
  double shares = cfg.reset_rate + cfg.black_hole_rate;
  for (auto cls : chaos_failure_classes)
    shares += cfg.schedule.error_rate[static_cast<std::size_t>(cls)];
  if (shares > 1.0 + 1e-9)
    errors.add(at, fmt::format("reset, black_hole and errors must add up to "
                               "at most 100 (got: {})",
                               std::round(shares * 100.0 * 1e6) / 1e6));
  return cfg;
}

namespace {

boost::json::value json_percent(double fraction) {
  auto pct = std::round(fraction * 100.0 * 1e9) / 1e9;
  if (std::floor(pct) == pct)
    return static_cast<std::int64_t>(pct);
  return pct;
}

} // namespace

boost::json::object to_json(const proxy_fault_config& cfg) {
  auto obj = to_json(cfg.schedule);
  if (!cfg.method.empty())
    obj["method"] = cfg.method;
  obj["path"] = cfg.path_prefix;
  boost::json::object statuses;
  for (std::size_t i = 0; i < std::size(chaos_failure_classes); ++i)
    statuses[to_string(chaos_failure_classes[i])] = cfg.statuses[i];
  obj["statuses"] = std::move(statuses);
  obj["reset"] = json_percent(cfg.reset_rate);
  obj["black_hole"] = json_percent(cfg.black_hole_rate);
  obj["slow_body"] =
    boost::json::object{{"rate", json_percent(cfg.slow_body_rate)},
                        {"bytes_per_s", cfg.slow_body_bytes_per_s}};
  if (cfg.bandwidth_bytes_per_s != 0)
    obj["bandwidth"] =
      boost::json::object{{"bytes_per_s", cfg.bandwidth_bytes_per_s}};
  return obj;
}

} // namespace bulwark
