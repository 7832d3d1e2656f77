#include "bulwark/runtime/probe/probe_core.hpp"

#include <algorithm>

#include "bulwark/runtime/core/deadline.hpp"

namespace bulwark {

std::string to_string(probe_action_kind x) {
  switch (x) {
    case probe_action_kind::send_probe:
      return "send_probe";
    case probe_action_kind::pause:
      return "pause";
    case probe_action_kind::resume:
      return "resume";
  }
  return "invalid";
}

void probe_core::reconfigure(const probe_config& cfg, time_point now,
                             probe_action_list& out) {
  bool was_on = cfg_.enabled;
  cfg_ = cfg;
  if (!cfg_.enabled) {
    if (paused_) {
      // Nobody watches the path any more: it must not stay paused.
      paused_ = false;
      ++counters_.resumes;
      out.push_back(probe_action{probe_action_kind::resume, 0, no_deadline});
    }
    in_flight_ = false;
    reset_streaks();
    next_probe_at_ = time_point::min();
    probe_deadline_ = no_deadline;
    return;
  }
  if (!was_on) {
    reset_streaks();
    next_probe_at_ = now;
    return;
  }
  next_probe_at_ =
    std::min(next_probe_at_, deadline::after(now, cfg_.interval).at);
  if (in_flight_)
    probe_deadline_ =
      std::min(probe_deadline_, deadline::after(now, cfg_.timeout).at);
}

void probe_core::advance(time_point now, probe_action_list& out) {
  if (!cfg_.enabled)
    return;
  if (in_flight_ && now >= probe_deadline_) {
    in_flight_ = false;
    probe_deadline_ = no_deadline;
    ++counters_.timeouts;
    if (cfg_.failure_on.contains(failure_class::timeout))
      verdict(true, out);
  }
  if (!in_flight_ && now >= next_probe_at_) {
    ++sequence_;
    current_id_ = correlation_id::make(probe_slot, sequence_, 0);
    in_flight_ = true;
    probe_deadline_ = deadline::after(now, cfg_.timeout).at;
    next_probe_at_ = deadline::after(now, cfg_.interval).at;
    ++counters_.sent;
    out.push_back(probe_action{probe_action_kind::send_probe, current_id_,
                               probe_deadline_});
  }
}

void probe_core::on_result(std::uint64_t id, const outcome& o, time_point now,
                           probe_action_list& out) {
  if (!in_flight_ || id != current_id_) {
    ++counters_.late;
    return;
  }
  in_flight_ = false;
  probe_deadline_ = no_deadline;
  if (o.success) {
    ++counters_.successes;
    verdict(false, out);
  } else if (cfg_.failure_on.contains(o.cls)) {
    ++counters_.failures;
    verdict(true, out);
  } else {
    ++counters_.ignored;
  }
  advance(now, out);
}

void probe_core::verdict(bool failed, probe_action_list& out) {
  if (failed) {
    good_ = 0;
    bad_ = bad_ < cfg_.unhealthy_threshold ? bad_ + 1 : bad_;
    if (!paused_ && bad_ >= cfg_.unhealthy_threshold) {
      paused_ = true;
      ++counters_.pauses;
      out.push_back(probe_action{probe_action_kind::pause, 0, no_deadline});
    }
    return;
  }
  bad_ = 0;
  good_ = good_ < cfg_.healthy_threshold ? good_ + 1 : good_;
  if (paused_ && good_ >= cfg_.healthy_threshold) {
    paused_ = false;
    ++counters_.resumes;
    out.push_back(probe_action{probe_action_kind::resume, 0, no_deadline});
  }
}

time_point probe_core::next_deadline() const noexcept {
  if (!cfg_.enabled)
    return no_deadline;
  // While one is in flight only its timeout is due: the next probe waits
  // for its result (or timeout), and a time already past would make the
  // owner wake again and again for nothing.
  return in_flight_ ? probe_deadline_ : next_probe_at_;
}

} // namespace bulwark
