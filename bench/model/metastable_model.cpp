#include "bench/model/metastable_model.hpp"

#include "bulwark/runtime/core/rng.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <stdexcept>

namespace bulwark::bench::model {

std::string_view to_string(request_end x) noexcept {
  switch (x) {
    case request_end::succeeded:
      return "succeeded";
    case request_end::attempts_exhausted:
      return "attempts_exhausted";
    case request_end::retry_refused:
      return "retry_refused";
    case request_end::rejected_locally:
      return "rejected_locally";
  }
  return "unknown";
}

std::string_view to_string(server_policy x) noexcept {
  switch (x) {
    case server_policy::fifo:
      return "fifo";
    case server_policy::overload_control:
      return "overload_control";
  }
  return "unknown";
}

server_queue_config model_overload_config(duration mean_service,
                                          duration caller_timeout) {
  server_queue_config cfg;
  cfg.target = std::min(mean_service * 10, caller_timeout / 5);
  cfg.interval = cfg.target * 2;
  cfg.max_queue = 0;
  return cfg;
}

std::size_t phase_of(const model_config& cfg, time_point t) noexcept {
  auto start = time_point{};
  for (std::size_t i = 0; i < cfg.phases.size(); ++i) {
    auto end = start + cfg.phases[i].length;
    if (t >= start && t < end)
      return i;
    start = end;
  }
  return cfg.phases.size();
}

time_point phase_start(const model_config& cfg, std::size_t i) noexcept {
  auto t = time_point{};
  for (std::size_t j = 0; j < i && j < cfg.phases.size(); ++j)
    t += cfg.phases[j].length;
  return t;
}

namespace {

enum class event_kind {
  first_try,
  retry,
  service_done,
  attempt_timeout,
  error_window_start,
  queue_wakeup,
  slot_wait_over,
};

struct event {
  time_point at;
  std::uint64_t seq; // ties in time run in scheduling order
  event_kind kind;
  std::uint32_t id; // request or attempt
  std::uint32_t server;
};

struct later {
  bool operator()(const event& x, const event& y) const noexcept {
    return x.at != y.at ? x.at > y.at : x.seq > y.seq;
  }
};

duration exponential(rng& gen, double mean_ns) {
  // 1 - u lies in (0, 1], so the log is finite.
  return duration{
    static_cast<duration::rep>(-std::log(1.0 - gen.uniform()) * mean_ns)};
}

class simulation {
 public:
  simulation(const model_config& cfg, client_policy& policy)
    : cfg_(cfg),
      policy_(policy),
      arrivals_(cfg.seed),
      phases_end_(phase_start(cfg, cfg.phases.size())) {
    for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
      // One service stream per server, apart from the arrival stream.
      servers_.push_back(
        server{cfg.servers[i], rng{cfg.seed * 7919 + i + 1}, 0, {}, {}, {}});
      auto& s = cfg.servers[i];
      if (s.policy == server_policy::overload_control)
        servers_.back().control.emplace(s.overload);
      if (s.error_start < s.error_end)
        schedule(s.error_start, event_kind::error_window_start, 0,
                 static_cast<std::uint32_t>(i));
    }
  }

  model_run run() {
    schedule_next_first_try(time_point{});
    while (!events_.empty()) {
      auto ev = events_.top();
      events_.pop();
      sample_queues(ev.at);
      run_.finished = ev.at;
      switch (ev.kind) {
        case event_kind::first_try:
          on_first_try(ev.at);
          break;
        case event_kind::retry:
          send(ev.id, ev.at);
          break;
        case event_kind::service_done:
          on_service_done(ev.server, ev.id, ev.at);
          break;
        case event_kind::attempt_timeout:
          answer(ev.id, attempt_outcome::timeout, ev.at);
          break;
        case event_kind::error_window_start:
          on_error_window_start(ev.server, ev.at);
          break;
        case event_kind::queue_wakeup:
          on_queue_wakeup(ev.server, ev.at);
          break;
        case event_kind::slot_wait_over:
          on_slot_wait_over(ev.id, ev.at);
          break;
      }
      // Stale work may still sit in the queues; nobody waits for it.
      if (arrivals_done_ && ended_ == run_.requests.size())
        break;
    }
    sample_queues(phases_end_);
    return std::move(run_);
  }

