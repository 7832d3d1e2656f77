#include "bulwark/runtime/classify/classifier.hpp"

namespace bulwark {

std::string to_string(transport_error x) {
  switch (x) {
    case transport_error::none:
      return "none";
    case transport_error::connection_refused:
      return "connection_refused";
    case transport_error::connection_reset:
      return "connection_reset";
    case transport_error::timed_out:
      return "timed_out";
    case transport_error::dns_failure:
      return "dns_failure";
    case transport_error::protocol_error:
      return "protocol_error";
    case transport_error::cancelled:
      return "cancelled";
    case transport_error::transport_down:
      return "transport_down";
  }
  return "invalid";
}

namespace {

outcome from_error(transport_error err) noexcept {
  switch (err) {
    case transport_error::connection_refused:
    case transport_error::dns_failure:
      return outcome::failure(failure_class::transient, true);
    case transport_error::timed_out:
      return outcome::failure(failure_class::timeout);
    case transport_error::cancelled:
      return outcome::failure(failure_class::cancelled);
    case transport_error::none: // not reached: the caller checks
    case transport_error::connection_reset:
    case transport_error::protocol_error:
    case transport_error::transport_down:
      break;
  }
  return outcome::failure(failure_class::transient);
}

outcome from_status(const status_map& statuses, int status) noexcept {
  switch (statuses.lookup(status)) {
    case status_class::success:
      return outcome::ok();
    case status_class::transient:
      return outcome::failure(failure_class::transient);
    case status_class::timeout:
      return outcome::failure(failure_class::timeout);
    case status_class::overloaded:
      return outcome::failure(failure_class::overloaded);
    case status_class::persistent:
      return outcome::failure(failure_class::persistent);
  }
  return outcome::failure(failure_class::transient);
}

} // namespace

outcome classify(const classifier_config& cfg,
                 const transport_observation& obs) noexcept {
  outcome result;
  if (obs.error != transport_error::none)
    result = from_error(obs.error);
  else if (obs.status != 0)
    result = from_status(cfg.statuses, obs.status);
  else if (obs.failed)
    result = outcome::failure(obs.reported_class,
                              obs.never_executed
                                || obs.reported_class
                                     == failure_class::rejected_locally);
  result.retry_after = obs.retry_after;
  result.do_not_retry = obs.do_not_retry;
  return result;
}

} // namespace bulwark
