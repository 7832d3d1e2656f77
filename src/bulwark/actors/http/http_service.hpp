// An HTTP service built on bulwark: routes (method + path) mapped to CAF
// actors, so a user's microservice answers real sockets with the same actors
// and policies the runtime uses inside. It is the serving side of the HTTP
// transport's contract: the transport sends the remaining deadline, the
// attempt number and an `Idempotency-Key`, and understands `Retry-After` and
// a do-not-retry marker; this service honours all of them. Expired work is
// rejected before a route actor sees it, a route may put its requests through
// an idempotency ledger (each key executes once, duplicates get the recorded
// bytes; with a journal file the ledger and the service's business state
// survive a crash, see ledger_journal.hpp), a bound on concurrent requests
// answers overload with 503 + `Retry-After` instead of queueing (optional
// overload control queues per route, serves newest first and sheds by
// criticality when the queueing delay says overloaded), and
// `stop()` lets in-flight requests finish before the socket closes. A route
// may answer progressively (route_options::progressive): a preliminary
// answer first, streamed (Server-Sent Events or NDJSON) or answered at once
// with a link to fetch the final one later. Beast's
// io threads never block: a request is handed to a small bridge actor that
// asks the route actor and answers. See docs/http_service.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "bulwark/actors/http/http_server.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"
#include "bulwark/actors/transport/http_transport.hpp"
#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/ledger/ledger_config.hpp"
#include "bulwark/runtime/objective/objective_config.hpp"
#include "bulwark/runtime/metrics/http_service_stats.hpp"
#include "bulwark/runtime/overload/server_queue.hpp"

