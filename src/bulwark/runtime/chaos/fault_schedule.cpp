#include "bulwark/runtime/chaos/fault_schedule.hpp"

#include <cmath>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(latency_kind x) {
  switch (x) {
    case latency_kind::fixed:
      return "fixed";
    case latency_kind::uniform:
      return "uniform";
    case latency_kind::log_normal:
      return "log_normal";
    case latency_kind::mixture:
      return "mixture";
  }
  return "invalid";
}

std::string to_string(fault_window_kind x) {
  switch (x) {
    case fault_window_kind::outage:
      return "outage";
    case fault_window_kind::brownout:
      return "brownout";
    case fault_window_kind::slowdown:
      return "slowdown";
  }
  return "invalid";
}

// -- drawing -------------------------------------------------------------------

namespace {

constexpr double pi = 3.14159265358979323846;

// Latencies beyond this are clamped: far past any sensible fault, and far
// below the range of a nanosecond duration, so the conversion cannot overflow.
constexpr double max_latency_ns = 1.0e15;

duration from_ns(double ns) noexcept {
  if (!(ns > 0.0))
    return duration::zero();
  if (ns > max_latency_ns)
    ns = max_latency_ns;
  return duration{static_cast<duration::rep>(std::llround(ns))};
}

duration draw_simple(const latency_config& cfg, rng& gen) noexcept {
  switch (cfg.kind) {
    case latency_kind::fixed:
      return cfg.value < duration::zero() ? duration::zero() : cfg.value;
    case latency_kind::uniform: {
      if (cfg.max <= cfg.min)
        return cfg.min < duration::zero() ? duration::zero() : cfg.min;
      auto span = static_cast<std::uint64_t>((cfg.max - cfg.min).count()) + 1;
      return cfg.min + duration{static_cast<duration::rep>(gen.below(span))};
    }
    case latency_kind::log_normal: {
      // Box-Muller; one of the pair is dropped so every draw consumes
      // exactly two numbers and needs no state between calls.
      auto u1 = 1.0 - gen.uniform(); // (0, 1]: log stays finite
      auto u2 = gen.uniform();
      auto z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * pi * u2);
      return from_ns(static_cast<double>(cfg.median.count())
                     * std::exp(cfg.sigma * z));
    }
    case latency_kind::mixture:
      break;
  }
  return duration::zero();
}

} // namespace

duration draw_latency(const latency_config& cfg, rng& gen) noexcept {
  if (cfg.kind != latency_kind::mixture)
    return draw_simple(cfg, gen);
  if (cfg.parts.empty())
    return duration::zero();
  double total = 0.0;
  for (auto& part : cfg.parts)
    total += part.weight;
  auto pick = gen.uniform() * total;
  for (auto& part : cfg.parts) {
    if (pick < part.weight)
      return draw_simple(part, gen);
    pick -= part.weight;
  }
  // Rounding left `pick` just past the last weight.
  return draw_simple(cfg.parts.back(), gen);
}

chaos_decision decide(const fault_schedule& schedule, time_point start,
                      time_point now, rng& gen) noexcept {
  chaos_decision result;
  auto elapsed = now - start;
  if (schedule.crash_at != duration::max() && elapsed >= schedule.crash_at) {
    result.crashed = true;
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
  // Always one draw for the failure, even in an outage, so that a window
  // does not shift the random stream of everything after it.
  auto u = gen.uniform();
  if (outage != nullptr) {
    result.fail = true;
    result.failure = outage->failure;
  } else {
    double acc = 0.0;
    for (auto cls : chaos_failure_classes) {
      acc += rates[static_cast<std::size_t>(cls)];
      if (u < acc) {
        result.fail = true;
        result.failure = cls;
        break;
      }
    }
  }
  auto latency = draw_latency(schedule.latency, gen);
  if (factor != 1.0)
    latency = from_ns(static_cast<double>(latency.count()) * factor);
  result.latency = latency;
  if (result.fail && result.failure == failure_class::overloaded)
    result.retry_after = schedule.retry_after;
  return result;
}

// -- parsing -------------------------------------------------------------------

namespace {

constexpr duration max_latency = hours(1);
constexpr duration max_offset = hours(24 * 365);

// Whole numbers are written as integers (20, not 2E1).
boost::json::value json_number(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 9.0e15)
    return static_cast<std::int64_t>(x);
  return x;
}

boost::json::value json_percent(double fraction) {
  return json_number(std::round(fraction * 100.0 * 1e9) / 1e9);
}

// The value of "kind" when it is one of `candidates`, so that the reader can be
// built with the keys of that kind only.
template <class Enum>
bool peek_kind(const boost::json::value& v, Enum& out,
               std::initializer_list<Enum> candidates) {
  auto* obj = v.if_object();
  if (obj == nullptr)
    return false;
  auto* k = obj->if_contains("kind");
  if (k == nullptr || !k->is_string())
    return false;
  std::string_view str = k->get_string();
  for (auto c : candidates) {
    if (to_string(c) == str) {
      out = c;
      return true;
    }
  }
  return false;
}

object_reader latency_reader(const boost::json::value& v, const json_path& at,
                             error_list& errors, bool known, latency_kind kind,
                             bool allow_weight) {
  // The reader's key list must outlive construction only; list each case.
  if (!known)
    return allow_weight ? object_reader{v,
                                        at,
                                        errors,
                                        {"kind", "value", "min", "max",
                                         "median", "sigma", "parts", "weight"}}
                        : object_reader{v,
                                        at,
                                        errors,
                                        {"kind", "value", "min", "max",
                                         "median", "sigma", "parts"}};
  switch (kind) {
    case latency_kind::fixed:
      return allow_weight
               ? object_reader{v, at, errors, {"kind", "value", "weight"}}
               : object_reader{v, at, errors, {"kind", "value"}};
    case latency_kind::uniform:
      return allow_weight
               ? object_reader{v, at, errors, {"kind", "min", "max", "weight"}}
               : object_reader{v, at, errors, {"kind", "min", "max"}};
    case latency_kind::log_normal:
      return allow_weight
               ? object_reader{v,
                               at,
                               errors,
                               {"kind", "median", "sigma", "weight"}}
               : object_reader{v, at, errors, {"kind", "median", "sigma"}};
    case latency_kind::mixture:
      break;
  }
  return allow_weight
           ? object_reader{v, at, errors, {"kind", "parts", "weight"}}
           : object_reader{v, at, errors, {"kind", "parts"}};
}

} // namespace

