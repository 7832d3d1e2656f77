#include "bulwark/actors/http/http_service.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/beast/core/string.hpp>
#include <boost/json/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <caf/actor_system.hpp>
#include <caf/all.hpp>

#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/ledger/recorded_response.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/core/utf8.hpp"
#include "bulwark/runtime/ledger/idempotency_ledger.hpp"
#include "bulwark/runtime/objective/objective_tracker.hpp"

namespace bulwark {

namespace http = boost::beast::http;

namespace {

// Atoms private to the service's actors (at most 10 characters).
using svc_req_atom = caf::atom_constant<caf::atom("svc_req")>;
using svc_done_atom = caf::atom_constant<caf::atom("svc_done")>;
using svc_late_atom = caf::atom_constant<caf::atom("svc_late")>;
using svc_exp_atom = caf::atom_constant<caf::atom("svc_exp")>;
using svc_nop_atom = caf::atom_constant<caf::atom("svc_nop")>;
using svc_keep_atom = caf::atom_constant<caf::atom("svc_keep")>;

// -- responses ------------------------------------------------------------------

/// The service's own error answers.
service_response service_error(std::int32_t status, std::string_view message) {
  return error_reply(status, message);
}

/// The recorded answer (bulwark/actors/ledger/recorded_response.hpp) with
/// a status Beast can write: one outside 100..999 becomes 500.
recorded_response answer_of(const service_response& x) {
  auto r = record_of(x);
  if (r.status < 100 || r.status > 999)
    r.status = 500;
  return r;
}

http_response to_http(const recorded_response& r) {
  http_response res;
  res.version(11);
  res.result(static_cast<unsigned>(r.status));
  if (!r.content_type.empty())
    res.set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers)
    res.insert(name, value);
  res.body() = r.body;
  return res;
}

http_response to_http(const service_response& x) {
  return to_http(answer_of(x));
}

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

service_request replayed_request(const journal_record& r) {
  service_request req;
  req.method = r.method;
  req.path = r.path;
  req.query = r.query;
  req.body = r.request_body;
  req.idempotency_key = r.key;
  return req;
}

service_response replayed_response(const journal_record& r) {
  service_response res;
  res.status = r.status;
  res.content_type = r.content_type;
  res.headers = r.headers;
  res.body = r.body;
  return res;
}

// The same bounds as /dependencies/*/objective (objective_config.hpp).
void check_objective(const objective_config& cfg) {
  auto in_range = [](double x) { return x >= 0.5 && x <= 0.99999; };
  if (!in_range(cfg.availability) || !in_range(cfg.latency))
    throw std::invalid_argument("http_service: objective targets must be "
                                "between 0.5 and 0.99999");
  if (cfg.latency_threshold < duration{0} || cfg.latency_threshold > hours(1))
    throw std::invalid_argument("http_service: objective latency_threshold "
                                "must be between 0 and 1h");
}

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

bool is_reason_token(std::string_view x) {
  if (x.empty() || x.size() > 32)
    return false;
  return std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

/// Takes `Bulwark-Preliminary` out of `res` and returns what it said.
preliminary_info take_preliminary_info(service_response& res) {
  preliminary_info info;
  auto& hs = res.headers;
  auto i = std::find_if(hs.begin(), hs.end(), [](const auto& h) {
    return boost::beast::iequals(h.first, preliminary_header);
  });
  if (i == hs.end())
    return info;
  std::string_view value = i->second;
  auto semi = value.find(';');
  auto reason = value.substr(0, semi);
  while (!reason.empty() && reason.back() == ' ')
    reason.remove_suffix(1);
  if (is_reason_token(reason))
    info.reason = std::string{reason};
  if (semi != std::string_view::npos) {
    auto rest = value.substr(semi + 1);
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);
    if (rest.substr(0, 4) == "age=") {
      auto digits = rest.substr(4);
      std::int64_t ms = 0;
      auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), ms);
      if (ec == std::errc{} && end == digits.data() + digits.size()
          && !digits.empty() && ms >= 0)
        info.age_ms = ms;
    }
  }
  hs.erase(std::remove_if(hs.begin(), hs.end(),
                          [](const auto& h) {
                            return boost::beast::iequals(h.first,
                                                         preliminary_header);
                          }),
           hs.end());
  return info;
}

/// One answer as a single-line JSON document: `{"preliminary": .., "status":
/// .., ["reason": .., "age_ms": ..,] "body": ..}`. A JSON body is embedded
/// as a value, any other body as a string; serialization escapes CR and LF,
/// so a body can never break the line (or the SSE event) it travels in.
std::string progressive_document(const http_response& res,
                                 const preliminary_info* info) {
  boost::json::object doc;
  doc["preliminary"] = info != nullptr;
  doc["status"] = res.result_int();
  if (info) {
    doc["reason"] = info->reason;
    if (info->age_ms >= 0)
      doc["age_ms"] = info->age_ms;
    else
      doc["age_ms"] = nullptr;
  }
  auto ct = res[http::field::content_type];
  std::string_view type{ct.data(), ct.size()};
  bool embedded = false;
  if (boost::beast::iequals(type.substr(0, 16), "application/json")) {
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body(), ec);
    if (!ec) {
      doc["body"] = std::move(v);
      embedded = true;
    }
  }
  if (!embedded)
    doc["body"] = res.body();
  return boost::json::serialize(doc);
}

/// The bytes of one answer in a stream of `mode`.
std::string stream_piece(answer_mode mode, const http_response& res,
                         const preliminary_info* info) {
  auto doc = progressive_document(res, info);
  if (mode == answer_mode::sse)
    return std::string{"event: "} + (info ? "preliminary" : "final")
           + "\ndata: " + doc + "\n\n";
  return doc + "\n";
}

http_response stream_head(answer_mode mode) {
  http_response head{http::status::ok, 11};
  head.set(http::field::content_type, mode == answer_mode::sse
                                        ? "text/event-stream"
                                        : "application/x-ndjson");
  head.set(http::field::cache_control, "no-store");
  return head;
}

