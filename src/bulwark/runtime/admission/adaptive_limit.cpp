#include "bulwark/runtime/admission/adaptive_limit.hpp"

#include <algorithm>
#include <cmath>

namespace bulwark {

adaptive_limit::adaptive_limit(const adaptive_limit_config& cfg) : cfg_(cfg) {
  reset();
}

void adaptive_limit::reset() noexcept {
  // 0 is resolved by the owner (the bulkhead's limit); alone, min_limit.
  auto initial = std::clamp(cfg_.initial_limit, cfg_.min_limit, cfg_.max_limit);
  limit_ = initial;
  published_ = initial;
  window_open_ = false;
  samples_ = latency_samples_ = max_in_flight_ = 0;
  latency_sum_ns_ = latency_sq_sum_ns_ = 0;
  dropped_ = false;
  no_load_ns_ = healthy_ns_ = last_mean_ns_ = 0;
  guarded_ = false;
  recover_to_ = 0;
  windows_ = 0;
  probe_ = probe_phase::none;
  drain_ = 0;
  saved_limit_ = 0;
  probed_ = false;
  probes_ = 0;
  starting_ = true;
}

bool adaptive_limit::reconfigure(const adaptive_limit_config& cfg) noexcept {
  auto before = published_;
  bool restart = !cfg_.enabled || cfg.kind != cfg_.kind;
  cfg_ = cfg;
  if (restart) {
    reset();
  } else {
    if (probe_ != probe_phase::none) {
      limit_ = saved_limit_;
      probe_ = probe_phase::none;
    }
    publish();
  }
  return published_ != before;
}

bool adaptive_limit::publish() noexcept {
  auto lo = static_cast<double>(cfg_.min_limit);
  auto hi = static_cast<double>(cfg_.max_limit);
  limit_ = std::clamp(limit_, lo, hi);
  auto x = static_cast<std::uint32_t>(std::lround(limit_));
  x = std::clamp(x, cfg_.min_limit, cfg_.max_limit);
  if (x == published_)
    return false;
  published_ = x;
  return true;
}

void adaptive_limit::start_probe() noexcept {
  // The calls in flight under the current limit come back first: their
  // latency still has the old queue in it.
  probe_ = probe_phase::draining;
  drain_ = std::max<std::uint32_t>(published_, 1);
  saved_limit_ = limit_;
  limit_ = std::max(static_cast<double>(cfg_.min_limit), limit_ / 2.0);
}

bool adaptive_limit::on_sample(duration rtt, std::uint32_t in_flight,
                               bool dropped, time_point now) noexcept {
  bool changed = false;
  if (dropped) {
    // A refused or timed-out attempt says nothing about latency, and one
    // overload usually drops many: back off once per window. A probe in
    // progress is abandoned (the limit it saved is the one to back off
    // from).
    if (probe_ != probe_phase::none) {
      limit_ = saved_limit_;
      probe_ = probe_phase::none;
      window_open_ = false;
      samples_ = latency_samples_ = max_in_flight_ = 0;
      latency_sum_ns_ = latency_sq_sum_ns_ = 0;
    }
    starting_ = false;
    if (!dropped_) {
      dropped_ = true;
      if (recover_to_ == 0)
        recover_to_ = limit_;
      limit_ *= cfg_.backoff_ratio;
      changed = publish();
    }
  } else if (probe_ == probe_phase::draining) {
    if (--drain_ == 0)
      probe_ = probe_phase::measuring;
    return false;
  }
  if (!window_open_) {
    window_open_ = true;
    window_start_ = now;
  }
  ++samples_;
  if (in_flight > max_in_flight_)
    max_in_flight_ = in_flight;
  if (!dropped) {
    auto x = static_cast<double>(rtt.count());
    latency_sum_ns_ += x;
    latency_sq_sum_ns_ += x * x;
    ++latency_samples_;
  }
  if (samples_ >= cfg_.min_samples && now - window_start_ >= cfg_.window)
    changed = close_window(now) || changed;
  return changed;
}

bool adaptive_limit::close_window(time_point now) noexcept {
  ++windows_;
  auto elapsed = now - window_start_;
  bool had_latency = latency_samples_ > 0;
  double mean = had_latency ? latency_sum_ns_ / latency_samples_ : 0.0;
  // The mean's noise: two standard errors. A window's mean counts as lower
  // than what was learned only by more than its noise, and as elevated
  // (the guard) only by more than its noise: with a heavy-tailed latency
  // and a few hundred samples a window's mean wanders by 10-20 %, and the
  // lowest of many such means is far below the true one (a no-load and a
  // healthy latency learned that way call the limit's own small queue a
  // brownout).
  double noise = 0;
  if (latency_samples_ > 1) {
    auto n = static_cast<double>(latency_samples_);
    auto var = std::max(0.0, latency_sq_sum_ns_ / n - mean * mean);
    noise = 2.0 * std::sqrt(var / n);
  }
  bool used = 2.0 * max_in_flight_ >= limit_;
  bool dropped = dropped_;
  window_open_ = false;
  samples_ = latency_samples_ = max_in_flight_ = 0;
  latency_sum_ns_ = latency_sq_sum_ns_ = 0;
  dropped_ = false;
  if (!had_latency)
    return false;
  last_mean_ns_ = mean;
  // The guard judges against the healthy latency known before this window.
  bool first = healthy_ns_ <= 0;
  bool was_guarded = guarded_;
  if (!was_guarded)
    probe_for_guard_ = false;
  // It trips when the mean is above the threshold by more than its noise
  // and lets go when it is below by more than its noise; within the noise
  // it stays as it was (a brownout's windows have fewer samples, and one
  // noisy window must not end it).
  auto threshold =
    std::max(cfg_.healthy_latency_ratio * healthy_ns_,
             healthy_ns_ + static_cast<double>(cfg_.min_queueing.count()));
  if (first)
    guarded_ = false;
  else if (mean - noise > threshold)
    guarded_ = true;
  else if (mean + noise < threshold)
    guarded_ = false;
  if (first) {
    healthy_ns_ = mean;
  } else if (mean + noise < healthy_ns_) {
    healthy_ns_ = mean + noise;
  } else if (mean > healthy_ns_) {
    // An exponential average with time constant healthy_window, in time
    // rather than in windows, so short windows do not speed it up.
    auto w =
      1.0 - std::exp(-to_seconds(elapsed) / to_seconds(cfg_.healthy_window));
    healthy_ns_ += (mean - healthy_ns_) * w;
  }
  if (probe_ == probe_phase::measuring) {
    // The probe's window: its mean is the no-load latency now.
    no_load_ns_ = mean;
    probe_ = probe_phase::none;
    probed_ = true;
    last_probe_ = now;
    ++probes_;
    limit_ = saved_limit_;
    // A probe the guard asked for that finds no elevated latency at half
    // the limit: the limit's own queue tripped the guard, not the
    // dependency. The level it tripped at is no level to go back to.
    if (probe_for_guard_ && mean + noise < threshold)
      recover_to_ = 0;
    return publish();
  }
  if (no_load_ns_ <= 0)
    no_load_ns_ = mean;
  else if (mean + noise < no_load_ns_)
    no_load_ns_ = mean + noise;
  if (guarded_ || dropped) {
    starting_ = false;
    if (recover_to_ == 0)
      recover_to_ = limit_;
  }
  double next = limit_;
  switch (cfg_.kind) {
    case adaptive_limit_kind::gradient: {
      // Queueing is mean - no-load; below both the tolerance and
      // min_queueing it does not count.
      auto threshold =
        std::max(cfg_.tolerance * no_load_ns_,
                 no_load_ns_ + static_cast<double>(cfg_.min_queueing.count()));
      auto gradient = std::clamp(threshold / mean, 0.5, 1.0);
      auto proposal = limit_ * gradient + std::max(1.0, std::log10(limit_));
      next = limit_ + (proposal - limit_) * cfg_.smoothing;
      if (gradient < 1.0)
        starting_ = false;
      else if (starting_)
        // Slow start: nothing has pushed back since the limit began, so it
        // doubles per window, as a TCP connection's window does, instead
        // of queueing calls for minutes under a low initial_limit.
        next = std::max(next, limit_ * 2.0);
      break;
    }
    case adaptive_limit_kind::aimd:
      next = limit_ + 1.0;
      break;
  }
  if (next > limit_) {
    if (guarded_ || dropped || !used) {
      next = limit_;
    } else if (recover_to_ > 0) {
      // Slow start back to where the unhealthy stretch began.
      if (next < recover_to_)
        next = std::max(next, std::min(limit_ * 2.0, recover_to_));
      if (next >= recover_to_)
        recover_to_ = 0;
    }
  } else if (!guarded_ && !dropped) {
    // Healthy and still not growing: the old level is not there to go back
    // to.
    recover_to_ = 0;
  }
  limit_ = next;
  // A dependency whose whole latency is below min_queueing has no queue
  // worth measuring: no probe (it would only queue calls for a window).
  if (cfg_.kind == adaptive_limit_kind::gradient && !dropped
      && mean >= static_cast<double>(cfg_.min_queueing.count())
      && (!probed_ || (guarded_ && was_guarded && !probe_for_guard_)
          || now - last_probe_ >= cfg_.probe_interval)) {
    // One probe per guarded stretch: a brownout is measured once, and
    // while it lasts the no-load latency is what the probe found.
    probe_for_guard_ = guarded_;
    start_probe();
  }
  return publish();
}

} // namespace bulwark
