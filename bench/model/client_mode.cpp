#include "bench/model/client_mode.hpp"

#include "bench/model/bulwark_policy.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace bulwark::bench::model {

std::string_view to_string(attempt_outcome x) noexcept {
  switch (x) {
    case attempt_outcome::success:
      return "success";
    case attempt_outcome::error:
      return "error";
    case attempt_outcome::timeout:
      return "timeout";
  }
  return "unknown";
}

std::string_view to_string(client_mode x) noexcept {
  switch (x) {
    case client_mode::none:
      return "none";
    case client_mode::naive:
      return "naive";
    case client_mode::backoff:
      return "backoff";
    case client_mode::token_bucket:
      return "token_bucket";
    case client_mode::budget20:
      return "budget20";
    case client_mode::sre_throttle:
      return "sre_throttle";
    case client_mode::bulwark:
      return "bulwark";
    case client_mode::bulwark_server:
      return "bulwark_server";
  }
  return "unknown";
}

std::optional<client_mode> parse_client_mode(std::string_view name) noexcept {
  for (auto mode : report_modes)
    if (to_string(mode) == name)
      return mode;
  return std::nullopt;
}

std::unique_ptr<client_policy> make_client_policy(client_mode mode,
                                                  std::uint64_t seed,
                                                  const policy_context& ctx) {
  switch (mode) {
    case client_mode::none:
      return std::make_unique<no_retry_policy>();
    case client_mode::naive:
      return std::make_unique<immediate_retry_policy>();
    case client_mode::backoff:
      return std::make_unique<full_jitter_backoff_policy>(milliseconds(50),
                                                          seconds(2), seed);
    case client_mode::token_bucket:
      return std::make_unique<token_bucket_policy>(10.0, 0.1, 1.0);
    case client_mode::budget20:
      return std::make_unique<retry_budget_policy>(0.2, 30, seconds(10));
    case client_mode::sre_throttle:
      return std::make_unique<sre_throttle_policy>(2.0, seconds(120), seed);
    case client_mode::bulwark:
    case client_mode::bulwark_server: // the same client; the servers differ
      return std::make_unique<bulwark_policy>(ctx, seed);
  }
  return std::make_unique<no_retry_policy>();
}

// -- none -------------------------------------------------------------------

bool no_retry_policy::admit_first_try(time_point) {
  return true;
}

std::optional<duration> no_retry_policy::decide_retry(time_point,
                                                      std::uint32_t) {
  return std::nullopt;
}

void no_retry_policy::observe(time_point, const attempt_report&) {
  // Nothing to learn.
}

// -- naive ------------------------------------------------------------------

bool immediate_retry_policy::admit_first_try(time_point) {
  return true;
}

std::optional<duration> immediate_retry_policy::decide_retry(time_point,
                                                             std::uint32_t) {
  return duration{0};
}

void immediate_retry_policy::observe(time_point, const attempt_report&) {
  // Nothing to learn.
}

// -- backoff ----------------------------------------------------------------

full_jitter_backoff_policy::full_jitter_backoff_policy(duration base,
                                                       duration cap,
                                                       std::uint64_t seed)
  : base_(base),
    cap_(cap),
    gen_(seed) {
  // nop
}

bool full_jitter_backoff_policy::admit_first_try(time_point) {
  return true;
}

std::optional<duration>
full_jitter_backoff_policy::decide_retry(time_point,
                                         std::uint32_t attempts_made) {
  // The ceiling doubles per retry; the shift is bounded so it cannot
  // overflow long after the cap has been reached.
  auto shift = std::min<std::uint32_t>(attempts_made - 1, 30);
  auto ceiling = std::min<double>(static_cast<double>(cap_.count()),
                                  static_cast<double>(base_.count())
                                    * static_cast<double>(1ULL << shift));
  return duration{static_cast<duration::rep>(gen_.uniform(0, ceiling))};
}

void full_jitter_backoff_policy::observe(time_point, const attempt_report&) {
  // Nothing to learn.
}

// -- token_bucket -----------------------------------------------------------

token_bucket_policy::token_bucket_policy(double capacity, double per_success,
                                         double per_retry)
  : capacity_(capacity),
    per_success_(per_success),
    per_retry_(per_retry),
    tokens_(capacity) {
  // nop
}

