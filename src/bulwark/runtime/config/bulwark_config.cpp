#include "bulwark/runtime/config/bulwark_config.hpp"

#include <exception>
#include <functional>
#include <map>
#include <set>

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

const dependency_config*
bulwark_config::find(std::string_view name) const noexcept {
  for (auto& dep : dependencies)
    if (dep.name == name)
      return &dep;
  return nullptr;
}

const supervisor_config*
bulwark_config::find_supervisor(std::string_view name) const noexcept {
  for (auto& sup : supervisors)
    if (sup.name == name)
      return &sup;
  return nullptr;
}

namespace {

// Checks the supervisors against each other and the dependencies: members
// exist, each has one owner, no cycles, and hedging never duplicates an
// `unsafe` operation of any member below. Fills the derived idempotency.
void validate_supervisors(bulwark_config& cfg, error_list& errors) {
  auto sups_at = json_path{} / "supervisors";
  // A member on another node: a remote of `/cluster/remotes`, whose
  // operations are declared there (and checked against the peer's own
  // declaration when its link comes up).
  auto remote = [&cfg](const std::string& name) {
    return cfg.cluster ? cfg.cluster->find_remote(name) : nullptr;
  };
  std::map<std::string, std::string> owner; // member -> supervisor
  for (auto& sup : cfg.supervisors) {
    auto sup_at = sups_at / sup.name;
    if (cfg.find(sup.name) != nullptr)
      errors.add(sup_at, fmt::format("\"{}\" names a dependency too; "
                                     "dependency and supervisor names must "
                                     "differ",
                                     sup.name));
    for (std::size_t i = 0; i < sup.members.size(); ++i) {
      auto& m = sup.members[i];
      auto at = sup_at / "members" / i;
      if (cfg.find(m) == nullptr && cfg.find_supervisor(m) == nullptr
          && remote(m) == nullptr) {
        errors.add(at, fmt::format("unknown member \"{}\": no dependency{} "
                                   "of that name",
                                   m,
                                   cfg.cluster ? ", supervisor or remote"
                                               : " or supervisor"));
        continue;
      }
      auto [it, fresh] = owner.emplace(m, sup.name);
      if (!fresh)
        errors.add(at, fmt::format("\"{}\" is already a member of supervisor "
                                   "\"{}\": a member has one supervisor, which "
                                   "restarts it",
                                   m, it->second));
    }
  }
  // Cycles: depth-first over supervisor -> supervisor edges.
  std::map<std::string, int> mark; // 1 = on the stack, 2 = done
  std::vector<std::string> stack;
  std::set<std::string> reported;
  std::function<void(const supervisor_config&)> visit =
    [&](const supervisor_config& sup) {
      mark[sup.name] = 1;
      stack.push_back(sup.name);
      for (std::size_t i = 0; i < sup.members.size(); ++i) {
        auto* child = cfg.find_supervisor(sup.members[i]);
        if (child == nullptr)
          continue;
        auto state = mark[child->name];
        if (state == 1) {
          std::string loop;
          bool on = false;
          for (auto& s : stack) {
            on = on || s == child->name;
            if (on)
              loop += s + " -> ";
          }
          loop += child->name;
          if (reported.insert(sup.name).second)
            errors.add(sups_at / sup.name / "members" / i,
                       fmt::format("supervisors form a cycle: {}", loop));
        } else if (state == 0) {
          visit(*child);
        }
      }
      stack.pop_back();
      mark[sup.name] = 2;
    };
  for (auto& sup : cfg.supervisors)
    if (mark[sup.name] == 0)
      visit(sup);
  if (!errors.empty())
    return;
  // Derived idempotency, members first (the forest has no cycle now).
  std::set<std::string> resolved;
  std::function<void(supervisor_config&)> resolve =
    [&](supervisor_config& sup) {
      if (!resolved.insert(sup.name).second)
        return;
      bool first = true;
      std::set<std::string> op_names;
      for (auto& m : sup.members) {
        idempotency def;
        if (auto* dep = cfg.find(m)) {
          def = dep->repeat;
          for (auto& op : dep->operations)
            op_names.insert(op.name);
        } else if (auto* r = remote(m)) {
          def = r->default_repeat;
          for (auto& op : r->operations)
            op_names.insert(op.name);
        } else {
          auto* child = const_cast<supervisor_config*>(cfg.find_supervisor(m));
          resolve(*child);
          def = child->repeat;
          for (auto& op : child->operations)
            op_names.insert(op.name);
        }
        sup.repeat = first ? def : least_safe(sup.repeat, def);
        first = false;
      }
      sup.operations.clear();
      for (auto& name : op_names) {
        operation_config op{name, idempotency::idempotent};
        for (auto& m : sup.members) {
          auto x = cfg.find(m) != nullptr ? cfg.find(m)->idempotency_of(name)
                   : remote(m) != nullptr
                     ? remote(m)->idempotency_of(name)
                     : cfg.find_supervisor(m)->idempotency_of(name);
          op.repeat = least_safe(op.repeat, x);
        }
        sup.operations.push_back(std::move(op));
      }
    };
  for (auto& sup : cfg.supervisors)
    resolve(sup);
  // Hedging duplicates calls: every operation below must allow it.
  for (auto& sup : cfg.supervisors) {
    if (!sup.hedge.enabled)
      continue;
    auto at = sups_at / sup.name / "hedge" / "enabled";
    if (sup.repeat == idempotency::unsafe)
      errors.add(at, fmt::format("cannot hedge: a member's operations are "
                                 "\"unsafe\" by default (every member must "
                                 "declare \"idempotency\": \"idempotent\" or "
                                 "\"keyed\"), or turn hedging off"));
    for (auto& op : sup.operations)
      if (op.repeat == idempotency::unsafe && sup.repeat != idempotency::unsafe)
        errors.add(at, fmt::format("cannot hedge: operation \"{}\" is "
                                   "\"unsafe\" in a member; declare it "
                                   "\"idempotent\" or \"keyed\" there, or "
                                   "turn hedging off",
                                   op.name));
  }
}

// The cluster section against the rest of the document: a remote's local
// name is a third kind of name next to dependencies and supervisors, and a
// published name must be something this document runs.
void validate_cluster_names(const bulwark_config& cfg, error_list& errors) {
  auto cluster_at = json_path{} / "cluster";
  for (auto& remote : cfg.cluster->remotes) {
    const char* clash = cfg.find(remote.name) != nullptr ? "dependency"
                        : cfg.find_supervisor(remote.name) != nullptr
                          ? "supervisor"
                          : nullptr;
    if (clash != nullptr)
      errors.add(cluster_at / "remotes" / remote.name,
                 fmt::format("\"{}\" names a {} too; dependency, supervisor "
                             "and remote names must differ",
                             remote.name, clash));
  }
  auto& publish = cfg.cluster->publish;
  for (std::size_t i = 0; i < publish.size(); ++i)
    if (cfg.find(publish[i]) == nullptr
        && cfg.find_supervisor(publish[i]) == nullptr)
      errors.add(cluster_at / "publish" / i,
                 fmt::format("names no dependency or supervisor of this "
                             "document (got: \"{}\"); a ledger route is "
                             "published by the program at start, not here",
                             publish[i]));
}

} // namespace

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
    object_reader r{
      doc, json_path{}, errors, {"dependencies", "supervisors", "cluster"}};
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
    if (auto* sups = r.find("supervisors")) {
      auto sups_at = r.path("supervisors");
      if (auto* obj = sups->if_object()) {
        for (auto& member : *obj) {
          std::string_view name{member.key().data(), member.key().size()};
          auto sup_at = sups_at / name;
          if (!is_valid_name(name)) {
            errors.add(sup_at, "supervisor names must be 1 to 64 characters "
                               "of A-Z, a-z, 0-9, '_', '-', '.'");
            continue;
          }
          cfg.supervisors.push_back(parse_supervisor_config(
            member.value(), sup_at, std::string{name}, errors));
        }
      } else {
        errors.add(sups_at, fmt::format("must be an object mapping supervisor "
                                        "names to their settings (got: {})",
                                        describe_json(*sups)));
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
    if (auto* cluster = r.find("cluster")) {
      cfg.cluster = parse_cluster_config(*cluster, r.path("cluster"), errors);
      validate_cluster_names(cfg, errors);
    }
    if (errors.empty())
      validate_supervisors(cfg, errors);
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
  boost::json::object result{{"dependencies", std::move(deps)}};
  if (!cfg.supervisors.empty()) {
    boost::json::object sups;
    for (auto& sup : cfg.supervisors)
      sups[sup.name] = to_json(sup);
    result["supervisors"] = std::move(sups);
  }
  if (cfg.cluster)
    result["cluster"] = to_json(*cfg.cluster);
  return result;
}

bulwark_config default_bulwark_config() {
  bulwark_config cfg;
  dependency_config dep;
  dep.name = "example";
  cfg.dependencies.push_back(std::move(dep));
  return cfg;
}

} // namespace bulwark