 private:
  struct server {
    server_config cfg;
    rng gen;
    std::uint32_t busy;
    std::deque<std::uint32_t> queue; // attempts (fifo)
    std::optional<server_queue> control; // overload_control
    /// When the pending queue_wakeup event is due (no_deadline: none).
    time_point wakeup_scheduled = no_deadline;

    std::size_t queued() const noexcept {
      return control ? control->size() : queue.size();
    }
  };

  void schedule(time_point at, event_kind kind, std::uint32_t id,
                std::uint32_t srv = 0) {
    events_.push(event{at, seq_++, kind, id, srv});
  }

  void sample_queues(time_point now) {
    auto bucket = cfg_.bucket;
    while (next_sample_ < phases_end_ && next_sample_ <= now) {
      std::uint32_t depth = 0;
      for (auto& s : servers_)
        depth += static_cast<std::uint32_t>(s.queued());
      run_.queue_depth.push_back(depth);
      if (auto g = policy_.gauge(next_sample_))
        run_.policy_gauge.push_back(*g);
      next_sample_ += bucket;
    }
  }

  // Draws the next first try of the non-homogeneous Poisson process: rates
  // are constant per phase, and exponential gaps are memoryless, so a gap
  // that crosses a phase's end is redrawn from that end at the next rate.
  void schedule_next_first_try(time_point from) {
    auto t = from;
    for (;;) {
      auto i = phase_of(cfg_, t);
      if (i >= cfg_.phases.size()) {
        arrivals_done_ = true;
        return;
      }
      auto end = phase_start(cfg_, i + 1);
      auto rate = cfg_.phases[i].rate_per_s;
      if (rate > 0) {
        auto next = t + exponential(arrivals_, 1e9 / rate);
        if (next < end) {
          schedule(next, event_kind::first_try, 0);
          return;
        }
      }
      t = end;
    }
  }

  void on_first_try(time_point now) {
    auto r = static_cast<std::uint32_t>(run_.requests.size());
    request_record rec;
    rec.first_try = now;
    run_.requests.push_back(rec);
    last_server_.push_back(0);
    waiting_for_slot_.push_back(false);
    if (policy_.admit_first_try(now)) {
      send(r, now);
    } else {
      // Not admitted: the policy is not told of its end.
      end(r, request_end::rejected_locally, now, false);
    }
    schedule_next_first_try(now);
  }

  void send(std::uint32_t r, time_point now) {
    if (route_and_send(r, now))
      return;
    if (auto wait = policy_.wait_for_slot(now, waiting_.size())) {
      // A bulkhead's queue: the attempt waits for a slot (see
      // retry_waiters), at most `wait`.
      waiting_.push_back(r);
      waiting_for_slot_[r] = true;
      schedule(now + *wait, event_kind::slot_wait_over, r);
      return;
    }
    refuse(r, now);
  }

  // Nothing was sent: round robin stays where it was.
  void refuse(std::uint32_t r, time_point now) {
    end(r,
        run_.requests[r].attempts == 0 ? request_end::rejected_locally
                                       : request_end::retry_refused,
        now);
  }

  // An attempt ended, so a slot may have freed: the attempts waiting for
  // one ask again, oldest first, until one is refused (the later ones would
  // find the same slots taken).
  void retry_waiters(time_point now) {
    if (retrying_waiters_)
      return; // the outer loop goes on with the next waiter
    retrying_waiters_ = true;
    while (!waiting_.empty()) {
      auto r = waiting_.front();
      if (!route_and_send(r, now))
        break;
      // route_and_send may have answered (an error window) and so come back
      // here; the front is still r.
      waiting_.pop_front();
      waiting_for_slot_[r] = false;
    }
    retrying_waiters_ = false;
  }