bool token_bucket_policy::admit_first_try(time_point) {
  return true;
}

std::optional<duration> token_bucket_policy::decide_retry(time_point,
                                                          std::uint32_t) {
  // Ten earnings of 0.1 sum to 0.99999...: a hair of tolerance keeps them
  // worth one retry, as the bucket's arithmetic intends.
  if (tokens_ + 1e-9 < per_retry_)
    return std::nullopt;
  tokens_ -= per_retry_;
  return duration{0};
}

void token_bucket_policy::observe(time_point, const attempt_report& report) {
  if (report.outcome == attempt_outcome::success)
    tokens_ = std::min(capacity_, tokens_ + per_success_);
}

std::optional<double> token_bucket_policy::gauge(time_point) const {
  return tokens_;
}

// -- budget20 ---------------------------------------------------------------

retry_budget_policy::retry_budget_policy(double ratio,
                                         std::uint32_t min_retries,
                                         duration window)
  : ratio_(ratio),
    min_retries_(min_retries),
    window_(window) {
  // nop
}

void retry_budget_policy::expire(time_point now) {
  // Entries at or before now - window have left the window (t, now].
  auto horizon = now - window_;
  while (!first_tries_.empty() && first_tries_.front() <= horizon)
    first_tries_.pop_front();
  while (!retries_.empty() && retries_.front() <= horizon)
    retries_.pop_front();
}

bool retry_budget_policy::admit_first_try(time_point now) {
  expire(now);
  first_tries_.push_back(now);
  return true;
}

std::optional<duration> retry_budget_policy::decide_retry(time_point now,
                                                          std::uint32_t) {
  expire(now);
  if (static_cast<double>(retries_.size() + 1) > allowance(first_tries_.size()))
    return std::nullopt;
  retries_.push_back(now);
  return duration{0};
}

void retry_budget_policy::observe(time_point, const attempt_report&) {
  // The budget counts decisions, not outcomes.
}

double retry_budget_policy::allowance(std::size_t first_tries) const noexcept {
  return std::max(ratio_ * static_cast<double>(first_tries),
                  static_cast<double>(min_retries_));
}

std::optional<double> retry_budget_policy::gauge(time_point now) const {
  // What decide_retry would see, without expiring anything.
  auto horizon = now - window_;
  auto in_window = [&](const std::deque<time_point>& xs) {
    return static_cast<std::size_t>(
      xs.end() - std::upper_bound(xs.begin(), xs.end(), horizon));
  };
  auto left = std::floor(allowance(in_window(first_tries_)))
              - static_cast<double>(in_window(retries_));
  return std::max(0.0, left);
}

// -- sre_throttle -----------------------------------------------------------

namespace {

throttle_config sre_config(double k, duration window) {
  throttle_config cfg;
  cfg.enabled = true;
  cfg.k = k;
  cfg.window = window;
  return cfg;
}

} // namespace

sre_throttle_policy::sre_throttle_policy(double k, duration window,
                                         std::uint64_t seed)
  : throttle_(sre_config(k, window)),
    gen_(seed) {
  // nop
}

bool sre_throttle_policy::admit_first_try(time_point) {
  return true; // route_attempt decides, for first tries and retries alike
}

std::optional<std::uint32_t>
sre_throttle_policy::route_attempt(time_point now, const attempt_info& info) {
  if (!throttle_.admit(gen_, now))
    return std::nullopt;
  return info.server;
}

std::optional<duration> sre_throttle_policy::decide_retry(time_point,
                                                          std::uint32_t) {
  return duration{0};
}

void sre_throttle_policy::observe(time_point now,
                                  const attempt_report& report) {
  // The book's accepts: what the backend took on. An error (a crashed
  // server, a refusal) or a timeout is not one. Every attempt the throttle
  // let through is reported once, when its fate is known.
  throttle_.on_result(report.outcome == attempt_outcome::success, now);
}

std::optional<double> sre_throttle_policy::gauge(time_point now) const {
  auto copy = throttle_;
  return 100 * copy.reject_probability(now);
}

} // namespace bulwark::bench::model
