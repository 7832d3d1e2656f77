#include "bulwark/runtime/cluster/peer_link_core.hpp"

#include <cmath>

#include "bulwark/runtime/retry/backoff.hpp"

namespace bulwark {

std::string to_string(peer_link_state x) {
  switch (x) {
    case peer_link_state::idle:
      return "idle";
    case peer_link_state::probing:
      return "probing";
    case peer_link_state::connecting:
      return "connecting";
    case peer_link_state::greeting:
      return "greeting";
    case peer_link_state::up:
      return "up";
    case peer_link_state::backoff:
      return "backoff";
    case peer_link_state::refused:
      return "refused";
  }
  return "invalid";
}

std::string to_string(connect_error x) {
  switch (x) {
    case connect_error::none:
      return "none";
    case connect_error::connection_timeout:
      return "connection_timeout";
    case connect_error::other:
      return "other";
  }
  return "invalid";
}

std::string to_string(down_reason x) {
  switch (x) {
    case down_reason::link_lost:
      return "link_lost";
    case down_reason::gate_down:
      return "gate_down";
  }
  return "invalid";
}

std::string to_string(peer_link_action_kind x) {
  switch (x) {
    case peer_link_action_kind::probe:
      return "probe";
    case peer_link_action_kind::connect:
      return "connect";
    case peer_link_action_kind::send_hello:
      return "send_hello";
    case peer_link_action_kind::up:
      return "up";
    case peer_link_action_kind::down:
      return "down";
    case peer_link_action_kind::refused:
      return "refused";
  }
  return "invalid";
}

peer_link_core::peer_link_core(const cluster_connect_config& cfg,
                               std::uint64_t seed)
  : cfg_(cfg),
    rng_(seed) {
  // Nothing else to set up: the first attempt starts with `start`.
}

duration peer_link_core::base_backoff(std::uint32_t failures) const noexcept {
  backoff_config b;
  b.kind = backoff_kind::exponential;
  b.jitter = jitter_kind::none;
  b.base = cfg_.min_backoff;
  b.multiplier = 2.0;
  b.cap = cfg_.max_backoff;
  return base_delay(b, failures);
}

void peer_link_core::start(time_point now, action_list& out) {
  if (state_ != peer_link_state::idle)
    return;
  begin_attempt(now, out);
}

void peer_link_core::begin_attempt(time_point now, action_list& out) {
  ++gen_;
  state_ = peer_link_state::probing;
  retries_used_ = 0;
  timer_ = now + cfg_.probe_timeout;
  peer_link_action a;
  a.kind = peer_link_action_kind::probe;
  a.gen = gen_;
  a.deadline = *timer_;
  out.push_back(std::move(a));
}

void peer_link_core::enter_connecting(time_point now, action_list& out) {
  state_ = peer_link_state::connecting;
  // The deadline covers the wait for an abandoned connect too: a middleman
  // that never answers must not hold the link forever.
  timer_ = now + cfg_.handshake_timeout;
  if (!connect_outstanding_)
    send_connect(out);
}

void peer_link_core::send_connect(action_list& out) {
  connect_outstanding_ = true;
  connect_gen_ = gen_;
  peer_link_action a;
  a.kind = peer_link_action_kind::connect;
  a.gen = gen_;
  out.push_back(std::move(a));
}

void peer_link_core::fail(time_point now) {
  ++failures_;
  auto d = base_backoff(failures_);
  // Akka's BackoffSupervisor: the jitter applies after the cap, so peers
  // that failed together do not all come back at max_backoff together.
  auto extra = std::llround(static_cast<double>(d.count()) * cfg_.random_factor
                            * rng_.uniform());
  last_backoff_ = d + duration{extra};
  state_ = peer_link_state::backoff;
  timer_ = now + last_backoff_;
}

void peer_link_core::probe_done(std::uint64_t gen, bool ok, time_point now,
                                action_list& out) {
  if (gen != gen_ || state_ != peer_link_state::probing) {
    ++counters_.stale_events;
    return;
  }
  if (ok) {
    enter_connecting(now, out);
    return;
  }
  ++counters_.probe_failures;
  fail(now);
}

void peer_link_core::connected(std::uint64_t gen, bool ok, connect_error error,
                               time_point now, action_list& out) {
  if (!connect_outstanding_ || gen != connect_gen_) {
    // Not the answer to the one connect we have out.
    ++counters_.stale_events;
    return;
  }
  connect_outstanding_ = false;
  if (ok)
    ++counters_.connects_ok;
  else if (error == connect_error::connection_timeout)
    ++counters_.connects_connection_timeout;
  else
    ++counters_.connects_other_error;
  if (gen != gen_ || state_ != peer_link_state::connecting) {
    // An abandoned attempt's answer: drop it, and let a current attempt
    // that waited for the middleman go now.
    ++counters_.stale_events;
    if (state_ == peer_link_state::connecting)
      send_connect(out);
    return;
  }
  if (ok) {
    state_ = peer_link_state::greeting;
    peer_link_action a;
    a.kind = peer_link_action_kind::send_hello;
    a.gen = gen_;
    out.push_back(std::move(a));
    return;
  }
  if (error == connect_error::connection_timeout
      && retries_used_ < cfg_.handshake_retries) {
    ++retries_used_;
    ++counters_.connect_retries;
    send_connect(out);
    return;
  }
  fail(now);
}

void peer_link_core::welcome(std::uint64_t gen, const hello_verdict& verdict,
                             time_point now, action_list& out) {
  if (gen != gen_ || state_ != peer_link_state::greeting) {
    ++counters_.stale_events;
    return;
  }
  if (verdict.ok) {
    state_ = peer_link_state::up;
    timer_.reset();
    failures_ = 0;
    ++counters_.ups;
    peer_link_action a;
    a.kind = peer_link_action_kind::up;
    a.gen = gen_;
    out.push_back(std::move(a));
    return;
  }
  ++counters_.refusals;
  ++failures_;
  state_ = peer_link_state::refused;
  last_backoff_ = cfg_.max_backoff;
  timer_ = now + cfg_.max_backoff;
  peer_link_action a;
  a.kind = peer_link_action_kind::refused;
  a.gen = gen_;
  a.refusal = verdict.refusal;
  a.reason = verdict.reason;
  out.push_back(std::move(a));
}

void peer_link_core::link_down(std::uint64_t gen, time_point now,
                               action_list& out, down_reason why) {
  if (gen != gen_) {
    ++counters_.stale_events;
    return;
  }
  if (state_ == peer_link_state::up) {
    ++counters_.downs;
    peer_link_action a;
    a.kind = peer_link_action_kind::down;
    a.gen = gen_;
    a.why_down = why;
    out.push_back(std::move(a));
    fail(now);
    return;
  }
  if (state_ == peer_link_state::greeting) {
    // The connection died before the welcome: the attempt failed.
    fail(now);
    return;
  }
  ++counters_.stale_events;
}

void peer_link_core::advance(time_point now, action_list& out) {
  // Times count from `now`, not from the deadline: a timer that fires late
  // must not make the next attempt's probe overdue at once. A zero backoff
  // (hand-made config) takes two steps; the bound keeps it from looping.
  for (int step = 0; step < 4 && timer_ && *timer_ <= now; ++step) {
    switch (state_) {
      case peer_link_state::probing:
        ++counters_.probe_failures;
        fail(now);
        break;
      case peer_link_state::connecting:
      case peer_link_state::greeting:
        ++counters_.handshake_timeouts;
        fail(now);
        break;
      case peer_link_state::backoff:
      case peer_link_state::refused:
        begin_attempt(now, out);
        break;
      case peer_link_state::idle:
      case peer_link_state::up:
        timer_.reset();
        break;
    }
  }
}

} // namespace bulwark
