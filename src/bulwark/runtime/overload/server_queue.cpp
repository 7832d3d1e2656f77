#include "bulwark/runtime/overload/server_queue.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bulwark {

std::string to_string(queue_outcome x) {
  switch (x) {
    case queue_outcome::started:
      return "started";
    case queue_outcome::dropped_expired:
      return "dropped_expired";
    case queue_outcome::shed:
      return "shed";
  }
  return "invalid";
}

namespace {

std::size_t rank(criticality c) noexcept {
  return static_cast<std::size_t>(c);
}

/// The share of class `c` refused at `level`.
double shed_fraction(criticality c, double level) noexcept {
  switch (c) {
    case criticality::critical:
      return 0;
    case criticality::standard:
      return std::clamp(level - 1, 0.0, 1.0);
    case criticality::sheddable:
      return std::clamp(level, 0.0, 1.0);
  }
  return 0;
}

bool valid_step(double x) noexcept {
  return std::isfinite(x) && x >= 0;
}

} // namespace

server_queue::server_queue(server_queue_config cfg) : cfg_(cfg) {
  if (cfg_.interval <= duration{0})
    throw std::invalid_argument("server_queue: interval must be > 0");
  if (cfg_.target < duration{0})
    throw std::invalid_argument("server_queue: target must be >= 0");
  if (!valid_step(cfg_.shed_step_up) || !valid_step(cfg_.shed_step_down))
    throw std::invalid_argument(
      "server_queue: shed steps must be finite and >= 0");
}

void server_queue::push(const queue_item& item, time_point now,
                        std::vector<queue_verdict>& out) {
  advance(now, out);
  drop_expired(now, out);
  observe(now);
  ++stats_.pushed;
  if (item.deadline <= now) {
    ++stats_.dropped_expired;
    out.push_back({item.id, queue_outcome::dropped_expired, item.crit});
    return;
  }
  if (shed_on_arrival(item.crit)) {
    shed(item, out);
    return;
  }
  if (cfg_.max_queue != 0 && items_.size() >= cfg_.max_queue) {
    // The most sheddable class present loses the item it would serve last.
    std::size_t worst = rank(item.crit);
    for (auto& e : items_)
      worst = std::max(worst, rank(e.item.crit));
    bool arrival_goes = worst == rank(item.crit) && !overloaded_;
    if (!arrival_goes) {
      auto victim = std::find_if(items_.begin(), items_.end(), [&](auto& e) {
        return rank(e.item.crit) == worst;
      });
      if (victim == items_.end()) {
        arrival_goes = true;
      } else {
        auto x = victim->item;
        remove_at(static_cast<std::size_t>(victim - items_.begin()));
        shed(x, out);
      }
    }
    if (arrival_goes) {
      shed(item, out);
      return;
    }
  }
  auto seq = next_seq_++;
  items_.push_back(entry{item, seq});
  deadlines_.emplace(item.deadline, seq);
}

std::optional<queue_item> server_queue::pop(time_point now,
                                            std::vector<queue_verdict>& out) {
  advance(now, out);
  drop_expired(now, out);
  observe(now);
  if (items_.empty())
    return std::nullopt;
  bool lifo = overloaded_ && cfg_.adaptive_lifo;
  auto i = lifo ? items_.size() - 1 : 0;
  auto x = items_[i].item;
  remove_at(i);
  auto wait = std::max(duration{0}, now - x.arrival);
  ++stats_.started;
  if (lifo)
    ++stats_.started_lifo;
  stats_.started_wait_total += wait;
  return x;
}

void server_queue::tick(time_point now, std::vector<queue_verdict>& out) {
  advance(now, out);
  drop_expired(now, out);
  observe(now);
}

void server_queue::observe(time_point now) noexcept {
  auto head = items_.empty()
                ? duration{0}
                : std::max(duration{0}, now - items_.front().item.arrival);
  min_head_ = std::min(min_head_, head);
}

time_point server_queue::next_wakeup() const noexcept {
  if (items_.empty())
    // An overloaded queue that drained turns calm at the interval's end.
    return overloaded_ && interval_started_ ? interval_start_ + cfg_.interval
                                            : no_deadline;
  auto next = deadlines_.begin()->first;
  if (interval_started_)
    next = std::min(next, interval_start_ + cfg_.interval);
  return next;
}

void server_queue::advance(time_point now, std::vector<queue_verdict>& out) {
  if (!interval_started_) {
    interval_started_ = true;
    interval_start_ = now;
    min_head_ = duration::max();
    return;
  }
  auto elapsed = now - interval_start_;
  if (elapsed < cfg_.interval)
    return;
  if (items_.empty()) {
    // Every interval since the last event saw an empty queue: calm. Closed
    // form, so a long idle stretch costs nothing.
    auto k = elapsed / cfg_.interval;
    overloaded_ = false;
    level_ =
      std::max(0.0, level_ - cfg_.shed_step_down * static_cast<double>(k));
    interval_start_ += cfg_.interval * k;
    min_head_ = duration{0};
    return;
  }
  while (now - interval_start_ >= cfg_.interval)
    close_interval(interval_start_ + cfg_.interval, out);
}

void server_queue::close_interval(time_point end,
                                  std::vector<queue_verdict>& out) {
  observe(end);
  overloaded_ = min_head_ > cfg_.target;
  auto old_level = level_;
  auto max_level = cfg_.shed_standard ? 2.0 : 1.0;
  if (overloaded_) {
    ++stats_.overloaded_intervals;
    level_ = std::min(max_level, level_ + cfg_.shed_step_up);
  } else {
    level_ = std::max(0.0, level_ - cfg_.shed_step_down);
  }
  // A class the level now refuses entirely leaves the queue too: what
  // waits is the load.
  if (level_ >= 1 && old_level < 1)
    shed_queued_class(criticality::sheddable, out);
  if (level_ >= 2 && old_level < 2)
    shed_queued_class(criticality::standard, out);
  interval_start_ = end;
  min_head_ = duration::max();
  observe(end);
}

void server_queue::drop_expired(time_point now,
                                std::vector<queue_verdict>& out) {
  if (deadlines_.empty() || deadlines_.begin()->first > now)
    return;
  std::deque<entry> kept;
  for (auto& e : items_) {
    if (e.item.deadline <= now) {
      deadlines_.erase({e.item.deadline, e.seq});
      ++stats_.dropped_expired;
      out.push_back({e.item.id, queue_outcome::dropped_expired, e.item.crit});
    } else {
      kept.push_back(e);
    }
  }
  items_.swap(kept);
}

void server_queue::shed_queued_class(criticality c,
                                     std::vector<queue_verdict>& out) {
  std::deque<entry> kept;
  for (auto& e : items_) {
    if (e.item.crit == c) {
      deadlines_.erase({e.item.deadline, e.seq});
      shed(e.item, out);
    } else {
      kept.push_back(e);
    }
  }
  items_.swap(kept);
}

bool server_queue::shed_on_arrival(criticality c) {
  auto f = shed_fraction(c, level_);
  if (f <= 0)
    return false;
  if (f >= 1)
    return true;
  // Every n-th arrival of the boundary class, without randomness.
  auto& credit = credit_[rank(c)];
  credit += f;
  if (credit >= 1) {
    credit -= 1;
    return true;
  }
  return false;
}

void server_queue::remove_at(std::size_t i) {
  deadlines_.erase({items_[i].item.deadline, items_[i].seq});
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
}

void server_queue::shed(const queue_item& x, std::vector<queue_verdict>& out) {
  ++stats_.shed[rank(x.crit)];
  out.push_back({x.id, queue_outcome::shed, x.crit});
}

} // namespace bulwark
