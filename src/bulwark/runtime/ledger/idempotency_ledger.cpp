#include "bulwark/runtime/ledger/idempotency_ledger.hpp"

#include <utility>

namespace bulwark {

std::string to_string(ledger_verdict x) {
  switch (x) {
    case ledger_verdict::execute:
      return "execute";
    case ledger_verdict::duplicate_done:
      return "duplicate_done";
    case ledger_verdict::wait:
      return "wait";
    case ledger_verdict::rejected_full:
      return "rejected_full";
  }
  return "invalid";
}

void idempotency_ledger::fifo::push_back(entry* e) noexcept {
  e->prev = tail;
  e->next = nullptr;
  if (tail != nullptr)
    tail->next = e;
  else
    head = e;
  tail = e;
}

void idempotency_ledger::fifo::unlink(entry* e) noexcept {
  if (e->prev != nullptr)
    e->prev->next = e->next;
  else
    head = e->next;
  if (e->next != nullptr)
    e->next->prev = e->prev;
  else
    tail = e->prev;
  e->prev = nullptr;
  e->next = nullptr;
}

idempotency_ledger::idempotency_ledger(const ledger_config& cfg) : cfg_(cfg) {
  // Bounded by max_entries; reserving up front keeps rehashing off the path
  // of new keys for ledgers of moderate size.
  if (cfg_.max_entries <= 65'536)
    entries_.reserve(cfg_.max_entries);
}

begin_outcome idempotency_ledger::begin(const std::string& key,
                                        std::uint64_t waiter_id,
                                        time_point now) {
  begin_outcome out;
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    auto& e = it->second;
    if (e.done) {
      if (now - e.since < cfg_.retention) {
        ++counters_.duplicates_answered;
        out.verdict = ledger_verdict::duplicate_done;
        out.result = &e.result;
        return out;
      }
      // Retention ended: the key is forgotten and this request is a first.
      ++counters_.expirations;
      remove(&e);
    } else {
      if (e.waiters.size() >= cfg_.max_waiters_per_key) {
        ++counters_.rejections;
        out.verdict = ledger_verdict::rejected_full;
        return out;
      }
      e.waiters.push_back(waiter_id);
      ++waiting_count_;
      ++counters_.waits;
      out.verdict = ledger_verdict::wait;
      return out;
    }
  }
  if (entries_.size() >= cfg_.max_entries) {
    // Only a completed key may be forgotten early: forgetting one in progress
    // would let a second execution start while the first still runs.
    if (done_.head == nullptr) {
      ++counters_.rejections;
      out.verdict = ledger_verdict::rejected_full;
      return out;
    }
    ++counters_.evictions;
    remove(done_.head);
  }
  auto [pos, added] = entries_.try_emplace(key);
  static_cast<void>(added);
  auto& e = pos->second;
  e.key = &pos->first;
  e.since = now;
  e.ticket = next_ticket_++;
  e.done = false;
  running_.push_back(&e);
  ++in_progress_count_;
  ++counters_.executed;
  out.verdict = ledger_verdict::execute;
  out.ticket = e.ticket;
  return out;
}

idempotency_ledger::entry*
idempotency_ledger::find_running(const std::string& key, ledger_ticket ticket) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.done || it->second.ticket != ticket) {
    ++counters_.stale_reports;
    return nullptr;
  }
  return &it->second;
}

const std::vector<std::uint64_t>&
idempotency_ledger::complete(const std::string& key, ledger_ticket ticket,
                             ledger_result result, time_point now) {
  released_.clear();
  auto* e = find_running(key, ticket);
  if (e == nullptr)
    return released_;
  if (!e->sealed)
    running_.unlink(e);
  e->sealed = false;
  --in_progress_count_;
  // Copy into the reused buffer and free the entry's list: a completed entry
  // holds no waiter memory for the rest of its retention.
  released_.assign(e->waiters.begin(), e->waiters.end());
  std::vector<std::uint64_t>{}.swap(e->waiters);
  waiting_count_ -= released_.size();
  e->result = std::move(result);
  e->done = true;
  e->since = now;
  done_.push_back(e);
  return released_;
}

const std::vector<std::uint64_t>&
idempotency_ledger::abandon(const std::string& key, ledger_ticket ticket,
                            time_point) {
  released_.clear();
  auto* e = find_running(key, ticket);
  if (e == nullptr)
    return released_;
  ++counters_.abandoned;
  release(e);
  return released_;
}

const std::vector<std::uint64_t>& idempotency_ledger::expire(time_point now) {
  released_.clear();
  timed_out_.clear();
  while (done_.head != nullptr && now - done_.head->since >= cfg_.retention) {
    ++counters_.expirations;
    remove(done_.head);
  }
  while (running_.head != nullptr
         && now - running_.head->since >= cfg_.in_progress_timeout) {
    ++counters_.timeouts;
    timed_out_.emplace_back(*running_.head->key, running_.head->ticket);
    release(running_.head);
  }
  return released_;
}

bool idempotency_ledger::seal(const std::string& key, ledger_ticket ticket) {
  auto* e = find_running(key, ticket);
  if (e == nullptr)
    return false;
  if (!e->sealed) {
    running_.unlink(e);
    e->sealed = true;
  }
  return true;
}

bool idempotency_ledger::drop_waiter(const std::string& key,
                                     std::uint64_t waiter_id) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.done)
    return false;
  auto& ws = it->second.waiters;
  for (auto i = ws.begin(); i != ws.end(); ++i) {
    if (*i == waiter_id) {
      ws.erase(i);
      --waiting_count_;
      return true;
    }
  }
  return false;
}

bool idempotency_ledger::record(const std::string& key, ledger_result result,
                                time_point now) {
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (!it->second.done)
      return false;
    // Re-appended with the new completion time: done_ stays ordered.
    remove(&it->second);
  } else if (entries_.size() >= cfg_.max_entries) {
    if (done_.head == nullptr)
      return false;
    ++counters_.evictions;
    remove(done_.head);
  }
  auto [pos, added] = entries_.try_emplace(key);
  static_cast<void>(added);
  auto& e = pos->second;
  e.key = &pos->first;
  e.since = now;
  e.done = true;
  e.result = std::move(result);
  done_.push_back(&e);
  return true;
}

time_point idempotency_ledger::next_expiry() const noexcept {
  auto result = no_deadline;
  if (done_.head != nullptr)
    result = done_.head->since + cfg_.retention;
  if (running_.head != nullptr) {
    auto t = running_.head->since + cfg_.in_progress_timeout;
    if (t < result)
      result = t;
  }
  return result;
}

void idempotency_ledger::release(entry* e) {
  released_.insert(released_.end(), e->waiters.begin(), e->waiters.end());
  waiting_count_ -= e->waiters.size();
  remove(e);
}

void idempotency_ledger::remove(entry* e) {
  if (e->done) {
    done_.unlink(e);
  } else {
    if (!e->sealed)
      running_.unlink(e);
    --in_progress_count_;
  }
  // Look the node up by its own key; erase destroys key and entry together.
  entries_.erase(entries_.find(*e->key));
}

} // namespace bulwark
