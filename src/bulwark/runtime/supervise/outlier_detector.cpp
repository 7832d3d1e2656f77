#include "bulwark/runtime/supervise/outlier_detector.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"

namespace bulwark {

std::string to_string(member_health x) {
  switch (x) {
    case member_health::healthy:
      return "healthy";
    case member_health::ejected:
      return "ejected";
    case member_health::probing:
      return "probing";
  }
  return "invalid";
}

std::string to_string(ejection_reason x) {
  switch (x) {
    case ejection_reason::consecutive_errors:
      return "consecutive_errors";
    case ejection_reason::success_rate:
      return "success_rate";
    case ejection_reason::probe_failed:
      return "probe_failed";
  }
  return "invalid";
}

std::string to_string(outlier_event::kind_t x) {
  switch (x) {
    case outlier_event::ejected:
      return "ejected";
    case outlier_event::probe_ready:
      return "probe_ready";
    case outlier_event::readmitted:
      return "readmitted";
  }
  return "invalid";
}

std::string to_string(const outlier_event& x) {
  switch (x.kind) {
    case outlier_event::ejected:
      return fmt::format("ejected member {} for {} ({})", x.member,
                         format_duration(x.ejection_time), to_string(x.reason));
    case outlier_event::probe_ready:
    case outlier_event::readmitted:
      break;
  }
  return fmt::format("{} member {}", to_string(x.kind), x.member);
}

outlier_detector::outlier_detector(const outlier_config& cfg,
                                   std::size_t members)
  : cfg_(cfg) {
  resize(members);
}

void outlier_detector::reconfigure(const outlier_config& cfg) {
  cfg_ = cfg;
}

void outlier_detector::resize(std::size_t members) {
  for (auto i = members; i < members_.size(); ++i)
    if (members_[i].health != member_health::healthy)
      --ejected_count_;
  members_.resize(members);
  rates_.reserve(members);
  recompute_earliest_end();
}

void outlier_detector::reset(std::size_t member) {
  if (member >= members_.size())
    return;
  if (members_[member].health != member_health::healthy)
    --ejected_count_;
  members_[member] = member_state{};
  recompute_earliest_end();
}

std::optional<outlier_event> outlier_detector::record(std::size_t member,
                                                      bool success,
                                                      time_point now,
                                                      rng& gen) {
  if (!cfg_.enabled || member >= members_.size())
    return std::nullopt;
  auto& m = members_[member];
  ++m.requests;
  m.successes += success ? 1 : 0;
  switch (m.health) {
    case member_health::healthy:
      if (success) {
        m.consecutive_failures = 0;
        return std::nullopt;
      }
      if (++m.consecutive_failures < cfg_.consecutive_errors)
        return std::nullopt;
      // Like Envoy, a detection restarts the streak whether or not it ejects
      // (cap reached, not enforced): the next try needs a fresh streak.
      m.consecutive_failures = 0;
      if (!may_eject() || !enforce(cfg_.enforcing_consecutive_errors, gen))
        return std::nullopt;
      return eject(member, ejection_reason::consecutive_errors, now);
    case member_health::ejected:
      return std::nullopt;
    case member_health::probing:
      if (!m.probe_outstanding)
        return std::nullopt;
      m.probe_outstanding = false;
      if (success)
        return readmit(member, now);
      // Still broken: out again for longer. The member never came back, so
      // neither the percentage cap nor an enforcement draw applies.
      return eject(member, ejection_reason::probe_failed, now);
  }
  return std::nullopt;
}

void outlier_detector::advance(time_point now, rng& gen,
                               std::vector<outlier_event>& out) {
  if (!started_) {
    started_ = true;
    interval_end_ = now + cfg_.interval;
  }
  if (!cfg_.enabled) {
    for (std::size_t i = 0; i < members_.size(); ++i)
      if (members_[i].health != member_health::healthy)
        out.push_back(readmit(i, now));
    for (auto& m : members_) {
      m.requests = 0;
      m.successes = 0;
      m.consecutive_failures = 0;
    }
    earliest_end_ = no_deadline;
    // Switched on again, detection starts a fresh interval.
    started_ = false;
    return;
  }
  if (earliest_end_ <= now) {
    for (std::size_t i = 0; i < members_.size(); ++i) {
      auto& m = members_[i];
      if (m.health == member_health::ejected && m.ejection_end <= now) {
        m.health = member_health::probing;
        m.probe_outstanding = false;
        out.push_back({outlier_event::probe_ready, i, m.reason, duration{0}});
      }
    }
  }
  if (interval_end_ <= now) {
    analyze_success_rates(gen, now, out);
    // Envoy: a member that stayed healthy for a whole interval since its
    // readmission gets its ejection multiplier decremented, once per
    // interval, so a flapping member is ejected for longer and longer while
    // one that recovered goes back to short ejections.
    for (auto& m : members_) {
      if (m.health == member_health::healthy && m.ever_readmitted
          && now - m.readmitted_at >= cfg_.interval && m.multiplier > 0)
        --m.multiplier;
      m.requests = 0;
      m.successes = 0;
    }
    // Re-armed from now, as Envoy's interval timer: a late call does not
    // produce a burst of empty intervals.
    interval_end_ = now + cfg_.interval;
  }
  recompute_earliest_end();
}

void outlier_detector::analyze_success_rates(rng& gen, time_point now,
                                             std::vector<outlier_event>& out) {
  rates_.clear();
  double sum = 0;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    auto& m = members_[i];
    if (m.health != member_health::healthy
        || m.requests < cfg_.success_rate_request_volume || m.requests == 0)
      continue;
    auto rate = 100.0 * static_cast<double>(m.successes)
                / static_cast<double>(m.requests);
    rates_.emplace_back(rate, i);
    sum += rate;
  }
  if (rates_.empty() || rates_.size() < cfg_.success_rate_minimum_hosts)
    return;
  // Envoy's arithmetic: population mean and standard deviation of the
  // members' success rates in percent.
  auto n = static_cast<double>(rates_.size());
  auto mean = sum / n;
  double variance = 0;
  for (auto& [rate, i] : rates_)
    variance += (rate - mean) * (rate - mean);
  variance /= n;
  auto threshold =
    mean - (cfg_.success_rate_stdev_factor / 1000.0) * std::sqrt(variance);
  // Worst first, so that when max_ejection_percent binds, the member ejected
  // is the worst one (Envoy goes in host order); ties by member index keep
  // runs reproducible.
  std::sort(rates_.begin(), rates_.end());
  for (auto& [rate, i] : rates_) {
    if (!(rate < threshold))
      break;
    if (!may_eject())
      break;
    if (!enforce(cfg_.enforcing_success_rate, gen))
      continue;
    out.push_back(eject(i, ejection_reason::success_rate, now));
  }
}

