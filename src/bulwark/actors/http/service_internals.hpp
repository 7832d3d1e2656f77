// Internal to http_service's translation units (http_service.cpp and the
// route actors split out of it: ledger_route, shared_ledger_route,
// route_queue); not part of bulwark's API and installed nowhere. It declares
// what those route actors share with the service: the core that holds every
// admitted request until it is answered exactly once (service_core), the
// live incarnation of a route's actor (route_cell), the bridge actor that
// calls it, the journal slot, the private atoms and the answer helpers. It
// exists only so that the route actors can live in their own files; they
// were in http_service.cpp's anonymous namespace before.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/ledger/recorded_response.hpp"
#include "bulwark/runtime/objective/objective_tracker.hpp"

namespace bulwark::service_detail {

namespace http = boost::beast::http;

// Atoms private to the service's actors (at most 10 characters).
using svc_req_atom = caf::atom_constant<caf::atom("svc_req")>;
using svc_done_atom = caf::atom_constant<caf::atom("svc_done")>;
using svc_late_atom = caf::atom_constant<caf::atom("svc_late")>;
using svc_exp_atom = caf::atom_constant<caf::atom("svc_exp")>;
using svc_nop_atom = caf::atom_constant<caf::atom("svc_nop")>;
using svc_keep_atom = caf::atom_constant<caf::atom("svc_keep")>;

// -- responses ------------------------------------------------------------------

/// The service's own error answers.
service_response service_error(std::int32_t status, std::string_view message);

/// The recorded answer (bulwark/actors/ledger/recorded_response.hpp) with
/// a status Beast can write: one outside 100..999 becomes 500.
recorded_response answer_of(const service_response& x);

http_response to_http(const recorded_response& r);

http_response to_http(const service_response& x);

// -- durable ledger -------------------------------------------------------------

/// A route's journal, shared by its ledger actor and the service: `stop()`
/// closes it (releasing the file lock at once, so a new service in the same
/// process can open the file), and an execution that finishes after that is
/// not recorded (its answer was already given by the shutdown; its in-memory
/// effect ends with the service).
struct journal_slot {
  std::mutex mtx;
  std::unique_ptr<ledger_journal> journal;

  /// False when the journal was closed by `stop()`. A write or sync failure
  /// aborts the process: answering success without a durable record would
  /// let the key execute again after a restart (a double charge), and
  /// answering an error would be a lie about a side effect that happened.
  /// A crash is the one outcome the journal is designed for.
  bool append(const journal_record& r) {
    std::lock_guard<std::mutex> guard{mtx};
    if (!journal)
      return false;
    try {
      journal->append(r);
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "bulwark http_service: %s; aborting: an answer without a "
                   "durable ledger record could execute the key twice after "
                   "a restart\n",
                   e.what());
      std::fflush(stderr);
      std::abort();
    }
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> guard{mtx};
    journal.reset();
  }
};

using journal_ptr = std::shared_ptr<journal_slot>;

// -- the shared core: admitted requests and their responders --------------------

struct counters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> dispatched{0};
  std::atomic<std::uint64_t> not_found{0};
  std::atomic<std::uint64_t> method_not_allowed{0};
  std::atomic<std::uint64_t> bad_requests{0};
  std::atomic<std::uint64_t> expired_on_arrival{0};
  std::atomic<std::uint64_t> overloaded{0};
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> unavailable{0};
  std::atomic<std::uint64_t> shut_down{0};
  std::atomic<std::uint64_t> ledger_executed{0};
  std::atomic<std::uint64_t> route_failures{0};
  std::atomic<std::uint64_t> route_restarts{0};
  std::atomic<std::uint64_t> ledger_duplicates{0};
  std::atomic<std::uint64_t> ledger_waits{0};
  std::atomic<std::uint64_t> ledger_rejected{0};
  std::atomic<std::uint64_t> ledger_replayed{0};
  std::atomic<std::uint64_t> ledger_journaled{0};
  std::atomic<std::uint64_t> shed_critical{0};
  std::atomic<std::uint64_t> shed_standard{0};
  std::atomic<std::uint64_t> shed_sheddable{0};
  std::atomic<std::uint64_t> expired_in_queue{0};
  std::atomic<std::uint64_t> started_newest_first{0};
  std::atomic<std::uint64_t> preliminary_answers{0};
  std::atomic<std::uint64_t> finals_fetched{0};
  std::atomic<std::uint64_t> finals_expired{0};
  /// Gauges kept by the route queue actors (each adds and removes only its
  /// own share).
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> overloaded_routes{0};
};

