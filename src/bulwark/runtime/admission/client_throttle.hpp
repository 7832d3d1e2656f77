// Client-side adaptive throttling (Google SRE book, "Handling Overload"): over
// a sliding window the client counts `requests` (calls the application asked
// for, including those it rejected itself) and `accepts` (calls the
// dependency accepted: any answer but an overload or a timeout), and rejects
// each new call locally with probability
//   P(reject) = max(0, (requests - K * accepts) / (requests + 1)).
// A request is counted when its fate is known: at once when the throttle
// rejects it, otherwise when the call ends (`on_result`). The book counts it
// when it is sent; then every call still in flight counts as refused, and a
// fresh throttle (or one after a quiet spell) rejects healthy traffic: one
// call out and none answered yet already gives P = 1/2. Counted at the end,
// P is exactly 0 while every answered call was accepted.
// While the dependency accepts everything, P is 0; when it starts refusing,
// the client stops sending the excess itself, so the dependency spends
// nothing on requests it would refuse anyway and a retry storm cannot build
// up behind the refusals. A local rejection is `rejected_locally`: it never
// executed.
//
// The window is a ring of `slice_count` time slices (Finagle's budget uses
// the same shape), so counting is O(1) and nothing allocates after
// construction. Pure: time and randomness are arguments.
#pragma once

#include <array>
#include <cstdint>

#include "bulwark/runtime/admission/throttle_config.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

class client_throttle {
 public:
  /// Slices of the window: the counts forget the oldest 1/20 at a time.
  static constexpr std::size_t slice_count = 20;

  explicit client_throttle(const throttle_config& cfg = {});

  const throttle_config& config() const noexcept {
    return cfg_;
  }

  /// A new call: decides whether it goes (true; it is counted when it ends,
  /// `on_result`) or is rejected locally (false; counted as a request at
  /// once, as in the book: that is what keeps P up while the backend
  /// refuses).
  bool admit(rng& gen, time_point now) noexcept;

  /// A call `admit` let through ended: the dependency accepted it (it
  /// answered, if only with a client error) or not (it refused it, timed
  /// out or failed before answering). Exactly once per admitted call.
  void on_result(bool accepted, time_point now) noexcept;

  /// P(reject) now, in [0, 1).
  double reject_probability(time_point now) noexcept;

  /// Requests and accepts in the window at `now`.
  std::uint64_t requests(time_point now) noexcept;
  std::uint64_t accepts(time_point now) noexcept;

  /// A new config: a new window length starts the counts afresh (their
  /// slices would no longer line up), a new K keeps them.
  void reconfigure(const throttle_config& cfg) noexcept;

 private:
  void roll(time_point now) noexcept;

  throttle_config cfg_;
  duration slice_{};
  std::array<std::uint64_t, slice_count> requests_{};
  std::array<std::uint64_t, slice_count> accepts_{};
  std::uint64_t total_requests_ = 0;
  std::uint64_t total_accepts_ = 0;
  std::size_t head_ = 0;
  time_point slice_end_{};
  bool started_ = false;
};

} // namespace bulwark
