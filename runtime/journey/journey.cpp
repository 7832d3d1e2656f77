#include "runtime/journey/journey.hpp"

#include <algorithm>

#include <boost/json/array.hpp>

namespace bulwark {

std::string to_string(initiator x) {
  switch (x) {
    case initiator::caller:
      return "caller";
    case initiator::dependency:
      return "dependency";
    case initiator::supervisor:
      return "supervisor";
    case initiator::hedger:
      return "hedger";
    case initiator::timer:
      return "timer";
  }
  return "invalid";
}

journey::journey(std::uint64_t id, time_point started) noexcept
  : id_(id), started_(started) {
  // entries_ stays uninitialized: only [0, size_) is ever read.
}

journey::journey(const journey& other) noexcept
  : id_(other.id_),
    started_(other.started_),
    attempts_(other.attempts_),
    dropped_(other.dropped_),
    size_(other.size_),
    state_(other.state_),
    level_(other.level_),
    failed_(other.failed_),
    degraded_(other.degraded_) {
  std::copy_n(other.entries_.data(), size_, entries_.data());
}

journey& journey::operator=(const journey& other) noexcept {
  if (this != &other) {
    id_ = other.id_;
    started_ = other.started_;
    attempts_ = other.attempts_;
    dropped_ = other.dropped_;
    size_ = other.size_;
    state_ = other.state_;
    level_ = other.level_;
    failed_ = other.failed_;
    degraded_ = other.degraded_;
    std::copy_n(other.entries_.data(), size_, entries_.data());
  }
  return *this;
}

namespace {

bool well_formed(const journey_event& e, std::uint8_t level) noexcept {
  switch (e.kind) {
    case journey_event_kind::attempt_started:
    case journey_event_kind::hedge_started:
      return e.attempt >= 1 && e.level == 0;
    case journey_event_kind::attempt_ended:
      return e.attempt >= 1 && e.has_outcome && e.level == 0;
    case journey_event_kind::replied:
      return e.has_outcome && e.level == 0;
    case journey_event_kind::escalated:
      // The ladder only goes up: 2 dependency, 3 supervisor, 4 upstream.
      return e.level >= 2 && e.level <= 4 && e.level >= level;
    default:
      return e.level == 0;
  }
}

} // namespace

bool journey::record(time_point now, const journey_event& e) noexcept {
  journey_state to;
  if (!journey_next(state_, e.kind, to) || !well_formed(e, level_))
    return false;
  auto from = state_;
  state_ = to;
  if (e.kind == journey_event_kind::escalated)
    level_ = e.level;
  attempts_ = std::max(attempts_, e.attempt);
  if (e.kind == journey_event_kind::replied) {
    failed_ = !e.success;
    degraded_ = e.success && e.has_source && is_degraded(e.source);
  }
  // The last slot is reserved for `replied`, which ends every journey, so the
  // final outcome survives however long the journey got.
  if (e.kind != journey_event_kind::replied && size_ + 1 >= capacity) {
    ++dropped_;
    return true;
  }
  auto& entry = entries_[size_++];
  entry.at = now;
  entry.latency = e.has_outcome ? e.latency : duration{0};
  entry.attempt = e.attempt;
  entry.kind = e.kind;
  entry.from = from;
  entry.to = to;
  entry.who = e.who;
  entry.level = e.level;
  entry.has_outcome = e.has_outcome;
  entry.success = e.has_outcome && e.success;
  entry.cls = e.cls;
  entry.has_source = e.has_source;
  entry.source = e.source;
  return true;
}

namespace {

std::int64_t micros(duration d) {
  return std::chrono::duration_cast<microseconds>(d).count();
}

} // namespace

boost::json::object to_json(const journey& j, time_point epoch) {
  boost::json::object result;
  result["id"] = j.id();
  result["started_us"] = micros(j.started() - epoch);
  result["state"] = to_string(j.state());
  result["failed"] = j.failed();
  result["degraded"] = j.degraded();
  result["level"] = j.level();
  result["attempts"] = j.attempts();
  result["dropped"] = j.dropped();
  boost::json::array entries;
  for (auto& e : j.entries()) {
    boost::json::object obj;
    obj["at_us"] = micros(e.at - j.started());
    obj["event"] = to_string(e.kind);
    obj["from"] = to_string(e.from);
    obj["to"] = to_string(e.to);
    obj["who"] = to_string(e.who);
    if (e.attempt != 0)
      obj["attempt"] = e.attempt;
    if (e.level != 0)
      obj["level"] = e.level;
    if (e.has_outcome) {
      obj["success"] = e.success;
      if (!e.success)
        obj["class"] = to_string(e.cls);
      obj["latency_us"] = micros(e.latency);
    }
    if (e.has_source)
      obj["source"] = to_string(e.source);
    entries.emplace_back(std::move(obj));
  }
  result["entries"] = std::move(entries);
  return result;
}

} // namespace bulwark