// -- progressive answers ----------------------------------------------------------

/// How an admitted request's answers reach its client.
enum class answer_mode : std::uint8_t {
  /// The final answer only (a preliminary is ignored).
  final_only,
  /// A Server-Sent Events stream: the preliminary, then the final event.
  sse,
  /// A stream of JSON lines: the preliminary, then the final document.
  ndjson,
  /// The preliminary as the response, the final kept for a later GET.
  final_link,
};

/// @relates answer_mode
std::string to_string(answer_mode x);

/// A preliminary answer's reason and age, from its `Bulwark-Preliminary`
/// header, checked: the reason is a short [a-z0-9_] token ("unknown"
/// otherwise), the age whole milliseconds (-1 when absent or bad).
struct preliminary_info {
  std::string reason = "unknown";
  std::int64_t age_ms = -1;

  std::string header_value() const {
    return age_ms >= 0 ? reason + "; age=" + std::to_string(age_ms) : reason;
  }
};

/// Takes `Bulwark-Preliminary` out of `res` and returns what it said.
preliminary_info take_preliminary_info(service_response& res);

/// The bytes of one answer in a stream of `mode`.
std::string stream_piece(answer_mode mode, const http_response& res,
                         const preliminary_info* info);

http_response stream_head(answer_mode mode);

/// The finals of plain progressive answers, by token, until fetched or
/// expired. Bounded by count (the oldest token goes first) and by time.
class final_store {
 public:
  enum class state { unknown, pending, ready };

  final_store(final_store_options opts, std::atomic<std::uint64_t>& expired)
    : opts_(opts),
      expired_(expired) {}

  /// A new token for a final that is not there yet; `deadline` is when the
  /// request is answered at the latest.
  std::string open(time_point now, time_point deadline) {
    std::lock_guard<std::mutex> guard{mtx_};
    purge(now);
    std::string token;
    do {
      token = new_token();
    } while (entries_.count(token) > 0);
    entries_.emplace(token, entry{std::nullopt, deadline + ttl()});
    order_.push_back(token);
    while (entries_.size() > opts_.max_entries)
      evict_oldest();
    return token;
  }

