#include "bulwark/actors/http/http_service.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
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
#include "bulwark/actors/http/ledger_route.hpp"
#include "bulwark/actors/http/route_queue.hpp"
#include "bulwark/actors/http/service_internals.hpp"
#include "bulwark/actors/http/shared_ledger_route.hpp"
#include "bulwark/actors/ledger/recorded_response.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/ledger/idempotency_ledger.hpp"
#include "bulwark/runtime/objective/objective_tracker.hpp"

namespace bulwark {

using namespace service_detail;

namespace {

service_request replayed_request(const journal_record& r) {
  service_request req;
  req.method = r.method;
  req.path = r.path;
  req.query = r.query;
  req.body = r.request_body;
  req.idempotency_key = r.key;
  return req;
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

/// The arrival time of a request, on an io thread (no actor clock there).
/// Actors use their own clock: CAF's is steady_clock-based, so the two
/// agree in real runs, and the ledger's timers follow virtual time in tests.
time_point steady_now() {
  return std::chrono::steady_clock::now();
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
    if (i != routes.end())
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
      if (!shared.owner && !shared.locate)
        throw std::invalid_argument(name
                                    + " has a shared_ledger without an "
                                      "owner or a locator");
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
            ropts.on_replay(replayed_request(r),
                            to_service_response(recorded_of(r)));
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
    // The path goes in last: a refused route (a bad option, a journal that
    // does not open) leaves the table as it was, not a path without methods.
    if (i == routes.end()) {
      routes.push_back(path_routes{path, prefix, {}});
      i = routes.end() - 1;
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
