#include "bulwark/runtime/chaos/contention_model.hpp"

#include <cmath>
#include <cstdint>
#include <queue>
#include <vector>

#include "bulwark/runtime/budget/retry_budget.hpp"
#include "bulwark/runtime/retry/backoff.hpp"

namespace bulwark {

backoff_config aws_backoff_config(jitter_kind jitter) {
  backoff_config cfg;
  cfg.kind = backoff_kind::exponential;
  cfg.jitter = jitter;
  cfg.multiplier = 2.0;
  cfg.base =
    jitter == jitter_kind::decorrelated ? milliseconds(5) : milliseconds(10);
  cfg.cap = seconds(2);
  return cfg;
}

namespace {

enum class step : std::uint8_t {
  read_at_server,
  version_at_client,
  write_at_server,
  reply_at_client,
  retry_due,
};

struct event {
  duration at;
  std::uint64_t seq;
  std::uint32_t client;
  step what;
  /// version_at_client / write_at_server: the version read;
  /// reply_at_client: 1 on success.
  std::uint64_t value;
};

struct later {
  bool operator()(const event& a, const event& b) const noexcept {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

struct client_state {
  std::uint32_t failures = 0;
  duration previous_delay = duration::zero();
};

constexpr double two_pi = 6.28318530717958647692;

} // namespace

contention_result simulate_contention(const contention_config& cfg, rng& gen) {
  contention_result result;
  std::priority_queue<event, std::vector<event>, later> queue;
  std::vector<client_state> clients(cfg.clients);
  std::vector<retry_budget> budgets(
    cfg.budgeted ? (cfg.budget_per_client ? cfg.clients : 1u) : 0u,
    retry_budget{cfg.budget});
  auto budget_of = [&](std::uint32_t c) -> retry_budget& {
    return budgets.size() == 1 ? budgets[0] : budgets[c];
  };
  std::uint64_t seq = 0;
  std::uint64_t version = 0;
  auto origin = time_point{};
  auto hop = [&]() {
    auto u1 = 1.0 - gen.uniform();
    auto u2 = gen.uniform();
    auto z = std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
    auto ns = static_cast<double>(cfg.network_mean.count())
              + static_cast<double>(cfg.network_sd.count()) * z;
    return duration{static_cast<duration::rep>(std::llround(std::fabs(ns)))};
  };
  auto push = [&](duration at, std::uint32_t c, step what,
                  std::uint64_t value) {
    queue.push(event{at, seq++, c, what, value});
  };
  auto backoff = [&](client_state& cs) {
    auto d = next_backoff(cfg.backoff, cs.failures, cs.previous_delay, gen);
    cs.previous_delay = d;
    return d;
  };
  for (std::uint32_t c = 0; c < cfg.clients; ++c) {
    if (cfg.budgeted)
      budget_of(c).on_request(origin);
    push(hop(), c, step::read_at_server, 0);
  }
  duration now = duration::zero();
  while (!queue.empty()) {
    auto ev = queue.top();
    queue.pop();
    now = ev.at;
    auto& cs = clients[ev.client];
    switch (ev.what) {
      case step::read_at_server:
        push(now + hop(), ev.client, step::version_at_client, version);
        break;
      case step::version_at_client:
        push(now + hop(), ev.client, step::write_at_server, ev.value);
        break;
      case step::write_at_server: {
        ++result.calls;
        bool ok = ev.value == version;
        if (ok)
          ++version;
        else
          ++result.conflicts;
        push(now + hop(), ev.client, step::reply_at_client, ok ? 1 : 0);
        break;
      }
      case step::reply_at_client:
        if (ev.value == 1) {
          if (cfg.budgeted)
            budget_of(ev.client).on_success(origin + now);
          break;
        }
        ++cs.failures;
        if (cfg.budgeted) {
          budget_of(ev.client).on_failure(origin + now);
          push(now + backoff(cs), ev.client, step::retry_due, 0);
        } else {
          // The blog's simulator: the next read reaches the server one hop
          // plus the backoff after the conflict was seen.
          auto wait = hop();
          push(now + wait + backoff(cs), ev.client, step::read_at_server, 0);
        }
        break;
      case step::retry_due:
        if (budget_of(ev.client).try_withdraw(budget_use::retry,
                                              origin + now)) {
          push(now + hop(), ev.client, step::read_at_server, 0);
        } else {
          ++result.budget_denials;
          // Refused: back off as after one more conflict, without a call.
          ++cs.failures;
          push(now + backoff(cs), ev.client, step::retry_due, 0);
        }
        break;
    }
  }
  result.completion = now;
  return result;
}

} // namespace bulwark
