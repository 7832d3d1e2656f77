#include "bulwark/actors/cluster/node_gate.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/cluster/hello_check.hpp"

#include <caf/all.hpp>
#include <fmt/format.h>

#include <utility>

namespace bulwark {

namespace {

struct node_gate_state {
  node_gate_options opts;
  peer_facts local;
  node_gate_stats stats;
};

caf::behavior node_gate(caf::stateful_actor<node_gate_state>* self,
                        node_gate_options opts) {
  self->state.local = to_peer_facts(opts.local);
  self->state.opts = std::move(opts);
  // A peer's message of a kind the gate does not know (or of a type this
  // node did not register, which arrives empty) is counted, never echoed.
  self->set_default_handler(
    [self](caf::scheduled_actor*,
           caf::message_view&) -> caf::result<caf::message> {
      ++self->state.stats.dropped_messages;
      self->drop_current_message_id();
      return caf::message{};
    });
  return {
    [self](hello_atom,
           const node_hello& hello) -> caf::result<hello_atom, node_welcome> {
      auto& st = self->state;
      ++st.stats.hellos;
      node_welcome w;
      w.node = st.opts.local;
      auto verdict = check_peer(st.local, to_peer_facts(hello));
      if (!verdict.ok) {
        ++st.stats.refused;
        w.refusal = std::move(verdict.reason);
        return {hello_atom::value, std::move(w)};
      }
      w.accepted = true;
      w.entries = st.opts.entries;
      return {hello_atom::value, std::move(w)};
    },
    [self](resolve_atom, const std::string& name)
      -> caf::result<resolve_atom, published_entry> {
      auto& st = self->state;
      ++st.stats.resolves;
      for (auto& e : st.opts.entries)
        if (e.name == name)
          return {resolve_atom::value, e};
      ++st.stats.unknown_names;
      return {resolve_atom::value, published_entry{}};
    },
    [self](stats_atom) -> caf::result<stats_atom, std::string> {
      return {stats_atom::value, to_json_text(self->state.stats)};
    },
  };
}

} // namespace

std::string to_json_text(const node_gate_stats& x) {
  return fmt::format(R"({{"hellos":{},"refused":{},"resolves":{},)"
                     R"("unknown_names":{},"dropped_messages":{}}})",
                     x.hellos, x.refused, x.resolves, x.unknown_names,
                     x.dropped_messages);
}

caf::actor spawn_node_gate(caf::actor_system& sys, node_gate_options opts) {
  return sys.spawn(node_gate, std::move(opts));
}

} // namespace bulwark
