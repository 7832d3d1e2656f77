#include "bulwark/actors/cluster/peer_link.hpp"

#include "bulwark/actors/cluster/cluster_tls.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/cluster/hello_check.hpp"
#include "bulwark/runtime/cluster/peer_link_core.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>

#include <algorithm>
#include <optional>
#include <utility>

namespace bulwark {

namespace {

/// A probe of attempt `gen` answered: `(probed_atom, gen, ok)`.
using probed_atom = caf::atom_constant<caf::atom("probed")>;

std::vector<published_declaration>
declarations_of(const std::vector<published_entry>& entries) {
  std::vector<published_declaration> result;
  for (auto& e : entries) {
    published_declaration d;
    d.name = e.name;
    d.repeat = e.default_idempotency;
    d.callable = e.kind != published_kind::ledger;
    for (std::size_t i = 0; i < e.operations.size(); ++i)
      d.operations.push_back({e.operations[i], e.idempotencies[i]});
    result.push_back(std::move(d));
  }
  return result;
}

/// A refusal sent by the peer is hostile text: bounded on load, and only
/// printable ASCII is kept before it is logged or shown.
std::string printable(const std::string& text) {
  std::string out;
  for (char c : text)
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

struct peer_link_state_data {
  peer_link_options opts;
  std::optional<peer_link_core> core;
  caf::io::middleman_actor mm;
  /// The peer's gate of the current attempt (from the connect's answer).
  caf::actor gate;
  /// The gate monitored while up, and its generation.
  caf::actor_addr monitored;
  std::uint64_t monitored_gen = 0;
  /// The last welcome that passed.
  node_welcome welcome;
  std::string refusal;
  /// When the tick in flight fires (none: no tick scheduled).
  std::optional<time_point> tick_at;
  /// Remote members of this peer and the published name each calls.
  std::vector<std::pair<caf::actor, std::string>> subscribers;
};

using peer_link_actor_ptr = caf::stateful_actor<peer_link_state_data>*;

void publish_view(peer_link_actor_ptr self) {
  auto& st = self->state;
  peer_view v;
  v.name = st.opts.peer.name;
  v.state = st.core->state();
  v.generation = st.monitored_gen;
  if (v.state == peer_link_state::up) {
    v.entries = st.welcome.entries;
    v.facts = st.welcome.node;
  }
  v.refusal = st.refusal;
  v.counters = st.core->counters();
  st.opts.directory->update(std::move(v));
}

void run_actions(peer_link_actor_ptr self, peer_link_core::action_list& out);

/// What the peer publishes as `name` while the link is up (invalid
/// otherwise).
caf::actor target_of(peer_link_actor_ptr self, const std::string& name) {
  auto& st = self->state;
  if (st.core->state() != peer_link_state::up)
    return {};
  for (auto& e : st.welcome.entries)
    if (e.name == name)
      return e.handle;
  return {};
}

/// Tells every subscriber the link's state now: its target, or none.
void tell_subscribers(peer_link_actor_ptr self) {
  auto& st = self->state;
  for (auto& [who, name] : st.subscribers)
    self->send(who, link_atom::value, st.monitored_gen, target_of(self, name));
}

time_point now_of(peer_link_actor_ptr self) {
  return self->clock().now();
}

void arm_timer(peer_link_actor_ptr self) {
  auto& st = self->state;
  auto next = st.core->next_timer();
  if (!next || (st.tick_at && *st.tick_at <= *next))
    return;
  st.tick_at = *next;
  auto delay = *next - now_of(self);
  if (delay < duration::zero())
    delay = duration::zero();
  self->delayed_send(self, delay, tick_atom::value);
}

void after_event(peer_link_actor_ptr self, peer_link_core::action_list& out) {
  run_actions(self, out);
  arm_timer(self);
  publish_view(self);
}

void on_welcome(peer_link_actor_ptr self, std::uint64_t gen, node_welcome& w) {
  auto& st = self->state;
  hello_verdict verdict;
  if (!w.accepted) {
    verdict.ok = false;
    verdict.refusal = hello_refusal::none;
    verdict.reason =
      "refused by " + printable(w.node.node) + ": " + printable(w.refusal);
  } else {
    verdict = check_peer(to_peer_facts(st.opts.local), to_peer_facts(w.node));
    if (verdict.ok)
      verdict = check_published(st.opts.peer.name, st.opts.remotes,
                                declarations_of(w.entries));
  }
  if (verdict.ok && gen == st.core->generation())
    st.welcome = std::move(w);
  peer_link_core::action_list out;
  st.core->welcome(gen, verdict, now_of(self), out);
  after_event(self, out);
}

void run_actions(peer_link_actor_ptr self, peer_link_core::action_list& out) {
  auto& st = self->state;
  for (auto& a : out) {
    switch (a.kind) {
      case peer_link_action_kind::probe: {
        auto deadline = a.deadline - now_of(self);
        if (deadline <= duration::zero())
          deadline = std::chrono::milliseconds(1);
        caf::actor me = caf::actor_cast<caf::actor>(self);
        st.opts.prober->probe(
          st.opts.peer.host, static_cast<std::uint16_t>(st.opts.peer.port),
          deadline, [me, gen = a.gen](probe_result r) {
            caf::anon_send(me, probed_atom::value, gen, r.ok);
          });
        break;
      }
      case peer_link_action_kind::connect: {
        auto gen = a.gen;
        self
          ->request(st.mm, caf::infinite, caf::connect_atom::value,
                    st.opts.peer.host,
                    static_cast<std::uint16_t>(st.opts.peer.port))
          .then(
            [self, gen](caf::node_id&, caf::strong_actor_ptr& ptr,
                        std::set<std::string>&) {
              peer_link_core::action_list next;
              auto& st = self->state;
              if (!ptr) {
                // Connected, but nothing is published at that port.
                st.core->connected(gen, false, connect_error::other,
                                   now_of(self), next);
              } else {
                if (gen == st.core->generation())
                  st.gate = caf::actor_cast<caf::actor>(ptr);
                st.core->connected(gen, true, connect_error::none, now_of(self),
                                   next);
              }
              after_event(self, next);
            },
            [self, gen](caf::error& err) {
              peer_link_core::action_list next;
              auto kind = err == caf::sec::connection_timeout
                            ? connect_error::connection_timeout
                            : connect_error::other;
              self->state.core->connected(gen, false, kind, now_of(self), next);
              after_event(self, next);
            });
        break;
      }
      case peer_link_action_kind::send_hello: {
        auto gen = a.gen;
        // The core's handshake deadline decides; this timeout only ends
        // CAF's bookkeeping of a hello nobody answers.
        self
          ->request(st.gate, st.opts.connect.handshake_timeout,
                    hello_atom::value, st.opts.local)
          .then([self, gen](hello_atom,
                            node_welcome& w) { on_welcome(self, gen, w); },
                [](caf::error&) {
                  // No welcome: the core's handshake deadline fails the
                  // attempt.
                });
        break;
      }
      case peer_link_action_kind::up:
        st.refusal.clear();
        st.monitored = st.gate.address();
        st.monitored_gen = a.gen;
        self->monitor(st.gate);
        tell_subscribers(self);
        break;
      case peer_link_action_kind::down:
        if (st.monitored) {
          self->demonitor(st.monitored);
          st.monitored = nullptr;
        }
        st.gate = nullptr;
        st.welcome = node_welcome{};
        tell_subscribers(self);
        break;
      case peer_link_action_kind::refused:
        st.refusal = a.reason;
        st.gate = nullptr;
        caf::aout(self) << "bulwark: peer " << st.opts.peer.name
                        << " refused: " << a.reason << "\n";
        break;
    }
  }
  out.clear();
}

caf::behavior peer_link(peer_link_actor_ptr self, peer_link_options opts) {
  auto& st = self->state;
  st.core.emplace(opts.connect, opts.seed);
  st.opts = std::move(opts);
  st.mm = cluster_middleman(self->home_system(), st.opts.tls);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto& subs = st.subscribers;
    subs.erase(
      std::remove_if(subs.begin(), subs.end(),
                     [&](auto& x) { return x.first.address() == dm.source; }),
      subs.end());
    if (!st.monitored || dm.source != st.monitored)
      return;
    st.monitored = nullptr;
    peer_link_core::action_list out;
    auto why = dm.reason == caf::exit_reason::remote_link_unreachable
                 ? down_reason::link_lost
                 : down_reason::gate_down;
    st.core->link_down(st.monitored_gen, now_of(self), out, why);
    after_event(self, out);
  });
  peer_link_core::action_list out;
  st.core->start(now_of(self), out);
  after_event(self, out);
  return {
    [self](probed_atom, std::uint64_t gen, bool ok) {
      peer_link_core::action_list out;
      self->state.core->probe_done(gen, ok, now_of(self), out);
      after_event(self, out);
    },
    [self](link_atom, caf::actor& who, std::string& name) {
      // A remote member of this peer: told the state now and every change.
      if (!who)
        return;
      self->monitor(who);
      auto gen = self->state.monitored_gen;
      auto target = target_of(self, name);
      self->send(who, link_atom::value, gen, std::move(target));
      self->state.subscribers.emplace_back(std::move(who), std::move(name));
    },
    [self](tick_atom) {
      auto& st = self->state;
      st.tick_at.reset();
      peer_link_core::action_list out;
      st.core->advance(now_of(self), out);
      after_event(self, out);
    },
  };
}

} // namespace

caf::actor spawn_peer_link(caf::actor_system& sys, peer_link_options opts) {
  return sys.spawn(peer_link, std::move(opts));
}

} // namespace bulwark
