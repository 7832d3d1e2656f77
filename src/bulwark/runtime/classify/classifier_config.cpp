#include "bulwark/runtime/classify/classifier_config.hpp"

#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(status_class x) {
  switch (x) {
    case status_class::success:
      return "success";
    case status_class::transient:
      return "transient";
    case status_class::timeout:
      return "timeout";
    case status_class::overloaded:
      return "overloaded";
    case status_class::persistent:
      return "persistent";
  }
  return "invalid";
}

namespace {

constexpr std::size_t class_count = std::size(all_status_classes);

std::size_t index_of(status_class x) {
  return static_cast<std::size_t>(x);
}

std::string key_of(status_class x) {
  return to_string(x) + "_statuses";
}

/// One class's list: hundreds ("5xx" -> 5) and single statuses.
struct status_list {
  std::vector<int> hundreds;
  std::vector<int> statuses;
};

status_list default_list(status_class x) {
  switch (x) {
    case status_class::success:
      return {{2, 3}, {}};
    case status_class::transient:
      return {{5}, {}};
    case status_class::timeout:
      return {{}, {408}};
    case status_class::overloaded:
      return {{}, {429, 503}};
    case status_class::persistent:
      return {{1, 4}, {}};
  }
  return {};
}

/// Lists (given or default per class) into a map, by the documented
/// precedence: default classes, given classes, default statuses, given
/// statuses, each later step overriding the earlier.
status_map build(const status_list (&lists)[class_count],
                 const bool (&given)[class_count]) {
  status_map result;
  for (bool user : {false, true})
    for (auto x : all_status_classes)
      if (given[index_of(x)] == user)
        for (int h : lists[index_of(x)].hundreds)
          result.set_hundred(h, x);
  for (bool user : {false, true})
    for (auto x : all_status_classes)
      if (given[index_of(x)] == user)
        for (int s : lists[index_of(x)].statuses)
          result.set(s, x);
  return result;
}

bool as_status(const boost::json::value& v, int& out) {
  std::int64_t x = 0;
  if (auto* i = v.if_int64())
    x = *i;
  else if (auto* u = v.if_uint64())
    x = *u > 1000 ? 1000 : static_cast<std::int64_t>(*u);
  else if (auto* d = v.if_double(); d != nullptr && *d >= 0 && *d <= 1000
                                    && static_cast<std::int64_t>(*d) == *d)
    x = static_cast<std::int64_t>(*d);
  else
    return false;
  if (!status_map::in_range(static_cast<int>(x)))
    return false;
  out = static_cast<int>(x);
  return true;
}

bool as_hundred(const boost::json::value& v, int& out) {
  auto* s = v.if_string();
  if (s == nullptr || s->size() != 3 || (*s)[1] != 'x' || (*s)[2] != 'x'
      || (*s)[0] < '1' || (*s)[0] > '5')
    return false;
  out = (*s)[0] - '0';
  return true;
}

} // namespace

status_map status_map::defaults() noexcept {
  // Built once: the default lists are fixed.
  static const status_map result = [] {
    status_list lists[class_count];
    bool given[class_count] = {};
    for (auto x : all_status_classes)
      lists[index_of(x)] = default_list(x);
    return build(lists, given);
  }();
  return result;
}

classifier_config parse_classifier_config(const boost::json::value& v,
                                          const json_path& at,
                                          error_list& errors) {
  classifier_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"success_statuses", "transient_statuses", "timeout_statuses",
                   "overloaded_statuses", "persistent_statuses"}};
  if (!r.valid())
    return cfg;
  status_list lists[class_count];
  bool given[class_count] = {};
  // Which given list claimed a status or a hundred first, to report overlaps.
  constexpr int unclaimed = -1;
  std::array<int, status_map::max_status + 1> status_owner;
  status_owner.fill(unclaimed);
  int hundred_owner[6] = {unclaimed, unclaimed, unclaimed,
                          unclaimed, unclaimed, unclaimed};
  for (auto x : all_status_classes) {
    auto i = index_of(x);
    lists[i] = default_list(x);
    auto key = key_of(x);
    auto* value = r.find(key);
    if (value == nullptr)
      continue;
    auto* arr = value->if_array();
    if (arr == nullptr) {
      errors.add(r.path(key),
                 fmt::format("must be an array of HTTP statuses and status "
                             "classes such as [503, \"5xx\"] (got: {})",
                             describe_json(*value)));
      continue;
    }
    status_list list;
    bool ok = true;
    for (std::size_t j = 0; j < arr->size(); ++j) {
      auto& item = (*arr)[j];
      int n = 0;
      int* owner = nullptr;
      std::string name;
      if (as_status(item, n)) {
        owner = &status_owner[static_cast<std::size_t>(n)];
        name = std::to_string(n);
        list.statuses.push_back(n);
      } else if (as_hundred(item, n)) {
        owner = &hundred_owner[n];
        name = fmt::format("\"{}xx\"", n);
        list.hundreds.push_back(n);
      } else {
        errors.add(r.path(key) / j,
                   fmt::format("must be an HTTP status from 100 to 599 or a "
                               "status class from \"1xx\" to \"5xx\" (got: {})",
                               describe_json(item)));
        ok = false;
        continue;
      }
      if (*owner != unclaimed && *owner != static_cast<int>(i)) {
        errors.add(r.path(key) / j,
                   fmt::format("{} is already listed in {}", name,
                               key_of(all_status_classes[*owner])));
        ok = false;
        continue;
      }
      *owner = static_cast<int>(i);
    }
    if (ok) {
      lists[i] = std::move(list);
      given[i] = true;
    }
  }
  cfg.statuses = build(lists, given);
  return cfg;
}

boost::json::object to_json(const classifier_config& cfg) {
  boost::json::array lists[class_count];
  // Each hundred as a class in the list holding most of its statuses (ties:
  // the earlier class), so the output stays short and reads like the defaults.
  status_class majority[6] = {};
  for (int h = 1; h <= 5; ++h) {
    std::size_t counts[class_count] = {};
    for (int s = h * 100; s < h * 100 + 100; ++s)
      ++counts[index_of(cfg.statuses.lookup(s))];
    std::size_t best = 0;
    for (std::size_t c = 1; c < class_count; ++c)
      if (counts[c] > counts[best])
        best = c;
    majority[h] = all_status_classes[best];
    lists[best].emplace_back(fmt::format("{}xx", h));
  }
  for (int s = status_map::min_status; s <= status_map::max_status; ++s) {
    auto x = cfg.statuses.lookup(s);
    if (x != majority[s / 100])
      lists[index_of(x)].emplace_back(s);
  }
  boost::json::object obj;
  for (auto x : all_status_classes)
    obj[key_of(x)] = std::move(lists[index_of(x)]);
  return obj;
}

} // namespace bulwark