  void on_slot_wait_over(std::uint32_t r, time_point now) {
    if (!waiting_for_slot_[r])
      return; // it went already
    waiting_for_slot_[r] = false;
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), r));
    // Asked once more now its wait is over (a breaker may have closed in
    // the meantime), then rejected.
    if (!route_and_send(r, now))
      refuse(r, now);
  }

  // Routes request r's next attempt and sends it; false if the policy
  // refused it (nothing happened then).
  bool route_and_send(std::uint32_t r, time_point now) {
    auto& req = run_.requests[r];
    attempt_info info;
    info.attempt = req.attempts + 1;
    info.server = static_cast<std::uint32_t>(next_server_ % servers_.size());
    info.servers = static_cast<std::uint32_t>(servers_.size());
    info.previous_server =
      req.attempts == 0 ? attempt_info::no_server : last_server_[r];
    info.timeout = cfg_.attempt_timeout;
    auto routed = policy_.route_attempt(now, info);
    if (!routed || *routed >= servers_.size())
      return false;
    auto srv = *routed;
    ++next_server_;
    last_server_[r] = srv;
    auto a = static_cast<std::uint32_t>(run_.attempts.size());
    attempt_record rec;
    rec.request = r;
    rec.number = ++req.attempts;
    rec.server = srv;
    rec.sent = now;
    run_.attempts.push_back(rec);
    open_.push_back(true);
    schedule(now + cfg_.attempt_timeout, event_kind::attempt_timeout, a);
    auto& s = servers_[rec.server];
    if (in_error_window(s, now)) {
      answer(a, attempt_outcome::error, now);
    } else if (s.control) {
      queue_item item;
      item.id = a;
      item.arrival = now;
      item.deadline = now + cfg_.attempt_timeout;
      item.crit = criticality::standard;
      s.control->push(item, now, verdicts_);
      settle(rec.server, now);
    } else if (s.busy < s.cfg.workers) {
      start(rec.server, a, now);
    } else if (s.cfg.max_queue != 0 && s.queue.size() >= s.cfg.max_queue) {
      answer(a, attempt_outcome::error, now, true);
    } else {
      s.queue.push_back(a);
    }
    return true;
  }

  static bool in_error_window(const server& s, time_point now) noexcept {
    return now >= s.cfg.error_start && now < s.cfg.error_end;
  }

  void start(std::uint32_t srv, std::uint32_t a, time_point now) {
    auto& s = servers_[srv];
    ++s.busy;
    auto mean = static_cast<double>(s.cfg.mean_service.count());
    schedule(now + exponential(s.gen, mean), event_kind::service_done, a, srv);
  }

  /// Under overload control: answers what the queue decided (shed and
  /// dropped jobs get an error at once), starts jobs on free workers, and
  /// keeps one wakeup event pending for the queue's next deadline.
  void settle(std::uint32_t srv, time_point now) {
    auto& s = servers_[srv];
    auto& q = *s.control;
    for (;;) {
      answer_verdicts(now);
      if (s.busy >= s.cfg.workers)
        break;
      auto next = q.pop(now, verdicts_);
      answer_verdicts(now);
      if (!next)
        break;
      if (in_error_window(s, now))
        answer(static_cast<std::uint32_t>(next->id), attempt_outcome::error,
               now);
      else
        start(srv, static_cast<std::uint32_t>(next->id), now);
    }
    auto wake = q.next_wakeup();
    if (wake < s.wakeup_scheduled) {
      s.wakeup_scheduled = wake;
      schedule(std::max(wake, now), event_kind::queue_wakeup, 0, srv);
    }
  }

  void answer_verdicts(time_point now) {
    // answer() may not push verdicts, but take them out first anyway.
    std::vector<queue_verdict> xs;
    xs.swap(verdicts_);
    for (auto& v : xs) {
      if (v.outcome == queue_outcome::shed)
        ++run_.shed;
      else
        ++run_.dropped_expired;
      answer(static_cast<std::uint32_t>(v.id), attempt_outcome::error, now,
             true);
    }
  }

  void on_queue_wakeup(std::uint32_t srv, time_point now) {
    auto& s = servers_[srv];
    if (!s.control)
      return;
    if (now >= s.wakeup_scheduled)
      s.wakeup_scheduled = no_deadline;
    s.control->tick(now, verdicts_);
    settle(srv, now);
  }

  void on_service_done(std::uint32_t srv, std::uint32_t a, time_point now) {
    auto& s = servers_[srv];
    --s.busy;
    ++run_.served;
    if (!open_[a])
      ++run_.late_completions; // its caller gave up: wasted work
    answer(a, attempt_outcome::success, now);
    if (s.control) {
      settle(srv, now);
      return;
    }
    while (s.busy < s.cfg.workers && !s.queue.empty()) {
      auto next = s.queue.front();
      s.queue.pop_front();
      if (in_error_window(s, now))
        answer(next, attempt_outcome::error, now);
      else
        start(srv, next, now);
    }
  }

  void on_error_window_start(std::uint32_t srv, time_point now) {
    auto& s = servers_[srv];
    if (s.control) {
      // Everything queued is answered with an error (as in fifo mode).
      while (auto x = s.control->pop(now, verdicts_)) {
        answer_verdicts(now);
        answer(static_cast<std::uint32_t>(x->id), attempt_outcome::error, now);
      }
      answer_verdicts(now);
      return;
    }
    while (!s.queue.empty()) {
      auto a = s.queue.front();
      s.queue.pop_front();
      answer(a, attempt_outcome::error, now);
    }
  }

  // The client learns an attempt's outcome; answers to attempts that
  // already timed out go nowhere.
  // `overloaded`: the error is the server refusing work (shed, dropped, a
  // full queue).
  void answer(std::uint32_t a, attempt_outcome outcome, time_point now,
              bool overloaded = false) {
    if (!open_[a])
      return;
    open_[a] = false;
    auto& rec = run_.attempts[a];
    rec.ended = now;
    rec.outcome = outcome;
    policy_.observe(now, attempt_report{outcome, rec.number, now - rec.sent,
                                        rec.server, overloaded});
    auto r = rec.request;
    retry_waiters(now);
    if (outcome == attempt_outcome::success) {
      end(r, request_end::succeeded, now);
      return;
    }
    auto made = run_.requests[r].attempts;
    if (made >= cfg_.max_attempts) {
      end(r, request_end::attempts_exhausted, now);
      return;
    }
    auto delay = policy_.decide_retry(now, made);
    if (!delay) {
      end(r, request_end::retry_refused, now);
      return;
    }
    schedule(now + *delay, event_kind::retry, r);
  }

  void end(std::uint32_t r, request_end how, time_point now,
           bool admitted = true) {
    auto& req = run_.requests[r];
    req.end = now;
    req.how = how;
    ++ended_;
    if (admitted)
      policy_.request_ended(now, how == request_end::succeeded);
  }

  const model_config& cfg_;
  client_policy& policy_;
  rng arrivals_;
  time_point phases_end_;
  std::vector<server> servers_;
  std::priority_queue<event, std::vector<event>, later> events_;
  std::uint64_t seq_ = 0;
  std::uint64_t next_server_ = 0;
  std::vector<bool> open_;
  /// Per request: the server of its latest attempt.
  std::vector<std::uint32_t> last_server_;
  /// Requests whose next attempt waits for a slot (wait_for_slot), oldest
  /// first, and per request whether it is among them.
  std::deque<std::uint32_t> waiting_;
  std::vector<bool> waiting_for_slot_;
  bool retrying_waiters_ = false;
  std::vector<queue_verdict> verdicts_;
  std::size_t ended_ = 0;
  bool arrivals_done_ = false;
  time_point next_sample_{};
  model_run run_;
};

} // namespace

model_run run_model(const model_config& cfg, client_policy& policy) {
  if (cfg.servers.empty())
    throw std::invalid_argument("metastable model: no server");
  for (auto& s : cfg.servers)
    if (s.workers == 0 || s.mean_service <= duration{0})
      throw std::invalid_argument(
        "metastable model: a server needs a worker and a service time > 0");
  if (cfg.max_attempts == 0)
    throw std::invalid_argument("metastable model: max_attempts must be >= 1");
  if (cfg.attempt_timeout <= duration{0} || cfg.bucket <= duration{0})
    throw std::invalid_argument(
      "metastable model: attempt_timeout and bucket must be > 0");
  for (auto& p : cfg.phases)
    if (!(p.rate_per_s >= 0) || p.length < duration{0})
      throw std::invalid_argument("metastable model: phase '" + p.name
                                  + "' needs a rate >= 0 and a length >= 0");
  simulation sim{cfg, policy};
  return sim.run();
}

} // namespace bulwark::bench::model
