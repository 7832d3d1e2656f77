// The actor system scenarios run on: CAF's work-stealing scheduler with a
// fixed number of workers (2 by default, the size of the benchmark machine),
// so numbers do not change with the host's core count, and every bulwark
// message type registered.
#pragma once

#include "actors/system_setup.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include <cstddef>

namespace bulwark::bench {

class bench_config : public caf::actor_system_config {
public:
  explicit bench_config(std::size_t workers = 2) {
    set("scheduler.policy", caf::atom("stealing"));
    set("scheduler.max-threads", workers);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
    add_bulwark_types(*this);
  }
};

} // namespace bulwark::bench
