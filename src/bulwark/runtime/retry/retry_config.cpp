#include "bulwark/runtime/retry/retry_config.hpp"

#include <string_view>

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

namespace {

std::string_view never_retryable_reason(failure_class x) {
  switch (x) {
    case failure_class::rejected_locally:
      return "a local rejection (breaker open, shed, budget) asks for less "
             "traffic, not another attempt";
    case failure_class::deadline_exceeded:
      return "no attempt can finish after the deadline has passed";
    case failure_class::cancelled:
      return "nobody waits for a cancelled request";
    default:
      return "";
  }
}

} // namespace

retry_config parse_retry_config(const boost::json::value& v,
                                const json_path& at, error_list& errors) {
  retry_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "max_attempts", "retry_on", "per_attempt_timeout",
                   "backoff", "honour_retry_after", "max_retry_after"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  r.read("max_attempts", cfg.max_attempts, 1, 10);
  auto before = errors.size();
  failure_class_set retry_on = cfg.retry_on;
  r.read("retry_on", retry_on);
  if (errors.size() == before) {
    // The reader only reports names it cannot read; point at every element
    // that names a class this policy must not retry.
    bool ok = true;
    auto* given = r.find("retry_on");
    if (auto* arr = given != nullptr ? given->if_array() : nullptr)
      for (std::size_t i = 0; i < arr->size(); ++i) {
        failure_class cls;
        auto& s = (*arr)[i].get_string();
        if (from_string(std::string_view{s.data(), s.size()}, cls)
            && never_retryable_classes.contains(cls)) {
          errors.add(r.path("retry_on") / i,
                     fmt::format("\"{}\" cannot be retried: {}", to_string(cls),
                                 never_retryable_reason(cls)));
          ok = false;
        }
      }
    if (ok)
      cfg.retry_on = retry_on;
  }
  r.read("per_attempt_timeout", cfg.per_attempt_timeout, milliseconds(1),
         hours(1));
  if (auto* b = r.find("backoff"))
    cfg.backoff = parse_backoff_config(*b, r.path("backoff"), errors);
  else // still visit the nested keys, so the schema of accepted keys is whole
    parse_backoff_config(boost::json::object{}, r.path("backoff"), errors);
  r.read("honour_retry_after", cfg.honour_retry_after);
  r.read("max_retry_after", cfg.max_retry_after, duration{0}, hours(1));
  return cfg;
}

boost::json::object to_json(const retry_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  obj["max_attempts"] = cfg.max_attempts;
  boost::json::array classes;
  for (auto cls : all_failure_classes)
    if (cfg.retry_on.contains(cls))
      classes.emplace_back(to_string(cls));
  obj["retry_on"] = std::move(classes);
  obj["per_attempt_timeout"] = format_duration(cfg.per_attempt_timeout);
  obj["backoff"] = to_json(cfg.backoff);
  obj["honour_retry_after"] = cfg.honour_retry_after;
  obj["max_retry_after"] = format_duration(cfg.max_retry_after);
  return obj;
}

} // namespace bulwark
