// A stable address for whatever incarnation of a name runs now. A dependency
// actor's `alternate` fallback step sends its call to the handle it was given
// when it started; if that were the alternate's own handle, the step would
// go to a dead actor after the alternate's first restart (and an alternate
// started after the dependency could not be named at all). A live alias is
// given instead: it forwards each call, and each cancel, to the live
// incarnation the service registry names, keeping the original sender, so
// the answer goes straight back to the caller. When nothing by that name
// runs, the call is answered at once as `rejected_locally`, never dropped.
#pragma once

#include <string>

#include <caf/fwd.hpp>

#include "bulwark/actors/host/service_registry.hpp"

namespace bulwark {

/// Spawns the alias of dependency or supervisor `name` (dependencies are
/// looked up first).
caf::actor spawn_live_alias(caf::actor_system& sys,
                            service_registry_ptr registry, std::string name);

} // namespace bulwark
