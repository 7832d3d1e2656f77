#include "bulwark/runtime/progressive/progressive_config.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <boost/json/array.hpp>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(preliminary_source x) {
  switch (x) {
    case preliminary_source::stale_cache:
      return "stale_cache";
    case preliminary_source::static_value:
      return "static";
  }
  return "invalid";
}

bool from_string(std::string_view str, preliminary_source& x) {
  for (auto candidate :
       {preliminary_source::stale_cache, preliminary_source::static_value}) {
    if (to_string(candidate) == str) {
      x = candidate;
      return true;
    }
  }
  return false;
}

progressive_config parse_progressive_config(const boost::json::value& v,
                                            const json_path& at,
                                            error_list& errors) {
  progressive_config cfg;
  object_reader r{v, at, errors, {"enabled", "soft_deadline", "preliminary"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  r.read("soft_deadline", cfg.soft_deadline, duration{0},
         progressive_max_soft_deadline);
  auto* list = r.find("preliminary");
  if (list == nullptr)
    return cfg;
  auto list_at = r.path("preliminary");
  auto* arr = list->if_array();
  if (arr == nullptr || arr->empty()
      || arr->size() > progressive_config::max_sources) {
    errors.add(list_at,
               fmt::format("must be an array of 1 to {} of \"stale_cache\", "
                           "\"static\" (got: {})",
                           progressive_config::max_sources,
                           describe_json(*list)));
    return cfg;
  }
  std::array<preliminary_source, progressive_config::max_sources> picked{};
  std::uint8_t n = 0;
  bool ok = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto& item = (*arr)[i];
    auto item_at = list_at / i;
    preliminary_source src{};
    if (!item.is_string()
        || !from_string(std::string_view{item.get_string()}, src)) {
      errors.add(item_at,
                 fmt::format("must be one of \"stale_cache\", \"static\" "
                             "(got: {})",
                             describe_json(item)));
      ok = false;
      continue;
    }
    if (std::find(picked.begin(), picked.begin() + n, src)
        != picked.begin() + n) {
      errors.add(item_at, fmt::format("\"{}\" is listed twice: each source is "
                                      "tried at most once",
                                      to_string(src)));
      ok = false;
      continue;
    }
    picked[n++] = src;
  }
  if (ok) {
    cfg.sources = picked;
    cfg.source_count = n;
  }
  return cfg;
}

boost::json::object to_json(const progressive_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["soft_deadline"] = format_duration(cfg.soft_deadline);
  boost::json::array sources;
  for (std::size_t i = 0; i < cfg.source_count; ++i)
    sources.emplace_back(to_string(cfg.sources[i]));
  obj["preliminary"] = std::move(sources);
  return obj;
}

} // namespace bulwark