  /// Keeps `res` for `token` (nothing when the token was evicted).
  void put(const std::string& token, http_response res, time_point now) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = entries_.find(token);
    if (i == entries_.end())
      return;
    i->second.final = std::move(res);
    i->second.expires = now + ttl();
  }

  /// What `token` has; `out` gets a copy of the final when ready.
  state get(const std::string& token, time_point now, http_response& out) {
    std::lock_guard<std::mutex> guard{mtx_};
    purge(now);
    auto i = entries_.find(token);
    if (i == entries_.end())
      return state::unknown;
    if (i->second.expires <= now) {
      entries_.erase(i);
      ++expired_;
      return state::unknown;
    }
    if (!i->second.final)
      return state::pending;
    out = *i->second.final;
    return state::ready;
  }

 private:
  struct entry {
    std::optional<http_response> final;
    time_point expires;
  };

  duration ttl() const {
    return std::chrono::duration_cast<duration>(opts_.ttl);
  }

  // 128 random bits as 32 lowercase hex digits: not guessable, unlike the
  // seeded generators (std::random_device reads the kernel's entropy).
  std::string new_token() {
    static constexpr char hex[] = "0123456789abcdef";
    std::string token;
    token.reserve(32);
    for (int i = 0; i < 4; ++i) {
      auto word = static_cast<std::uint32_t>(random_());
      for (int shift = 28; shift >= 0; shift -= 4)
        token += hex[(word >> shift) & 0xf];
    }
    return token;
  }

  void evict_oldest() {
    while (!order_.empty()) {
      auto token = std::move(order_.front());
      order_.pop_front();
      if (entries_.erase(token) > 0) {
        ++expired_;
        return;
      }
    }
  }

  /// Drops expired tokens at the front, and the names of tokens already
  /// gone, so `order_` stays near the entries' count.
  void purge(time_point now) {
    while (!order_.empty()) {
      auto i = entries_.find(order_.front());
      if (i != entries_.end()) {
        if (i->second.expires > now)
          break;
        entries_.erase(i);
        ++expired_;
      }
      order_.pop_front();
    }
    if (order_.size() > 2 * entries_.size() + 16) {
      std::deque<std::string> kept;
      for (auto& t : order_)
        if (entries_.count(t) > 0)
          kept.push_back(std::move(t));
      order_.swap(kept);
    }
  }

  final_store_options opts_;
  std::atomic<std::uint64_t>& expired_;
  std::mutex mtx_;
  std::random_device random_;
  std::unordered_map<std::string, entry> entries_;
  std::deque<std::string> order_;
};

/// Every admitted request has one entry here until it is answered; whoever
/// answers first (route, deadline timer, shutdown) removes it, so each
/// request is answered exactly once whatever races.
struct service_core {
  std::size_t max_in_flight = 0;
  std::chrono::seconds retry_after{1};
  overload_signal signal = overload_signal::retries;
  counters count;

  std::mutex mtx;
  std::condition_variable cv;
  struct pending_request {
    http_responder respond;
    // Admission, for the latency objective.
    time_point since;
    answer_mode mode = answer_mode::final_only;
    // The request's deadline (the latest its final arrives).
    time_point deadline;
    bool preliminary_sent = false;
    // final_link after the preliminary: where the final goes.
    std::string token;
  };
  std::unordered_map<std::uint64_t, pending_request> pending;
  std::uint64_t next_id = 1;
  bool stopping = false;
  // The service's objectives (counts under `mtx`; the config is set before
  // the service starts and never changes): every answer counts, the 503s
  // of admission included; a 5xx fails availability.
  objective_tracker objective;
  // Finals of plain progressive answers; set before the service starts.
  std::unique_ptr<final_store> finals;

  /// Counts one answer; needs `mtx`. (The tracker ignores it while off.)
  void count_answer(unsigned status, time_point since, time_point now) {
    objective.record(status < 500, now - since, now);
  }

  /// Counts an answer given outside `finish` (admission's 503s).
  void count_answer(unsigned status) {
    if (!objective.config().enabled)
      return;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> guard{mtx};
    count_answer(status, now, now);
  }

  objective_stats objective_snapshot() {
    std::lock_guard<std::mutex> guard{mtx};
    return objective.snapshot(std::chrono::steady_clock::now());
  }

  enum class admission { admitted, overloaded, stopping };

