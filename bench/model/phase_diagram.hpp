// The phase diagram of set-up A (issue 15 item 4): which triggers a client
// mode survives. Set-up A's server and client (1 worker at 10 rps, 5 s per
// attempt, 5 attempts) under 9 rps for 20 s, then a trigger of `magnitude`
// x capacity for `duration`, then 9 rps again for 40 s. A cell is
// *recovered* when the requests whose first try came 30-40 s after the
// trigger's end succeed at least 90% of the time (median over the seeds),
// i.e. the system is back within 30 s; otherwise it is *stuck*. The OSDI
// '22 framing: the vulnerable region is where a trigger is survived only by
// some modes.
#pragma once

#include "bench/model/client_mode.hpp"
#include "bench/model/metastable_setups.hpp"

#include <cstdint>
#include <vector>

namespace bulwark::bench::model {

struct phase_cell {
  /// Trigger rate / the server's capacity (10 rps).
  double magnitude = 1;
  duration trigger{0};
  /// Median over the seeds of the success ratio 30-40 s after the trigger.
  double success_after = 0;
  bool recovered = false;
};

/// The diagram's axes as the issue gives them: 1.2-3x capacity, 1-20 s.
std::vector<double> default_magnitudes();
std::vector<duration> default_trigger_durations();

/// Set-up A with its trigger replaced: 20 s at 9 rps, `magnitude` x 10 rps
/// for `trigger`, 40 s at 9 rps (phases `pre`, `trigger`, `after`).
metastable_setup phase_setup(double magnitude, duration trigger);

/// One cell: the median over `seeds` of the success ratio after the
/// trigger, and whether it reaches 0.9. `server` picks the server's policy
/// (overload_control: with_overload_control(phase_setup(...))); the
/// `bulwark_server` mode runs under overload control whatever it says.
phase_cell run_phase_cell(client_mode mode, double magnitude, duration trigger,
                          const std::vector<std::uint64_t>& seeds,
                          server_policy server = server_policy::fifo);

/// Every cell, magnitudes outer, durations inner.
std::vector<phase_cell>
run_phase_diagram(client_mode mode, const std::vector<double>& magnitudes,
                  const std::vector<duration>& durations,
                  const std::vector<std::uint64_t>& seeds,
                  server_policy server = server_policy::fifo);

/// The longest trigger (of `durations`, ascending) such that it and every
/// shorter one recovered at `magnitude`; 0 when even the shortest stuck.
duration recovers_up_to(const std::vector<phase_cell>& cells, double magnitude);

} // namespace bulwark::bench::model
