// What a service host (bulwark/actors/host/service_host.hpp) saw of one actor
// it restarts itself — a transport, a top-level supervisor or a dependency
// outside every supervisor: how often it stopped unexpectedly, how often the
// host started it again, and whether the host gave up on it (past the
// restart intensity). Exported as `bulwark_host_*` so that an actor the host
// no longer restarts is an alert, not a silence.
#pragma once

#include <cstdint>

namespace bulwark {

struct host_actor_stats {
  /// Times the actor stopped unexpectedly.
  std::uint64_t crashes = 0;
  /// Times the host started it again.
  std::uint64_t restarts = 0;
  /// 1 once the host gave up restarting it (past the restart intensity, or
  /// its factory returned nothing), else 0. A gauge: a later reload that
  /// starts the name again resets it.
  std::uint64_t given_up = 0;
};

} // namespace bulwark
