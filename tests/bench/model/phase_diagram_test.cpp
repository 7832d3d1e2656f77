#include "bench/model/phase_diagram.hpp"

#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

using namespace bulwark;
using namespace bulwark::bench::model;

TEST_CASE("the diagram's axes span 1.2-3x capacity and 1-20 s",
          "[bench][model]") {
  auto m = default_magnitudes();
  auto d = default_trigger_durations();
  REQUIRE(!m.empty());
  REQUIRE(!d.empty());
  CHECK(m.front() == 1.2);
  CHECK(m.back() == 3.0);
  CHECK(d.front() == seconds(1));
  CHECK(d.back() == seconds(20));
}

TEST_CASE("a phase cell runs set-up A with its trigger replaced",
          "[bench][model]") {
  auto x = phase_setup(2.5, seconds(7));
  REQUIRE(x.model.phases.size() == 3);
  CHECK(x.model.phases[0].rate_per_s == 9);
  CHECK(x.model.phases[0].length == seconds(20));
  CHECK(x.model.phases[1].rate_per_s == 25);
  CHECK(x.model.phases[1].length == seconds(7));
  CHECK(x.model.phases[2].rate_per_s == 9);
  CHECK(x.model.phases[2].length == seconds(40));
  CHECK(x.trigger_end == time_point{} + seconds(27));
  CHECK(x.late_start == time_point{} + seconds(57));
  CHECK(x.late_end == time_point{} + seconds(67));
  // The server and client stay A's.
  CHECK(x.model.attempt_timeout == seconds(5));
  CHECK(x.model.max_attempts == 5);
}

TEST_CASE("short triggers are survived, long strong ones are not",
          "[bench][model]") {
  auto seeds = median_seeds(1, 3);
  INFO("seeds 100..102");
  for (auto mode : all_client_modes) {
    INFO(to_string(mode));
    // 1 s at 1.2x adds about 2 queued requests.
    CHECK(run_phase_cell(mode, 1.2, seconds(1), seeds).recovered);
    // 20 s at 3x adds about 400 (40 s of work).
    auto stuck = run_phase_cell(mode, 3.0, seconds(20), seeds);
    CHECK(!stuck.recovered);
    CHECK(stuck.success_after < 0.1);
  }
}

TEST_CASE("immediate retries recover from no trigger that no retries do not",
          "[bench][model]") {
  auto seeds = median_seeds(1, 3);
  INFO("seeds 100..102");
  const std::vector<double> magnitudes = {1.5, 3.0};
  const std::vector<duration> durations = {seconds(1), seconds(2), seconds(5),
                                           seconds(10)};
  auto none =
    run_phase_diagram(client_mode::none, magnitudes, durations, seeds);
  auto naive =
    run_phase_diagram(client_mode::naive, magnitudes, durations, seeds);
  REQUIRE(none.size() == 8);
  REQUIRE(naive.size() == 8);
  std::size_t none_recovered = 0;
  std::size_t naive_recovered = 0;
  for (std::size_t i = 0; i < none.size(); ++i) {
    INFO(none[i].magnitude << "x for " << to_seconds(none[i].trigger) << " s");
    if (naive[i].recovered)
      CHECK(none[i].recovered);
    none_recovered += none[i].recovered ? 1 : 0;
    naive_recovered += naive[i].recovered ? 1 : 0;
  }
  // The retries make the region strictly smaller here: 3x for 2 s.
  CHECK(naive_recovered < none_recovered);
}

TEST_CASE("recovers_up_to is the longest trigger survived with every "
          "shorter one",
          "[bench][model]") {
  auto cell = [](double m, int s, bool ok) {
    phase_cell c;
    c.magnitude = m;
    c.trigger = seconds(s);
    c.recovered = ok;
    return c;
  };
  std::vector<phase_cell> cells = {
    cell(1.5, 1, true),  cell(1.5, 2, true),  cell(1.5, 5, false),
    cell(1.5, 10, true), cell(2.0, 1, false), cell(2.0, 2, true),
  };
  CHECK(recovers_up_to(cells, 1.5) == seconds(2));
  CHECK(recovers_up_to(cells, 2.0) == duration{0});
  CHECK(recovers_up_to(cells, 3.0) == duration{0});
}

TEST_CASE("with bulwark's overload control on the server, a client without "
          "retries recovers within 30 s in every cell of A's phase diagram",
          "[bench][model][overload]") {
  auto seeds = median_seeds(1, 5);
  auto cells = run_phase_diagram(client_mode::none, default_magnitudes(),
                                 default_trigger_durations(), seeds,
                                 server_policy::overload_control);
  REQUIRE_FALSE(cells.empty());
  std::size_t recovered = 0;
  for (auto& c : cells) {
    INFO(c.magnitude << "x for " << to_seconds(c.trigger) << " s: success "
                     << c.success_after << ", seeds 100..104");
    CHECK(c.recovered);
    recovered += c.recovered ? 1 : 0;
  }
  CHECK(recovered == cells.size());
}
