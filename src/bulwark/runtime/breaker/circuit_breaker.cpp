#include "bulwark/runtime/breaker/circuit_breaker.hpp"

#include <algorithm>
#include <cassert>

namespace bulwark {

namespace {

time_point saturating_add(time_point t, duration d) noexcept {
  return t > time_point::max() - d ? time_point::max() : t + d;
}

// Bring a config built in code (and perhaps never validated) into the ranges
// the breaker's arithmetic relies on. Parsed configs pass unchanged.
breaker_config sanitized(breaker_config cfg) {
  auto max_size = cfg.window == window_kind::count_based
                    ? breaker_config::max_count_window
                    : breaker_config::max_time_window;
  cfg.window_size = std::clamp<std::uint32_t>(cfg.window_size, 1, max_size);
  cfg.minimum_calls = std::max<std::uint32_t>(cfg.minimum_calls, 1);
  cfg.half_open_probes = std::max<std::uint32_t>(cfg.half_open_probes, 1);
  if (!(cfg.open_duration_multiplier >= 1.0))
    cfg.open_duration_multiplier = 1.0;
  cfg.open_duration = std::max(cfg.open_duration, duration{0});
  cfg.max_open_duration = std::max(cfg.max_open_duration, cfg.open_duration);
  cfg.record_failures_on.erase(failure_class::cancelled);
  cfg.record_failures_on.erase(failure_class::rejected_locally);
  return cfg;
}

breaker_state initial_state(breaker_mode mode) noexcept {
  switch (mode) {
    case breaker_mode::forced_open:
      return breaker_state::forced_open;
    case breaker_mode::disabled:
      return breaker_state::disabled;
    case breaker_mode::automatic:
      break;
  }
  return breaker_state::closed;
}

} // namespace

circuit_breaker::circuit_breaker(const breaker_config& cfg) {
  apply(cfg);
  build_window();
  state_ = initial_state(cfg_.mode);
  held_by_operator_ = state_ == breaker_state::forced_open;
  current_open_duration_ = cfg_.open_duration;
}

void circuit_breaker::apply(const breaker_config& cfg) {
  cfg_ = sanitized(cfg);
  failure_units_ = breaker_threshold_units(cfg_.failure_rate_threshold);
  slow_units_ = breaker_threshold_units(cfg_.slow_call_rate_threshold);
}

void circuit_breaker::build_window() {
  if (cfg_.window == window_kind::count_based) {
    count_window_ = count_window{cfg_.window_size};
    time_window_ = time_window{};
  } else {
    count_window_ = count_window{};
    time_window_ = time_window{cfg_.window_size};
  }
}

void circuit_breaker::clear_window() noexcept {
  if (cfg_.window == window_kind::count_based)
    count_window_.clear();
  else
    time_window_.clear();
}

void circuit_breaker::reconfigure(const breaker_config& cfg, time_point now) {
  auto old = cfg_;
  apply(cfg);
  if (old.window != cfg_.window || old.window_size != cfg_.window_size)
    build_window();
  current_open_duration_ = std::clamp(
    current_open_duration_, cfg_.open_duration, cfg_.max_open_duration);
  if (old.mode != cfg_.mode) {
    switch (cfg_.mode) {
      case breaker_mode::automatic:
        if (state_ == breaker_state::forced_open
            || state_ == breaker_state::disabled)
          reset(now);
        break;
      case breaker_mode::forced_open:
        force_open(now);
        break;
      case breaker_mode::disabled:
        disable(now);
        break;
    }
  }
  if (state_ == breaker_state::half_open)
    decide_half_open(now);
}

bool circuit_breaker::try_acquire_slow(time_point now) noexcept {
  switch (state_) {
    case breaker_state::open:
      if (now < open_until_)
        break;
      transition_to(breaker_state::half_open,
                    transition_reason::open_duration_elapsed, now);
      [[fallthrough]];
    case breaker_state::half_open:
      if (half_open_expired(now)) {
        // The probes did not decide in time (they hang, or too few calls
        // came): back to open, as if they had failed.
        transition_to(breaker_state::open, transition_reason::half_open_timeout,
                      now);
        break;
      }
      if (probes_in_flight_ + probes_recorded_ < cfg_.half_open_probes
          && (cfg_.half_open_max_in_flight == 0
              || probes_in_flight_ < cfg_.half_open_max_in_flight)) {
        ++probes_in_flight_;
        ++in_flight_;
        ++counters_.permitted_calls;
        return true;
      }
      break;
    case breaker_state::closed:
    case breaker_state::disabled:
      // Handled inline; kept for completeness.
      ++in_flight_;
      ++counters_.permitted_calls;
      return true;
    case breaker_state::forced_open:
      break;
  }
  ++counters_.rejected_calls;
  return false;
}

void circuit_breaker::trip(std::uint64_t failures, std::uint64_t calls,
                           time_point now) noexcept {
  auto reason = reaches(failures, calls, failure_units_)
                  ? transition_reason::failure_rate_exceeded
                  : transition_reason::slow_call_rate_exceeded;
  transition_to(breaker_state::open, reason, now);
}

void circuit_breaker::record_probe(bool failed, bool slow,
                                   time_point now) noexcept {
  ++probes_recorded_;
  probe_failures_ += failed ? 1u : 0u;
  probe_slow_ += slow ? 1u : 0u;
  decide_half_open(now);
}

void circuit_breaker::decide_half_open(time_point now) noexcept {
  // The verdict is over `half_open_probes` results (more only if a reconfigure
  // shrank the probe count mid-way). Reopen as soon as the failures or slow
  // calls seen so far reach a threshold over that total: later probes can
  // only add to them, so waiting would just send more calls to a broken
  // downstream. Close once all probes are in and neither threshold is reached.
  std::uint64_t total = std::max(cfg_.half_open_probes, probes_recorded_);
  if (reaches(probe_failures_, total, failure_units_)
      || reaches(probe_slow_, total, slow_units_))
    transition_to(breaker_state::open, transition_reason::probe_failed, now);
  else if (probes_recorded_ >= cfg_.half_open_probes)
    transition_to(breaker_state::closed, transition_reason::probes_succeeded,
                  now);
}

void circuit_breaker::force_open(time_point now) {
  held_by_operator_ = true;
  if (state_ != breaker_state::forced_open)
    transition_to(breaker_state::forced_open, transition_reason::forced, now);
}

void circuit_breaker::hold_for_probe(bool on, time_point now) {
  held_by_probe_ = on;
  if (on) {
    if (state_ != breaker_state::forced_open
        && state_ != breaker_state::disabled)
      transition_to(breaker_state::forced_open, transition_reason::probe, now);
  } else if (state_ == breaker_state::forced_open && !held_by_operator_) {
    transition_to(breaker_state::closed, transition_reason::probe, now);
  }
}

void circuit_breaker::disable(time_point now) {
  held_by_operator_ = false;
  if (state_ != breaker_state::disabled)
    transition_to(breaker_state::disabled, transition_reason::disabled, now);
}

void circuit_breaker::reset(time_point now) {
  held_by_operator_ = false;
  if (held_by_probe_) {
    // The probe still finds the path failing: it stays paused.
    if (state_ != breaker_state::forced_open)
      transition_to(breaker_state::forced_open, transition_reason::probe, now);
    return;
  }
  if (state_ == breaker_state::closed) {
    clear_window();
    current_open_duration_ = cfg_.open_duration;
    return;
  }
  transition_to(breaker_state::closed, transition_reason::reset, now);
}

window_snapshot circuit_breaker::snapshot() const noexcept {
  return cfg_.window == window_kind::count_based ? count_window_.snapshot()
                                                 : time_window_.snapshot();
}

window_snapshot circuit_breaker::snapshot(time_point now) const noexcept {
  return cfg_.window == window_kind::count_based ? count_window_.snapshot()
                                                 : time_window_.snapshot(now);
}

time_point circuit_breaker::open_until() const noexcept {
  switch (state_) {
    case breaker_state::open:
      return open_until_;
    case breaker_state::forced_open:
      return no_deadline;
    default:
      return time_point::min();
  }
}

void circuit_breaker::transition_to(breaker_state to, transition_reason reason,
                                    time_point now) noexcept {
  auto from = state_;
  if (!is_legal_transition(from, to)) {
    assert(!"illegal circuit breaker transition");
    ++counters_.illegal_transitions;
    return;
  }
  auto rates =
    from == breaker_state::half_open ? probe_snapshot() : snapshot(now);
  // Entry actions of the new state.
  switch (to) {
    case breaker_state::closed:
      clear_window();
      current_open_duration_ = cfg_.open_duration;
      break;
    case breaker_state::open:
      if (from == breaker_state::half_open) {
        auto next = static_cast<double>(current_open_duration_.count())
                    * cfg_.open_duration_multiplier;
        auto cap = static_cast<double>(cfg_.max_open_duration.count());
        current_open_duration_ = next >= cap
                                   ? cfg_.max_open_duration
                                   : duration{static_cast<duration::rep>(next)};
      } else {
        current_open_duration_ = cfg_.open_duration;
      }
      open_until_ = saturating_add(now, current_open_duration_);
      break;
    case breaker_state::half_open:
      // Calls still out from before are not probes (see `record`).
      stale_in_flight_ = in_flight_;
      half_open_since_ = now;
      probes_in_flight_ = 0;
      probes_recorded_ = 0;
      probe_failures_ = 0;
      probe_slow_ = 0;
      break;
    case breaker_state::forced_open:
    case breaker_state::disabled:
      break;
  }
  state_ = to;
  ++counters_.transitions;
  if (listener_ != nullptr)
    listener_->on_breaker_event(breaker_event{
      from, to, reason, now, rates.failure_rate, rates.slow_call_rate});
}

} // namespace bulwark
