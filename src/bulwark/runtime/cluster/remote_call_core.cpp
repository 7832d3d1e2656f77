#include "bulwark/runtime/cluster/remote_call_core.hpp"

#include <algorithm>
#include <iterator>
#include <type_traits>

#include <fmt/format.h>

namespace bulwark {

// Budgets are time point ticks: they must be nanoseconds, as on the wire.
static_assert(std::is_same_v<time_point::duration, nanoseconds>);

std::string to_string(remote_action_kind x) {
  switch (x) {
    case remote_action_kind::send:
      return "send";
    case remote_action_kind::cancel_remote:
      return "cancel_remote";
    case remote_action_kind::reply:
      return "reply";
    case remote_action_kind::forward:
      return "forward";
    case remote_action_kind::preliminary:
      return "preliminary";
    case remote_action_kind::end_silently:
      return "end_silently";
    case remote_action_kind::reachable:
      return "reachable";
    case remote_action_kind::arm_timer:
      return "arm_timer";
  }
  return "invalid";
}

remote_call_core::remote_call_core(remote_call_options opts)
  : opts_(std::move(opts)) {
  ops_.reserve(opts_.operations.size());
  for (auto& op : opts_.operations)
    ops_.emplace_back(op.name, op.repeat);
  // Stable: with a name declared twice the first declaration wins, as in
  // dependency_config::idempotency_of.
  std::stable_sort(ops_.begin(), ops_.end(),
                   [](auto& a, auto& b) { return a.first < b.first; });
}

idempotency
remote_call_core::idempotency_of(std::string_view op) const noexcept {
  auto i = std::lower_bound(
    ops_.begin(), ops_.end(), op,
    [](auto& x, std::string_view y) { return std::string_view{x.first} < y; });
  if (i != ops_.end() && i->first == op)
    return i->second;
  return opts_.default_idempotency;
}

// -- link events --------------------------------------------------------------

void remote_call_core::report(bool up, action_list& out) {
  if (reported_ && *reported_ == up)
    return;
  reported_ = up;
  auto& a = out.push();
  a.kind = remote_action_kind::reachable;
  a.up = up;
}

void remote_call_core::link_up(std::uint64_t gen, time_point,
                               action_list& out) {
  if (gen < gen_ || (up_ && gen == gen_)) {
    ++counters_.stale_link_events;
    return;
  }
  if (up_) {
    // A new target while the old one was up: whatever went to the old one
    // is as lost as on a node loss.
    report(false, out);
    fail_all(true, out);
  }
  gen_ = gen;
  up_ = true;
  report(true, out);
}

void remote_call_core::link_down(std::uint64_t gen, bool node_lost, time_point,
                                 action_list& out) {
  if (up_ ? gen != gen_ : gen < gen_) {
    ++counters_.stale_link_events;
    return;
  }
  gen_ = gen;
  up_ = false;
  // The owner must see the member unreachable before the failures, or it
  // would route their failover back here.
  report(false, out);
  fail_all(node_lost, out);
}

void remote_call_core::fail_all(bool node_lost, action_list& out) {
  if (calls_.size() == 0)
    return;
  auto msg =
    node_lost
      ? fmt::format("node {} down: outcome unknown", opts_.node)
      : fmt::format("{}/{} ended: outcome unknown", opts_.node, opts_.name);
  for (std::uint32_t slot = 0; slot < calls_.capacity(); ++slot) {
    if (!calls_.in_use(slot))
      continue;
    auto& s = calls_[slot];
    auto& a = push_reply(slot, s.caller_id, failure_class::transient,
                         may_repeat(s.repeat, false), out);
    a.message = msg;
    ++counters_.unknown_outcome;
    end_call(slot);
  }
}

// -- calls --------------------------------------------------------------------

remote_action& remote_call_core::push_reply(std::uint32_t slot,
                                            std::uint64_t caller_id,
                                            failure_class cls, bool may_retry,
                                            action_list& out) {
  auto& a = out.push();
  a.kind = remote_action_kind::reply;
  a.slot = slot;
  a.caller_id = caller_id;
  a.cls = cls;
  a.may_retry = may_retry;
  a.message.clear();
  return a;
}

std::optional<std::uint32_t>
remote_call_core::call(const remote_call& c, time_point now, action_list& out) {
  // The budget at the nanosecond, as budget_from_deadline computes it.
  std::int64_t budget = no_budget;
  if (c.deadline != no_deadline) {
    if (c.deadline <= now) {
      ++counters_.refused_deadline;
      auto& a = push_reply(no_slot, c.caller_id,
                           failure_class::deadline_exceeded, false, out);
      fmt::format_to(std::back_inserter(a.message),
                     "{}/{}: deadline passed before sending", opts_.node,
                     opts_.name);
      return std::nullopt;
    }
    // deadline > now: the difference is positive; saturate below no_budget.
    auto diff =
      static_cast<std::uint64_t>(c.deadline.time_since_epoch().count())
      - static_cast<std::uint64_t>(now.time_since_epoch().count());
    budget = diff >= static_cast<std::uint64_t>(no_budget)
               ? no_budget - 1
               : static_cast<std::int64_t>(diff);
  }
  if (!up_) {
    ++counters_.refused_unreachable;
    auto& a = push_reply(no_slot, c.caller_id, failure_class::rejected_locally,
                         true, out);
    fmt::format_to(std::back_inserter(a.message), "node {} unreachable",
                   opts_.node);
    return std::nullopt;
  }
  if (counters_.in_flight >= opts_.max_in_flight) {
    ++counters_.refused_bound;
    auto& a = push_reply(no_slot, c.caller_id, failure_class::rejected_locally,
                         true, out);
    fmt::format_to(std::back_inserter(a.message), "node {}: {} calls in flight",
                   opts_.node, counters_.in_flight);
    return std::nullopt;
  }
  auto room = std::max<std::int64_t>(0, opts_.max_in_flight_bytes
                                          - counters_.in_flight_bytes);
  if (c.bytes > static_cast<std::uint64_t>(room)) {
    ++counters_.refused_bound;
    auto& a = push_reply(no_slot, c.caller_id, failure_class::rejected_locally,
                         true, out);
    fmt::format_to(std::back_inserter(a.message),
                   "node {}: {} bytes in flight, {} more over {}", opts_.node,
                   counters_.in_flight_bytes, c.bytes,
                   opts_.max_in_flight_bytes);
    return std::nullopt;
  }
  auto slot = calls_.acquire();
  auto& s = calls_[slot];
  s.caller_id = c.caller_id;
  s.bytes = static_cast<std::int64_t>(c.bytes);
  s.repeat = idempotency_of(c.operation);
  s.progressive = c.progressive;
  s.preliminary_passed = false;
  s.cancel_sent = false;
  ++counters_.sent;
  ++counters_.in_flight;
  counters_.in_flight_bytes += s.bytes;
  auto& a = out.push();
  a.kind = remote_action_kind::send;
  a.slot = slot;
  a.wire_id = calls_.id(slot, 0);
  a.budget_ns = budget;
  if (c.deadline != no_deadline) {
    timers_.schedule(slot, c.deadline);
    arm(now, out);
  }
  return slot;
}

void remote_call_core::on_reply(std::uint64_t wire_id, bool preliminary,
                                time_point, action_list& out) {
  auto slot = calls_.find(wire_id);
  if (slot == calls_.npos) {
    ++counters_.late_replies;
    return;
  }
  auto& s = calls_[slot];
  if (!preliminary) {
    auto& a = out.push();
    a.kind = remote_action_kind::forward;
    a.slot = slot;
    a.caller_id = s.caller_id;
    a.wire_id = wire_id;
    ++counters_.replies;
    end_call(slot);
    return;
  }
  if (s.cancel_sent) {
    // The remote sent its preliminary before it saw our cancel, so it ends
    // the call silently: no final will come. Our caller has seen no
    // preliminary and waits for a final.
    ++counters_.dropped_preliminaries;
    auto& a =
      push_reply(slot, s.caller_id, failure_class::cancelled, false, out);
    fmt::format_to(std::back_inserter(a.message), "{}/{}: cancelled",
                   opts_.node, opts_.name);
    end_call(slot);
    return;
  }
  if (!s.progressive || s.preliminary_passed) {
    ++counters_.dropped_preliminaries;
    return;
  }
  s.preliminary_passed = true;
  ++counters_.preliminaries;
  auto& a = out.push();
  a.kind = remote_action_kind::preliminary;
  a.slot = slot;
  a.caller_id = s.caller_id;
  a.wire_id = wire_id;
}

void remote_call_core::cancel_call(std::uint32_t slot, time_point,
                                   action_list& out) {
  auto& s = calls_[slot];
  if (s.cancel_sent)
    return;
  ++counters_.cancelled;
  s.cancel_sent = true;
  auto& c = out.push();
  c.kind = remote_action_kind::cancel_remote;
  c.slot = slot;
  c.wire_id = calls_.id(slot, 0);
  if (s.preliminary_passed) {
    ++counters_.silent_ends;
    auto& a = out.push();
    a.kind = remote_action_kind::end_silently;
    a.slot = slot;
    a.caller_id = s.caller_id;
    end_call(slot);
  }
}

void remote_call_core::advance(time_point now, action_list& out) {
  if (armed_ && *armed_ <= now)
    armed_.reset();
  for (auto slot = timers_.pop_due(now); slot != timers_.npos;
       slot = timers_.pop_due(now)) {
    auto& s = calls_[slot];
    if (!s.cancel_sent) {
      auto& c = out.push();
      c.kind = remote_action_kind::cancel_remote;
      c.slot = slot;
      c.wire_id = calls_.id(slot, 0);
    }
    auto& a = push_reply(slot, s.caller_id, failure_class::deadline_exceeded,
                         false, out);
    fmt::format_to(std::back_inserter(a.message),
                   "{}/{}: deadline passed, no reply", opts_.node, opts_.name);
    ++counters_.deadline_exceeded;
    end_call(slot);
  }
  arm(now, out);
}

void remote_call_core::arm(time_point, action_list& out) {
  if (timers_.empty())
    return;
  auto next = timers_.next();
  if (armed_ && *armed_ <= next)
    return;
  armed_ = next;
  auto& a = out.push();
  a.kind = remote_action_kind::arm_timer;
  a.at = next;
}

void remote_call_core::end_call(std::uint32_t slot) {
  auto& s = calls_[slot];
  --counters_.in_flight;
  counters_.in_flight_bytes -= s.bytes;
  timers_.cancel(slot);
  calls_.release(slot);
}

} // namespace bulwark