namespace bulwark {

// -- header names (the HTTP transport's contract) --------------------------------

// `idempotency_key_header`, `deadline_ms_header` and `attempt_header` come
// from bulwark/actors/transport/http_transport.hpp, so client and server cannot
// drift.

/// The response header that tells a bulwark caller not to retry (the default
/// of `http_transport_options::do_not_retry_header`); sent with value `1`.
inline constexpr std::string_view service_do_not_retry_header =
  "Bulwark-Do-Not-Retry";

/// `Retry-After`, in whole seconds.
inline constexpr std::string_view retry_after_header = "Retry-After";

/// Marks a preliminary answer: `Bulwark-Preliminary: <reason>; age=<ms>`
/// (`age` only when known). A route actor's preliminary service_response
/// carries it (to_preliminary_response in call_reply_response.hpp sets it);
/// the service checks it and writes it anew, never copied unchecked.
inline constexpr std::string_view preliminary_header = "Bulwark-Preliminary";

/// Marks the final answer fetched from `GET /bulwark/final/<token>`.
inline constexpr std::string_view final_header = "Bulwark-Final";

/// Where plain progressive routes keep their final answers.
inline constexpr std::string_view final_path_prefix = "/bulwark/final/";

// -- JSON helpers --------------------------------------------------------------------

/// Parses `req.body` as one JSON value. On failure returns nullopt and sets
/// `error` to a 400 whose body is `{"error": "..."}` naming the problem and
/// the byte offset where parsing stopped.
std::optional<boost::json::value> parse_json_body(const service_request& req,
                                                  service_response& error);

/// `v` serialized, `application/json`.
service_response json_reply(const boost::json::value& v,
                            std::int32_t status = 200);

/// `{"error": message}`, `application/json`.
service_response error_reply(std::int32_t status, std::string_view message);

/// 400 for a request body that failed validation (e.g. with an
/// `object_reader` from bulwark/runtime/config/object_reader.hpp, whose
/// `read_key` refuses ids with a NUL, a CR LF or non-ASCII): `{"error":
/// "invalid request body: <first error>", "errors": ["<pointer>: <message>",
/// ...]}`, every error with its JSON Pointer (error_list::max_stored of them,
/// then "... and N more errors"). Values are described, never echoed raw.
service_response invalid_body_reply(const error_list& errors);

// -- routes --------------------------------------------------------------------------

/// A handler run inside an actor the service spawns (never on an io thread).
/// An exception escaping it answers that request 500 ("handler failed: ...")
/// and the route goes on; on a ledger route the answer counts as not
/// executed (the key is forgotten, nothing is journaled): a handler that
/// throws must not have committed anything.
using service_function =
  std::function<service_response(const service_request&)>;

/// Spawns a route actor (answering `service_request`). The service calls it
/// once at `route()` and again whenever the actor dies: in CAF 0.17 an
/// exception escaping a handler always ends the actor, so a route that must
/// survive bad requests is given as a factory. Must not block.
using route_actor_factory = std::function<caf::actor(caf::actor_system&)>;

/// A handler for JSON routes: the service parses the body first (bad JSON
/// answers 400 and never calls it).
using json_function = std::function<service_response(
  const boost::json::value& body, const service_request& req)>;

/// What a route does with a route actor's preliminary answer, sent as
/// `(preliminary_atom, service_response)` to the requester before the one
/// `service_response` (see docs/http_service.md, "Progressive answers").
enum class progressive_mode : std::uint8_t {
  /// Ignored: only the final answer is sent.
  off,
  /// Streamed when the client's Accept asks for `text/event-stream` (SSE:
  /// `event: preliminary`, then `event: final`) or `application/x-ndjson`
  /// (one JSON document per line); otherwise as `plain`.
  stream,
  /// The preliminary is the response, with `Bulwark-Preliminary` and a
  /// `Link` to `GET /bulwark/final/<token>`, which answers the final one.
  plain,
};

/// @relates progressive_mode
std::string to_string(progressive_mode x);

/// A keyed route whose idempotency ledger is shared with the route's
/// replicas in other services or processes: one `ledger_owner` actor
/// (bulwark/actors/ledger/ledger_owner.hpp) decides which replica executes
/// a key, records its answer durably and gives every duplicate the same
/// bytes (docs/ledger.md, "Shared ledger"). The service asks the owner
/// before running the route and answers 503 while the owner is unreachable,
/// never executing a key without its ticket.
struct shared_ledger_options {
  /// The owner: a local actor or a remote proxy. Must not be null unless
  /// `locate` is set.
  caf::actor owner;
  /// The route the owner serves (its `ledger_owner_settings::route`); a
  /// mismatch is answered 500 by every request. Must not be empty.
  std::string route;
  /// How long an execution may run (the route actor's call timeout); it
  /// runs on after its caller's deadline so that its answer is recorded.
  /// Keep it below the owner's `in_progress_timeout`, after which the owner
  /// abandons the key and refuses the late commit.
  std::chrono::milliseconds execution_timeout{30'000};
  /// Finds the owner (null when it cannot now): asked whenever the route
  /// has none, i.e. at its first request when `owner` is null and at the
  /// next request after the owner's down message, so an owner restarted on
  /// another node is used again. Runs on the route actor's thread, and must
  /// be quick and thread-safe: a cluster node's `ledger_locator` (a lookup
  /// in its directory). Empty: the first owner is the only one, and once it
  /// is down every request is answered 503.
  std::function<caf::actor()> locate;
};

struct route_options {
  /// Progressive answers; off by default. Not with `ledger` or
  /// `shared_ledger` (a ledger records one answer per key; `route()` throws
  /// std::invalid_argument).
  progressive_mode progressive = progressive_mode::off;
  /// Opt-in idempotency ledger: every request needs an `Idempotency-Key`
  /// (400 without), each key executes once, duplicates get the recorded
  /// response. The ledger lives in one actor per route (see docs).
  std::optional<ledger_config> ledger;
  /// Durable ledger (needs `ledger`): the path of the route's journal file
  /// (bulwark/actors/http/ledger_journal.hpp), one per route, never shared.
  /// Empty: the ledger lives in memory only and a restart forgets every key.
  /// With a path, every executed key is appended and fdatasynced BEFORE its
  /// answer leaves, and `route()` replays the file: recorded keys are done
  /// again (duplicates get the recorded bytes without executing). `route()`
  /// throws journal_error (std::runtime_error) when the file cannot be
  /// opened or locked or has a corrupt record before its last line; a torn
  /// last record is dropped and the file truncated. A write or sync failure
  /// later aborts the process (see docs, "Durable ledger").
  std::string journal_path;
  /// Called from `route()` (so before `start()`), once per journal record in
  /// file order, with the request that executed (method, path, query, body,
  /// idempotency_key; no headers, deadline `no_deadline`) and its recorded
  /// answer (`Retry-After` and the do-not-retry marker as headers): the
  /// service rebuilds its business state from what was committed. A key
  /// that executed again after its retention ended appears once per
  /// execution. Runs under the service's route lock: it must not call
  /// `route()`. May be empty.
  std::function<void(const service_request&, const service_response&)>
    on_replay;
  /// Opt-in shared idempotency ledger (see shared_ledger_options): every
  /// request needs an `Idempotency-Key` (400 without) and the owner decides.
  /// Not with `ledger`, `journal_path` or progressive answers (the owner
  /// keeps the journal); `route()` throws std::invalid_argument for those
  /// and for a null owner or an empty route name.
  std::optional<shared_ledger_options> shared_ledger;
};

/// When an overload 503 also carries `Bulwark-Do-Not-Retry: 1`.
enum class overload_signal : std::uint8_t {
  /// Never: callers may retry after `Retry-After`.
  never,
  /// When the request is itself a retry (`Bulwark-Attempt` > 1): a first
  /// attempt may try elsewhere, but retries against an overloaded service
  /// multiply its load, so the caller's retry layer is told to stop.
  retries,
  /// Always.
  always,
};

/// @relates overload_signal
std::string to_string(overload_signal x);

/// Server-side overload control (issue 15): requests for a route wait in a
/// bounded queue of the service (bulwark/runtime/overload/server_queue.hpp)
/// and at most `max_concurrent_per_route` of them are handed to the route
/// actor at once. Overload is detected by queueing delay; while a route is
/// overloaded its newest request starts first, and its requests are shed by
/// criticality (`Bulwark-Criticality`: sheddable first, then standard,
/// never critical by the shed level): 503 + `Retry-After` +
/// `Bulwark-Do-Not-Retry: 1`. A queued request whose deadline passes is
/// answered 504 at once. Off by default: with a handler that answers
/// asynchronously (a response promise), one request at a time per route
/// would cut its throughput, so `max_concurrent_per_route` must be chosen
/// for the route. Ledger routes are not queued (see docs).
struct overload_control_options {
  bool enabled = false;
  /// Requests one route works on at once (>= 1); the rest wait in its
  /// queue. 1 fits a route whose handler answers synchronously (function
  /// and JSON routes): its actor works on one request at a time anyway.
  std::size_t max_concurrent_per_route = 1;
  /// The queue of each route. Its `max_queue` bounds each route's queue;
  /// `max_in_flight` still bounds all requests together.
  server_queue_config queue;
};

/// The result store of plain progressive answers: finals wait here for
/// `GET /bulwark/final/<token>`.
struct final_store_options {
  /// Tokens kept at once (pending or with their final); the oldest is
  /// evicted first (>= 1).
  std::size_t max_entries = 1024;
  /// How long a final stays fetchable after it arrived (> 0). A token whose
  /// final has not arrived lives until its request's deadline plus this.
  std::chrono::milliseconds ttl{60'000};
};

struct http_service_options {
  /// Address to bind (an IP address or "localhost").
  std::string host = "127.0.0.1";
  /// 0 picks a free port (see `http_service::port()`).
  std::uint16_t port = 0;
  /// Requests admitted and not yet answered, over all routes. One more is
  /// answered 503 + `Retry-After` at once (never queued).
  std::size_t max_in_flight = 256;
  /// The `Retry-After` of every 503 the service itself sends.
  std::chrono::seconds retry_after{1};
  /// When an overload 503 carries the do-not-retry header.
  overload_signal do_not_retry_on_overload = overload_signal::retries;
  /// Upper bound on a request's deadline, and its deadline when the caller
  /// sent none.
  std::chrono::milliseconds request_timeout{30'000};
  /// How long `stop()` lets admitted requests finish before answering the
  /// rest 503.
  std::chrono::milliseconds grace{5'000};
  /// Seeds the generator of server span ids and new trace ids; 0 takes a
  /// seed from std::random_device (two processes must not share ids).
  std::uint64_t trace_seed = 0;
  /// Whether a trace started here (no valid inbound `traceparent`) is
  /// marked sampled: the dependency actors then keep every journey of its
  /// calls, not only those with retries, hedges or fallbacks.
  bool sample_new_traces = false;
  /// Server-side overload control; off by default.
  overload_control_options overload;
  /// Where plain progressive routes keep their finals (see
  /// `progressive_mode::plain`); the constructor throws
  /// std::invalid_argument for a cap of 0 or a TTL <= 0.
  final_store_options final_store;
  /// Availability and latency objectives over every answer the service
  /// gives (a 5xx fails availability; latency from admission to answer);
  /// off by default. Targets are fractions in [0.5, 0.99999]; the
  /// constructor throws std::invalid_argument otherwise. docs/objectives.md.
  objective_config objective;
  /// Limits of the underlying server, passed through. Its `shutdown_grace`
  /// is the extra time, after `grace`, to write the last answers.
  http_server_options server;
};

/// An HTTP service. Register routes, then `start()`. Not copyable.
class http_service {
 public:
  /// Throws std::invalid_argument for overload control that is enabled
  /// with `max_concurrent_per_route` 0 or a queue config server_queue
  /// refuses.
  http_service(caf::actor_system& sys, http_service_options opts = {});

  /// Stops (see `stop`).
  ~http_service();

  http_service(const http_service&) = delete;
  http_service& operator=(const http_service&) = delete;

  /// Routes `method` + `path` to `handler`, which receives
  /// `(service_request)` and answers `service_response`. `path` is exact,
  /// or a prefix when it ends in `/*` ("/items/*" matches "/items/" and
  /// everything below it). An exact path beats a prefix, a longer prefix a
  /// shorter one. Throws std::invalid_argument for a duplicate route, a
  /// path not starting with `/`, an empty method or a null actor, and
  /// std::logic_error after `start()`. The service never kills `handler`.
  void route(std::string method, std::string path, caf::actor handler,
             route_options opts = {});

  /// Routes to an actor the service starts with `make` and starts again,
  /// at once, whenever it dies (the request it was handling is answered 500
  /// "route actor failed: ...", requests queued in its mailbox 503 with
  /// `Retry-After`; on a ledger route neither is recorded and the key is
  /// forgotten). The service owns these actors and ends them on `stop()`.
  /// Counted in `http_service_stats::route_failures` / `route_restarts`.
  void route(std::string method, std::string path, route_actor_factory make,
             route_options opts = {});

  /// Routes to `fn`, run in an actor the service owns.
  void route(std::string method, std::string path, service_function fn,
             route_options opts = {});

  /// Routes to `fn` after parsing the body as JSON (400 on bad JSON).
  void json_route(std::string method, std::string path, json_function fn,
                  route_options opts = {});

  /// Binds and starts serving. Throws like `http_server::start`, and
  /// std::logic_error when called twice.
  void start();

  /// Stops accepting connections, lets admitted requests finish for up to
  /// `grace`, answers the rest 503, closes the server and ends the actors
  /// the service spawned. Idempotent; blocks; must not be called from a
  /// route actor's handler thread while that handler is needed to finish.
  void stop();

  /// The bound port (0 before `start`).
  std::uint16_t port() const noexcept;

  /// Requests admitted and not answered yet.
  std::size_t in_flight() const;

  http_service_stats stats() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

} // namespace bulwark
