#include "runtime/config/bulwark_config.hpp"

#include <exception>

#include "runtime/config/object_reader.hpp"

namespace bulwark {

const dependency_config*
bulwark_config::find(std::string_view name) const noexcept {
  for (auto& dep : dependencies)
    if (dep.name == name)
      return &dep;
  return nullptr;
}

config_result parse_bulwark_config(std::string_view text) {
  config_result result;
  try {
    auto doc = parse_json_text(text, result.errors);
    if (!result.errors.empty())
      return result;
    return validate_bulwark_config(doc);
  } catch (const std::exception& e) {
    // Only allocation failure can get here; report it, never throw past us.
    result.config.reset();
    result.errors.add_document(fmt::format("cannot parse: {}", e.what()));
    return result;
  }
}

config_result validate_bulwark_config(const boost::json::value& doc) {
  config_result result;
  auto& errors = result.errors;
  bulwark_config cfg;
  try {
    object_reader r{doc, json_path{}, errors, {"dependencies"}};
    if (r.require("dependencies")) {
      auto deps_at = r.path("dependencies");
      auto& deps = *r.find("dependencies");
      if (auto* obj = deps.if_object()) {
        for (auto& member : *obj) {
          std::string_view name{member.key().data(), member.key().size()};
          auto dep_at = deps_at / name;
          if (!is_valid_name(name)) {
            errors.add(dep_at, "dependency names must be 1 to 64 characters of "
                               "A-Z, a-z, 0-9, '_', '-', '.'");
            continue;
          }
          cfg.dependencies.push_back(parse_dependency_config(
            member.value(), dep_at, std::string{name}, errors));
        }
      } else {
        errors.add(deps_at, fmt::format("must be an object mapping dependency "
                                        "names to their settings (got: {})",
                                        describe_json(deps)));
      }
    }
    // Cross-dependency rule: an alternate fallback names another dependency
    // of this document.
    auto deps_at = json_path{} / "dependencies";
    for (auto& dep : cfg.dependencies) {
      for (size_t i = 0; i < dep.fallback.steps.size(); ++i) {
        auto& step = dep.fallback.steps[i];
        if (step.kind != fallback_kind::alternate)
          continue;
        auto at = deps_at / dep.name / "fallback" / i / "dependency";
        if (step.dependency == dep.name)
          errors.add(at, "an alternate must be another dependency (got: \""
                           + step.dependency + "\")");
        else if (cfg.find(step.dependency) == nullptr)
          errors.add(at, "names no dependency of this document (got: \""
                           + step.dependency + "\")");
      }
    }
  } catch (const std::exception& e) {
    errors.add_document(fmt::format("cannot validate: {}", e.what()));
  }
  if (errors.empty())
    result.config = std::move(cfg);
  return result;
}

boost::json::object to_json(const bulwark_config& cfg) {
  boost::json::object deps;
  for (auto& dep : cfg.dependencies)
    deps[dep.name] = to_json(dep);
  return boost::json::object{{"dependencies", std::move(deps)}};
}

bulwark_config default_bulwark_config() {
  bulwark_config cfg;
  dependency_config dep;
  dep.name = "example";
  cfg.dependencies.push_back(std::move(dep));
  return cfg;
}

} // namespace bulwark
