// Scenario `metastable` (issue 15 item 4): the two published metastable
// set-ups side by side, in virtual time, on the pure model of bench/model.
// A (one server, a 20 rps trigger, then 9/7/5/3 rps) and B (two servers, one
// answering errors from 5 s to 10 s), each with every mode: the client-only
// ones, `bulwark` (bulwark's client policies) and `bulwark_server` (the same
// client, servers under bulwark's overload control);
// every number is the median over 5 seeds (3 with --quick, times --runs).
// The charts show the first seed's timelines. Set-up A also gets its phase
// diagram per mode (trigger 1.2-3x capacity x 1-20 s: recovered within 30 s
// or stuck). The model and the set-ups are
// in bench/model (tested in tests/bench/model); this file only reports.
#include <cstdint>
#include <string>
#include <vector>

#include "bench/model/metastable_setups.hpp"
#include "bench/model/phase_diagram.hpp"
#include "bench/runner/scenario.hpp"

namespace bulwark::bench {

namespace {

using namespace bulwark::bench::model;

double at_seconds(time_point t) {
  return to_seconds(t - time_point{});
}

void add_setup_fields(field_list& f, const metastable_setup& x) {
  auto& s = x.model.servers.front();
  f.add("servers", x.model.servers.size());
  f.add("workers", s.workers);
  f.add("mean_service_ms", to_seconds(s.mean_service) * 1000);
  f.add("max_queue", s.max_queue);
  f.add("attempt_timeout_s", to_seconds(x.model.attempt_timeout));
  f.add("max_attempts", x.model.max_attempts);
  f.add("trigger_start_s", at_seconds(x.trigger_start));
  f.add("trigger_end_s", at_seconds(x.trigger_end));
  f.add("late_start_s", at_seconds(x.late_start));
  f.add("late_end_s", at_seconds(x.late_end));
}

void add_mode_fields(field_list& f, const run_summary& s) {
  for (auto& p : s.phases)
    f.add("success." + p.name, p.success);
  f.add("late_goodput", s.late_goodput);
  f.add("mean_amplification_post", s.mean_amplification_post);
  for (auto& p : s.phases)
    f.add("p99_ms." + p.name, p.p99_ms);
  f.add("amplification", s.amplification);
  f.add("success_ratio", s.success);
  f.add("late_completions", s.late_completions);
}

series points(std::string name, std::string mode,
              const std::vector<double>& ys) {
  series out{std::move(name), std::move(mode), {}};
  for (std::size_t i = 0; i < ys.size(); ++i)
    out.points.emplace_back(static_cast<double>(i) + 0.5, ys[i]);
  return out;
}

// Per mode of set-up A: one string per trigger magnitude, a letter per
// trigger duration (R recovered, S stuck), and the recovered cells; a chart
// of the longest trigger survived (with every shorter one) per magnitude.
void add_phase_diagram(scenario_result& result, const scenario_options& opts,
                       const std::vector<std::uint64_t>& seeds) {
  auto magnitudes = default_magnitudes();
  auto durations = default_trigger_durations();
  auto& a = result.setup("A");
  std::string axis;
  for (auto d : durations)
    axis += (axis.empty() ? "" : ",")
            + std::to_string(static_cast<int>(to_seconds(d)));
  a.fields.add("phase_durations_s", axis);
  a.fields.add("phase_cells", magnitudes.size() * durations.size());
  chart boundary{"a-phase",
                 "Set-up A: longest trigger recovered from within 30 s "
                 "(and every shorter one), per trigger size",
                 "trigger rate / capacity",
                 "trigger length (s)",
                 {},
                 {},
                 false};
  for (auto mode : report_modes) {
    std::string name{to_string(mode)};
    report_progress(opts, "A phase diagram " + name, 0.0);
    auto cells = run_phase_diagram(mode, magnitudes, durations, seeds);
    auto& f = a.mode(name);
    std::int64_t recovered = 0;
    series line{"recovered up to", name, {}};
    for (auto m : magnitudes) {
      std::string row;
      for (auto& c : cells)
        if (c.magnitude == m) {
          row += c.recovered ? 'R' : 'S';
          recovered += c.recovered ? 1 : 0;
        }
      auto pct = static_cast<int>(m * 100 + 0.5);
      f.add("phase." + std::to_string(pct), row);
      line.points.emplace_back(m, to_seconds(recovers_up_to(cells, m)));
    }
    f.add("recovered_cells", recovered);
    boundary.lines.push_back(std::move(line));
    report_progress(opts, "A phase diagram " + name, 1.0);
  }
  result.charts.push_back(std::move(boundary));
}

scenario_result run_metastable(const scenario_options& opts) {
  const int seeds_per_median =
    (opts.quick ? 3 : 5) * (opts.runs > 1 ? opts.runs : 1);
  auto seeds = median_seeds(opts.seed, seeds_per_median);
  scenario_result result;
  result.fields.add("seeds", seeds_per_median);
  result.fields.add("first_seed", seeds.front());
  for (auto& setup : {setup_a(), setup_b()}) {
    auto& out = result.setup(setup.name);
    add_setup_fields(out.fields, setup);
    std::string lower = setup.name == "A" ? "a" : "b";
    std::string trigger =
      setup.name == "A" ? "trigger (20 rps)" : "server A answers errors";
    chart goodput{lower + "-goodput",
                  "Set-up " + setup.name
                    + ": successful requests per second (seed "
                    + std::to_string(seeds.front()) + ")",
                  "time (s)",
                  "requests/s",
                  {},
                  {},
                  false};
    chart attempts{lower + "-attempts",
                   "Set-up " + setup.name
                     + ": attempts per second (first tries + retries; the "
                       "gap above first tries is retries)",
                   "time (s)",
                   "attempts/s",
                   {},
                   {},
                   false};
    chart state{lower + "-policy",
                "Set-up " + setup.name
                  + ": policy state (token_bucket: tokens; budget20: "
                    "retries left; sre_throttle: P(reject) %; bulwark*: "
                    "limit)",
                "time (s)",
                "tokens / retries / % / limit",
                {},
                {},
                false};
    chart queue{lower + "-queue",
                "Set-up " + setup.name + ": requests queued at the servers",
                "time (s)",
                "queued (log scale)",
                {},
                {},
                true};
    for (auto* c : {&goodput, &attempts, &queue, &state})
      c->windows = {{at_seconds(setup.trigger_start),
                     at_seconds(setup.trigger_end), trigger}};
    bool first_mode = true;
    for (auto mode : report_modes) {
      std::string name{to_string(mode)};
      report_progress(opts, setup.name + " " + name, 0.0);
      add_mode_fields(out.mode(name), median_summary(setup, mode, seeds));
      auto run = run_setup(setup, mode, seeds.front());
      auto tl = make_timeline(setup, run);
      if (first_mode) // the same arrivals in every mode
        attempts.lines.push_back(points("first tries", "", tl.first_tries));
      first_mode = false;
      std::vector<double> total = tl.first_tries;
      for (std::size_t i = 0; i < total.size(); ++i)
        total[i] += tl.retries[i];
      attempts.lines.push_back(points("attempts", name, total));
      goodput.lines.push_back(points("goodput", name, tl.goodput));
      queue.lines.push_back(points("queued", name, tl.queue_depth));
      if (!tl.policy_gauge.empty())
        state.lines.push_back(points("state", name, tl.policy_gauge));
      report_progress(opts, setup.name + " " + name, 1.0);
    }
    result.charts.push_back(std::move(goodput));
    result.charts.push_back(std::move(attempts));
    result.charts.push_back(std::move(queue));
    result.charts.push_back(std::move(state));
  }
  add_phase_diagram(result, opts, seeds);
  return result;
}

const scenario_registrar metastable_registrar{
  "metastable",
  "retry-storm metastability on two published set-ups (A: one server and a "
  "load spike; B: two servers and an error window), client-only modes and "
  "bulwark's, virtual time, medians over 5 seeds",
  run_metastable};

} // namespace

} // namespace bulwark::bench
