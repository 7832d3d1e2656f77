// A remote member: the local stand-in for one dependency or supervisor that
// another node publishes (docs/cluster.md, "Remote members"). It speaks the
// call protocol (both forms, `rcall_atom` too, cancels, preliminary replies)
// to its callers and sends each call on to the remote target as
// `(rcall_atom, call_request)` with the budget left. CAF fails neither sends
// nor requests in flight when a link dies, so the stand-in keeps its own
// table (bulwark/runtime/cluster/remote_call_core) and fails what it sent
// itself: when the peer's link or the target goes down — outcome unknown,
// class `transient`, so a supervisor fails keyed and idempotent calls over
// and answers unsafe ones — at a call's deadline (a hung node not yet
// detected), and at once, never sent, while the link is down or the node's
// share of the in-flight bounds is used (`rejected_locally`). Before it fails
// calls on a lost node it tells its owner (the supervisor that started it)
// `(reach_atom, false)`, and `(reach_atom, true)` when the link is back.
#pragma once

#include "bulwark/runtime/cluster/remote_call_core.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <string>

namespace bulwark {

struct remote_member_options {
  remote_call_options call;
  /// The published name at the peer.
  std::string target;
  /// The peer's link (bulwark/actors/cluster/peer_link.hpp): the member
  /// subscribes to it for the target's handle.
  caf::actor link;
  /// Told `(reach_atom, bool)`; may be invalid (a plain caller's stand-in).
  caf::actor owner;
};

caf::actor spawn_remote_member(caf::actor_system& sys,
                               remote_member_options opts);

} // namespace bulwark
