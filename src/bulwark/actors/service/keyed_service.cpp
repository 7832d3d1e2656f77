#include "bulwark/actors/service/keyed_service.hpp"

#include <mutex>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/ledger/idempotency_ledger.hpp"

namespace bulwark {

namespace {

using finish_atom = caf::atom_constant<caf::atom("finish")>;

} // namespace

struct keyed_service::impl {
  explicit impl(const keyed_service_options& o)
    : opts(o),
      ledger(o.ledger),
      gen(o.seed) {}

  struct waiter {
    caf::actor to;
    std::uint64_t attempt_id;
  };

  keyed_service_options opts;
  mutable std::mutex mtx;
  idempotency_ledger ledger;
  rng gen;
  std::unordered_map<std::string, std::uint32_t> executions;
  std::unordered_map<std::uint64_t, waiter> waiters;
  std::uint64_t next_waiter = 0;
  keyed_service_counts counts;

  duration between(duration lo, duration hi) {
    auto span = (hi - lo).count();
    return lo
           + duration{span <= 0 ? 0
                                : static_cast<std::int64_t>(gen.below(
                                  static_cast<std::uint64_t>(span) + 1))};
  }

  duration latency() {
    if (opts.slow_percent > 0 && gen.below(100) < opts.slow_percent)
      return between(opts.slow_min, opts.slow_max);
    return between(opts.fast_min, opts.fast_max);
  }

  bool chance(std::uint32_t percent) {
    return percent > 0 && gen.below(100) < percent;
  }
};

namespace {

void answer(caf::event_based_actor* self, const caf::actor& to,
            std::uint64_t attempt_id, attempt_result r) {
  r.attempt_id = attempt_id;
  self->send(to, result_atom::value, std::move(r));
}

caf::behavior replica_impl(caf::event_based_actor* self,
                           std::shared_ptr<keyed_service::impl> svc) {
  return {
    [self, svc](attempt_atom, const attempt_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      auto now = self->clock().now();
      std::unique_lock<std::mutex> guard{svc->mtx};
      if (svc->chance(svc->opts.refuse_percent)) {
        ++svc->counts.refused;
        guard.unlock();
        answer(self, to, req.attempt_id,
               error_result(transport_error::connection_refused));
        return;
      }
      auto id = ++svc->next_waiter;
      auto out = svc->ledger.begin(req.idempotency_key, id, now);
      switch (out.verdict) {
        case ledger_verdict::execute: {
          auto& n = svc->executions[req.idempotency_key];
          if (++n == 1)
            ++svc->counts.distinct_keys;
          else if (n == 2)
            ++svc->counts.keys_executed_twice;
          ++svc->counts.side_effects;
          svc->waiters.emplace(id,
                               keyed_service::impl::waiter{to, req.attempt_id});
          auto delay = svc->latency();
          guard.unlock();
          self->delayed_send(self, delay, finish_atom::value,
                             req.idempotency_key, out.ticket, id);
          break;
        }
        case ledger_verdict::duplicate_done: {
          ++svc->counts.duplicates_answered;
          auto body = out.result->body;
          guard.unlock();
          answer(self, to, req.attempt_id, success_result(std::move(body)));
          break;
        }
        case ledger_verdict::wait:
          ++svc->counts.waits;
          svc->waiters.emplace(id,
                               keyed_service::impl::waiter{to, req.attempt_id});
          break;
        case ledger_verdict::rejected_full:
          guard.unlock();
          answer(self, to, req.attempt_id, status_result(503));
          break;
      }
    },
    [self, svc](finish_atom, const std::string& key, ledger_ticket ticket,
                std::uint64_t executor) {
      std::vector<std::pair<keyed_service::impl::waiter, int>> out;
      auto body = "done:" + key;
      {
        std::lock_guard<std::mutex> guard{svc->mtx};
        auto waiting = svc->ledger.complete(
          key, ticket, ledger_result{200, body}, self->clock().now());
        waiting.push_back(executor);
        for (auto w : waiting) {
          auto i = svc->waiters.find(w);
          if (i == svc->waiters.end())
            continue;
          // 0: answer, 1: error after the side effect, 2: silence.
          int fate = svc->chance(svc->opts.error_after_percent)     ? 1
                     : svc->chance(svc->opts.silence_after_percent) ? 2
                                                                    : 0;
          out.emplace_back(i->second, fate);
          svc->waiters.erase(i);
        }
      }
      for (auto& [w, fate] : out) {
        if (fate == 0)
          answer(self, w.to, w.attempt_id, success_result(body));
        else if (fate == 1)
          answer(self, w.to, w.attempt_id, status_result(500));
      }
    },
    [](cancel_atom, std::uint64_t) {
      // The work goes on: the ledger keeps it from running twice.
    },
  };
}

} // namespace

keyed_service::keyed_service(const keyed_service_options& opts)
  : impl_(std::make_shared<impl>(opts)) {}

keyed_service::~keyed_service() = default;

caf::actor keyed_service::spawn_replica(caf::actor_system& sys) {
  return sys.spawn(replica_impl, impl_);
}

keyed_service_counts keyed_service::counts() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto result = impl_->counts;
  return result;
}

std::uint32_t keyed_service::executions(const std::string& key) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->executions.find(key);
  return i == impl_->executions.end() ? 0 : i->second;
}

} // namespace bulwark