  admission admit(const http_responder& respond, std::uint64_t& id,
                  answer_mode mode = answer_mode::final_only,
                  time_point deadline = time_point{}) {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopping)
      return admission::stopping;
    if (pending.size() >= max_in_flight)
      return admission::overloaded;
    id = next_id++;
    pending_request p;
    p.respond = respond;
    p.since = std::chrono::steady_clock::now();
    p.mode = mode;
    p.deadline = deadline;
    pending.emplace(id, std::move(p));
    return admission::admitted;
  }

  /// A route actor's preliminary answer for `id`: sent at most once, and
  /// only while the final has not been (both under `mtx`, so the final
  /// always comes after it). Ignored for a request without progressive
  /// answers.
  void preliminary(std::uint64_t id, service_response res) {
    std::lock_guard<std::mutex> guard{mtx};
    auto i = pending.find(id);
    if (i == pending.end())
      return;
    auto& p = i->second;
    if (p.mode == answer_mode::final_only || p.preliminary_sent)
      return;
    p.preliminary_sent = true;
    ++count.preliminary_answers;
    auto info = take_preliminary_info(res);
    if (p.mode == answer_mode::final_link) {
      auto now = std::chrono::steady_clock::now();
      p.token = finals->open(now, p.deadline);
      auto answer = to_http(res);
      answer.set(preliminary_header, info.header_value());
      answer.set(http::field::link, "<" + std::string{final_path_prefix}
                                      + p.token + ">; rel=\"bulwark-final\"");
      answer.set(http::field::cache_control, "no-store");
      p.respond.respond(std::move(answer));
      return;
    }
    p.respond.start_stream(stream_head(p.mode));
    p.respond.write(stream_piece(p.mode, to_http(res), &info));
  }

  /// Sends the final answer `res` the way `p` needs it.
  void deliver(pending_request& p, http_response res) {
    switch (p.mode) {
      case answer_mode::final_only:
        break;
      case answer_mode::sse:
        // An EventSource client gets a stream even when the final came
        // first: one shape for its code.
        if (!p.preliminary_sent)
          p.respond.start_stream(stream_head(p.mode));
        p.respond.write(stream_piece(p.mode, res, nullptr));
        p.respond.finish();
        return;
      case answer_mode::ndjson:
        if (!p.preliminary_sent)
          break;
        p.respond.write(stream_piece(p.mode, res, nullptr));
        p.respond.finish();
        return;
      case answer_mode::final_link:
        if (!p.preliminary_sent)
          break;
        res.set(final_header, "1");
        finals->put(p.token, std::move(res), std::chrono::steady_clock::now());
        return;
    }
    p.respond.respond(std::move(res));
  }

  bool is_stopping() {
    std::lock_guard<std::mutex> guard{mtx};
    return stopping;
  }

  /// Answers `id` unless something answered it already; then also bumps
  /// `counter` (before the answer leaves, so a client that got it sees it).
  bool finish(std::uint64_t id, http_response res,
              std::atomic<std::uint64_t>* counter = nullptr) {
    pending_request p;
    {
      std::lock_guard<std::mutex> guard{mtx};
      auto i = pending.find(id);
      if (i == pending.end())
        return false;
      p = std::move(i->second);
      count_answer(res.result_int(), p.since, std::chrono::steady_clock::now());
      pending.erase(i);
      cv.notify_all();
    }
    if (counter)
      ++*counter;
    deliver(p, std::move(res));
    return true;
  }

  bool finish(std::uint64_t id, const service_response& x,
              std::atomic<std::uint64_t>* counter = nullptr) {
    return finish(id, to_http(x), counter);
  }

  void finish_late(std::uint64_t id) {
    finish(id, service_error(504, "deadline exceeded"), &count.timed_out);
  }

  service_response unavailable_answer(std::string_view message) const {
    auto res = service_error(503, message);
    res.retry_after = retry_after;
    return res;
  }

  /// Stops admitting, waits up to `grace` for admitted requests, answers
  /// the rest 503.
  void drain(std::chrono::milliseconds grace) {
    std::unordered_map<std::uint64_t, pending_request> rest;
    auto res = to_http(unavailable_answer("service is shutting down"));
    {
      std::unique_lock<std::mutex> lock{mtx};
      cv.wait_for(lock, grace, [this] { return pending.empty(); });
      rest.swap(pending);
      auto now = std::chrono::steady_clock::now();
      for (auto& [id, p] : rest)
        count_answer(res.result_int(), p.since, now);
    }
    for (auto& [id, p] : rest) {
      ++count.shut_down;
      deliver(p, res);
    }
  }

  std::size_t in_flight() {
    std::lock_guard<std::mutex> guard{mtx};
    return pending.size();
  }
};

using core_ptr = std::shared_ptr<service_core>;

// -- route cells: the live incarnation of a route's actor -----------------------

