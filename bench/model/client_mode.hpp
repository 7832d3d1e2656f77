// Client modes of the metastable model: what a client does about a failed
// attempt. Each mode is one small `client_policy` that the model asks four
// things, always with the virtual time `now`: may a new request send its
// first try (`admit_first_try`), where an attempt goes (round robin's pick,
// another server, or nowhere: `route_attempt`), may a failed attempt be retried
// and after which delay (`decide_retry`), and what happened to each attempt
// (`observe`). The model itself enforces the attempt cap and the per-attempt
// timeout, so a mode decides only whether and when. Policies backed by
// bulwark's runtime (`sre_throttle` here, `bulwark` in bulwark_policy.hpp)
// plug in behind the same interface.
#pragma once

#include "bulwark/runtime/admission/client_throttle.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>

namespace bulwark::bench::model {

/// How one attempt ended, as the client saw it.
enum class attempt_outcome {
  /// Answered without error within the attempt's timeout.
  success,
  /// Answered with an error (error window, full queue) within the timeout.
  error,
  /// No answer within the timeout (the server may still serve it later).
  timeout,
};

std::string_view to_string(attempt_outcome x) noexcept;

/// What `observe` learns about an attempt.
struct attempt_report {
  attempt_outcome outcome = attempt_outcome::success;
  /// 1 for the first try, 2 for the first retry, ...
  std::uint32_t attempt = 1;
  /// From sending the attempt to its answer or its timeout.
  duration latency{0};
  /// The server that answered (index into model_config::servers).
  std::uint32_t server = 0;
  /// An `error` that was the server refusing work: shed or dropped by its
  /// overload control, or a full queue (a 503, not a crash).
  bool overloaded = false;
};

/// What `admit_attempt` is told about an attempt about to be sent.
struct attempt_info {
  /// 1 for the first try.
  std::uint32_t attempt = 1;
  /// The server round robin picked (it advances only when the attempt goes).
  std::uint32_t server = 0;
  /// How many servers there are.
  std::uint32_t servers = 1;
  /// The server the request's previous attempt went to (a retry), or
  /// `no_server` (a first try).
  std::uint32_t previous_server = no_server;
  /// The attempt's own timeout.
  duration timeout{0};

  static constexpr std::uint32_t no_server = 0xffffffff;
};

/// What a policy may know about the set-up it runs in.
struct policy_context {
  duration attempt_timeout = seconds(1);
  /// Attempts per request, first try included.
  std::uint32_t max_attempts = 1;
};

/// The decisions of one client (all of the model's load).
class client_policy {
 public:
  virtual ~client_policy() = default;

  /// Whether a new request may send its first try; false ends the request
  /// at once, rejected locally (no attempt reaches a server).
  virtual bool admit_first_try(time_point now) = 0;

  /// Where an attempt goes, asked after `admit_first_try` (for a first try)
  /// or once its retry delay passed: the server to send it to, or nullopt to
  /// reject it locally (a first try ends its request `rejected_locally`, a
  /// retry ends it `retry_refused`). The simple modes send everything where
  /// round robin put it (`info.server`).
  virtual std::optional<std::uint32_t> route_attempt(time_point,
                                                     const attempt_info& info) {
    return info.server;
  }

  /// `route_attempt` just refused an attempt: how long it may wait for a
  /// slot (a bulkhead's queue: max_queue_wait) before it is rejected after
  /// all, or nullopt to reject it at once (the default). `waiting` is how
  /// many refused attempts already wait. While it waits, the model asks
  /// `route_attempt` again, oldest waiter first, whenever an attempt ends
  /// (a slot may have freed), and once more when its wait is over. The wait
  /// comes before the attempt is sent: its own timeout starts when it goes.
  virtual std::optional<duration> wait_for_slot(time_point,
                                                std::size_t /*waiting*/) {
    return std::nullopt;
  }

  /// Attempt number `attempts_made` of a request just failed and the attempt
  /// cap allows another: the delay before the retry is sent, or nullopt to
  /// give up (the request fails). A granted retry counts against the
  /// policy's budget now, when it is scheduled, not when it is sent.
  virtual std::optional<duration> decide_retry(time_point now,
                                               std::uint32_t attempts_made) = 0;

  /// Called once per attempt, when it is answered or times out; late
  /// answers of timed-out attempts are not reported.
  virtual void observe(time_point now, const attempt_report& report) = 0;

  /// A request whose first try `admit_first_try` let through has ended:
  /// one of its attempts succeeded, or it failed for good.
  virtual void request_ended(time_point, bool /*succeeded*/) {
    // most modes need nothing
  }