latency_config parse_latency_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors,
                                    bool allow_weight) {
  latency_config cfg;
  auto candidates = {latency_kind::fixed, latency_kind::uniform,
                     latency_kind::log_normal, latency_kind::mixture};
  latency_kind kind = latency_kind::fixed;
  bool known = peek_kind(v, kind, candidates);
  auto r = latency_reader(v, at, errors, known, kind, allow_weight);
  if (!r.valid())
    return cfg;
  if (!r.require("kind"))
    return cfg;
  r.read_enum("kind", cfg.kind, candidates);
  if (!known)
    return cfg;
  if (allow_weight)
    r.read("weight", cfg.weight, 0.0, 1.0e6);
  switch (cfg.kind) {
    case latency_kind::fixed:
      r.read("value", cfg.value, duration::zero(), max_latency);
      break;
    case latency_kind::uniform:
      r.read("min", cfg.min, duration::zero(), max_latency);
      r.read("max", cfg.max, duration::zero(), max_latency);
      if (cfg.max < cfg.min)
        r.errors().add(r.path("max"),
                       fmt::format("must be at least min ({}) (got: {})",
                                   format_duration(cfg.min),
                                   format_duration(cfg.max)));
      break;
    case latency_kind::log_normal:
      r.read("median", cfg.median, duration::zero(), max_latency);
      r.read("sigma", cfg.sigma, 0.0, 10.0);
      break;
    case latency_kind::mixture: {
      if (!r.require("parts"))
        break;
      auto* parts = r.find("parts");
      auto* arr = parts->if_array();
      if (arr == nullptr || arr->empty()) {
        r.errors().add(r.path("parts"),
                       fmt::format("must be a non-empty array (got: {})",
                                   describe_json(*parts)));
        break;
      }
      double total = 0.0;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto part_at = r.path("parts") / i;
        auto& pv = (*arr)[i];
        latency_kind part_kind;
        if (peek_kind(pv, part_kind, {latency_kind::mixture})) {
          errors.add(part_at / "kind", "a mixture part cannot be a mixture");
          continue;
        }
        auto part = parse_latency_config(pv, part_at, errors, true);
        total += part.weight;
        cfg.parts.push_back(std::move(part));
      }
      if (!cfg.parts.empty() && !(total > 0.0))
        r.errors().add(r.path("parts"), "weights must not all be 0");
      break;
    }
  }
  return cfg;
}

boost::json::object to_json(const latency_config& cfg) {
  boost::json::object obj;
  obj["kind"] = to_string(cfg.kind);
  switch (cfg.kind) {
    case latency_kind::fixed:
      obj["value"] = format_duration(cfg.value);
      break;
    case latency_kind::uniform:
      obj["min"] = format_duration(cfg.min);
      obj["max"] = format_duration(cfg.max);
      break;
    case latency_kind::log_normal:
      obj["median"] = format_duration(cfg.median);
      obj["sigma"] = json_number(cfg.sigma);
      break;
    case latency_kind::mixture: {
      boost::json::array parts;
      for (auto& part : cfg.parts) {
        auto p = to_json(part);
        p["weight"] = json_number(part.weight);
        parts.emplace_back(std::move(p));
      }
      obj["parts"] = std::move(parts);
      break;
    }
  }
  return obj;
}

