#include "bulwark/runtime/saga/saga_config.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

namespace json = boost::json;

int saga_config::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (steps[i].name == name)
      return static_cast<int>(i);
  return -1;
}

std::size_t saga_config::pivot() const noexcept {
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!steps[i].compensable)
      return i;
  return steps.size();
}

namespace {

// Ranges, shared by parsing and by validate_saga_config.
constexpr duration min_step_timeout = milliseconds(1);
constexpr duration max_step_timeout = hours(24);
constexpr std::uint32_t max_running_limit = 1'000'000;
constexpr std::uint32_t max_id_bytes_limit = 1024;
constexpr std::uint32_t max_payload_limit = 16 * 1024 * 1024;
constexpr std::uint32_t retain_finished_limit = 10'000'000;
constexpr std::uint32_t compact_after_limit = 100'000'000;

const saga_config& defaults() {
  static const saga_config cfg;
  return cfg;
}

/// A backoff object whose missing keys take the saga's defaults (not the
/// generic ones of backoff_config), then the cap >= base rule on the result.
backoff_config read_backoff(const json::value& v, const json_path& at,
                            const backoff_config& fallback,
                            error_list& errors) {
  auto before = errors.size();
  auto cfg = parse_backoff_config(v, at, errors);
  auto* o = v.if_object();
  if (o == nullptr || errors.size() != before)
    return fallback;
  if (!o->contains("kind"))
    cfg.kind = fallback.kind;
  if (!o->contains("jitter"))
    cfg.jitter = fallback.jitter;
  if (!o->contains("base"))
    cfg.base = fallback.base;
  if (!o->contains("multiplier"))
    cfg.multiplier = fallback.multiplier;
  if (!o->contains("cap"))
    cfg.cap = fallback.cap;
  if (cfg.cap < cfg.base) {
    if (o->contains("cap"))
      errors.add(at / "cap", fmt::format("must be at least base ({}) (got: "
                                         "\"{}\")",
                                         format_duration(cfg.base),
                                         format_duration(cfg.cap)));
    else
      errors.add(at / "base", fmt::format("must not exceed cap ({}) (got: "
                                          "\"{}\")",
                                          format_duration(cfg.cap),
                                          format_duration(cfg.base)));
    return fallback;
  }
  return cfg;
}

/// Rules between fields, for parsed and C++-built configs alike.
void check_steps(const saga_config& cfg, const json_path& at,
                 error_list& errors) {
  auto steps_at = at / "steps";
  if (cfg.steps.empty()) {
    errors.add(steps_at, "must list at least one step");
    return;
  }
  if (cfg.steps.size() > saga_max_steps) {
    errors.add(steps_at, fmt::format("at most {} steps (got: {})",
                                     saga_max_steps, cfg.steps.size()));
    return;
  }
  bool after_pivot = false;
  for (std::size_t i = 0; i < cfg.steps.size(); ++i) {
    auto& s = cfg.steps[i];
    auto step_at = steps_at / i;
    for (std::size_t j = 0; j < i; ++j)
      if (!s.name.empty() && cfg.steps[j].name == s.name)
        errors.add(
          step_at / "name",
          fmt::format("\"{}\" is the name of step {} already", s.name, j));
    if (s.compensable && after_pivot)
      errors.add(step_at / "compensable",
                 "must be false: a step after a non-compensable step can no "
                 "longer be undone (the saga only goes forward once the "
                 "pivot may have executed)");
    after_pivot = after_pivot || !s.compensable;
  }
}

void check_ranges(const saga_config& cfg, error_list& errors) {
  json_path at;
  for (std::size_t i = 0; i < cfg.steps.size() && i < saga_max_steps; ++i) {
    auto& s = cfg.steps[i];
    if (!is_valid_name(s.name))
      errors.add(at / "steps" / i / "name",
                 fmt::format("must be 1 to 64 characters of A-Z, a-z, 0-9, "
                             "'_', '-', '.' (got: \"{}\")",
                             s.name.substr(0, 64)));
    if (!s.compensable
        && (s.max_tries < 1 || s.max_tries > saga_max_tries_limit))
      errors.add(at / "steps" / i / "max_tries",
                 fmt::format("must be between 1 and {} (got: {})",
                             saga_max_tries_limit, s.max_tries));
  }
  auto in = [&](const char* key, std::uint32_t x, std::uint32_t lo,
                std::uint32_t hi) {
    if (x < lo || x > hi)
      errors.add(at / key,
                 fmt::format("must be between {} and {} (got: {})", lo, hi, x));
  };
  if (cfg.step_timeout < min_step_timeout
      || cfg.step_timeout > max_step_timeout)
    errors.add(at / "step_timeout",
               fmt::format("must be between {} and {} (got: \"{}\")",
                           format_duration(min_step_timeout),
                           format_duration(max_step_timeout),
                           format_duration(cfg.step_timeout)));
  in("max_compensation_tries", cfg.max_compensation_tries, 1,
     saga_max_tries_limit);
  in("max_running", cfg.max_running, 1, max_running_limit);
  in("max_id_bytes", cfg.max_id_bytes, 1, max_id_bytes_limit);
  in("max_input_bytes", cfg.max_input_bytes, 0, max_payload_limit);
  in("max_data_bytes", cfg.max_data_bytes, 0, max_payload_limit);
  in("retain_finished", cfg.retain_finished, 0, retain_finished_limit);
  in("compact_after", cfg.compact_after, 0, compact_after_limit);
  auto check_backoff = [&](const char* key, const backoff_config& b) {
    auto b_at = at / key;
    if (b.base < duration{0} || b.base > hours(1))
      errors.add(b_at / "base", "must be between 0s and 1h");
    if (b.cap < duration{0} || b.cap > hours(1))
      errors.add(b_at / "cap", "must be between 0s and 1h");
    else if (b.cap < b.base)
      errors.add(b_at / "cap",
                 fmt::format("must be at least base ({}) (got: \"{}\")",
                             format_duration(b.base), format_duration(b.cap)));
    if (!(b.multiplier >= 1.0 && b.multiplier <= 10.0))
      errors.add(b_at / "multiplier", "must be between 1 and 10");
  };
  check_backoff("forward_backoff", cfg.forward_backoff);
  check_backoff("compensation_backoff", cfg.compensation_backoff);
}

} // namespace

