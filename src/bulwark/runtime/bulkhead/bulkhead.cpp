#include "bulwark/runtime/bulkhead/bulkhead.hpp"

#include <algorithm>

namespace bulwark {

std::string to_string(admission x) {
  switch (x) {
    case admission::run:
      return "run";
    case admission::queued:
      return "queued";
    case admission::rejected_full:
      return "rejected_full";
    case admission::rejected_shed:
      return "rejected_shed";
  }
  return "invalid";
}

// -- ring -----------------------------------------------------------------------

void bulkhead::ring::reserve(std::size_t capacity) {
  if (capacity <= buf_.size())
    return;
  std::size_t n = 1;
  while (n < capacity)
    n <<= 1;
  std::vector<entry> next(n);
  for (std::size_t i = 0; i < size_; ++i)
    next[i] = at(i);
  buf_.swap(next);
  mask_ = n - 1;
  head_ = 0;
}

void bulkhead::ring::push_back(entry x) noexcept {
  slot(size_) = x;
  ++size_;
}

void bulkhead::ring::pop_front() noexcept {
  head_ = (head_ + 1) & mask_;
  --size_;
}

void bulkhead::ring::erase_at(std::size_t i) noexcept {
  if (i < size_ / 2) {
    // Move the older entries one step towards the back, then drop the front.
    for (std::size_t j = i; j > 0; --j)
      slot(j) = slot(j - 1);
    pop_front();
  } else {
    for (std::size_t j = i; j + 1 < size_; ++j)
      slot(j) = slot(j + 1);
    --size_;
  }
}

// -- bulkhead -------------------------------------------------------------------

bulkhead::bulkhead(const bulkhead_config& cfg) {
  resize(cfg);
}

void bulkhead::resize(const bulkhead_config& cfg) {
  cfg_ = cfg;
  reserved_ = cfg_.reserved_slots();
  if (cfg_.max_queue > capacity_) {
    // Each class may fill the whole queue, so each ring holds max_queue.
    capacity_ = cfg_.max_queue;
    critical_.reserve(capacity_);
    standard_.reserve(capacity_);
  }
}

admission bulkhead::try_acquire(std::uint64_t id, criticality c,
                                time_point now) noexcept {
  const auto limit = cfg_.max_concurrent;
  const auto general = limit - reserved_; // slots for everyone
  bool may_run = false;
  switch (c) {
    case criticality::critical:
      may_run = in_flight_ < limit && !has_live(critical_, now);
      break;
    case criticality::standard:
    case criticality::sheddable:
      may_run = in_flight_ < general && !has_live(critical_, now)
                && !has_live(standard_, now);
      break;
  }
  if (may_run) {
    ++in_flight_;
    return admission::run;
  }
  if (c == criticality::sheddable)
    return admission::rejected_shed;
  if (queued() >= cfg_.max_queue)
    return admission::rejected_full;
  auto& q = c == criticality::critical ? critical_ : standard_;
  q.push_back(entry{id, now});
  return admission::queued;
}

std::optional<std::uint64_t> bulkhead::release(time_point now) noexcept {
  std::uint64_t id = 0;
  if (release(now, id))
    return id;
  return std::nullopt;
}

std::optional<std::uint64_t> bulkhead::try_dequeue(time_point now) noexcept {
  std::uint64_t id = 0;
  if (try_dequeue(now, id))
    return id;
  return std::nullopt;
}

bool bulkhead::try_dequeue(time_point now, std::uint64_t& next) noexcept {
  if ((in_flight_ < cfg_.max_concurrent && take_live(critical_, now, next))
      || (in_flight_ < cfg_.max_concurrent - reserved_
          && take_live(standard_, now, next))) {
    ++in_flight_;
    return true;
  }
  return false;
}

bool bulkhead::take_live(ring& q, time_point now, std::uint64_t& id) noexcept {
  // Expired entries sit at the front (enqueue order); they stay there for
  // `expire` to report, and the first live one behind them is taken.
  std::size_t i = 0;
  while (i < q.size() && expired(q.at(i), now))
    ++i;
  if (i == q.size())
    return false;
  id = q.at(i).id;
  if (i == 0)
    q.pop_front();
  else
    q.erase_at(i);
  return true;
}

std::optional<time_point> bulkhead::next_expiry() const noexcept {
  std::optional<time_point> result;
  for (auto* q : {&critical_, &standard_}) {
    if (q->empty())
      continue;
    auto at = deadline::after(q->front().since, cfg_.max_queue_wait).at;
    if (!result || at < *result)
      result = at;
  }
  return result;
}

bool bulkhead::cancel(std::uint64_t id) noexcept {
  for (auto* q : {&critical_, &standard_}) {
    for (std::size_t i = 0; i < q->size(); ++i) {
      if (q->at(i).id == id) {
        q->erase_at(i);
        return true;
      }
    }
  }
  return false;
}

} // namespace bulwark