namespace {

fault_window parse_window(const boost::json::value& v, const json_path& at,
                          error_list& errors) {
  fault_window w;
  auto candidates = {fault_window_kind::outage, fault_window_kind::brownout,
                     fault_window_kind::slowdown};
  fault_window_kind kind = fault_window_kind::outage;
  bool known = peek_kind(v, kind, candidates);
  auto make_reader = [&]() {
    if (!known)
      return object_reader{
        v, at, errors, {"kind", "start", "end", "failure", "rate", "factor"}};
    switch (kind) {
      case fault_window_kind::outage:
        return object_reader{
          v, at, errors, {"kind", "start", "end", "failure"}};
      case fault_window_kind::brownout:
        return object_reader{
          v, at, errors, {"kind", "start", "end", "failure", "rate"}};
      case fault_window_kind::slowdown:
        break;
    }
    return object_reader{v, at, errors, {"kind", "start", "end", "factor"}};
  };
  auto r = make_reader();
  if (!r.valid())
    return w;
  bool has_kind = r.require("kind");
  bool has_start = r.require("start");
  bool has_end = r.require("end");
  if (has_kind)
    r.read_enum("kind", w.kind, candidates);
  auto errors_before = errors.size();
  r.read("start", w.start, duration::zero(), max_offset);
  r.read("end", w.end, duration::zero(), max_offset);
  if (has_start && has_end && errors.size() == errors_before
      && w.end <= w.start)
    errors.add(r.path("end"),
               fmt::format("must be after start ({}) (got: {})",
                           format_duration(w.start), format_duration(w.end)));
  if (!known)
    return w;
  switch (w.kind) {
    case fault_window_kind::brownout:
      r.read_percent("rate", w.rate);
      [[fallthrough]];
    case fault_window_kind::outage:
      r.read_enum("failure", w.failure,
                  {failure_class::transient, failure_class::timeout,
                   failure_class::overloaded, failure_class::persistent});
      break;
    case fault_window_kind::slowdown:
      r.read("factor", w.factor, 0.0, 1000.0);
      break;
  }
  return w;
}

} // namespace

fault_schedule parse_fault_schedule(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  fault_schedule cfg;
  object_reader r{
    v, at, errors, {"errors", "retry_after", "latency", "windows", "crash_at"}};
  if (!r.valid())
    return cfg;
  if (auto* ev = r.find("errors")) {
    object_reader er{*ev,
                     r.path("errors"),
                     errors,
                     {"transient", "timeout", "overloaded", "persistent"}};
    if (er.valid()) {
      double total = 0.0;
      for (auto cls : chaos_failure_classes) {
        auto& rate = cfg.error_rate[static_cast<std::size_t>(cls)];
        er.read_percent(to_string(cls), rate);
        total += rate;
      }
      if (total > 1.0 + 1e-9)
        errors.add(r.path("errors"),
                   fmt::format("rates must add up to at most 100 (got: {})",
                               std::round(total * 100.0 * 1e6) / 1e6));
    }
  }
  r.read("retry_after", cfg.retry_after, duration::zero(), hours(1));
  if (auto* lv = r.find("latency"))
    cfg.latency = parse_latency_config(*lv, r.path("latency"), errors);
  if (auto* wv = r.find("windows")) {
    if (auto* arr = wv->if_array()) {
      for (std::size_t i = 0; i < arr->size(); ++i)
        cfg.windows.push_back(
          parse_window((*arr)[i], r.path("windows") / i, errors));
    } else {
      errors.add(r.path("windows"),
                 fmt::format("must be an array (got: {})", describe_json(*wv)));
    }
  }
  r.read("crash_at", cfg.crash_at, duration::zero(), max_offset);
  return cfg;
}

boost::json::object to_json(const fault_schedule& cfg) {
  boost::json::object obj;
  boost::json::object errs;
  for (auto cls : chaos_failure_classes)
    errs[to_string(cls)] =
      json_percent(cfg.error_rate[static_cast<std::size_t>(cls)]);
  obj["errors"] = std::move(errs);
  obj["retry_after"] = format_duration(cfg.retry_after);
  obj["latency"] = to_json(cfg.latency);
  boost::json::array windows;
  for (auto& w : cfg.windows) {
    boost::json::object wo;
    wo["kind"] = to_string(w.kind);
    wo["start"] = format_duration(w.start);
    wo["end"] = format_duration(w.end);
    switch (w.kind) {
      case fault_window_kind::brownout:
        wo["rate"] = json_percent(w.rate);
        [[fallthrough]];
      case fault_window_kind::outage:
        wo["failure"] = to_string(w.failure);
        break;
      case fault_window_kind::slowdown:
        wo["factor"] = json_number(w.factor);
        break;
    }
    windows.emplace_back(std::move(wo));
  }
  obj["windows"] = std::move(windows);
  if (cfg.crash_at != duration::max())
    obj["crash_at"] = format_duration(cfg.crash_at);
  return obj;
}

} // namespace bulwark
