#include "bulwark/runtime/journey/journey.hpp"

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
  : id_(id),
    started_(started) {
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
    degraded_(other.degraded_),
    operation_size_(other.operation_size_),
    trace_(other.trace_) {
  std::copy_n(other.operation_.data(), operation_size_, operation_.data());
  std::copy_n(other.data(), size_, data());
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
    trace_ = other.trace_;
    operation_size_ = other.operation_size_;
    std::copy_n(other.operation_.data(), operation_size_, operation_.data());
    std::copy_n(other.data(), size_, data());
  }
  return *this;
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
  if (!j.operation().empty())
    result["operation"] = j.operation();
  auto& tr = j.trace();
  bool traced = !tr.trace.empty();
  if (traced) {
    result["trace_id"] = to_string(tr.trace);
    result["span_id"] = span_id_to_string(tr.span);
    if (tr.parent != 0)
      result["parent_id"] = span_id_to_string(tr.parent);
    if (tr.upstream != 0)
      result["upstream_span_id"] = span_id_to_string(tr.upstream);
  }
  boost::json::array entries;
  for (auto& e : j.entries()) {
    boost::json::object obj;
    obj["at_us"] = micros(e.at - j.started());
    obj["event"] = to_string(e.kind);
    obj["from"] = to_string(e.from);
    obj["to"] = to_string(e.to);
    obj["who"] = to_string(e.who);
    if (e.attempt != 0) {
      obj["attempt"] = e.attempt;
      if (traced
          && (e.kind == journey_event_kind::attempt_started
              || e.kind == journey_event_kind::hedge_started))
        obj["span_id"] = span_id_to_string(child_span_id(tr.span, e.attempt));
    }
    if (e.level != 0)
      obj["level"] = e.level;
    if (e.has_outcome) {
      obj["success"] = e.success;
      if (!e.success)
        obj["class"] = to_string(e.cls);
      obj["latency_us"] = micros(e.latency);
    }
    if (e.status != 0)
      obj["status"] = static_cast<std::int64_t>(e.status);
    if (e.has_source)
      obj["source"] = to_string(e.source);
    if (e.has_reason)
      obj["reason"] = to_string(e.reason);
    entries.emplace_back(std::move(obj));
  }
  result["entries"] = std::move(entries);
  return result;
}

} // namespace bulwark
