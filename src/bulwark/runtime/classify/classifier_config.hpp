// Which HTTP statuses count as success and into which failure class every
// other status falls. Classification is configuration because downstreams
// disagree (one returns 404 for "not yet replicated" and wants it retried,
// another returns 500 for a validation error); policies only ever see the
// resulting classes. The map is a fixed table over 100-599 so that
// classifying a response is one load. (Whether a call was slow is the
// breaker's judgement: breaker_config::slow_call_duration.)
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"

namespace bulwark {

/// What an HTTP status means to bulwark: success, or one of the failure
/// classes a downstream's status can express (the other failure classes come
/// from bulwark itself: rejected_locally, deadline_exceeded, cancelled).
enum class status_class : std::uint8_t {
  success,
  transient,
  timeout,
  overloaded,
  persistent,
};

inline constexpr status_class all_status_classes[] = {
  status_class::success, status_class::transient, status_class::timeout,
  status_class::overloaded, status_class::persistent};

/// @relates status_class
std::string to_string(status_class x);

/// The class of every HTTP status from 100 to 599, looked up in O(1).
class status_map {
 public:
  static constexpr int min_status = 100;
  static constexpr int max_status = 599;

  /// Every status `persistent`: the class of a status no list names (the
  /// downstream answered deterministically with something unexpected, so
  /// trying again would get the same answer).
  status_map() noexcept {
    classes_.fill(status_class::persistent);
  }

  /// 2xx and 3xx success; 408 timeout; 429 and 503 overloaded; other 5xx
  /// transient; 1xx and other 4xx persistent.
  static status_map defaults() noexcept;

  static constexpr bool in_range(int status) noexcept {
    return status >= min_status && status <= max_status;
  }

  /// The class of `status`; a status outside 100-599 is a protocol error and
  /// classifies as `transient`, like transport_error::protocol_error.
  status_class lookup(int status) const noexcept {
    return in_range(status)
             ? classes_[static_cast<std::size_t>(status - min_status)]
             : status_class::transient;
  }

  /// Sets one status (ignored outside 100-599).
  void set(int status, status_class x) noexcept {
    if (in_range(status))
      classes_[static_cast<std::size_t>(status - min_status)] = x;
  }

  /// Sets a whole hundred: 1 = 1xx ... 5 = 5xx (ignored otherwise).
  void set_hundred(int hundred, status_class x) noexcept {
    for (int s = hundred * 100; s < hundred * 100 + 100; ++s)
      set(s, x);
  }

  friend bool operator==(const status_map& a, const status_map& b) noexcept {
    return a.classes_ == b.classes_;
  }
  friend bool operator!=(const status_map& a, const status_map& b) noexcept {
    return !(a == b);
  }

 private:
  std::array<status_class, max_status - min_status + 1> classes_;
};

struct classifier_config {
  status_map statuses = status_map::defaults();
};

/// Reads a classification object (keys: success_statuses,
/// transient_statuses, timeout_statuses, overloaded_statuses,
/// persistent_statuses). Each list holds statuses (503)
/// and status classes ("5xx"). A given key replaces that class's default
/// list. Precedence, highest first: a status given by the user, a status from
/// a default list, a class ("5xx") given by the user, a class from a default
/// list, and `persistent` for a status nothing names. The same status or the
/// same class in two lists the user gave is an error at the second one.
classifier_config parse_classifier_config(const boost::json::value& v,
                                          const json_path& at,
                                          error_list& errors);

/// Writes the canonical lists: every hundred as a class ("4xx") in the list
/// that holds most of its statuses, the other statuses one by one, so that
/// parsing the result yields the same map.
boost::json::object to_json(const classifier_config& cfg);

} // namespace bulwark
