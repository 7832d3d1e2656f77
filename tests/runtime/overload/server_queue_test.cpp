#include "bulwark/runtime/overload/server_queue.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <queue>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

time_point at(duration d) {
  return time_point{} + d;
}

/// One phase of offered load for the simulated server.
struct load_phase {
  duration length;
  double rate_per_s;
};

struct sim_config {
  std::uint32_t workers = 4;
  duration mean_service = milliseconds(5);
  duration timeout = seconds(1);
  std::vector<load_phase> phases;
  /// Shares of critical and standard arrivals; the rest are sheddable.
  double critical_share = 0.2;
  double standard_share = 0.5;
  std::uint64_t seed = 1;
  server_queue_config queue;
};

struct started_item {
  time_point at;
  duration wait;
  std::uint64_t id;
};

struct sim_result {
  std::uint64_t arrivals = 0;
  /// Outcomes per id: every id must appear exactly once.
  std::map<std::uint64_t, std::vector<queue_outcome>> outcomes;
  std::vector<started_item> started;
  std::array<std::uint64_t, 3> arrived_by_class{};
  std::array<std::uint64_t, 3> shed_by_class{};
  server_queue_stats stats;
};

/// A server with `workers` workers and exponential service fed by Poisson
/// arrivals, in virtual time, with the queue deciding what starts.
sim_result simulate(const sim_config& cfg) {
  rng gen{cfg.seed};
  auto expo = [&](double mean_ns) {
    return duration{
      static_cast<duration::rep>(-std::log(1.0 - gen.uniform()) * mean_ns)};
  };
  server_queue q{cfg.queue};
  sim_result res;
  std::vector<queue_verdict> out;
  std::priority_queue<time_point, std::vector<time_point>, std::greater<>> done;
  std::uint32_t free = cfg.workers;
  std::map<std::uint64_t, criticality> crit_of;
  auto record = [&] {
    for (auto& v : out) {
      res.outcomes[v.id].push_back(v.outcome);
      if (v.outcome == queue_outcome::shed)
        ++res.shed_by_class[static_cast<std::size_t>(v.crit)];
    }
    out.clear();
  };
  auto fill = [&](time_point now) {
    while (free > 0) {
      auto x = q.pop(now, out);
      record();
      if (!x)
        break;
      --free;
      res.outcomes[x->id].push_back(queue_outcome::started);
      res.started.push_back({now, now - x->arrival, x->id});
      done.push(now + expo(static_cast<double>(cfg.mean_service.count())));
    }
  };
  time_point phase_end{};
  std::size_t phase = 0;
  time_point next_arrival = no_deadline;
  auto draw_arrival = [&](time_point from) {
    next_arrival = no_deadline;
    auto t = from;
    while (phase < cfg.phases.size()) {
      auto end = phase_end;
      auto rate = cfg.phases[phase].rate_per_s;
      if (rate > 0) {
        auto next = t + expo(1e9 / rate);
        if (next < end) {
          next_arrival = next;
          return;
        }
      }
      t = end;
      ++phase;
      if (phase < cfg.phases.size())
        phase_end += cfg.phases[phase].length;
    }
  };
  phase_end = at(cfg.phases.at(0).length);
  draw_arrival(time_point{});
  std::uint64_t next_id = 1;
  for (;;) {
    auto t_done = done.empty() ? no_deadline : done.top();
    auto t_wake = q.next_wakeup();
    auto now = std::min({next_arrival, t_done, t_wake});
    if (now == no_deadline)
      break;
    if (now == t_done) {
      done.pop();
      ++free;
      fill(now);
    } else if (now == next_arrival) {
      queue_item x;
      x.id = next_id++;
      x.arrival = now;
      x.deadline = now + cfg.timeout;
      auto u = gen.uniform();
      x.crit = u < cfg.critical_share ? criticality::critical
               : u < cfg.critical_share + cfg.standard_share
                 ? criticality::standard
                 : criticality::sheddable;
      ++res.arrived_by_class[static_cast<std::size_t>(x.crit)];
      ++res.arrivals;
      q.push(x, now, out);
      record();
      fill(now);
      draw_arrival(now);
    } else {
      q.tick(now, out);
      record();
      fill(now);
    }
  }
  res.stats = q.stats();
  return res;
}

/// Every arrival got exactly one outcome.
void check_one_outcome_each(const sim_result& res) {
  CHECK(res.outcomes.size() == res.arrivals);
  std::size_t bad = 0;
  for (auto& [id, list] : res.outcomes)
    if (list.size() != 1)
      ++bad;
  CHECK(bad == 0);
}

