#include "bench/model/phase_diagram.hpp"

#include <algorithm>

namespace bulwark::bench::model {

namespace {

constexpr double capacity_rps = 10;
constexpr double base_rps = 9;

} // namespace

std::vector<double> default_magnitudes() {
  return {1.2, 1.5, 2.0, 2.5, 3.0};
}

std::vector<duration> default_trigger_durations() {
  return {seconds(1),  seconds(2),  seconds(5),
          seconds(10), seconds(15), seconds(20)};
}

metastable_setup phase_setup(double magnitude, duration trigger) {
  auto x = setup_a();
  x.model.phases = {
    {"pre", seconds(20), base_rps},
    {"trigger", trigger, magnitude * capacity_rps},
    {"after", seconds(40), base_rps},
  };
  x.trigger_start = time_point{} + seconds(20);
  x.trigger_end = x.trigger_start + trigger;
  // "Back within 30 s": the 10 s that start 30 s after the trigger.
  x.late_start = x.trigger_end + seconds(30);
  x.late_end = x.trigger_end + seconds(40);
  return x;
}

phase_cell run_phase_cell(client_mode mode, double magnitude, duration trigger,
                          const std::vector<std::uint64_t>& seeds,
                          server_policy server) {
  auto setup = phase_setup(magnitude, trigger);
  if (server == server_policy::overload_control)
    setup = with_overload_control(std::move(setup));
  std::vector<double> ratios;
  for (auto seed : seeds) {
    auto run = run_setup(setup, mode, seed);
    std::size_t n = 0;
    std::size_t ok = 0;
    for (auto& r : run.requests)
      if (r.first_try >= setup.late_start && r.first_try < setup.late_end) {
        ++n;
        ok += r.succeeded() ? 1 : 0;
      }
    ratios.push_back(n == 0 ? 1.0
                            : static_cast<double>(ok) / static_cast<double>(n));
  }
  std::sort(ratios.begin(), ratios.end());
  phase_cell cell;
  cell.magnitude = magnitude;
  cell.trigger = trigger;
  if (!ratios.empty()) {
    auto k = ratios.size();
    cell.success_after =
      k % 2 == 1 ? ratios[k / 2] : (ratios[k / 2 - 1] + ratios[k / 2]) / 2;
  }
  cell.recovered = cell.success_after >= 0.9;
  return cell;
}

std::vector<phase_cell>
run_phase_diagram(client_mode mode, const std::vector<double>& magnitudes,
                  const std::vector<duration>& durations,
                  const std::vector<std::uint64_t>& seeds,
                  server_policy server) {
  std::vector<phase_cell> out;
  for (auto m : magnitudes)
    for (auto d : durations)
      out.push_back(run_phase_cell(mode, m, d, seeds, server));
  return out;
}

duration recovers_up_to(const std::vector<phase_cell>& cells,
                        double magnitude) {
  duration best{0};
  for (auto& c : cells) {
    if (c.magnitude != magnitude)
      continue;
    if (!c.recovered)
      break; // durations ascend: a longer one after a stuck one does not count
    best = c.trigger;
  }
  return best;
}

} // namespace bulwark::bench::model
