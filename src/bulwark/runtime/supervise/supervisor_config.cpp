#include "bulwark/runtime/supervise/supervisor_config.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

idempotency
supervisor_config::idempotency_of(std::string_view op) const noexcept {
  for (auto& x : operations)
    if (x.name == op)
      return x.repeat;
  return repeat;
}

namespace {

constexpr std::initializer_list<routing_kind> all_routing_kinds = {
  routing_kind::round_robin, routing_kind::least_outstanding,
  routing_kind::power_of_two};

} // namespace

supervisor_config parse_supervisor_config(const boost::json::value& v,
                                          const json_path& at, std::string name,
                                          error_list& errors) {
  supervisor_config cfg;
  cfg.name = std::move(name);
  object_reader r{v,
                  at,
                  errors,
                  {"members", "routing", "failover", "max_failovers",
                   "failover_on", "rejection_cooldown", "default_timeout",
                   "hedge", "budget", "outlier_detection", "restart"}};
  if (r.require("members")) {
    auto members_at = r.path("members");
    auto* arr = r.find("members")->if_array();
    if (arr == nullptr || arr->empty()) {
      errors.add(members_at,
                 fmt::format("must be a non-empty array of dependency or "
                             "supervisor names (got: {})",
                             describe_json(*r.find("members"))));
    } else if (arr->size() > max_members) {
      errors.add(members_at, fmt::format("at most {} members (got: {})",
                                         max_members, arr->size()));
    } else {
      for (std::size_t i = 0; i < arr->size(); ++i) {
        auto item_at = members_at / i;
        auto* s = (*arr)[i].if_string();
        if (s == nullptr
            || !is_valid_name(std::string_view{s->data(), s->size()})) {
          errors.add(item_at, fmt::format("must be a dependency or supervisor "
                                          "name (got: {})",
                                          describe_json((*arr)[i])));
          continue;
        }
        std::string member{s->data(), s->size()};
        bool dup = false;
        for (auto& m : cfg.members)
          dup = dup || m == member;
        if (dup)
          errors.add(item_at, fmt::format("\"{}\" is listed twice", member));
        else
          cfg.members.push_back(std::move(member));
      }
    }
  }
  r.read_enum("routing", cfg.routing, all_routing_kinds);
  r.read("failover", cfg.failover);
  r.read("max_failovers", cfg.max_failovers, 0, 7);
  r.read("failover_on", cfg.failover_on);
  r.read("rejection_cooldown", cfg.rejection_cooldown, duration{0}, hours(1));
  r.read("default_timeout", cfg.default_timeout, milliseconds(1), hours(24));
  static const boost::json::value empty_object = boost::json::object{};
  auto section = [&](std::string_view key) -> const boost::json::value& {
    auto* x = r.find(key);
    return x != nullptr ? *x : empty_object;
  };
  if (r.valid()) {
    cfg.hedge = parse_hedge_config(section("hedge"), r.path("hedge"), errors);
    cfg.budget =
      parse_budget_config(section("budget"), r.path("budget"), errors);
    cfg.outlier_detection = parse_outlier_config(
      section("outlier_detection"), r.path("outlier_detection"), errors);
    cfg.restart =
      parse_restart_config(section("restart"), r.path("restart"), errors);
  }
  return cfg;
}

boost::json::object to_json(const supervisor_config& cfg) {
  boost::json::object result;
  boost::json::array members;
  for (auto& m : cfg.members)
    members.emplace_back(m);
  result["members"] = std::move(members);
  result["routing"] = to_string(cfg.routing);
  result["failover"] = cfg.failover;
  result["max_failovers"] = cfg.max_failovers;
  boost::json::array classes;
  for (auto c : all_failure_classes)
    if (cfg.failover_on.contains(c))
      classes.emplace_back(to_string(c));
  result["failover_on"] = std::move(classes);
  result["rejection_cooldown"] = format_duration(cfg.rejection_cooldown);
  result["default_timeout"] = format_duration(cfg.default_timeout);
  result["hedge"] = to_json(cfg.hedge);
  result["budget"] = to_json(cfg.budget);
  result["outlier_detection"] = to_json(cfg.outlier_detection);
  result["restart"] = to_json(cfg.restart);
  return result;
}

} // namespace bulwark
