#include "bulwark/runtime/retry/retry_status.hpp"

namespace bulwark {

namespace {

std::string_view name_of(retry_status x) noexcept {
  switch (x) {
    case retry_status::retry:
      return "retry";
    case retry_status::succeeded:
      return "succeeded";
    case retry_status::sheddable_fallback:
      return "sheddable_fallback";
    case retry_status::disabled:
      return "disabled";
    case retry_status::do_not_retry:
      return "do_not_retry";
    case retry_status::not_retryable:
      return "not_retryable";
    case retry_status::unsafe:
      return "unsafe";
    case retry_status::attempts_exhausted:
      return "attempts_exhausted";
    case retry_status::retry_after_too_long:
      return "retry_after_too_long";
    case retry_status::deadline:
      return "deadline";
    case retry_status::disabled_by_flag:
      return "disabled_by_flag";
    case retry_status::budget_exhausted:
      return "budget_exhausted";
  }
  return "invalid";
}

} // namespace

std::string to_string(retry_status x) {
  return std::string{name_of(x)};
}

std::string_view retry_message(retry_status x) noexcept {
  // Most statuses explain themselves by name; these few read better as text.
  switch (x) {
    case retry_status::sheddable_fallback:
      return "failed; sheddable request served by fallback";
    case retry_status::disabled_by_flag:
      return "retries disabled by a feature flag";
    case retry_status::budget_exhausted:
      return "retry budget exhausted";
    default:
      return name_of(x);
  }
}

} // namespace bulwark
