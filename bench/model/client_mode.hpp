// Client modes of the metastable model: what a client does about a failed
// attempt. Each mode is one small `client_policy` that the model asks three
// things, always with the virtual time `now`: may a new request send its
// first try (`admit_first_try`), may a failed attempt be retried and after
// which delay (`decide_retry`), and what happened to each attempt
// (`observe`). The model itself enforces the attempt cap and the per-attempt
// timeout, so a mode decides only whether and when. Policies backed by
// bulwark's runtime (`sre_throttle`, `bulwark`) plug in behind the same
// interface.
#pragma once

#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

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
};

/// The decisions of one client (all of the model's load).
class client_policy {
 public:
  virtual ~client_policy() = default;

  /// Whether a new request may send its first try; false ends the request
  /// at once, rejected locally (no attempt reaches a server).
  virtual bool admit_first_try(time_point now) = 0;

  /// Attempt number `attempts_made` of a request just failed and the attempt
  /// cap allows another: the delay before the retry is sent, or nullopt to
  /// give up (the request fails). A granted retry counts against the
  /// policy's budget now, when it is scheduled, not when it is sent.
  virtual std::optional<duration> decide_retry(time_point now,
                                               std::uint32_t attempts_made) = 0;

  /// Called once per attempt, when it is answered or times out; late
  /// answers of timed-out attempts are not reported.
  virtual void observe(time_point now, const attempt_report& report) = 0;

  /// The policy's own state at `now` for the charts (tokens left, retries
  /// the budget still allows, a learned limit); nullopt when it has none.
  virtual std::optional<double> gauge(time_point) const {
    return std::nullopt;
  }
};

/// The client-only modes of issue 15 item 4.
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
};

std::string_view to_string(client_mode x) noexcept;

/// Parses a mode's name (as `to_string` writes it).
std::optional<client_mode> parse_client_mode(std::string_view name) noexcept;

/// Every client mode, in report order.
inline constexpr client_mode all_client_modes[] = {
  client_mode::none,         client_mode::naive,    client_mode::backoff,
  client_mode::token_bucket, client_mode::budget20,
};

/// A fresh policy for `mode`; `seed` seeds its jitter (backoff).
std::unique_ptr<client_policy> make_client_policy(client_mode mode,
                                                  std::uint64_t seed);

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

} // namespace bulwark::bench::model