saga_config parse_saga_config(const json::value& v, const json_path& at,
                              error_list& errors) {
  saga_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"steps", "step_timeout", "forward_backoff",
                   "max_compensation_tries", "compensation_backoff",
                   "max_running", "max_id_bytes", "max_input_bytes",
                   "max_data_bytes", "retain_finished", "compact_after"}};
  if (!r.valid())
    return cfg;
  auto before = errors.size();
  if (r.require("steps")) {
    auto steps_at = r.path("steps");
    auto* arr = r.find("steps")->if_array();
    if (arr == nullptr || arr->empty()) {
      errors.add(steps_at, fmt::format("must be a non-empty array of steps "
                                       "(got: {})",
                                       describe_json(*r.find("steps"))));
    } else if (arr->size() > saga_max_steps) {
      errors.add(steps_at, fmt::format("at most {} steps (got: {})",
                                       saga_max_steps, arr->size()));
    } else {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        saga_step_config step;
        object_reader s{(*arr)[i],
                        steps_at / i,
                        errors,
                        {"name", "compensable", "max_tries"}};
        if (s.require("name")) {
          s.read("name", step.name);
          if (!step.name.empty() && !is_valid_name(step.name))
            errors.add(s.path("name"),
                       fmt::format("must be 1 to 64 characters of A-Z, a-z, "
                                   "0-9, '_', '-', '.' (got: {})",
                                   describe_json(*s.find("name"))));
        }
        s.read("compensable", step.compensable);
        if (s.find("max_tries") != nullptr && step.compensable)
          errors.add(s.path("max_tries"),
                     "only non-compensable steps are retried forward (a "
                     "failed compensable step is compensated)");
        else
          s.read("max_tries", step.max_tries, 1, saga_max_tries_limit);
        cfg.steps.push_back(std::move(step));
      }
    }
  }
  bool steps_readable = errors.size() == before;
  r.read("step_timeout", cfg.step_timeout, min_step_timeout, max_step_timeout);
  static const json::value empty_object = json::object{};
  auto section = [&](std::string_view key) -> const json::value& {
    auto* x = r.find(key);
    return x != nullptr ? *x : empty_object;
  };
  cfg.forward_backoff =
    read_backoff(section("forward_backoff"), r.path("forward_backoff"),
                 defaults().forward_backoff, errors);
  r.read("max_compensation_tries", cfg.max_compensation_tries, 1,
         saga_max_tries_limit);
  cfg.compensation_backoff = read_backoff(
    section("compensation_backoff"), r.path("compensation_backoff"),
    defaults().compensation_backoff, errors);
  r.read("max_running", cfg.max_running, 1, max_running_limit);
  r.read("max_id_bytes", cfg.max_id_bytes, 1, max_id_bytes_limit);
  r.read("max_input_bytes", cfg.max_input_bytes, 0, max_payload_limit);
  r.read("max_data_bytes", cfg.max_data_bytes, 0, max_payload_limit);
  r.read("retain_finished", cfg.retain_finished, 0, retain_finished_limit);
  r.read("compact_after", cfg.compact_after, 0, compact_after_limit);
  // Rules between steps only when the steps themselves were readable.
  if (steps_readable)
    check_steps(cfg, at, errors);
  return cfg;
}

saga_config_result parse_saga_config(std::string_view text) {
  saga_config_result result;
  auto doc = parse_json_text(text, result.errors);
  if (!result.errors.empty())
    return result;
  auto cfg = parse_saga_config(doc, json_path{}, result.errors);
  if (result.errors.empty())
    result.config = std::move(cfg);
  return result;
}

error_list validate_saga_config(const saga_config& cfg) {
  error_list errors;
  check_ranges(cfg, errors);
  check_steps(cfg, json_path{}, errors);
  return errors;
}

json::object to_json(const saga_config& cfg) {
  json::object o;
  json::array steps;
  for (auto& s : cfg.steps) {
    json::object step{{"name", s.name}, {"compensable", s.compensable}};
    if (!s.compensable)
      step["max_tries"] = s.max_tries;
    steps.emplace_back(std::move(step));
  }
  o["steps"] = std::move(steps);
  o["step_timeout"] = format_duration(cfg.step_timeout);
  o["forward_backoff"] = to_json(cfg.forward_backoff);
  o["max_compensation_tries"] = cfg.max_compensation_tries;
  o["compensation_backoff"] = to_json(cfg.compensation_backoff);
  o["max_running"] = cfg.max_running;
  o["max_id_bytes"] = cfg.max_id_bytes;
  o["max_input_bytes"] = cfg.max_input_bytes;
  o["max_data_bytes"] = cfg.max_data_bytes;
  o["retain_finished"] = cfg.retain_finished;
  o["compact_after"] = cfg.compact_after;
  return o;
}

} // namespace bulwark
