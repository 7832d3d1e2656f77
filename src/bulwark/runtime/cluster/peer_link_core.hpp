// One peer's connection, as a state machine without actors or clocks: probe
// the peer's port (a TCP connect with a deadline, so an unreachable host never
// reaches CAF's single middleman actor), connect through the middleman, send
// our hello, and count the link up when the peer's welcome passes
// `check_peer`. A failed step, a handshake that outlives `handshake_timeout`
// or a link that goes down leads to a backoff (min_backoff x 2^(n-1), capped,
// times 1 + random_factor x u from a seeded generator, reset when the link is
// up); a refused welcome waits max_backoff, since a configuration mismatch
// does not fix itself. Every attempt has a generation: results of an older
// one are dropped and counted, never applied, because CAF cannot cancel a
// connect and a restarted peer's proxy compares equal to the dead one. At
// most one connect is outstanding at the middleman: a new attempt waits for
// the answer of an abandoned one. The actor (actors/cluster/peer_link) feeds
// events in, carries out the actions, and schedules `next_timer()`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/runtime/cluster/cluster_config.hpp"
#include "bulwark/runtime/cluster/hello_check.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

enum class peer_link_state : std::uint8_t {
  /// Not started.
  idle,
  /// Waiting for the reachability probe.
  probing,
  /// A connect is outstanding (or waits for an abandoned one to answer).
  connecting,
  /// Connected; our hello is sent, the welcome not yet checked.
  greeting,
  /// The welcome passed: calls may go to the peer.
  up,
  /// Waiting before the next attempt after a failure or a down.
  backoff,
  /// The peer refused us (or we it): waiting max_backoff.
  refused,
};

/// @relates peer_link_state
std::string to_string(peer_link_state x);

/// How a connect through the middleman failed.
enum class connect_error : std::uint8_t {
  none,
  /// CAF's sec::connection_timeout: the handshake was killed at the first
  /// heartbeat tick; retried at once up to handshake_retries.
  connection_timeout,
  /// Anything else (refused, unreachable, ...).
  other,
};

/// @relates connect_error
std::string to_string(connect_error x);

/// Why an up link went down.
enum class down_reason : std::uint8_t {
  /// The BASP link died (closed socket or heartbeat timeout).
  link_lost,
  /// The peer's gate ended while its node stayed reachable.
  gate_down,
};

/// @relates down_reason
std::string to_string(down_reason x);

enum class peer_link_action_kind : std::uint8_t {
  /// Probe the peer's host and port; report by `deadline` at the latest.
  probe,
  /// Connect through the middleman (one outstanding per peer).
  connect,
  /// Send our hello to the peer's gate.
  send_hello,
  /// The link is up: hand the welcome's handles out.
  up,
  /// The up link went down: fail what depends on it.
  down,
  /// The welcome was refused: log `reason`, count `refusal`.
  refused,
};

/// @relates peer_link_action_kind
std::string to_string(peer_link_action_kind x);

struct peer_link_action {
  peer_link_action_kind kind = peer_link_action_kind::probe;
  std::uint64_t gen = 0;
  /// probe only.
  time_point deadline{};
  /// down only.
  down_reason why_down = down_reason::link_lost;
  /// refused only.
  hello_refusal refusal = hello_refusal::none;
  std::string reason;
};

struct peer_link_counters {
  std::uint64_t connects_ok = 0;
  std::uint64_t connects_connection_timeout = 0;
  std::uint64_t connects_other_error = 0;
  /// Immediate retries after connection_timeout.
  std::uint64_t connect_retries = 0;
  /// Probes that failed or did not answer by their deadline.
  std::uint64_t probe_failures = 0;
  /// Attempts with no welcome by handshake_timeout.
  std::uint64_t handshake_timeouts = 0;
  std::uint64_t refusals = 0;
  std::uint64_t ups = 0;
  std::uint64_t downs = 0;
  /// Events of an older generation (or not expected in the state) dropped.
  std::uint64_t stale_events = 0;
};

class peer_link_core {
 public:
  using action_list = std::vector<peer_link_action>;

  /// `seed` drives the backoff jitter (print it when a test fails).
  peer_link_core(const cluster_connect_config& cfg, std::uint64_t seed);

  /// Starts the first attempt (idle only; ignored otherwise).
  void start(time_point now, action_list& out);

  /// The probe of attempt `gen` answered.
  void probe_done(std::uint64_t gen, bool ok, time_point now, action_list& out);

  /// The connect of attempt `gen` answered (`error` is ignored when `ok`).
  void connected(std::uint64_t gen, bool ok, connect_error error,
                 time_point now, action_list& out);

  /// The welcome of attempt `gen` arrived; `verdict` is check_peer's (or
  /// the peer's own refusal).
  void welcome(std::uint64_t gen, const hello_verdict& verdict, time_point now,
               action_list& out);

  /// The link (or the gate) of attempt `gen` went down.
  void link_down(std::uint64_t gen, time_point now, action_list& out,
                 down_reason why = down_reason::link_lost);

  /// Fires what is due at `now`: a probe or handshake deadline (the attempt
  /// failed), or the end of a backoff (the next attempt starts).
  void advance(time_point now, action_list& out);

  /// When `advance` has something to do next; none while idle or up.
  std::optional<time_point> next_timer() const noexcept {
    return timer_;
  }

  peer_link_state state() const noexcept {
    return state_;
  }

  /// The current attempt's generation (0 before `start`).
  std::uint64_t generation() const noexcept {
    return gen_;
  }

  bool connect_outstanding() const noexcept {
    return connect_outstanding_;
  }

  /// Failed attempts since the link was last up (n of the backoff).
  std::uint32_t consecutive_failures() const noexcept {
    return failures_;
  }

  /// The delay chosen when the current backoff (or refusal wait) began.
  duration last_backoff() const noexcept {
    return last_backoff_;
  }

  std::uint64_t stale_events() const noexcept {
    return counters_.stale_events;
  }

  const peer_link_counters& counters() const noexcept {
    return counters_;
  }

  /// The un-jittered delay after `failures` consecutive failures:
  /// min(max_backoff, min_backoff x 2^(failures-1)).
  duration base_backoff(std::uint32_t failures) const noexcept;

 private:
  void begin_attempt(time_point now, action_list& out);
  void enter_connecting(time_point now, action_list& out);
  void send_connect(action_list& out);
  void fail(time_point now);

  cluster_connect_config cfg_;
  rng rng_;
  peer_link_state state_ = peer_link_state::idle;
  std::uint64_t gen_ = 0;
  std::optional<time_point> timer_;
  bool connect_outstanding_ = false;
  std::uint64_t connect_gen_ = 0;
  std::uint32_t retries_used_ = 0;
  std::uint32_t failures_ = 0;
  duration last_backoff_{0};
  peer_link_counters counters_;
};

} // namespace bulwark
