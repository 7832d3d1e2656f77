#include "bulwark/runtime/config/dependency_config.hpp"

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

idempotency
dependency_config::idempotency_of(std::string_view op) const noexcept {
  for (auto& x : operations)
    if (x.name == op)
      return x.repeat;
  return repeat;
}

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > dependency_config::max_name_length)
    return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok)
      return false;
  }
  return true;
}

namespace {

constexpr std::initializer_list<idempotency> all_idempotency = {
  idempotency::idempotent, idempotency::keyed, idempotency::unsafe};

} // namespace

dependency_config parse_dependency_config(const boost::json::value& v,
                                          const json_path& at, std::string name,
                                          error_list& errors) {
  dependency_config cfg;
  cfg.name = std::move(name);
  object_reader r{v,
                  at,
                  errors,
                  {"idempotency", "default_timeout", "operations",
                   "classification", "retry", "budget", "breaker", "bulkhead",
                   "adaptive_limit", "throttle", "deadline_shedding", "cache",
                   "hedge", "fallback", "journeys", "objective", "probe",
                   "progressive"}};
  r.read_enum("idempotency", cfg.repeat, all_idempotency);
  r.read("default_timeout", cfg.default_timeout, milliseconds(1), hours(24));
  if (auto* ops = r.find("operations")) {
    auto ops_at = r.path("operations");
    if (auto* obj = ops->if_object()) {
      for (auto& member : *obj) {
        auto op_at = ops_at / member.key();
        std::string_view op_name{member.key().data(), member.key().size()};
        if (!is_valid_name(op_name)) {
          errors.add(op_at, "operation names must be 1 to 64 characters of "
                            "A-Z, a-z, 0-9, '_', '-', '.'");
          continue;
        }
        operation_config op;
        op.name = std::string{op_name};
        op.repeat = cfg.repeat;
        object_reader opr{member.value(), op_at, errors, {"idempotency"}};
        opr.read_enum("idempotency", op.repeat, all_idempotency);
        cfg.operations.push_back(std::move(op));
      }
    } else {
      errors.add(ops_at, fmt::format("must be an object mapping operation "
                                     "names to settings (got: {})",
                                     describe_json(*ops)));
    }
  }
  // Policy sections: a missing section keeps every default. Parsers of
  // sections are also run on an empty object when absent, so every accepted
  // key is known to the schema (docs test) and defaults are validated alike.
  static const boost::json::value empty_object = boost::json::object{};
  static const boost::json::value empty_array = boost::json::array{};
  auto section = [&](std::string_view key) -> const boost::json::value& {
    auto* x = r.find(key);
    return x != nullptr ? *x : empty_object;
  };
  if (r.valid()) {
    cfg.classification = parse_classifier_config(
      section("classification"), r.path("classification"), errors);
    cfg.retry = parse_retry_config(section("retry"), r.path("retry"), errors);
    cfg.budget =
      parse_budget_config(section("budget"), r.path("budget"), errors);
    cfg.breaker =
      parse_breaker_config(section("breaker"), r.path("breaker"), errors);
    cfg.bulkhead =
      parse_bulkhead_config(section("bulkhead"), r.path("bulkhead"), errors);
    cfg.adaptive_limit = parse_adaptive_limit_config(
      section("adaptive_limit"), r.path("adaptive_limit"), errors);
    cfg.throttle =
      parse_throttle_config(section("throttle"), r.path("throttle"), errors);
    cfg.deadline_shedding = parse_deadline_shedding_config(
      section("deadline_shedding"), r.path("deadline_shedding"), errors);
    cfg.cache = parse_cache_config(section("cache"), r.path("cache"), errors);
    cfg.hedge = parse_hedge_config(section("hedge"), r.path("hedge"), errors);
    auto* fb = r.find("fallback");
    cfg.fallback = parse_fallback_config(fb != nullptr ? *fb : empty_array,
                                         r.path("fallback"), errors);
    cfg.journeys =
      parse_journey_config(section("journeys"), r.path("journeys"), errors);
    cfg.objective =
      parse_objective_config(section("objective"), r.path("objective"), errors);
    cfg.probe = parse_probe_config(section("probe"), r.path("probe"), errors);
    cfg.progressive = parse_progressive_config(section("progressive"),
                                               r.path("progressive"), errors);
  }
  // Hedging sends a speculative duplicate: never for an unsafe operation.
  if (cfg.hedge.enabled) {
    auto hedge_at = r.path("hedge") / "enabled";
    if (cfg.repeat == idempotency::unsafe)
      errors.add(hedge_at,
                 fmt::format("cannot hedge: the dependency's operations are "
                             "\"unsafe\" by default ({}); declare them "
                             "\"idempotent\" or \"keyed\", or turn hedging off",
                             r.path("idempotency").str()));
    for (auto& op : cfg.operations)
      if (op.repeat == idempotency::unsafe && cfg.repeat != idempotency::unsafe)
        errors.add(
          hedge_at,
          fmt::format("cannot hedge: operation \"{}\" is \"unsafe\" "
                      "({}); declare it \"idempotent\" or \"keyed\", "
                      "or turn hedging off",
                      op.name,
                      (r.path("operations") / op.name / "idempotency").str()));
  }
  return cfg;
}

boost::json::object to_json(const dependency_config& cfg) {
  boost::json::object result;
  result["idempotency"] = to_string(cfg.repeat);
  result["default_timeout"] = format_duration(cfg.default_timeout);
  boost::json::object ops;
  for (auto& op : cfg.operations)
    ops[op.name] = boost::json::object{{"idempotency", to_string(op.repeat)}};
  result["operations"] = std::move(ops);
  result["classification"] = to_json(cfg.classification);
  result["retry"] = to_json(cfg.retry);
  result["budget"] = to_json(cfg.budget);
  result["breaker"] = to_json(cfg.breaker);
  result["bulkhead"] = to_json(cfg.bulkhead);
  result["adaptive_limit"] = to_json(cfg.adaptive_limit);
  result["throttle"] = to_json(cfg.throttle);
  result["deadline_shedding"] = to_json(cfg.deadline_shedding);
  result["cache"] = to_json(cfg.cache);
  result["hedge"] = to_json(cfg.hedge);
  result["fallback"] = to_json(cfg.fallback);
  result["journeys"] = to_json(cfg.journeys);
  result["objective"] = to_json(cfg.objective);
  result["probe"] = to_json(cfg.probe);
  result["progressive"] = to_json(cfg.progressive);
  return result;
}

} // namespace bulwark
