// The actor system scenarios run on: CAF's work-stealing scheduler with a
// fixed number of workers (2 by default, the size of the benchmark machine),
// so numbers do not change with the host's core count, and every bulwark
// message type registered.
#pragma once

#include "bulwark/actors/system_setup.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>

namespace bulwark::bench {

class bench_config : public caf::actor_system_config {
 public:
  /// Scheduler threads: 2 (one per core here), or BULWARK_BENCH_WORKERS.
  static std::size_t default_workers() {
    if (auto* v = std::getenv("BULWARK_BENCH_WORKERS"); v != nullptr && *v != 0)
      return static_cast<std::size_t>(std::max(1, std::atoi(v)));
    return 2;
  }

  explicit bench_config(std::size_t workers = default_workers()) {
    set("scheduler.policy", caf::atom("stealing"));
    set("scheduler.max-threads", workers);
    set("logger.console-verbosity", caf::atom("quiet"));
    set("logger.file-verbosity", caf::atom("quiet"));
    add_bulwark_types(*this);
  }
};

} // namespace bulwark::bench
