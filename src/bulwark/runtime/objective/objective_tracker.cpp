#include "bulwark/runtime/objective/objective_tracker.hpp"

#include <cmath>

namespace bulwark {

namespace {

constexpr auto fine_width = seconds(10);
constexpr std::size_t fine_count = 360; // 1 h
constexpr auto coarse_width = minutes(5);
constexpr std::size_t coarse_count = 864; // 72 h

double burn(std::uint64_t bad, std::uint64_t events, double target) noexcept {
  if (events == 0 || target >= 1.0)
    return 0.0;
  auto error_rate = static_cast<double>(bad) / static_cast<double>(events);
  return error_rate / (1.0 - target);
}

std::uint64_t milli(double x) noexcept {
  return static_cast<std::uint64_t>(std::llround(x * 1000.0));
}

std::uint64_t ppm(double x) noexcept {
  return static_cast<std::uint64_t>(std::llround(x * 1e6));
}

} // namespace

objective_tracker::objective_tracker(const objective_config& cfg)
  : fine_(fine_width, fine_count),
    coarse_(coarse_width, coarse_count) {
  reconfigure(cfg);
}

void objective_tracker::reconfigure(const objective_config& cfg) {
  if (cfg.latency_threshold != cfg_.latency_threshold) {
    for (auto* r : {&fine_, &coarse_})
      for (auto& b : r->buckets)
        b.bad_latency = 0;
    bad_latency_ = 0;
  }
  for (auto* r : {&fine_, &coarse_}) {
    if (!cfg.enabled)
      std::vector<bucket>{}.swap(r->buckets);
    else if (r->buckets.empty())
      r->buckets.resize(r->count);
  }
  cfg_ = cfg;
}

objective_tracker::bucket& objective_tracker::ring::at(time_point t) noexcept {
  auto i = index_of(t);
  auto n = static_cast<std::int64_t>(buckets.size());
  auto& b = buckets[static_cast<std::size_t>((i % n + n) % n)];
  if (b.index != i)
    b = bucket{i, 0, 0, 0};
  return b;
}

objective_tracker::bucket
objective_tracker::ring::sum(std::size_t n, time_point now) const noexcept {
  bucket total;
  auto last = index_of(now);
  auto first = last - static_cast<std::int64_t>(n) + 1;
  for (auto& b : buckets)
    if (b.index >= first && b.index <= last) {
      total.events += b.events;
      total.bad_availability += b.bad_availability;
      total.bad_latency += b.bad_latency;
    }
  return total;
}

void objective_tracker::record(bool ok, duration latency,
                               time_point now) noexcept {
  if (!cfg_.enabled)
    return;
  bool bad_latency = cfg_.has_latency() && latency > cfg_.latency_threshold;
  ++events_;
  bad_availability_ += ok ? 0 : 1;
  bad_latency_ += bad_latency ? 1 : 0;
  for (auto* r : {&fine_, &coarse_}) {
    auto& b = r->at(now);
    ++b.events;
    b.bad_availability += ok ? 0 : 1;
    b.bad_latency += bad_latency ? 1 : 0;
  }
}

const objective_tracker::ring&
objective_tracker::ring_for(objective_window w) const noexcept {
  return length_of(w) <= hours(1) ? fine_ : coarse_;
}

objective_tracker::bucket
objective_tracker::window(objective_window w, time_point now) const noexcept {
  auto& r = ring_for(w);
  auto n = static_cast<std::size_t>(length_of(w) / r.width);
  return r.sum(n, now);
}

double objective_tracker::availability_burn(objective_window w,
                                            time_point now) const noexcept {
  auto b = window(w, now);
  return burn(b.bad_availability, b.events, cfg_.availability);
}

double objective_tracker::latency_burn(objective_window w,
                                       time_point now) const noexcept {
  if (!cfg_.has_latency())
    return 0.0;
  auto b = window(w, now);
  return burn(b.bad_latency, b.events, cfg_.latency);
}

objective_stats objective_tracker::snapshot(time_point now) const noexcept {
  objective_stats s;
  s.events = events_;
  s.bad_availability = bad_availability_;
  s.bad_latency = bad_latency_;
  if (!cfg_.enabled)
    return s;
  s.availability_target_ppm = ppm(cfg_.availability);
  if (cfg_.has_latency()) {
    s.latency_target_ppm = ppm(cfg_.latency);
    s.latency_threshold_ns =
      static_cast<std::uint64_t>(cfg_.latency_threshold.count());
  }
  for (std::size_t i = 0; i < objective_window_count; ++i) {
    auto w = all_objective_windows[i];
    auto b = window(w, now);
    s.availability_burn_milli[i] =
      milli(burn(b.bad_availability, b.events, cfg_.availability));
    if (cfg_.has_latency())
      s.latency_burn_milli[i] =
        milli(burn(b.bad_latency, b.events, cfg_.latency));
  }
  return s;
}

} // namespace bulwark