/// The actor that answers a route now. A fixed route (`route(..., caf::actor)`)
/// keeps its actor; a route built from a factory gets a new incarnation from
/// the service's keeper whenever its actor dies (an exception in a CAF
/// handler always ends the actor in CAF 0.17), so one bad request never takes
/// the route out of service.
struct route_cell {
  mutable std::mutex mtx;
  caf::actor current;
  /// Empty for a fixed actor.
  route_actor_factory make;

  caf::actor get() const {
    std::lock_guard<std::mutex> guard{mtx};
    return current;
  }

  void set(caf::actor x) {
    std::lock_guard<std::mutex> guard{mtx};
    current = std::move(x);
  }
};

using cell_ptr = std::shared_ptr<route_cell>;

/// Text from outside (an exception's what(), a CAF error) made safe to put
/// into an answer: one line, valid UTF-8, bounded.
std::string safe_text(std::string_view x);

// -- bridge: one short-lived actor per call of a route actor --------------------

/// How a call of a route actor ended.
enum class call_end : std::uint8_t {
  answered,
  timed_out,
  /// The route actor was gone or died before answering.
  down,
  /// The service stops.
  shut_down,
  /// Any other error (the actor did not understand the message, ...).
  failed,
};

/// @relates call_end
std::string to_string(call_end x);

using call_callback = std::function<void(call_end, service_response)>;

/// Gets a route actor's preliminary answer; empty where none is expected.
using preliminary_callback = std::function<void(service_response)>;

/// Asks `target` once, with a timeout, and reports to `done`. One actor per
/// call: CAF 0.17's request/then bookkeeping grows with the requests in
/// flight of ONE actor, and a monitor per call turns a dying route actor
/// into an answer even when it held the request in a response promise.
/// The bridge demonitors both actors before it quits: CAF 0.17 does not
/// remove an actor's monitors when it terminates, and each one left behind
/// on the (long-lived) anchor and route actor holds a weak reference that
/// keeps the dead bridge's whole actor storage (~1.2 KB) allocated until
/// that actor dies, i.e. a leak of ~1.2 KB per request (issue #7).
caf::behavior bridge_actor(caf::event_based_actor* self, caf::actor anchor,
                           caf::actor target, service_request req,
                           duration timeout, call_callback done,
                           preliminary_callback on_preliminary);

/// What a bridge does with a route actor's preliminary answer for request
/// `id`: hands it to the core on a progressive route, nothing elsewhere (no
/// callback to build per request).
preliminary_callback relay_preliminary(const core_ptr& core, std::uint64_t id,
                                       bool progressive);

/// Answers `id` for a call that ended as `how`; counts the outcome only when
/// this answer is the one the client gets (a deadline timer or the shutdown
/// may have answered first).
void finish_call(service_core& core, std::uint64_t id, call_end how,
                 service_response res);

/// Callers' deadlines (when, request id), earliest on top. A route actor
/// serves them with ONE pending `svc_late` message for the earliest: a
/// delayed message per request would sit in CAF's clock (256 bytes
/// measured) until its deadline however early the request was answered; an
/// entry here is 16 bytes.
using late_queue =
  std::priority_queue<std::pair<time_point, std::uint64_t>,
                      std::vector<std::pair<time_point, std::uint64_t>>,
                      std::greater<>>;

/// Sends one `svc_late` to `self` for the earliest entry of
/// `self->state.late` unless one due no later is pending already
/// (`self->state.late_scheduled`).
template <class Self>
void arm_late(Self self, time_point now) {
  auto& st = self->state;
  if (st.late.empty())
    return;
  auto next = st.late.top().first;
  if (next >= st.late_scheduled)
    return;
  st.late_scheduled = next;
  self->delayed_send(self, std::max(duration{0}, next - now),
                     svc_late_atom::value);
}

/// @relates final_store::state
std::string to_string(final_store::state x);

/// @relates service_core::admission
std::string to_string(service_core::admission x);

} // namespace bulwark::service_detail
