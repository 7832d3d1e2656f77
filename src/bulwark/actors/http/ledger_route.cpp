#include "bulwark/actors/http/ledger_route.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/ledger/recorded_response.hpp"

namespace bulwark::service_detail {

namespace {

/// The request half of a journal record, taken when a key starts executing.
journal_record journal_request(const service_request& req) {
  journal_record r;
  r.key = req.idempotency_key;
  r.method = req.method;
  r.path = req.path;
  r.query = req.query;
  r.request_body = req.body;
  return r;
}

void answer_retry(ledger_self self, const std::vector<std::uint64_t>& ids,
                  std::string_view why) {
  auto& st = self->state;
  auto res = to_http(st.core->unavailable_answer(why));
  for (auto id : ids)
    st.core->finish(id, res);
}

void expire_due(ledger_self self, time_point now) {
  auto& st = self->state;
  if (st.ledger->next_expiry() > now)
    return;
  std::vector<std::uint64_t> released = st.ledger->expire(now);
  answer_retry(self, released,
               "the first request of this key did not finish in time; retry");
}

void schedule_expiry(ledger_self self, time_point now) {
  auto& st = self->state;
  auto next = st.ledger->next_expiry();
  if (next == no_deadline || next >= st.expiry_scheduled)
    return;
  st.expiry_scheduled = next;
  auto delay = std::max(duration{0}, next - now);
  self->delayed_send(self, delay, svc_exp_atom::value);
}

void schedule_late(ledger_self self, std::uint64_t id, time_point deadline,
                   time_point now) {
  self->state.late.emplace(deadline, id);
  arm_late(self, now);
}

/// Answers 504 to every request whose deadline has passed (a no-op for
/// those answered already).
void finish_late_due(ledger_self self, time_point now) {
  auto& st = self->state;
  while (!st.late.empty() && st.late.top().first <= now) {
    st.core->finish_late(st.late.top().second);
    st.late.pop();
  }
}

/// Puts the replayed records into a fresh ledger as completed keys (the
/// last record of each key wins), all completed `now`: their retention
/// restarts with the process, because the journal keeps no wall-clock time.
void seed_ledger(idempotency_ledger& ledger,
                 const std::vector<journal_record>& records, time_point now) {
  std::unordered_map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < records.size(); ++i)
    last[records[i].key] = i;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto& r = records[i];
    if (last[r.key] != i)
      continue;
    auto out = ledger.begin(r.key, 0, now);
    if (out.verdict == ledger_verdict::execute)
      ledger.complete(r.key, out.ticket, to_ledger(recorded_of(r)), now);
  }
}

} // namespace

caf::behavior ledger_actor(ledger_self self, core_ptr core, caf::actor anchor,
                           cell_ptr target, ledger_config cfg,
                           journal_ptr journal,
                           std::vector<journal_record> replayed) {
  auto& st = self->state;
  st.ledger = std::make_unique<idempotency_ledger>(cfg);
  st.core = std::move(core);
  st.anchor = std::move(anchor);
  st.target = std::move(target);
  st.journal = std::move(journal);
  if (!replayed.empty()) {
    seed_ledger(*st.ledger, replayed, self->clock().now());
    replayed = {};
    schedule_expiry(self, self->clock().now());
  }
  auto exec_timeout = cfg.in_progress_timeout;
  return {
    [self, exec_timeout](svc_req_atom, std::uint64_t id, service_request& req) {
      auto& st = self->state;
      auto now = self->clock().now();
      expire_due(self, now);
      auto out = st.ledger->begin(req.idempotency_key, id, now);
      switch (out.verdict) {
        case ledger_verdict::execute: {
          // The client is answered 504 at its deadline, but the execution
          // runs on (up to in_progress_timeout) so its result is recorded
          // and the client's retry gets it.
          schedule_late(self, id, req.deadline, now);
          auto me = caf::actor_cast<caf::actor>(self);
          auto key = req.idempotency_key;
          auto ticket = out.ticket;
          if (st.journal)
            st.executing[ticket] = journal_request(req);
          self->spawn(bridge_actor, st.anchor, st.target->get(), std::move(req),
                      exec_timeout,
                      call_callback{[me, key, ticket,
                                     id](call_end how, service_response res) {
                        caf::anon_send(me, svc_done_atom::value, key, ticket,
                                       id, static_cast<std::uint8_t>(how),
                                       std::move(res));
                      }},
                      preliminary_callback{});
          break;
        }
        case ledger_verdict::duplicate_done:
          ++st.core->count.ledger_duplicates;
          st.core->finish(id, to_http(from_ledger(*out.result)));
          break;
        case ledger_verdict::wait:
          ++st.core->count.ledger_waits;
          schedule_late(self, id, req.deadline, now);
          break;
        case ledger_verdict::rejected_full:
          ++st.core->count.ledger_rejected;
          st.core->finish(
            id, st.core->unavailable_answer("idempotency ledger is full"));
          break;
      }
      schedule_expiry(self, now);
    },
    [self](svc_done_atom, const std::string& key, std::uint64_t ticket,
           std::uint64_t id, std::uint8_t how_raw, service_response& res) {
      auto& st = self->state;
      auto now = self->clock().now();
      auto how = static_cast<call_end>(how_raw);
      std::optional<journal_record> pending;
      if (auto i = st.executing.find(ticket); i != st.executing.end()) {
        pending = std::move(i->second);
        st.executing.erase(i);
      }
      if (how == call_end::timed_out || how == call_end::shut_down) {
        // The handler may still be running: the key stays in progress until
        // in_progress_timeout releases it (and its waiters).
        finish_call(*st.core, id, how, std::move(res));
      } else if (how != call_end::answered || res.not_executed) {
        // Not executed, or the route failed (threw, or its actor died) before
        // answering: nothing was committed, no record is written, and the key
        // is forgotten at once so a retry runs it (waiters are told to retry).
        // A crash of the whole process would lose the same in-memory effects.
        std::vector<std::uint64_t> waiters =
          st.ledger->abandon(key, ticket, now);
        if (how == call_end::answered)
          st.core->finish(id, res);
        else
          finish_call(*st.core, id, how, std::move(res));
        answer_retry(self, waiters,
                     "the first request of this key did not execute; retry");
      } else {
        auto rec = answer_of(res);
        auto http_res = to_http(rec);
        // The commit: durable before anyone sees the answer. Recorded even
        // for a stale ticket, because the side effect ran all the same and
        // replay must rebuild what the process holds in memory.
        if (pending) {
          set_answer(*pending, rec);
          if (st.journal->append(*pending))
            ++st.core->count.ledger_journaled;
        }
        ++st.core->count.ledger_executed;
        std::vector<std::uint64_t> waiters =
          st.ledger->complete(key, ticket, to_ledger(rec), now);
        st.core->finish(id, http_res);
        for (auto w : waiters)
          st.core->finish(w, http_res);
      }
      expire_due(self, now);
      schedule_expiry(self, now);
    },
    [self](svc_late_atom) {
      auto now = self->clock().now();
      self->state.late_scheduled = no_deadline;
      finish_late_due(self, now);
      arm_late(self, now);
    },
    [self](svc_exp_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      st.expiry_scheduled = no_deadline;
      expire_due(self, now);
      schedule_expiry(self, now);
    },
  };
}

} // namespace bulwark::service_detail