  /// The policy's own state at `now` for the charts (tokens left, retries
  /// the budget still allows, a learned limit); nullopt when it has none.
  virtual std::optional<double> gauge(time_point) const {
    return std::nullopt;
  }
};

/// The client modes of issue 15 item 4.
enum class client_mode {
  /// No retries: one attempt per request.
  none,
  /// Immediate retries up to the attempt cap.
  naive,
  /// Exponential backoff, base 50 ms, cap 2 s, full jitter.
  backoff,
  /// A token bucket: starts full at 10 tokens, a success earns 0.1, a retry
  /// costs 1; retries are immediate while a token is left.
  token_bucket,
  /// A retry is allowed while retries + 1 <= max(20% of first tries, 30)
  /// over the last 10 s; retries are immediate.
  budget20,
  /// Google SRE client-side throttling (bulwark's client_throttle, K = 2,
  /// 2-minute window) on every attempt; retries are immediate; a local
  /// rejection ends the request.
  sre_throttle,
  /// bulwark's client policies composed (bulwark_policy.hpp) against the
  /// published (fifo) servers.
  bulwark,
  /// The `bulwark` client against servers under bulwark's overload control
  /// (`with_overload_control`).
  bulwark_server,
};

std::string_view to_string(client_mode x) noexcept;

/// Parses a mode's name (as `to_string` writes it).
std::optional<client_mode> parse_client_mode(std::string_view name) noexcept;

/// The simple client-only modes (none of bulwark's runtime), in report
/// order.
inline constexpr client_mode all_client_modes[] = {
  client_mode::none,         client_mode::naive,    client_mode::backoff,
  client_mode::token_bucket, client_mode::budget20,
};

/// Every client-only mode: the simple ones and `sre_throttle` (what
/// `bulwark` must do at least as well as).
inline constexpr client_mode client_only_modes[] = {
  client_mode::none,         client_mode::naive,    client_mode::backoff,
  client_mode::token_bucket, client_mode::budget20, client_mode::sre_throttle,
};

/// Every mode, in report order.
inline constexpr client_mode report_modes[] = {
  client_mode::none,     client_mode::naive,
  client_mode::backoff,  client_mode::token_bucket,
  client_mode::budget20, client_mode::sre_throttle,
  client_mode::bulwark,  client_mode::bulwark_server,
};

/// Whether `mode` runs against servers under overload control.
constexpr bool uses_overload_control(client_mode mode) noexcept {
  return mode == client_mode::bulwark_server;
}

/// A fresh policy for `mode`; `seed` seeds its randomness (jitter, the
/// throttle's draws); `ctx` tells the runtime-backed modes the set-up's
/// timeout and attempt cap (the simple modes ignore it).
std::unique_ptr<client_policy>
make_client_policy(client_mode mode, std::uint64_t seed,
                   const policy_context& ctx = {});

// -- the policies, exposed for their tests ----------------------------------

/// `none`: never retries.
class no_retry_policy final : public client_policy {
 public:
  bool admit_first_try(time_point now) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;
};

/// `naive`: retries at once, every time.
class immediate_retry_policy final : public client_policy {
 public:
  bool admit_first_try(time_point now) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;
};

/// `backoff`: retry k (k = 1, 2, ...) waits uniform [0, min(cap, base *
/// 2^(k-1))) (AWS "full jitter").
class full_jitter_backoff_policy final : public client_policy {
 public:
  full_jitter_backoff_policy(duration base, duration cap, std::uint64_t seed);

  bool admit_first_try(time_point now) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;

 private:
  duration base_;
  duration cap_;
  rng gen_;
};

/// `token_bucket`: the AWS SDK's retry quota shape.
class token_bucket_policy final : public client_policy {
 public:
  token_bucket_policy(double capacity, double per_success, double per_retry);

  bool admit_first_try(time_point now) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;

  /// Tokens left.
  std::optional<double> gauge(time_point now) const override;

  double tokens() const noexcept {
    return tokens_;
  }

 private:
  double capacity_;
  double per_success_;
  double per_retry_;
  double tokens_;
};

/// `budget20`: Envoy's retry budget shape over a sliding window.
class retry_budget_policy final : public client_policy {
 public:
  retry_budget_policy(double ratio, std::uint32_t min_retries, duration window);

  bool admit_first_try(time_point now) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;

  /// Retries the budget would still grant at `now`.
  std::optional<double> gauge(time_point now) const override;

  /// Retries granted within the window ending at the last call.
  std::size_t retries_in_window() const noexcept {
    return retries_.size();
  }

 private:
  void expire(time_point now);

  double allowance(std::size_t first_tries) const noexcept;

  double ratio_;
  std::uint32_t min_retries_;
  duration window_;
  std::deque<time_point> first_tries_;
  std::deque<time_point> retries_;
};

/// `sre_throttle`: every attempt, first try or retry, asks bulwark's
/// client_throttle (the SRE book's K = 2 over 2 minutes) and counts as a
/// request; an attempt the server answered in time counts as an accept.
class sre_throttle_policy final : public client_policy {
 public:
  sre_throttle_policy(double k, duration window, std::uint64_t seed);

  bool admit_first_try(time_point now) override;
  std::optional<std::uint32_t> route_attempt(time_point now,
                                             const attempt_info& info) override;
  std::optional<duration> decide_retry(time_point now,
                                       std::uint32_t attempts_made) override;
  void observe(time_point now, const attempt_report& report) override;

  /// P(reject) in percent.
  std::optional<double> gauge(time_point now) const override;

  const client_throttle& throttle() const noexcept {
    return throttle_;
  }

 private:
  // gauge() is const but rolling the window is not: a copy is cheap.
  client_throttle throttle_;
  rng gen_;
};

} // namespace bulwark::bench::model