time_point outlier_detector::next_deadline() const noexcept {
  if (!cfg_.enabled)
    return ejected_count_ > 0 ? time_point{} : no_deadline;
  if (!started_)
    return time_point{};
  return std::min(interval_end_, earliest_end_);
}

member_health outlier_detector::health(std::size_t member) const noexcept {
  return member < members_.size() ? members_[member].health
                                  : member_health::healthy;
}

bool outlier_detector::available(std::size_t member) const noexcept {
  return health(member) == member_health::healthy;
}

bool outlier_detector::take_probe(std::size_t member) noexcept {
  if (member >= members_.size())
    return false;
  auto& m = members_[member];
  if (m.health != member_health::probing || m.probe_outstanding)
    return false;
  m.probe_outstanding = true;
  return true;
}

void outlier_detector::release_probe(std::size_t member) noexcept {
  if (member < members_.size())
    members_[member].probe_outstanding = false;
}

bool outlier_detector::probe_outstanding(std::size_t member) const noexcept {
  return member < members_.size() && members_[member].probe_outstanding;
}

std::uint32_t outlier_detector::ejections(std::size_t member) const noexcept {
  return member < members_.size() ? members_[member].ejections : 0;
}

std::uint32_t
outlier_detector::ejection_multiplier(std::size_t member) const noexcept {
  return member < members_.size() ? members_[member].multiplier : 0;
}

std::uint64_t
outlier_detector::interval_requests(std::size_t member) const noexcept {
  return member < members_.size() ? members_[member].requests : 0;
}

std::uint64_t
outlier_detector::interval_successes(std::size_t member) const noexcept {
  return member < members_.size() ? members_[member].successes : 0;
}

bool outlier_detector::may_eject() const noexcept {
  // Envoy (since 1.31): the percentage counts the member about to go,
  // (ejected + 1) / members <= max_ejection_percent, so 10 % of 5 members
  // ejects none by itself; with `always_eject_one_host` one member may go
  // whenever none is out. bulwark always applies that floor.
  if (ejected_count_ == 0)
    return true;
  return 100 * (static_cast<std::uint64_t>(ejected_count_) + 1)
         <= static_cast<std::uint64_t>(cfg_.max_ejection_percent)
              * members_.size();
}

bool outlier_detector::enforce(std::uint32_t percent, rng& gen) noexcept {
  // Draw only when the outcome is uncertain, so 0 and 100 consume no
  // randomness and keep other draws of a seeded run where they were.
  if (percent >= 100)
    return true;
  if (percent == 0)
    return false;
  return gen.below(100) < percent;
}

outlier_event outlier_detector::eject(std::size_t member,
                                      ejection_reason reason,
                                      time_point now) noexcept {
  auto& m = members_[member];
  // Envoy grows the multiplier until base x multiplier reaches max + base:
  // one step beyond the cap, so one decay step still leaves a member that
  // keeps failing at the maximum ejection time.
  auto base = cfg_.base_ejection_time;
  if (base * m.multiplier < cfg_.max_ejection_time + base)
    ++m.multiplier;
  auto time = std::min(base * m.multiplier, cfg_.max_ejection_time);
  if (m.health == member_health::healthy)
    ++ejected_count_;
  m.health = member_health::ejected;
  m.probe_outstanding = false;
  m.consecutive_failures = 0;
  m.reason = reason;
  ++m.ejections;
  m.ejection_end = now + time;
  earliest_end_ = std::min(earliest_end_, m.ejection_end);
  return {outlier_event::ejected, member, reason, time};
}

outlier_event outlier_detector::readmit(std::size_t member,
                                        time_point now) noexcept {
  auto& m = members_[member];
  if (m.health != member_health::healthy)
    --ejected_count_;
  m.health = member_health::healthy;
  m.probe_outstanding = false;
  // Envoy resets the consecutive counters on unejection, so a few new
  // errors do not re-eject a member whose streak was close to the limit.
  m.consecutive_failures = 0;
  m.ever_readmitted = true;
  m.readmitted_at = now;
  return {outlier_event::readmitted, member, m.reason, duration{0}};
}

void outlier_detector::recompute_earliest_end() noexcept {
  earliest_end_ = no_deadline;
  for (auto& m : members_)
    if (m.health == member_health::ejected)
      earliest_end_ = std::min(earliest_end_, m.ejection_end);
}

} // namespace bulwark
