#include "bulwark/runtime/chaos/proxy_fault_table.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::optional<std::string> fault_name_problem(std::string_view name) {
  if (name.empty())
    return std::string{"must not be empty"};
  if (name.size() > 64)
    return fmt::format("is {} bytes, longer than 64", name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok)
      return fmt::format(
        "has a byte 0x{:02X} at {}; allowed: A-Z a-z 0-9 . _ -",
        static_cast<unsigned char>(c), i);
  }
  return std::nullopt;
}

const named_fault*
proxy_fault_table::match(std::string_view method,
                         std::string_view path) const noexcept {
  const named_fault* best = nullptr;
  for (auto& f : faults_) {
    if (!matches(f.config, method, path))
      continue;
    if (best == nullptr) {
      best = &f;
      continue;
    }
    auto len = f.config.path_prefix.size();
    auto best_len = best->config.path_prefix.size();
    if (len > best_len
        || (len == best_len && !f.config.method.empty()
            && best->config.method.empty()))
      best = &f; // name order breaks the remaining ties (faults_ is sorted)
  }
  return best;
}

namespace {

const named_fault* find_in(const std::vector<named_fault>& faults,
                           std::string_view name) {
  for (auto& f : faults)
    if (f.name == name)
      return &f;
  return nullptr;
}

// The time a fault takes effect: an unchanged fault keeps its start.
time_point start_of(const std::vector<named_fault>& old, std::string_view name,
                    const proxy_fault_config& cfg, time_point now) {
  auto* f = find_in(old, name);
  return f != nullptr && f->config == cfg ? f->added : now;
}

} // namespace

void proxy_fault_table::sort() {
  std::sort(
    faults_.begin(), faults_.end(),
    [](const named_fault& a, const named_fault& b) { return a.name < b.name; });
}

error_list proxy_fault_table::replace_all(const boost::json::value& doc,
                                          time_point now) {
  error_list errors;
  object_reader r{doc, json_path{}, errors, {"faults"}};
  if (!r.valid())
    return errors;
  if (!r.require("faults"))
    return errors;
  auto* fv = r.find("faults");
  auto* obj = fv->if_object();
  if (obj == nullptr) {
    errors.add(r.path("faults"),
               fmt::format("must be an object (got: {})", describe_json(*fv)));
    return errors;
  }
  if (obj->size() > max_faults)
    errors.add(r.path("faults"), fmt::format("has {} faults, more than {}",
                                             obj->size(), max_faults));
  std::vector<named_fault> next;
  for (auto& [key, value] : *obj) {
    auto at = r.path("faults") / std::string_view{key};
    if (auto problem = fault_name_problem(key)) {
      errors.add(at, "fault name " + *problem);
      continue;
    }
    auto cfg = parse_proxy_fault(value, at, errors);
    auto name = std::string{key};
    next.push_back(named_fault{name, cfg, start_of(faults_, name, cfg, now)});
  }
  if (!errors.empty())
    return errors;
  faults_ = std::move(next);
  sort();
  return errors;
}

error_list proxy_fault_table::put(std::string_view name,
                                  const boost::json::value& fault,
                                  time_point now) {
  error_list errors;
  if (auto problem = fault_name_problem(name)) {
    errors.add_document("fault name " + *problem);
    return errors;
  }
  auto cfg = parse_proxy_fault(fault, json_path{}, errors);
  if (!errors.empty())
    return errors;
  auto added = start_of(faults_, name, cfg, now);
  for (auto& f : faults_)
    if (f.name == name) {
      f.config = std::move(cfg);
      f.added = added;
      return errors;
    }
  if (faults_.size() >= max_faults) {
    errors.add_document(fmt::format("the proxy holds {} faults already, "
                                    "the most it keeps",
                                    max_faults));
    return errors;
  }
  faults_.push_back(named_fault{std::string{name}, std::move(cfg), added});
  sort();
  return errors;
}

bool proxy_fault_table::remove(std::string_view name) {
  auto i = std::find_if(faults_.begin(), faults_.end(),
                        [&](const named_fault& f) { return f.name == name; });
  if (i == faults_.end())
    return false;
  faults_.erase(i);
  return true;
}

boost::json::object proxy_fault_table::to_json() const {
  boost::json::object faults;
  for (auto& f : faults_)
    faults[f.name] = bulwark::to_json(f.config);
  return boost::json::object{{"faults", std::move(faults)}};
}

} // namespace bulwark