double mean_wait_ms(const sim_result& res, time_point from, time_point to) {
  double sum = 0;
  std::size_t n = 0;
  for (auto& s : res.started)
    if (s.at >= from && s.at < to) {
      sum += std::chrono::duration<double, std::milli>(s.wait).count();
      ++n;
    }
  return n == 0 ? 0 : sum / static_cast<double>(n);
}

} // namespace

TEST_CASE("a queue that is not overloaded serves first in, first out",
          "[runtime][overload]") {
  server_queue q;
  std::vector<queue_verdict> out;
  for (std::uint64_t i = 1; i <= 3; ++i)
    q.push({i, at(milliseconds(i)), at(seconds(5)), criticality::standard},
           at(milliseconds(i)), out);
  std::vector<std::uint64_t> order;
  for (int i = 0; i < 3; ++i)
    order.push_back(q.pop(at(milliseconds(5)), out)->id);
  CHECK(order == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(out.empty());
  CHECK_FALSE(q.overloaded());
  CHECK_FALSE(q.pop(at(milliseconds(5)), out));
}

TEST_CASE("a standing queue over the target for an interval turns on "
          "newest first",
          "[runtime][overload]") {
  server_queue_config cfg;
  cfg.target = milliseconds(20);
  cfg.interval = milliseconds(100);
  server_queue q{cfg};
  std::vector<queue_verdict> out;
  for (std::uint64_t i = 1; i <= 5; ++i)
    q.push({i, at(milliseconds(i)), at(seconds(5)), criticality::critical},
           at(milliseconds(i)), out);
  // The interval started at 1 ms; every observation in it saw the oldest
  // item waiting more than 20 ms only from 21 ms on, so the first interval
  // is calm, the second one overloaded.
  CHECK(q.next_wakeup() == at(milliseconds(101)));
  q.tick(at(milliseconds(101)), out);
  CHECK_FALSE(q.overloaded());
  CHECK(q.next_wakeup() == at(milliseconds(201)));
  q.tick(at(milliseconds(201)), out);
  CHECK(q.overloaded());
  CHECK(q.pop(at(milliseconds(202)), out)->id == 5);
  CHECK(q.pop(at(milliseconds(203)), out)->id == 4);
  CHECK(q.stats().started_lifo == 2);
  CHECK(out.empty());
  // Drained, it still counts as overloaded until its interval ends, and
  // asks to be woken then to turn calm.
  for (int i = 0; i < 3; ++i)
    REQUIRE(q.pop(at(milliseconds(204)), out));
  CHECK(q.size() == 0);
  CHECK(q.overloaded());
  CHECK(q.next_wakeup() == at(milliseconds(301)));
  q.tick(at(milliseconds(301)), out);
  CHECK_FALSE(q.overloaded());
  CHECK(q.next_wakeup() == no_deadline);
}

TEST_CASE("queued work whose deadline passed is dropped at its deadline, "
          "overloaded or not",
          "[runtime][overload]") {
  server_queue q;
  std::vector<queue_verdict> out;
  q.push({1, at(milliseconds(0)), at(milliseconds(50)), criticality::critical},
         at(milliseconds(0)), out);
  q.push({2, at(milliseconds(1)), at(milliseconds(500)), criticality::standard},
         at(milliseconds(1)), out);
  CHECK(q.next_wakeup() == at(milliseconds(50)));
  q.tick(at(milliseconds(50)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 1);
  CHECK(out[0].outcome == queue_outcome::dropped_expired);
  CHECK(q.size() == 1);
  // An arrival whose deadline already passed never queues.
  out.clear();
  q.push({3, at(milliseconds(60)), at(milliseconds(60)), criticality::critical},
         at(milliseconds(60)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].outcome == queue_outcome::dropped_expired);
  CHECK(q.stats().dropped_expired == 2);
}

TEST_CASE("a full queue sheds the most sheddable item, never critical work "
          "while other work waits",
          "[runtime][overload]") {
  server_queue_config cfg;
  cfg.max_queue = 2;
  server_queue q{cfg};
  std::vector<queue_verdict> out;
  q.push({1, at(milliseconds(0)), no_deadline, criticality::sheddable},
         at(milliseconds(0)), out);
  q.push({2, at(milliseconds(0)), no_deadline, criticality::critical},
         at(milliseconds(0)), out);
  q.push({3, at(milliseconds(0)), no_deadline, criticality::standard},
         at(milliseconds(0)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 1);
  CHECK(out[0].outcome == queue_outcome::shed);
  out.clear();
  // FIFO (calm): an arrival of the most sheddable class present goes.
  q.push({4, at(milliseconds(0)), no_deadline, criticality::standard},
         at(milliseconds(0)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 4);
  out.clear();
  q.push({5, at(milliseconds(0)), no_deadline, criticality::critical},
         at(milliseconds(0)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 3);
  out.clear();
  q.push({6, at(milliseconds(0)), no_deadline, criticality::critical},
         at(milliseconds(0)), out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == 6);
  CHECK(q.size() == 2);
}

TEST_CASE("under sustained overload the queueing delay of served work stays "
          "near the target and sheddable work goes first",
          "[runtime][overload]") {
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    INFO("seed " << seed);
    sim_config cfg;
    cfg.seed = seed;
    // 4 workers x 5 ms: 800 rps. Calm at 400 rps, then 3x for 20 s, calm.
    cfg.phases.push_back({seconds(5), 400});
    cfg.phases.push_back({seconds(20), 2400});
    cfg.phases.push_back({seconds(5), 400});
    auto res = simulate(cfg);
    check_one_outcome_each(res);
    auto target_ms = 20.0;
    auto calm = mean_wait_ms(res, at(seconds(0)), at(seconds(5)));
    auto overload = mean_wait_ms(res, at(seconds(10)), at(seconds(25)));
    auto after = mean_wait_ms(res, at(seconds(27)), at(seconds(30)));
    INFO("mean wait ms: calm " << calm << ", overload " << overload
                               << ", after " << after);
    CHECK(calm < target_ms);
    CHECK(overload > target_ms / 4);
    CHECK(overload < 2 * target_ms);
    CHECK(after < target_ms);
    CHECK(res.stats.overloaded_intervals > 0);
    CHECK(res.stats.started_lifo > 0);
    // 3x capacity: the sheddable half goes first and entirely; standard
    // work is shed only in part, critical work never by the level.
    auto share = [&](criticality c) {
      auto i = static_cast<std::size_t>(c);
      return static_cast<double>(res.shed_by_class[i])
             / static_cast<double>(res.arrived_by_class[i]);
    };
    INFO("shed shares: sheddable "
         << share(criticality::sheddable) << ", standard "
         << share(criticality::standard) << ", critical "
         << share(criticality::critical));
    CHECK(share(criticality::sheddable) > share(criticality::standard));
    CHECK(share(criticality::standard) > share(criticality::critical));
    CHECK(res.shed_by_class[0] == 0);
  }
}

TEST_CASE("a queue that is never overloaded never reorders, sheds or drops",
          "[runtime][overload]") {
  for (std::uint64_t seed : {11, 12, 13}) {
    INFO("seed " << seed);
    sim_config cfg;
    cfg.seed = seed;
    cfg.phases.push_back({seconds(30), 300});
    auto res = simulate(cfg);
    check_one_outcome_each(res);
    CHECK(res.stats.shed_total() == 0);
    CHECK(res.stats.dropped_expired == 0);
    CHECK(res.stats.started_lifo == 0);
    std::uint64_t last = 0;
    bool in_order = true;
    for (auto& s : res.started) {
      in_order = in_order && s.id > last;
      last = s.id;
    }
    CHECK(in_order);
  }
}

TEST_CASE("random workloads give every item exactly one outcome",
          "[runtime][overload]") {
  for (std::uint64_t seed = 100; seed < 120; ++seed) {
    INFO("seed " << seed);
    rng pick{seed};
    sim_config cfg;
    cfg.seed = seed;
    cfg.workers = 1 + static_cast<std::uint32_t>(pick.below(4));
    cfg.timeout = milliseconds(20 + pick.below(500));
    cfg.queue.max_queue = pick.below(3) == 0 ? 0 : 1 + pick.below(64);
    cfg.queue.adaptive_lifo = pick.below(2) == 0;
    cfg.queue.shed_standard = pick.below(2) == 0;
    for (int i = 0; i < 3; ++i)
      cfg.phases.push_back(
        {seconds(2), 100.0 + static_cast<double>(pick.below(2000))});
    auto res = simulate(cfg);
    check_one_outcome_each(res);
    CHECK(res.stats.started + res.stats.dropped_expired + res.stats.shed_total()
          == res.arrivals);
  }
}

TEST_CASE("server_queue refuses a config it cannot run",
          "[runtime][overload]") {
  server_queue_config cfg;
  cfg.interval = duration{0};
  CHECK_THROWS_AS(server_queue{cfg}, std::invalid_argument);
  cfg = {};
  cfg.shed_step_up = -1;
  CHECK_THROWS_AS(server_queue{cfg}, std::invalid_argument);
  CHECK(to_string(queue_outcome::dropped_expired) == "dropped_expired");
}
