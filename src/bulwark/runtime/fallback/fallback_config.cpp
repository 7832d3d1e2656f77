#include "bulwark/runtime/fallback/fallback_config.hpp"

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(fallback_kind x) {
  switch (x) {
    case fallback_kind::stale_cache:
      return "stale_cache";
    case fallback_kind::static_value:
      return "static";
    case fallback_kind::alternate:
      return "alternate";
    case fallback_kind::fail_fast:
      return "fail_fast";
  }
  return "invalid";
}

bool from_string(std::string_view str, fallback_kind& x) {
  for (auto candidate : all_fallback_kinds)
    if (to_string(candidate) == str) {
      x = candidate;
      return true;
    }
  return false;
}

namespace {

bool intersects(failure_class_set a, failure_class_set b) {
  return (a.bits() & b.bits()) != 0;
}

// Every class in `a` is also in `b`.
bool covered_by(failure_class_set a, failure_class_set b) {
  return (a.bits() & ~b.bits()) == 0;
}

// Reports a `cancelled` in `on` at the array element that names it.
void check_on(const boost::json::value& on, failure_class_set classes,
              const json_path& at, error_list& errors) {
  if (classes.empty()) {
    errors.add(at, "must name at least one failure class");
    return;
  }
  if (!classes.contains(failure_class::cancelled))
    return;
  auto& arr = on.get_array();
  for (std::size_t i = 0; i < arr.size(); ++i)
    if (auto* s = arr[i].if_string(); s != nullptr && *s == "cancelled") {
      errors.add(at / i, "must not be \"cancelled\": nobody waits for the "
                         "reply of a cancelled request");
      return;
    }
}

struct parsed_step {
  fallback_step step;
  std::size_t index; // position in the JSON array, for error paths
};

// "step 1 (\"fail_fast\")" or "steps 0 (\"static\") and 2 (\"fail_fast\")".
std::string describe_steps(const std::vector<const parsed_step*>& xs) {
  std::string result = xs.size() == 1 ? "step " : "steps ";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      result += i + 1 == xs.size() ? " and " : ", ";
    result +=
      fmt::format("{} (\"{}\")", xs[i]->index, to_string(xs[i]->step.kind));
  }
  return result;
}

// Cross-step rules: no second stale_cache, no alternate named twice, no step
// that earlier chain-ending steps cover for every class it handles.
void check_chain(const std::vector<parsed_step>& steps, const json_path& at,
                 error_list& errors) {
  const parsed_step* first_stale = nullptr;
  failure_class_set ended; // classes for which an earlier step ends the chain
  for (std::size_t j = 0; j < steps.size(); ++j) {
    auto& s = steps[j];
    if (s.step.kind == fallback_kind::stale_cache) {
      if (first_stale == nullptr)
        first_stale = &s;
      else
        errors.add(at / s.index / "kind",
                   fmt::format("\"stale_cache\" already appears at step {}: "
                               "the cache is looked up once",
                               first_stale->index));
    }
    if (s.step.kind == fallback_kind::alternate && !s.step.dependency.empty()) {
      for (std::size_t i = 0; i < j; ++i)
        if (steps[i].step.kind == fallback_kind::alternate
            && steps[i].step.dependency == s.step.dependency) {
          errors.add(at / s.index / "dependency",
                     fmt::format("\"{}\" already appears at step {}",
                                 s.step.dependency, steps[i].index));
          break;
        }
    }
    if (!s.step.on.empty() && covered_by(s.step.on, ended)) {
      std::vector<const parsed_step*> enders;
      for (std::size_t i = 0; i < j; ++i)
        if (ends_chain(steps[i].step.kind)
            && intersects(steps[i].step.on, s.step.on))
          enders.push_back(&steps[i]);
      errors.add(at / s.index,
                 fmt::format("is unreachable: {} {} the chain before it for "
                             "every failure class it handles",
                             describe_steps(enders),
                             enders.size() == 1 ? "ends" : "end"));
    }
    if (ends_chain(s.step.kind))
      for (auto cls : all_failure_classes)
        if (s.step.on.contains(cls))
          ended.insert(cls);
  }
}

} // namespace

fallback_config parse_fallback_config(const boost::json::value& v,
                                      const json_path& at, error_list& errors) {
  // A local list: its backing array lives as long as `keys` does.
  std::initializer_list<std::string_view> keys = {"kind", "on", "value",
                                                  "dependency"};
  // Register the element keys under `*` as well, so the schema is complete
  // even when the document's chain is empty.
  if (auto* sink = schema_sink())
    for (auto key : keys)
      sink->push_back((at / "*" / key).str());
  fallback_config cfg;
  auto* arr = v.if_array();
  if (arr == nullptr) {
    errors.add(at, fmt::format("must be an array of fallback steps (got: {})",
                               describe_json(v)));
    return cfg;
  }
  if (arr->size() > fallback_config::max_steps)
    errors.add(at, fmt::format("must have at most {} steps (got: {})",
                               fallback_config::max_steps, arr->size()));
  std::vector<parsed_step> steps;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    object_reader r{(*arr)[i], at / i, errors, keys};
    if (!r.valid())
      continue;
    fallback_step step;
    bool kind_ok = false;
    if (r.require("kind")) {
      auto before = errors.size();
      r.read_enum("kind", step.kind,
                  {fallback_kind::stale_cache, fallback_kind::static_value,
                   fallback_kind::alternate, fallback_kind::fail_fast});
      kind_ok = errors.size() == before;
    }
    if (auto* on = r.find("on")) {
      auto before = errors.size();
      failure_class_set classes;
      r.read("on", classes);
      if (errors.size() == before) {
        check_on(*on, classes, r.path("on"), errors);
        step.on = classes;
      }
    }
    if (!kind_ok) {
      // Whether `value` or `dependency` belong here depends on the kind.
      continue;
    }
    if (step.kind == fallback_kind::static_value) {
      if (r.find("value") == nullptr)
        errors.add(r.path("value"), "is required when kind is \"static\"");
      else
        r.read("value", step.value, /*allow_empty=*/true);
    } else if (r.find("value") != nullptr) {
      errors.add(r.path("value"), "is allowed only when kind is \"static\"");
    }
    if (step.kind == fallback_kind::alternate) {
      if (r.find("dependency") == nullptr)
        errors.add(r.path("dependency"),
                   "is required when kind is \"alternate\"");
      else
        r.read("dependency", step.dependency);
    } else if (r.find("dependency") != nullptr) {
      errors.add(r.path("dependency"),
                 "is allowed only when kind is \"alternate\"");
    }
    steps.push_back(parsed_step{std::move(step), i});
  }
  check_chain(steps, at, errors);
  cfg.steps.reserve(steps.size());
  for (auto& s : steps)
    cfg.steps.push_back(std::move(s.step));
  return cfg;
}

boost::json::array to_json(const fallback_config& cfg) {
  boost::json::array result;
  for (auto& step : cfg.steps) {
    boost::json::object obj;
    obj["kind"] = to_string(step.kind);
    if (step.kind == fallback_kind::static_value)
      obj["value"] = step.value;
    if (step.kind == fallback_kind::alternate)
      obj["dependency"] = step.dependency;
    boost::json::array on;
    for (auto cls : all_failure_classes)
      if (step.on.contains(cls))
        on.emplace_back(to_string(cls));
    obj["on"] = std::move(on);
    result.emplace_back(std::move(obj));
  }
  return result;
}

} // namespace bulwark
