#include "bulwark/runtime/journey/journey_log.hpp"

#include <algorithm>

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

journey_config parse_journey_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  journey_config cfg;
  object_reader r{v, at, errors, {"enabled", "recent", "failed"}};
  r.read("enabled", cfg.enabled);
  r.read("recent", cfg.recent, 0, journey_config::max_kept);
  r.read("failed", cfg.failed, 0, journey_config::max_kept);
  return cfg;
}

boost::json::object to_json(const journey_config& cfg) {
  boost::json::object result;
  result["enabled"] = cfg.enabled;
  result["recent"] = cfg.recent;
  result["failed"] = cfg.failed;
  return result;
}

void journey_log::ring::push(const journey& j) {
  if (bound_ == 0)
    return;
  if (slots_.size() < bound_) {
    // One allocation for the whole ring, at the first push.
    if (slots_.empty())
      slots_.reserve(bound_);
    slots_.push_back(j);
    return;
  }
  slots_[next_] = j;
  next_ = (next_ + 1) % bound_;
}

const journey* journey_log::ring::find(std::uint64_t id) const noexcept {
  // Newest first, so an id kept twice resolves to its latest copy.
  auto n = slots_.size();
  for (std::size_t k = 0; k < n; ++k) {
    auto& j = slots_[(next_ + n - 1 - k) % n];
    if (j.id() == id)
      return &j;
  }
  return nullptr;
}

void journey_log::ring::newest_first(std::vector<const journey*>& out) const {
  auto n = slots_.size();
  out.reserve(out.size() + n);
  for (std::size_t k = 0; k < n; ++k)
    out.push_back(&slots_[(next_ + n - 1 - k) % n]);
}

journey_log::journey_log(const journey_config& cfg)
  : cfg_(cfg),
    recent_(cfg.enabled ? cfg.recent : 0),
    failed_(cfg.enabled ? cfg.failed : 0) {
  // nop
}

void journey_log::add(const journey& j) {
  if (!cfg_.enabled)
    return;
  ++added_;
  recent_.push(j);
  if (j.failed()) {
    ++added_failed_;
    failed_.push(j);
  }
}

const journey* journey_log::find(std::uint64_t id) const noexcept {
  if (auto* j = recent_.find(id))
    return j;
  return failed_.find(id);
}

std::size_t journey_log::find_trace(trace_id trace, std::size_t max,
                                    std::vector<const journey*>& out) const {
  std::vector<const journey*> all;
  recent_.newest_first(all);
  failed_.newest_first(all);
  std::vector<std::uint64_t> seen;
  auto first = out.size();
  for (auto* j : all) {
    if (j->trace().trace != trace)
      continue;
    // A failed journey sits in both rings: once is enough.
    if (std::find(seen.begin(), seen.end(), j->id()) != seen.end())
      continue;
    seen.push_back(j->id());
    if (out.size() - first < max)
      out.push_back(j);
  }
  return seen.size();
}

std::vector<const journey*> journey_log::recent() const {
  std::vector<const journey*> result;
  recent_.newest_first(result);
  return result;
}

std::vector<const journey*> journey_log::failed() const {
  std::vector<const journey*> result;
  failed_.newest_first(result);
  return result;
}

} // namespace bulwark
