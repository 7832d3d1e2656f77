#include "bulwark/runtime/ledger/ledger_owner_core.hpp"

#include <utility>

#include "bulwark/runtime/core/idempotency_key.hpp"

namespace bulwark {

std::string to_string(owner_verdict x) {
  switch (x) {
    case owner_verdict::execute:
      return "execute";
    case owner_verdict::duplicate_done:
      return "duplicate_done";
    case owner_verdict::rejected_full:
      return "rejected_full";
    case owner_verdict::invalid:
      return "invalid";
    case owner_verdict::retry:
      return "retry";
    case owner_verdict::committed:
      return "committed";
    case owner_verdict::stale:
      return "stale";
  }
  return "invalid_verdict";
}

std::string to_string(ledger_owner_action_kind x) {
  switch (x) {
    case ledger_owner_action_kind::answer:
      return "answer";
    case ledger_owner_action_kind::journal_append:
      return "journal_append";
  }
  return "invalid";
}

namespace {

constexpr std::string_view bad_key_text =
  "idempotency key must be 1 to 255 visible ASCII characters";
constexpr std::string_view waiter_taken_text =
  "waiter id is already waiting at this ledger";
constexpr std::string_view full_text =
  "ledger full, or too many requests waiting for this key";
constexpr std::string_view retry_text =
  "the execution of this key was abandoned; begin again";
constexpr std::string_view stale_text =
  "ticket no longer holds this key; nothing was recorded";
constexpr std::string_view bad_response_text =
  "response status outside 100..599 or body over max_response_bytes";

} // namespace

ledger_owner_core::ledger_owner_core(const ledger_owner_options& opts)
  : epoch_(opts.epoch == 0 ? 1 : opts.epoch),
    max_response_bytes_(opts.max_response_bytes),
    ledger_(opts.ledger) {
  // Nothing else: the journal is replayed through `replay`.
}

bool ledger_owner_core::replay(const std::string& key, ledger_result response,
                               time_point now) {
  if (!ledger_.record(key, std::move(response), now))
    return false;
  ++counters_.replayed;
  return true;
}

ledger_owner_action& ledger_owner_core::answer(action_list& out,
                                               ledger_client client,
                                               std::uint64_t id,
                                               owner_verdict v,
                                               std::string_view message) {
  auto& a = out.push();
  a.kind = ledger_owner_action_kind::answer;
  a.client = client;
  a.id = id;
  a.verdict = v;
  a.ticket = owner_ticket{};
  a.message = message;
  return a;
}

void ledger_owner_core::begin(const std::string& key, ledger_client client,
                              std::uint64_t waiter_id, time_point now,
                              action_list& out) {
  ++counters_.begins;
  advance(now, out);
  if (key.empty() || key_problem(key)) {
    ++counters_.invalid;
    answer(out, client, waiter_id, owner_verdict::invalid, bad_key_text);
    return;
  }
  if (auto c = clients_.find(client);
      c != clients_.end() && c->second.waiters.count(waiter_id) != 0) {
    // A second waiter under one id would make `cancel` ambiguous and answer
    // one id twice.
    ++counters_.invalid;
    answer(out, client, waiter_id, owner_verdict::invalid, waiter_taken_text);
    return;
  }
  auto inner = next_waiter_;
  auto r = ledger_.begin(key, inner, now);
  switch (r.verdict) {
    case ledger_verdict::execute: {
      auto& e = running_[key];
      e = running_entry{};
      e.counter = r.ticket;
      e.client = client;
      clients_[client].executing.insert(key);
      ++counters_.executes;
      answer(out, client, waiter_id, owner_verdict::execute).ticket =
        owner_ticket{epoch_, r.ticket};
      return;
    }
    case ledger_verdict::duplicate_done: {
      ++counters_.duplicates;
      answer(out, client, waiter_id, owner_verdict::duplicate_done).response =
        *r.result;
      return;
    }
    case ledger_verdict::wait: {
      ++next_waiter_;
      ++counters_.waits;
      waiters_.emplace(inner, waiter_entry{client, waiter_id, key});
      clients_[client].waiters.emplace(waiter_id, inner);
      return;
    }
    case ledger_verdict::rejected_full:
      ++counters_.rejections;
      answer(out, client, waiter_id, owner_verdict::rejected_full, full_text);
      return;
  }
}

void ledger_owner_core::commit(const std::string& key, owner_ticket ticket,
                               ledger_client client, std::uint64_t commit_id,
                               bool executed, ledger_result response,
                               time_point now, action_list& out) {
  advance(now, out);
  auto it = running_.find(key);
  if (ticket.epoch != epoch_ || it == running_.end()
      || it->second.counter != ticket.counter || it->second.client != client
      || it->second.sealed) {
    ++counters_.stale_commits;
    // An abandon needs no answer; a refused commit must be told that its
    // result was not recorded.
    if (executed)
      answer(out, client, commit_id, owner_verdict::stale, stale_text);
    return;
  }
  if (!executed) {
    abandon(key, now, out);
    return;
  }
  if (response.status < 100 || response.status > 599
      || response.body.size() > max_response_bytes_) {
    ++counters_.invalid;
    answer(out, client, commit_id, owner_verdict::invalid, bad_response_text);
    abandon(key, now, out);
    return;
  }
  auto& e = it->second;
  ledger_.seal(key, e.counter);
  e.sealed = true;
  e.commit_id = commit_id;
  e.response = std::move(response);
  ++committing_;
  ++counters_.appends;
  auto& a = out.push();
  a.kind = ledger_owner_action_kind::journal_append;
  a.ticket = ticket;
  a.key = key;
  a.response = e.response;
  a.message = {};
}

bool ledger_owner_core::committed(const std::string& key, owner_ticket ticket,
                                  time_point now, action_list& out) {
  auto it = running_.find(key);
  if (ticket.epoch != epoch_ || it == running_.end() || !it->second.sealed
      || it->second.counter != ticket.counter)
    return false;
  auto& e = it->second;
  const auto& ws = ledger_.complete(key, e.counter, e.response, now);
  auto client = e.client;
  forget_execution(client, key);
  // `key` is not used from here on: it may refer into `out` (an append's).
  if (client != no_client) {
    auto& a = answer(out, client, e.commit_id, owner_verdict::committed);
    a.ticket = ticket;
    a.response = e.response;
  }
  for (auto inner : ws) {
    auto w = waiters_.find(inner);
    if (w == waiters_.end())
      continue;
    ++counters_.duplicates;
    answer(out, w->second.client, w->second.waiter_id,
           owner_verdict::duplicate_done)
      .response = e.response;
    forget_waiter(inner);
  }
  running_.erase(it);
  --committing_;
  ++counters_.committed;
  return true;
}

void ledger_owner_core::client_down(ledger_client client, time_point now,
                                    action_list& out) {
  ++counters_.client_downs;
  auto it = clients_.find(client);
  if (it == clients_.end())
    return;
  // Out of the map first: the releases below must not find it again.
  auto gone = std::move(it->second);
  clients_.erase(it);
  // Its waiters go first, so abandoning its keys cannot tell them to retry.
  for (const auto& [waiter_id, inner] : gone.waiters) {
    static_cast<void>(waiter_id);
    auto w = waiters_.find(inner);
    if (w == waiters_.end())
      continue;
    ledger_.drop_waiter(w->second.key, inner);
    waiters_.erase(w);
    ++counters_.dropped_waiters;
  }
  for (const auto& key : gone.executing) {
    auto r = running_.find(key);
    if (r == running_.end())
      continue;
    if (r->second.sealed) {
      // Its record may be durable already: the key completes when the
      // append does, without an executor to answer.
      r->second.client = no_client;
      continue;
    }
    abandon(key, now, out);
  }
}

bool ledger_owner_core::cancel(ledger_client client, std::uint64_t waiter_id) {
  auto c = clients_.find(client);
  if (c == clients_.end())
    return false;
  auto i = c->second.waiters.find(waiter_id);
  if (i == c->second.waiters.end())
    return false;
  auto inner = i->second;
  if (auto w = waiters_.find(inner); w != waiters_.end())
    ledger_.drop_waiter(w->second.key, inner);
  ++counters_.cancels;
  forget_waiter(inner);
  return true;
}

void ledger_owner_core::advance(time_point now, action_list& out) {
  const auto& ws = ledger_.expire(now);
  // The ledger released these keys itself: fence their tickets here.
  for (const auto& [key, counter] : ledger_.timed_out()) {
    auto it = running_.find(key);
    if (it == running_.end() || it->second.counter != counter)
      continue;
    ++counters_.timeouts;
    ++counters_.abandoned;
    auto client = it->second.client;
    running_.erase(it);
    forget_execution(client, key);
  }
  tell_retry(ws, out);
}

void ledger_owner_core::abandon(const std::string& key, time_point now,
                                action_list& out) {
  auto it = running_.find(key);
  auto client = it->second.client;
  auto counter = it->second.counter;
  running_.erase(it);
  forget_execution(client, key);
  ++counters_.abandoned;
  tell_retry(ledger_.abandon(key, counter, now), out);
}

void ledger_owner_core::tell_retry(const std::vector<std::uint64_t>& waiters,
                                   action_list& out) {
  for (auto inner : waiters) {
    auto w = waiters_.find(inner);
    if (w == waiters_.end())
      continue;
    ++counters_.retries_told;
    answer(out, w->second.client, w->second.waiter_id, owner_verdict::retry,
           retry_text);
    forget_waiter(inner);
  }
}

void ledger_owner_core::forget_waiter(std::uint64_t inner) {
  auto w = waiters_.find(inner);
  if (w == waiters_.end())
    return;
  auto client = w->second.client;
  auto waiter_id = w->second.waiter_id;
  waiters_.erase(w);
  if (auto c = clients_.find(client); c != clients_.end()) {
    c->second.waiters.erase(waiter_id);
    drop_if_idle(client);
  }
}

void ledger_owner_core::forget_execution(ledger_client client,
                                         const std::string& key) {
  if (auto c = clients_.find(client); c != clients_.end()) {
    c->second.executing.erase(key);
    drop_if_idle(client);
  }
}

void ledger_owner_core::drop_if_idle(ledger_client client) {
  auto c = clients_.find(client);
  if (c != clients_.end() && c->second.executing.empty()
      && c->second.waiters.empty())
    clients_.erase(c);
}

} // namespace bulwark
