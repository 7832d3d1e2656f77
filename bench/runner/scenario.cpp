#include "bench/runner/scenario.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace bulwark::bench {

field_list& field_list::add(std::string name, field_value value) {
  for (auto& [key, val] : items_)
    if (key == name) {
      val = std::move(value);
      return *this;
    }
  items_.emplace_back(std::move(name), std::move(value));
  return *this;
}

const field_value* field_list::find(std::string_view name) const noexcept {
  for (auto& [key, val] : items_)
    if (key == name)
      return &val;
  return nullptr;
}

namespace {

field_list& find_or_add(std::vector<std::pair<std::string, field_list>>& xs,
                        const std::string& name) {
  for (auto& [key, fields] : xs)
    if (key == name)
      return fields;
  xs.emplace_back(name, field_list{});
  return xs.back().second;
}

} // namespace

field_list& setup_result::mode(const std::string& name) {
  return find_or_add(modes, name);
}

field_list& scenario_result::mode(const std::string& name) {
  return find_or_add(modes, name);
}

setup_result& scenario_result::setup(const std::string& name) {
  for (auto& x : setups)
    if (x.name == name)
      return x;
  setups.push_back(setup_result{name, {}, {}});
  return setups.back();
}

scenario_registry& scenario_registry::instance() {
  static scenario_registry registry;
  return registry;
}

void scenario_registry::add(scenario x) {
  if (find(x.name) != nullptr) {
    std::fprintf(stderr, "bulwark-bench: scenario '%s' registered twice\n",
                 x.name.c_str());
    std::abort();
  }
  scenarios_.push_back(std::move(x));
}

const scenario* scenario_registry::find(std::string_view name) const {
  for (auto& x : scenarios_)
    if (x.name == name)
      return &x;
  return nullptr;
}

std::vector<const scenario*> scenario_registry::all() const {
  std::vector<const scenario*> result;
  for (auto& x : scenarios_)
    result.push_back(&x);
  std::sort(result.begin(), result.end(),
            [](auto* a, auto* b) { return a->name < b->name; });
  return result;
}

scenario_registrar::scenario_registrar(std::string name,
                                       std::string description,
                                       scenario_function run) {
  scenario_registry::instance().add(
    scenario{std::move(name), std::move(description), std::move(run)});
}

double median(std::vector<double> xs) {
  if (xs.empty())
    return 0;
  std::sort(xs.begin(), xs.end());
  auto n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

} // namespace bulwark::bench