/// Whether the Accept value lists `type` (parameters and case ignored; a
/// `q=0` is not honoured: a client that refuses the stream asks for none).
bool accepts(std::string_view accept, std::string_view type) {
  while (!accept.empty()) {
    auto comma = accept.find(',');
    auto item = accept.substr(0, comma);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (boost::beast::iequals(item, type))
      return true;
    if (comma == std::string_view::npos)
      break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

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
std::string safe_text(std::string_view x) {
  constexpr std::size_t max_len = 200;
  return printable_utf8(x, max_len);
}

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
                           preliminary_callback on_preliminary) {
  auto finished = std::make_shared<bool>(false);
  auto finish = [self, done, finished, anchor_addr = anchor.address(),
                 target_addr = target.address()](call_end how,
                                                 service_response res) {
    if (*finished)
      return;
    *finished = true;
    done(how, std::move(res));
    self->demonitor(anchor_addr);
    self->demonitor(target_addr);
    self->quit();
  };
  self->monitor(anchor);
  self->monitor(target);
  self->set_down_handler(
    [finish, anchor_addr = anchor.address()](caf::down_msg& msg) {
      if (msg.source == anchor_addr)
        finish(call_end::shut_down, {});
      else
        finish(call_end::down, {});
    });
  self->request(target, timeout, std::move(req))
    .then(
      [finish](service_response& res) {
        finish(call_end::answered, std::move(res));
      },
      [finish](caf::error& err) {
        if (err == caf::sec::request_timeout)
          finish(call_end::timed_out, {});
        else if (err == caf::sec::request_receiver_down)
          finish(call_end::down, {});
        else
          finish(call_end::failed,
                 error_reply(500, "route actor failed: "
                                    + safe_text(to_string(err))));
      });
  // Keeps the actor alive until `finish` quits it. A route actor's
  // preliminary answer (before its response) is passed on; the core sends
  // at most one per request, and none after the final.
  return {[](svc_nop_atom) {},
          [finished, on_preliminary](preliminary_atom, service_response& res) {
            if (!*finished && on_preliminary)
              on_preliminary(std::move(res));
          }};
}

/// What a bridge does with a route actor's preliminary answer for request
/// `id`: hands it to the core on a progressive route, nothing elsewhere (no
/// callback to build per request).
preliminary_callback relay_preliminary(const core_ptr& core, std::uint64_t id,
                                       bool progressive) {
  if (!progressive)
    return {};
  return
    [core, id](service_response r) { core->preliminary(id, std::move(r)); };
}

/// Answers `id` for a call that ended as `how`; counts the outcome only when
/// this answer is the one the client gets (a deadline timer or the shutdown
/// may have answered first).
void finish_call(service_core& core, std::uint64_t id, call_end how,
                 service_response res) {
  switch (how) {
    case call_end::answered:
      core.finish(id, res);
      return;
    case call_end::failed:
      core.finish(id, res, &core.count.route_failures);
      return;
    case call_end::timed_out:
      core.finish_late(id);
      return;
    case call_end::down:
      core.finish(id, core.unavailable_answer("route actor is not running"),
                  &core.count.unavailable);
      return;
    case call_end::shut_down:
      core.finish(id, core.unavailable_answer("service is shutting down"),
                  &core.count.shut_down);
      return;
  }
}

// -- function routes ------------------------------------------------------------

/// An exception is the handler's failure, not the route's: the request gets
/// a 500 naming it, the actor lives on, and on a ledger route the answer is
/// marked not executed (a handler that threw committed nothing), so the key
/// is forgotten and a retry runs it again.
caf::behavior function_actor(caf::event_based_actor*, service_function fn,
                             core_ptr core) {
  return {[fn, core](service_request& req) -> service_response {
    auto failed = [&](std::string message) {
      ++core->count.route_failures;
      auto res = error_reply(500, message);
      res.not_executed = true;
      return res;
    };
    try {
      return fn(req);
    } catch (const std::exception& e) {
      return failed("handler failed: " + safe_text(e.what()));
    } catch (...) {
      return failed("handler failed");
    }
  }};
}

// -- ledger routes --------------------------------------------------------------

/// One actor per ledger route owns the route's ledger, so the ledger is only
/// ever touched from one thread at a time and needs no lock.
struct ledger_state {
  std::unique_ptr<idempotency_ledger> ledger;
  core_ptr core;
  caf::actor anchor;
  cell_ptr target;
  /// When the next `svc_exp` message is due (no_deadline: none scheduled).
  time_point expiry_scheduled = no_deadline;
  /// Callers' deadlines (deadline, request id), earliest on top, served by
  /// ONE pending `svc_late` message for the earliest: a delayed message per
  /// request would sit in CAF's clock (256 bytes measured) until its deadline,
  /// up to `request_timeout`, however early the request was answered; an
  /// entry here is 16 bytes. Answered requests stay until their deadline and
  /// are skipped then (`finish_late` finds nothing).
  std::priority_queue<std::pair<time_point, std::uint64_t>,
                      std::vector<std::pair<time_point, std::uint64_t>>,
                      std::greater<>>
    late;
  /// When the pending `svc_late` message is due (no_deadline: none).
  time_point late_scheduled = no_deadline;
  /// The route's journal, or null (in memory only).
  journal_ptr journal;
  /// With a journal: the request of each execution in flight, by ticket,
  /// to be recorded with its answer.
  std::unordered_map<ledger_ticket, journal_record> executing;

  static inline const char* name = "bulwark.service.ledger";
};

using ledger_self = caf::stateful_actor<ledger_state>*;

/// The arrival time of a request, on an io thread (no actor clock there).
/// Actors use their own clock: CAF's is steady_clock-based, so the two
/// agree in real runs, and the ledger's timers follow virtual time in tests.
time_point steady_now() {
  return std::chrono::steady_clock::now();
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

/// Sends one `svc_late` for the earliest deadline unless one that is due
/// no later is pending already.
void arm_late(ledger_self self, time_point now) {
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

// -- shared ledger routes: the replica side ------------------------------------

/// Internal: an execution for a shared-ledger route ended.
using svc_sdone_atom = caf::atom_constant<caf::atom("svc_sdone")>;

constexpr std::string_view owner_unreachable_text =
  "idempotency ledger unreachable";

/// One request of a shared-ledger route, by the id of its current begin.
struct shared_entry {
  enum class phase : std::uint8_t {
    /// Begin sent: no verdict yet, or a waiter.
    asking,
    /// Ticket held, the route actor runs it.
    executing,
    /// Executed commit sent, waiting for committed or stale.
    committing,
  };
  /// The service's request id (the one `finish` answers).
  std::uint64_t request = 0;
  phase at = phase::asking;
  std::string key;
  time_point deadline;
  /// Asking: the request to run; executing and committing: the request to
  /// journal (no headers, the owner keeps method, path, query, body).
  service_request req;
  std::uint64_t epoch = 0;
  std::uint64_t ticket = 0;
  /// The caller got 504 and the owner a cancel; an `execute` still in
  /// flight is given back (executed = false). Removed at `forget_at`.
  bool cancelled = false;
  time_point forget_at = no_deadline;
};

/// One actor per shared-ledger route: asks the owner for every request and
/// answers HTTP from the owner's verdicts. It is the owner's client (the
/// owner answers and monitors the sender), so it must outlive its
/// executions: if it died, the owner would abandon them.
struct shared_client_state {
  core_ptr core;
  caf::actor anchor;
  cell_ptr target;
  caf::actor owner;
  std::string route;
  duration exec_timeout{};
  /// Set by the owner's down message and never cleared: a key must not
  /// execute without a ticket, and a new owner needs a new route.
  bool owner_down = false;
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, shared_entry> entries;
  /// (when, begin id): callers' deadlines and the removal of cancelled
  /// entries, earliest first, served by one pending `svc_late`.
  std::priority_queue<std::pair<time_point, std::uint64_t>,
                      std::vector<std::pair<time_point, std::uint64_t>>,
                      std::greater<>>
    late;
  time_point late_scheduled = no_deadline;

  static inline const char* name = "bulwark.service.shared_ledger";
};

using shared_self = caf::stateful_actor<shared_client_state>*;

void shared_arm_late(shared_self self, time_point now) {
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

void shared_schedule(shared_self self, time_point when, std::uint64_t id,
                     time_point now) {
  self->state.late.emplace(when, id);
  shared_arm_late(self, now);
}

std::int64_t budget_ns_of(time_point deadline, time_point now) {
  if (deadline == no_deadline)
    return no_deadline_ns;
  auto left =
    std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
  return std::max<std::int64_t>(1, left.count());
}

/// Sends a begin for `e` under a fresh id (a retried key is a new begin).
void shared_begin(shared_self self, shared_entry e, time_point now) {
  auto& st = self->state;
  auto id = st.next_id++;
  ledger_begin msg;
  msg.id = id;
  msg.route = st.route;
  msg.key = e.key;
  msg.budget_ns = budget_ns_of(e.deadline, now);
  auto deadline = e.deadline;
  e.at = shared_entry::phase::asking;
  st.entries.emplace(id, std::move(e));
  self->send(st.owner, ledger_atom::value, std::move(msg));
  shared_schedule(self, deadline, id, now);
}

void shared_commit(shared_self self, std::uint64_t id, const shared_entry& e,
                   bool executed, service_response res) {
  auto& st = self->state;
  ledger_commit msg;
  msg.id = id;
  msg.route = st.route;
  msg.key = e.key;
  msg.epoch = e.epoch;
  msg.ticket = e.ticket;
  msg.executed = executed;
  if (executed) {
    msg.request = e.req;
    msg.response = std::move(res);
  }
  self->send(st.owner, commit_atom::value, std::move(msg));
}

/// The request without its headers: what the owner journals.
service_request journaled_request(const service_request& req) {
  service_request r;
  r.method = req.method;
  r.path = req.path;
  r.query = req.query;
  r.body = req.body;
  r.idempotency_key = req.idempotency_key;
  return r;
}

void shared_execute(shared_self self, std::uint64_t id, shared_entry& e) {
  auto& st = self->state;
  e.at = shared_entry::phase::executing;
  auto req = std::move(e.req);
  e.req = journaled_request(req);
  auto target = st.target->get();
  auto me = caf::actor_cast<caf::actor>(self);
  auto done = call_callback{[me, id](call_end how, service_response res) {
    caf::anon_send(me, svc_sdone_atom::value, id,
                   static_cast<std::uint8_t>(how), std::move(res));
  }};
  if (!target) {
    // A factory route whose factory failed: nothing ran.
    done(call_end::down, {});
    return;
  }
  self->spawn(bridge_actor, st.anchor, std::move(target), std::move(req),
              st.exec_timeout, std::move(done), preliminary_callback{});
}

/// The owner is gone: nothing may execute without its ticket, and no
/// execution can be recorded, so every request it holds is answered 503
/// now; executions still running are answered 503 when they end.
void shared_owner_down(shared_self self) {
  auto& st = self->state;
  st.owner_down = true;
  auto res = to_http(st.core->unavailable_answer(owner_unreachable_text));
  for (auto i = st.entries.begin(); i != st.entries.end();) {
    auto& e = i->second;
    if (e.at == shared_entry::phase::executing) {
      ++i;
      continue;
    }
    if (!e.cancelled)
      st.core->finish(e.request, res, &st.core->count.unavailable);
    i = st.entries.erase(i);
  }
}

void shared_on_begin_reply(shared_self self, std::uint64_t id, shared_entry& e,
                           ledger_reply& reply, time_point now) {
  auto& st = self->state;
  auto& core = *st.core;
  if (e.cancelled) {
    // The caller is gone: a ticket in flight is given back at once so the
    // key's other requests need not wait for the owner's timeout.
    if (reply.verdict == owner_verdict::execute) {
      e.epoch = reply.epoch;
      e.ticket = reply.ticket;
      shared_commit(self, id, e, false, {});
    }
    st.entries.erase(id);
    return;
  }
  switch (reply.verdict) {
    case owner_verdict::execute:
      e.epoch = reply.epoch;
      e.ticket = reply.ticket;
      shared_execute(self, id, e);
      return;
    case owner_verdict::duplicate_done:
      core.finish(e.request, to_http(reply.recorded),
                  &core.count.ledger_duplicates);
      break;
    case owner_verdict::rejected_full:
      core.finish(e.request,
                  core.unavailable_answer("idempotency ledger is full"),
                  &core.count.ledger_rejected);
      break;
    case owner_verdict::retry: {
      // The key's executor was abandoned: ask again with the same key while
      // the caller still waits (its deadline timer answers 504 otherwise).
      auto next = std::move(e);
      st.entries.erase(id);
      if (next.deadline > now)
        shared_begin(self, std::move(next), now);
      else
        core.finish_late(next.request);
      return;
    }
    case owner_verdict::invalid:
    case owner_verdict::committed:
    case owner_verdict::stale:
      // The key was checked at the edge, so a refused begin is a
      // configuration fault (e.g. the owner serves another route).
      core.finish(e.request,
                  service_error(500, "idempotency ledger refused the request"),
                  &core.count.route_failures);
      break;
  }
  st.entries.erase(id);
}

void shared_on_commit_reply(shared_self self, std::uint64_t id, shared_entry& e,
                            ledger_reply& reply) {
  auto& st = self->state;
  auto& core = *st.core;
  switch (reply.verdict) {
    case owner_verdict::committed:
      ++core.count.ledger_executed;
      core.finish(e.request, to_http(reply.recorded));
      break;
    case owner_verdict::stale:
      // The owner refused the record, so the execution does not count.
      core.finish(e.request,
                  core.unavailable_answer("the idempotency ledger refused "
                                          "this execution's record; retry"),
                  &core.count.unavailable);
      break;
    default:
      core.finish(e.request,
                  service_error(500, "the route's answer could not be "
                                     "recorded by the idempotency ledger"),
                  &core.count.route_failures);
      break;
  }
  st.entries.erase(id);
}

caf::behavior shared_ledger_client(shared_self self, core_ptr core,
                                   caf::actor anchor, cell_ptr target,
                                   shared_ledger_options opts) {
  auto& st = self->state;
  st.core = std::move(core);
  st.anchor = std::move(anchor);
  st.target = std::move(target);
  st.owner = std::move(opts.owner);
  st.route = std::move(opts.route);
  st.exec_timeout =
    std::chrono::duration_cast<duration>(opts.execution_timeout);
  self->monitor(st.owner);
  self->set_down_handler([self](caf::down_msg& msg) {
    if (msg.source == self->state.owner.address())
      shared_owner_down(self);
  });
  return {
    [self](svc_req_atom, std::uint64_t id, service_request& req) {
      auto& st = self->state;
      if (st.owner_down) {
        st.core->finish(id, st.core->unavailable_answer(owner_unreachable_text),
                        &st.core->count.unavailable);
        return;
      }
      shared_entry e;
      e.request = id;
      e.key = req.idempotency_key;
      e.deadline = req.deadline;
      e.req = std::move(req);
      shared_begin(self, std::move(e), self->clock().now());
    },
    [self](ledger_atom, ledger_reply& reply) {
      auto& st = self->state;
      if (caf::actor_cast<caf::actor_addr>(self->current_sender())
          != st.owner.address())
        return;
      auto i = st.entries.find(reply.id);
      if (i == st.entries.end())
        return;
      auto& e = i->second;
      if (e.at == shared_entry::phase::asking)
        shared_on_begin_reply(self, reply.id, e, reply, self->clock().now());
      else if (e.at == shared_entry::phase::committing)
        shared_on_commit_reply(self, reply.id, e, reply);
      // An executing entry expects no reply: one for it is ignored.
    },
    [self](svc_sdone_atom, std::uint64_t id, std::uint8_t how_raw,
           service_response& res) {
      auto& st = self->state;
      auto i = st.entries.find(id);
      if (i == st.entries.end())
        return;
      auto& e = i->second;
      auto how = static_cast<call_end>(how_raw);
      if (st.owner_down) {
        // Whatever ran cannot be recorded: success would be a lie that
        // a retry elsewhere could double.
        if (how == call_end::answered && res.not_executed)
          st.core->finish(e.request, res);
        else
          st.core->finish(e.request,
                          st.core->unavailable_answer(owner_unreachable_text),
                          &st.core->count.unavailable);
        st.entries.erase(i);
        return;
      }
      if (how == call_end::timed_out || how == call_end::shut_down) {
        // The handler may still run: the key stays the owner's in-progress
        // one until its in_progress_timeout releases it.
        finish_call(*st.core, e.request, how, std::move(res));
        st.entries.erase(i);
      } else if (how != call_end::answered || res.not_executed) {
        // Nothing committed: the key is released so a retry runs it.
        shared_commit(self, id, e, false, {});
        if (how == call_end::answered)
          st.core->finish(e.request, res);
        else
          finish_call(*st.core, e.request, how, std::move(res));
        st.entries.erase(i);
      } else {
        e.at = shared_entry::phase::committing;
        shared_commit(self, id, e, true, std::move(res));
      }
    },
    [self](svc_late_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      st.late_scheduled = no_deadline;
      while (!st.late.empty() && st.late.top().first <= now) {
        auto id = st.late.top().second;
        st.late.pop();
        auto i = st.entries.find(id);
        if (i == st.entries.end())
          continue;
        auto& e = i->second;
        if (e.cancelled) {
          if (e.forget_at <= now)
            st.entries.erase(i);
          continue;
        }
        if (e.deadline > now)
          continue;
        // 504 now; an execution runs on so that its answer is recorded.
        st.core->finish_late(e.request);
        if (e.at == shared_entry::phase::asking) {
          self->send(st.owner, cancel_atom::value, id);
          e.cancelled = true;
          e.forget_at = now + st.exec_timeout;
          st.late.emplace(e.forget_at, id);
        }
      }
      shared_arm_late(self, now);
    },
  };
}

// -- overload control: one queue actor per route --------------------------------

/// Owns a route's server_queue: requests wait here (not in the route
/// actor's mailbox) until one of the route's `max_concurrent` slots is
/// free, and what the queue decides (shed, expired) is answered at once.
struct route_gauges {
  std::atomic<std::uint64_t> queued{0};
  std::atomic<bool> overloaded{false};
};

struct route_queue_state {
  std::unique_ptr<server_queue> queue;
  core_ptr core;
  caf::actor anchor;
  cell_ptr target;
  std::size_t max_running = 1;
  std::size_t running = 0;
  /// The requests in the queue, by id.
  std::unordered_map<std::uint64_t, service_request> waiting;
  std::vector<queue_verdict> verdicts;
  /// When the pending `svc_late` wakeup is due (no_deadline: none).
  time_point wake_scheduled = no_deadline;
  /// This route's share of the core's gauges, as last published; shared
  /// with the exit hook that takes the share back when the actor ends.
  std::shared_ptr<route_gauges> gauges;
  std::uint64_t published_lifo = 0;
  /// The route answers progressively (its bridges relay preliminaries).
  bool progressive = false;

  static inline const char* name = "bulwark.service.route_queue";
};

using route_queue_self = caf::stateful_actor<route_queue_state>*;

service_response shed_answer(const service_core& core, criticality crit) {
  auto res = core.unavailable_answer("service is overloaded (shed "
                                     + to_string(crit) + " work)");
  // Shedding is the server protecting itself: a retry would add to the
  // very load that made it shed.
  res.do_not_retry = true;
  return res;
}

void answer_verdicts(route_queue_self self) {
  auto& st = self->state;
  auto& count = st.core->count;
  for (auto& v : st.verdicts) {
    st.waiting.erase(v.id);
    if (v.outcome == queue_outcome::dropped_expired) {
      st.core->finish(v.id,
                      service_error(504, "deadline exceeded while queued"),
                      &count.expired_in_queue);
      continue;
    }
    auto* counter = v.crit == criticality::critical   ? &count.shed_critical
                    : v.crit == criticality::standard ? &count.shed_standard
                                                      : &count.shed_sheddable;
    st.core->finish(v.id, shed_answer(*st.core, v.crit), counter);
  }
  st.verdicts.clear();
}

void publish_gauges(route_queue_self self) {
  auto& st = self->state;
  auto& count = st.core->count;
  auto& g = *st.gauges;
  auto size = static_cast<std::uint64_t>(st.queue->size());
  auto before = g.queued.exchange(size);
  if (size >= before)
    count.queued += size - before;
  else
    count.queued -= before - size;
  auto now_overloaded = st.queue->overloaded();
  if (g.overloaded.exchange(now_overloaded) != now_overloaded) {
    if (now_overloaded)
      ++count.overloaded_routes;
    else
      --count.overloaded_routes;
  }
  auto lifo = st.queue->stats().started_lifo;
  count.started_newest_first += lifo - st.published_lifo;
  st.published_lifo = lifo;
}

/// Answers what the queue decided, fills the free slots, and keeps one
/// wakeup pending for the queue's next deadline or interval end.
void settle(route_queue_self self, time_point now) {
  auto& st = self->state;
  answer_verdicts(self);
  while (st.running < st.max_running) {
    auto next = st.queue->pop(now, st.verdicts);
    answer_verdicts(self);
    if (!next)
      break;
    auto i = st.waiting.find(next->id);
    if (i == st.waiting.end())
      continue;
    auto req = std::move(i->second);
    st.waiting.erase(i);
    auto id = next->id;
    auto target = st.target->get();
    if (!target) {
      st.core->finish(id,
                      st.core->unavailable_answer("route actor is not "
                                                  "running"),
                      &st.core->count.unavailable);
      continue;
    }
    ++st.running;
    auto timeout = req.deadline - now;
    auto me = caf::actor_cast<caf::actor>(self);
    self->spawn(bridge_actor, st.anchor, std::move(target), std::move(req),
                timeout,
                call_callback{
                  [core = st.core, id, me](call_end how, service_response res) {
                    finish_call(*core, id, how, std::move(res));
                    caf::anon_send(me, svc_done_atom::value);
                  }},
                relay_preliminary(st.core, id, st.progressive));
  }
  publish_gauges(self);
  auto wake = st.queue->next_wakeup();
  if (wake < st.wake_scheduled) {
    st.wake_scheduled = wake;
    self->delayed_send(self, std::max(duration{0}, wake - now),
                       svc_late_atom::value);
  }
}

caf::behavior route_queue_actor(route_queue_self self, core_ptr core,
                                caf::actor anchor, cell_ptr target,
                                overload_control_options opts,
                                bool progressive) {
  auto& st = self->state;
  st.progressive = progressive;
  st.queue = std::make_unique<server_queue>(opts.queue);
  st.core = std::move(core);
  st.anchor = std::move(anchor);
  st.target = std::move(target);
  st.max_running = opts.max_concurrent_per_route;
  st.gauges = std::make_shared<route_gauges>();
  // When the actor ends (stop()), its queued requests are answered by the
  // drain; the gauges must not keep counting them.
  self->attach_functor([core = st.core, gauges = st.gauges](const caf::error&) {
    core->count.queued -= gauges->queued.exchange(0);
    if (gauges->overloaded.exchange(false))
      --core->count.overloaded_routes;
  });
  return {
    [self](svc_req_atom, std::uint64_t id, service_request& req) {
      auto& st = self->state;
      auto now = self->clock().now();
      queue_item item;
      item.id = id;
      item.arrival = now;
      item.deadline = req.deadline;
      item.crit = req.crit;
      st.waiting.emplace(id, std::move(req));
      st.queue->push(item, now, st.verdicts);
      settle(self, now);
    },
    [self](svc_done_atom) {
      auto& st = self->state;
      if (st.running > 0)
        --st.running;
      settle(self, self->clock().now());
    },
    [self](svc_late_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      if (now >= st.wake_scheduled)
        st.wake_scheduled = no_deadline;
      st.queue->tick(now, st.verdicts);
      settle(self, now);
    },
  };
}

caf::behavior anchor_actor(caf::event_based_actor*) {
  return {[](svc_nop_atom) {}};
}

struct keeper_state {
  /// The factory routes by the address of their live incarnation.
  std::unordered_map<caf::actor_addr, cell_ptr> watched;

  static inline const char* name = "bulwark.service.keeper";
};

/// Watches the incarnations of the factory routes and starts a new one when
/// one dies, at once: a route actor dies of the request it was handling (an
/// exception), not of a condition that waiting would cure, so there is no
/// backoff and no restart limit (a limit would let a few bad requests take
/// the route out for good). A factory that throws or returns no actor leaves
/// the route answering 503 "route actor is not running".
caf::behavior keeper_actor(caf::stateful_actor<keeper_state>* self,
                           core_ptr core, std::vector<cell_ptr> cells) {
  auto watch = [self](const cell_ptr& cell) {
    auto current = cell->get();
    if (!current)
      return;
    self->monitor(current);
    self->state.watched.emplace(current.address(), cell);
  };
  for (auto& cell : cells)
    watch(cell);
  self->set_down_handler([self, core, watch](caf::down_msg& msg) {
    auto& watched = self->state.watched;
    auto i = watched.find(msg.source);
    if (i == watched.end())
      return;
    auto cell = std::move(i->second);
    watched.erase(i);
    if (core->is_stopping())
      return;
    caf::actor next;
    try {
      next = cell->make(self->system());
    } catch (...) {
      // Stays empty: the route answers 503.
    }
    cell->set(next);
    if (!next)
      return;
    ++core->count.route_restarts;
    watch(cell);
  });
  return {[](svc_nop_atom) {}};
}

// -- route table ----------------------------------------------------------------

struct route_target {
  std::string method;
  /// The actor answering `service_request` (its live incarnation).
  cell_ptr target;
  /// The route's ledger actor (in-process, or the shared ledger's client),
  /// or null.
  caf::actor ledger;
  /// The route's overload-control queue actor, or null.
  caf::actor queue;
  progressive_mode progressive = progressive_mode::off;
};

struct path_routes {
  /// The exact path, or the prefix without its `*`.
  std::string pattern;
  bool prefix = false;
  std::vector<route_target> methods;
};

std::string_view header_value(const http_request& req, std::string_view name) {
  auto i = req.find(boost::beast::string_view{name.data(), name.size()});
  if (i == req.end())
    return {};
  auto v = i->value();
  return {v.data(), v.size()};
}

bool has_header(const http_request& req, std::string_view name) {
  return req.find(boost::beast::string_view{name.data(), name.size()})
         != req.end();
}

std::size_t count_headers(const http_request& req, std::string_view name) {
  return static_cast<std::size_t>(
    std::count_if(req.begin(), req.end(), [&](const auto& f) {
      auto n = f.name_string();
      return boost::beast::iequals({n.data(), n.size()}, name);
    }));
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// The inbound trace context: a valid `traceparent` (exactly one) makes the
// caller's span the parent; `tracestate` (all of its fields, joined as HTTP
// joins repeated fields) is kept only with it and only when valid. Anything
// else starts a new trace here: a bad header must not break the request.
trace_context inbound_trace(const http_request& req) {
  trace_context trace;
  if (count_headers(req, traceparent_header) != 1
      || parse_traceparent(trim_ows(header_value(req, traceparent_header)),
                           trace))
    return trace_context{};
  std::string joined;
  for (auto& f : req) {
    auto n = f.name_string();
    if (!boost::beast::iequals({n.data(), n.size()}, tracestate_header))
      continue;
    auto v = f.value();
    if (!joined.empty())
      joined.push_back(',');
    if (joined.size() + v.size() > max_tracestate_bytes)
      return trace; // over the bound: dropped whole
    joined.append(v.data(), v.size());
  }
  std::string state;
  if (!joined.empty() && !parse_tracestate(joined, state))
    trace.tracestate = std::move(state);
  return trace;
}

template <class T>
bool parse_uint(std::string_view text, T& out) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  if (text.empty())
    return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

} // namespace

// -- service_request / service_response -------------------------------------------

// -- JSON helpers ----------------------------------------------------------------------

std::optional<boost::json::value> parse_json_body(const service_request& req,
                                                  service_response& error) {
  if (req.body.empty()) {
    error = error_reply(400, "request body is empty (expected JSON)");
    return std::nullopt;
  }
  boost::json::stream_parser p;
  boost::system::error_code ec;
  auto used = p.write_some(req.body.data(), req.body.size(), ec);
  if (!ec && used < req.body.size())
    ec = boost::json::error::extra_data;
  if (!ec)
    p.finish(ec);
  if (ec) {
    error = error_reply(400, "request body is not valid JSON: " + ec.message()
                               + " (at byte " + std::to_string(used) + ")");
    return std::nullopt;
  }
  return p.release();
}

service_response json_reply(const boost::json::value& v, std::int32_t status) {
  service_response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = boost::json::serialize(v);
  return res;
}

service_response error_reply(std::int32_t status, std::string_view message) {
  service_response res;
  res.status = status;
  res.content_type = "application/json";
  res.body = json_error_body(message);
  return res;
}

service_response invalid_body_reply(const error_list& errors) {
  boost::json::object out;
  // One line per error, as error_list renders them (with its "... and N
  // more errors" line).
  boost::json::array list;
  auto text = errors.to_string();
  for (std::size_t pos = 0; pos < text.size();) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos)
      end = text.size();
    list.emplace_back(std::string_view{text}.substr(pos, end - pos));
    pos = end + 1;
  }
  out["error"] =
    errors.errors().empty()
      ? std::string{"invalid request body"}
      : "invalid request body: " + errors.errors().front().to_string();
  out["errors"] = std::move(list);
  return json_reply(out, 400);
}

std::string to_string(progressive_mode x) {
  switch (x) {
    case progressive_mode::off:
      return "off";
    case progressive_mode::stream:
      return "stream";
    case progressive_mode::plain:
      return "plain";
  }
  return "invalid";
}

std::string to_string(overload_signal x) {
  switch (x) {
    case overload_signal::never:
      return "never";
    case overload_signal::retries:
      return "retries";
    case overload_signal::always:
      return "always";
  }
  return "invalid";
}

// -- http_service ----------------------------------------------------------------------

struct http_service::impl {
  caf::actor_system& sys;
  http_service_options opts;
  core_ptr core = std::make_shared<service_core>();
  /// Bridges monitor it: when it ends, calls still waiting end too.
  caf::actor anchor;
  /// Actors the service spawned (function and ledger actors).
  std::vector<caf::actor> owned;
  /// Routes whose actor the service starts again when it dies.
  std::vector<cell_ptr> factory_cells;
  /// Restarts the factory routes' actors; spawned by `start()`.
  caf::actor keeper;
  /// Journals of ledger routes, closed by `stop()`.
  std::vector<journal_ptr> journals;
  std::vector<path_routes> routes;
  std::unique_ptr<http_server> server;
  std::mutex state_mtx;
  bool started = false;
  bool stopped = false;
  /// Server span and new trace ids; io threads share it.
  std::mutex trace_mtx;
  rng trace_gen;
  /// Some route answers progressively: `GET /bulwark/final/...` is served.
  bool has_progressive = false;

  impl(caf::actor_system& s, http_service_options o)
    : sys(s),
      opts(std::move(o)),
      trace_gen(opts.trace_seed != 0
                  ? opts.trace_seed
                  : (std::uint64_t{std::random_device{}()} << 32)
                      ^ std::random_device{}()) {
    core->max_in_flight = opts.max_in_flight;
    core->retry_after = opts.retry_after;
    core->signal = opts.do_not_retry_on_overload;
    check_objective(opts.objective);
    core->objective = objective_tracker{opts.objective};
    if (opts.final_store.max_entries == 0 || opts.final_store.ttl.count() <= 0)
      throw std::invalid_argument("http_service: final_store needs "
                                  "max_entries >= 1 and a ttl > 0");
    core->finals = std::make_unique<final_store>(opts.final_store,
                                                 core->count.finals_expired);
    if (opts.overload.enabled) {
      if (opts.overload.max_concurrent_per_route == 0)
        throw std::invalid_argument(
          "http_service: overload.max_concurrent_per_route must be >= 1");
      server_queue check{opts.overload.queue}; // throws for a bad config
    }
    anchor = sys.spawn(anchor_actor);
  }

  void add(std::string method, std::string path, cell_ptr target,
           const route_options& ropts) {
    if (method.empty())
      throw std::invalid_argument("http_service: empty method");
    if (path.empty() || path.front() != '/')
      throw std::invalid_argument(
        "http_service: path must start with '/' (got \"" + path + "\")");
    if (!target->get())
      throw std::invalid_argument("http_service: route " + method + " " + path
                                  + " has no actor");
    std::lock_guard<std::mutex> guard{state_mtx};
    if (started || stopped)
      throw std::logic_error("http_service: routes are fixed once started");
    bool prefix =
      path.size() >= 2 && path.compare(path.size() - 2, 2, "/*") == 0;
    if (prefix)
      path.pop_back();
    auto i =
      std::find_if(routes.begin(), routes.end(), [&](const path_routes& r) {
        return r.pattern == path && r.prefix == prefix;
      });
    if (i == routes.end()) {
      routes.push_back(path_routes{path, prefix, {}});
      i = routes.end() - 1;
    }
    for (auto& m : i->methods)
      if (m.method == method)
        throw std::invalid_argument("http_service: duplicate route " + method
                                    + " " + path + (prefix ? "*" : ""));
    if (!ropts.journal_path.empty() && !ropts.ledger)
      throw std::invalid_argument("http_service: route " + method + " " + path
                                  + " has a journal_path but no ledger");
    if (ropts.ledger && ropts.progressive != progressive_mode::off)
      throw std::invalid_argument("http_service: route " + method + " " + path
                                  + " has a ledger and progressive answers "
                                    "(a ledger records one answer per key)");
    if (ropts.shared_ledger) {
      auto name = "http_service: route " + method + " " + path;
      auto& shared = *ropts.shared_ledger;
      if (ropts.ledger || !ropts.journal_path.empty())
        throw std::invalid_argument(name
                                    + " has a shared_ledger and a "
                                      "ledger or journal_path (the "
                                      "owner keeps the journal)");
      if (ropts.progressive != progressive_mode::off)
        throw std::invalid_argument(name
                                    + " has a shared_ledger and "
                                      "progressive answers (a ledger "
                                      "records one answer per key)");
      if (!shared.owner)
        throw std::invalid_argument(name
                                    + " has a shared_ledger without an "
                                      "owner");
      if (shared.route.empty())
        throw std::invalid_argument(name
                                    + " has a shared_ledger without a "
                                      "route name");
      if (shared.execution_timeout.count() <= 0)
        throw std::invalid_argument(name
                                    + " has a shared_ledger whose "
                                      "execution_timeout is not > 0");
    }
    route_target rt;
    rt.method = std::move(method);
    rt.target = std::move(target);
    rt.progressive = ropts.progressive;
    if (rt.progressive != progressive_mode::off)
      has_progressive = true;
    if (ropts.ledger) {
      journal_ptr journal;
      journal_replay replay;
      if (!ropts.journal_path.empty()) {
        journal = std::make_shared<journal_slot>();
        journal->journal = ledger_journal::open(ropts.journal_path, replay);
        if (replay.torn_bytes > 0)
          std::fprintf(stderr,
                       "bulwark http_service: ledger journal %s: dropped a "
                       "torn last record (%zu bytes, never acknowledged)\n",
                       ropts.journal_path.c_str(), replay.torn_bytes);
        for (auto& r : replay.records) {
          if (ropts.on_replay)
            ropts.on_replay(replayed_request(r), replayed_response(r));
          ++core->count.ledger_replayed;
        }
        journals.push_back(journal);
      }
      rt.ledger = sys.spawn(ledger_actor, core, anchor, rt.target,
                            *ropts.ledger, journal, std::move(replay.records));
      owned.push_back(rt.ledger);
    } else if (ropts.shared_ledger) {
      rt.ledger = sys.spawn(shared_ledger_client, core, anchor, rt.target,
                            *ropts.shared_ledger);
      owned.push_back(rt.ledger);
    } else if (opts.overload.enabled) {
      rt.queue =
        sys.spawn(route_queue_actor, core, anchor, rt.target, opts.overload,
                  rt.progressive != progressive_mode::off);
      owned.push_back(rt.queue);
    }
    i->methods.push_back(std::move(rt));
  }

  const path_routes* match(std::string_view path) const {
    const path_routes* best = nullptr;
    for (auto& r : routes) {
      if (!r.prefix) {
        if (r.pattern == path)
          return &r;
      } else if (path.substr(0, r.pattern.size()) == r.pattern) {
        if (!best || best->pattern.size() < r.pattern.size())
          best = &r;
      }
    }
    return best;
  }

  void reply(const http_responder& respond, const service_response& res) {
    respond.respond(to_http(res));
  }

  /// `GET /bulwark/final/<token>`: the token is checked (32 lowercase hex
  /// digits) before any lookup and never echoed.
  void answer_final(const http_request& req, std::string_view token,
                    const http_responder& respond) {
    if (req.method() != http::verb::get) {
      ++core->count.method_not_allowed;
      auto res = error_reply(405, "final answers are fetched with GET");
      res.headers.emplace_back("Allow", "GET");
      reply(respond, res);
      return;
    }
    bool valid =
      token.size() == 32 && std::all_of(token.begin(), token.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      });
    if (!valid) {
      ++core->count.bad_requests;
      reply(respond, error_reply(400, "bad final token: expected 32 "
                                      "lowercase hex digits"));
      return;
    }
    http_response found;
    switch (core->finals->get(std::string{token}, steady_now(), found)) {
      case final_store::state::unknown:
        ++core->count.not_found;
        reply(respond, error_reply(404, "no final answer for this token "
                                        "(unknown or expired)"));
        return;
      case final_store::state::pending: {
        auto res = json_reply(boost::json::object{{"status", "pending"}}, 202);
        res.retry_after = std::chrono::seconds(1);
        reply(respond, res);
        return;
      }
      case final_store::state::ready:
        ++core->count.finals_fetched;
        respond.respond(std::move(found));
        return;
    }
  }

  void handle(http_request req, http_responder respond) {
    auto& count = core->count;
    ++count.received;
    if (core->is_stopping()) {
      ++count.shut_down;
      reply(respond, core->unavailable_answer("service is shutting down"));
      return;
    }
    auto target_sv = req.target();
    std::string_view target{target_sv.data(), target_sv.size()};
    auto qpos = target.find('?');
    auto path = target.substr(0, qpos);
    auto query = qpos == std::string_view::npos ? std::string_view{}
                                                : target.substr(qpos + 1);
    // Validated at the edge: the key reaches ledgers, journals and the
    // headers of the calls a handler makes.
    if (auto n = std::count_if(req.begin(), req.end(),
                               [](const auto& f) {
                                 auto name = f.name_string();
                                 return boost::beast::iequals(
                                   {name.data(), name.size()},
                                   idempotency_key_header);
                               });
        n > 1) {
      ++count.bad_requests;
      reply(respond, error_reply(400, "more than one "
                                        + std::string{idempotency_key_header}
                                        + " header"));
      return;
    }
    if (auto problem = key_problem(header_value(req, idempotency_key_header))) {
      ++count.bad_requests;
      reply(respond,
            error_reply(400, "bad " + std::string{idempotency_key_header}
                               + " header: " + *problem));
      return;
    }
    if (has_progressive
        && path.substr(0, final_path_prefix.size()) == final_path_prefix) {
      answer_final(req, path.substr(final_path_prefix.size()), respond);
      return;
    }
    auto* routes_for = match(path);
    if (!routes_for) {
      ++count.not_found;
      reply(respond, error_reply(404, "no route for " + std::string{path}));
      return;
    }
    auto method_sv = req.method_string();
    std::string_view method{method_sv.data(), method_sv.size()};
    const route_target* rt = nullptr;
    for (auto& m : routes_for->methods)
      if (m.method == method)
        rt = &m;
    if (!rt) {
      ++count.method_not_allowed;
      std::string allow;
      for (auto& m : routes_for->methods) {
        if (!allow.empty())
          allow += ", ";
        allow += m.method;
      }
      auto res =
        error_reply(405, "method " + std::string{method} + " not allowed on "
                           + std::string{path} + " (allowed: " + allow + ")");
      res.headers.emplace_back("Allow", allow);
      reply(respond, res);
      return;
    }
    // Deadline: the caller's remaining budget, capped by request_timeout.
    auto now = steady_now();
    auto budget = std::chrono::duration_cast<duration>(opts.request_timeout);
    if (has_header(req, deadline_ms_header)) {
      std::uint64_t ms = 0;
      if (!parse_uint(header_value(req, deadline_ms_header), ms)) {
        ++count.bad_requests;
        reply(respond, error_reply(400, "bad " + std::string{deadline_ms_header}
                                          + " header: expected remaining "
                                            "whole milliseconds"));
        return;
      }
      if (ms == 0) {
        ++count.expired_on_arrival;
        reply(respond, error_reply(504, "deadline already passed on arrival"));
        return;
      }
      auto limit = static_cast<std::uint64_t>(opts.request_timeout.count());
      if (ms < limit)
        budget = milliseconds(ms);
    }
    std::uint32_t attempt = 1;
    if (has_header(req, attempt_header)
        && !parse_uint(header_value(req, attempt_header), attempt)) {
      ++count.bad_requests;
      reply(respond, error_reply(400, "bad " + std::string{attempt_header}
                                        + " header: expected a whole number"));
      return;
    }
    auto crit = criticality::standard;
    if (has_header(req, criticality_header)
        && !from_string(trim_ows(header_value(req, criticality_header)),
                        crit)) {
      ++count.bad_requests;
      reply(respond,
            error_reply(400, "bad " + std::string{criticality_header}
                               + " header: expected critical, standard or "
                                 "sheddable"));
      return;
    }
    auto key = header_value(req, idempotency_key_header);
    if (rt->ledger && key.empty()) {
      ++count.bad_requests;
      reply(respond, error_reply(400, "this route needs an "
                                        + std::string{idempotency_key_header}
                                        + " header"));
      return;
    }
    auto mode = answer_mode::final_only;
    if (rt->progressive == progressive_mode::plain) {
      mode = answer_mode::final_link;
    } else if (rt->progressive == progressive_mode::stream) {
      auto accept = header_value(req, "Accept");
      mode = accepts(accept, "text/event-stream") ? answer_mode::sse
             : accepts(accept, "application/x-ndjson")
               ? answer_mode::ndjson
               : answer_mode::final_link;
    }
    std::uint64_t id = 0;
    switch (core->admit(respond, id, mode, now + budget)) {
      case service_core::admission::admitted:
        break;
      case service_core::admission::stopping:
        ++count.shut_down;
        core->count_answer(503);
        reply(respond, core->unavailable_answer("service is shutting down"));
        return;
      case service_core::admission::overloaded: {
        ++count.overloaded;
        core->count_answer(503);
        auto res = core->unavailable_answer("service is overloaded");
        res.do_not_retry =
          core->signal == overload_signal::always
          || (core->signal == overload_signal::retries && attempt > 1);
        reply(respond, res);
        return;
      }
    }
    // The pending entry holds a copy; ours must not be the one answering.
    respond = http_responder{};
    service_request sreq;
    sreq.method = std::string{method};
    sreq.path = std::string{path};
    sreq.query = std::string{query};
    for (auto& field : req) {
      auto n = field.name_string();
      auto v = field.value();
      sreq.headers.emplace_back(std::string{n.data(), n.size()},
                                std::string{v.data(), v.size()});
    }
    sreq.body = std::move(req.body());
    sreq.deadline = now + budget;
    sreq.idempotency_key = std::string{key};
    sreq.attempt = attempt;
    sreq.crit = crit;
    sreq.trace = inbound_trace(req);
    {
      std::lock_guard<std::mutex> guard{trace_mtx};
      if (sreq.trace.empty()) {
        sreq.trace.trace = new_trace_id(trace_gen);
        sreq.trace.flags = opts.sample_new_traces ? trace_flag_sampled : 0;
      }
      sreq.span_id = new_span_id(trace_gen);
    }
    ++count.dispatched;
    if (rt->ledger) {
      caf::anon_send(rt->ledger, svc_req_atom::value, id, std::move(sreq));
      return;
    }
    if (rt->queue) {
      caf::anon_send(rt->queue, svc_req_atom::value, id, std::move(sreq));
      return;
    }
    auto target_actor = rt->target->get();
    if (!target_actor) {
      // A factory route whose factory failed: nothing to run it on.
      core->finish(id, core->unavailable_answer("route actor is not running"),
                   &count.unavailable);
      return;
    }
    sys.spawn(
      bridge_actor, anchor, std::move(target_actor), std::move(sreq), budget,
      call_callback{[core = core, id](call_end how, service_response res) {
        finish_call(*core, id, how, std::move(res));
      }},
      relay_preliminary(core, id, mode != answer_mode::final_only));
  }
};

http_service::http_service(caf::actor_system& sys, http_service_options opts)
  : impl_(std::make_shared<impl>(sys, std::move(opts))) {}

http_service::~http_service() {
  stop();
}

namespace {

cell_ptr fixed_cell(caf::actor x) {
  auto cell = std::make_shared<route_cell>();
  cell->current = std::move(x);
  return cell;
}

} // namespace

void http_service::route(std::string method, std::string path,
                         caf::actor handler, route_options opts) {
  impl_->add(std::move(method), std::move(path), fixed_cell(std::move(handler)),
             opts);
}

void http_service::route(std::string method, std::string path,
                         route_actor_factory make, route_options opts) {
  if (!make)
    throw std::invalid_argument("http_service: route " + method + " " + path
                                + " has no factory");
  auto cell = std::make_shared<route_cell>();
  cell->current = make(impl_->sys);
  cell->make = std::move(make);
  try {
    impl_->add(std::move(method), std::move(path), cell, opts);
  } catch (...) {
    if (auto a = cell->get())
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    throw;
  }
  std::lock_guard<std::mutex> guard{impl_->state_mtx};
  impl_->factory_cells.push_back(std::move(cell));
}

void http_service::route(std::string method, std::string path,
                         service_function fn, route_options opts) {
  if (!fn)
    throw std::invalid_argument("http_service: route " + method + " " + path
                                + " has no function");
  auto actor = impl_->sys.spawn(function_actor, std::move(fn), impl_->core);
  {
    std::lock_guard<std::mutex> guard{impl_->state_mtx};
    impl_->owned.push_back(actor);
  }
  impl_->add(std::move(method), std::move(path), fixed_cell(std::move(actor)),
             opts);
}

void http_service::json_route(std::string method, std::string path,
                              json_function fn, route_options opts) {
  if (!fn)
    throw std::invalid_argument("http_service: route " + method + " " + path
                                + " has no function");
  auto core = impl_->core;
  route(
    std::move(method), std::move(path),
    service_function{[fn = std::move(fn), core](const service_request& req) {
      service_response error;
      auto body = parse_json_body(req, error);
      if (!body) {
        ++core->count.bad_requests;
        return error;
      }
      return fn(*body, req);
    }},
    std::move(opts));
}

void http_service::start() {
  auto& d = *impl_;
  {
    std::lock_guard<std::mutex> guard{d.state_mtx};
    if (d.started)
      throw std::logic_error("http_service: start called twice");
    if (d.stopped)
      throw std::logic_error("http_service: start after stop");
    d.started = true;
  }
  auto server_opts = d.opts.server;
  // The server waits for our grace, then for the last answers to be written.
  server_opts.shutdown_grace = d.opts.grace + d.opts.server.shutdown_grace;
  auto* self = impl_.get();
  d.server = std::make_unique<http_server>(
    [self](http_request req, http_responder respond) {
      self->handle(std::move(req), std::move(respond));
    },
    server_opts);
  if (!d.factory_cells.empty())
    d.keeper = d.sys.spawn(keeper_actor, d.core, d.factory_cells);
  d.server->start(d.opts.host, d.opts.port);
}

void http_service::stop() {
  auto& d = *impl_;
  bool was_started = false;
  {
    std::lock_guard<std::mutex> guard{d.state_mtx};
    if (d.stopped)
      return;
    d.stopped = true;
    was_started = d.started;
  }
  {
    // Also tells the keeper not to start route actors any more.
    std::lock_guard<std::mutex> guard{d.core->mtx};
    d.core->stopping = true;
  }
  if (was_started && d.server) {
    // The server stops accepting at once and waits for requests it handed
    // out; the drain answers whatever is left after `grace`, which lets the
    // server finish.
    std::thread drain{
      [core = d.core, grace = d.opts.grace] { core->drain(grace); }};
    d.server->stop();
    drain.join();
  }
  caf::anon_send_exit(d.anchor, caf::exit_reason::user_shutdown);
  if (d.keeper)
    caf::anon_send_exit(d.keeper, caf::exit_reason::user_shutdown);
  for (auto& a : d.owned)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  for (auto& cell : d.factory_cells)
    if (auto a = cell->get())
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  // Releases the files (and their locks) now, not when the ledger actors
  // happen to be destroyed.
  for (auto& j : d.journals)
    j->close();
}

std::uint16_t http_service::port() const noexcept {
  return impl_->server ? impl_->server->port() : 0;
}

std::size_t http_service::in_flight() const {
  return impl_->core->in_flight();
}

http_service_stats http_service::stats() const {
  auto& c = impl_->core->count;
  http_service_stats s;
  s.received = c.received;
  s.dispatched = c.dispatched;
  s.not_found = c.not_found;
  s.method_not_allowed = c.method_not_allowed;
  s.bad_requests = c.bad_requests;
  s.expired_on_arrival = c.expired_on_arrival;
  s.overloaded = c.overloaded;
  s.timed_out = c.timed_out;
  s.unavailable = c.unavailable;
  s.shut_down = c.shut_down;
  s.route_failures = c.route_failures;
  s.route_restarts = c.route_restarts;
  s.ledger_executed = c.ledger_executed;
  s.ledger_duplicates = c.ledger_duplicates;
  s.ledger_waits = c.ledger_waits;
  s.ledger_rejected = c.ledger_rejected;
  s.ledger_replayed = c.ledger_replayed;
  s.ledger_journaled = c.ledger_journaled;
  s.shed_critical = c.shed_critical;
  s.shed_standard = c.shed_standard;
  s.shed_sheddable = c.shed_sheddable;
  s.expired_in_queue = c.expired_in_queue;
  s.started_newest_first = c.started_newest_first;
  s.queued = c.queued;
  s.overloaded_routes = c.overloaded_routes;
  s.preliminary_answers = c.preliminary_answers;
  s.finals_fetched = c.finals_fetched;
  s.finals_expired = c.finals_expired;
  s.in_flight = in_flight();
  s.objective = impl_->core->objective_snapshot();
  return s;
}

} // namespace bulwark
