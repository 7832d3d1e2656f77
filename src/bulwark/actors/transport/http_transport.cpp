#include "bulwark/actors/transport/http_transport.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include "bulwark/actors/http/beast.hpp"

#include <caf/actor_addr.hpp>
#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/classify/classifier.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/probe/probe_config.hpp"

namespace bulwark {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

// -- one connection and one attempt ---------------------------------------------

struct connection {
  explicit connection(asio::io_context& io) : socket(io) {
    // nop
  }

  tcp::socket socket;
  /// Bytes read past the end of one response belong to the next one.
  beast::flat_buffer buffer;
  /// Counted in `open_`; cleared exactly once by `discard`.
  bool open = true;
  /// Requests this connection has carried (> 0 means a reuse).
  std::uint32_t uses = 0;
  steady::time_point idle_since;
};

using connection_ptr = std::shared_ptr<connection>;

enum class phase : std::uint8_t { queued, connecting, sending, receiving };

struct exchange {
  exchange(asio::io_context& io, attempt_request r, caf::actor_addr from)
    : req(std::move(r)),
      requester(std::move(from)),
      timer(io) {
    // nop
  }

  attempt_request req;
  /// Weak: an attempt in flight never keeps its requester alive.
  caf::actor_addr requester;
  steady::time_point started;
  steady::time_point deadline = steady::time_point::max();
  asio::steady_timer timer;
  /// Bumped whenever the timer is re-armed, so a stale expiry is ignored.
  std::uint64_t timer_gen = 0;
  /// The timer currently guards the connect (not the attempt deadline).
  bool timer_is_connect = false;
  phase at = phase::queued;
  connection_ptr conn;
  http::request<http::string_body> request;
  std::optional<http::response_parser<http::string_body>> parser;
  /// Already resent once after a reused connection turned out closed.
  bool resent = false;
  /// A result went out, or a cancel ended it: every later handler is void.
  bool done = false;
  /// A health probe: `GET req.operation` (a validated path), no body.
  bool probe = false;
};

using exchange_ptr = std::shared_ptr<exchange>;

struct attempt_key {
  caf::actor_addr requester;
  std::uint64_t attempt_id;

  friend bool operator==(const attempt_key& x, const attempt_key& y) {
    return x.attempt_id == y.attempt_id && x.requester == y.requester;
  }
};

struct attempt_key_hash {
  std::size_t operator()(const attempt_key& x) const noexcept {
    return std::hash<caf::actor_addr>{}(x.requester) * 31
           ^ std::hash<std::uint64_t>{}(x.attempt_id);
  }
};

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size()
         && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a))
                     == std::tolower(static_cast<unsigned char>(b));
            });
}

std::string_view trim(std::string_view x) {
  while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
    x.remove_prefix(1);
  while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
    x.remove_suffix(1);
  return x;
}

bool is_http_error(const error_code& ec) {
  return ec.category()
         == http::make_error_code(http::error::bad_version).category();
}

// -- the client: everything below runs on its I/O thread ------------------------

class http_client {
 public:
  http_client(http_transport_options opts,
              std::shared_ptr<http_transport_stats> stats)
    : opts_(std::move(opts)),
      stats_(std::move(stats)),
      work_(asio::make_work_guard(io_)),
      resolver_(io_) {
    // A pool of zero connections would queue every attempt forever.
    opts_.max_connections = std::max<std::size_t>(1, opts_.max_connections);
    // An IPv6 literal goes into brackets (RFC 9110 7.2).
    auto host = opts_.host.find(':') != std::string::npos
                  ? "[" + opts_.host + "]"
                  : opts_.host;
    host_header_ = host + ":" + std::to_string(opts_.port);
    thread_ = std::thread{[this] { run(); }};
  }

  ~http_client() {
    stop();
  }

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Called by the actor: starts one attempt on the I/O thread.
  void post_attempt(attempt_request req, caf::actor_addr requester,
                    bool probe = false) {
    asio::post(io_, [this, req{std::move(req)}, requester{std::move(requester)},
                     probe]() mutable {
      start(std::move(req), std::move(requester), probe);
    });
  }

  /// Called by the actor: ends one attempt without a result.
  void post_cancel(caf::actor_addr requester, std::uint64_t attempt_id) {
    asio::post(io_, [this, requester{std::move(requester)}, attempt_id] {
      cancel(attempt_key{requester, attempt_id});
    });
  }

  /// Closes every socket, lets the aborted handlers drain and joins the I/O
  /// thread. Idempotent; never called from the I/O thread.
  void stop() {
    if (!thread_.joinable())
      return;
    asio::post(io_, [this] { shutdown(); });
    work_.reset();
    thread_.join();
  }

 private:
  void run() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (...) {
        // A handler threw (allocation failure): keep serving the others.
      }
    }
  }

  void shutdown() {
    stopping_ = true;
    for (auto& [key, x] : live_) {
      x->done = true;
      x->timer.cancel();
      if (x->conn)
        close(*x->conn);
    }
    live_.clear();
    queue_.clear();
    for (auto& c : idle_)
      close(*c);
    idle_.clear();
    resolver_.cancel();
  }

  // -- attempts -----------------------------------------------------------------

  void start(attempt_request req, caf::actor_addr requester,
             bool probe = false) {
    if (stopping_)
      return;
    ++stats_->attempts;
    attempt_key key{requester, req.attempt_id};
    auto x =
      std::make_shared<exchange>(io_, std::move(req), std::move(requester));
    x->probe = probe;
    x->started = steady::now();
    if (x->req.deadline_ns != no_deadline_ns)
      x->deadline =
        steady::time_point{std::chrono::duration_cast<steady::duration>(
          nanoseconds{x->req.deadline_ns})};
    // A repeated id from the same sender replaces the older attempt, which
    // then ends without a result (ids are unique per sender by protocol).
    if (auto i = live_.find(key); i != live_.end())
      abandon(i->second);
    live_[key] = x;
    // The key becomes a header line: a CR LF in it would make the downstream
    // read a second request of the sender's choosing, and the kept-alive
    // connection would fall out of step for everyone after. Refused here,
    // before any byte is written; never executed, and retrying cannot help.
    if (key_problem(x->req.idempotency_key)) {
      ++stats_->refused_headers;
      finish(x, class_result(failure_class::persistent));
      return;
    }
    // A probe's path becomes the request target: checked again here, at the
    // edge that writes it, whoever sent it.
    if (x->probe && !http_path_problem(x->req.operation).empty()) {
      ++stats_->refused_headers;
      finish(x, class_result(failure_class::persistent));
      return;
    }
    if (x->deadline <= x->started) {
      ++stats_->timeouts;
      finish(x, error_result(transport_error::timed_out));
      return;
    }
    arm_timer(x, x->deadline, false);
    acquire(x);
  }

  void cancel(const attempt_key& key) {
    auto i = live_.find(key);
    if (i == live_.end())
      return;
    ++stats_->cancels;
    auto x = i->second;
    abandon(x);
  }

  /// Ends `x` without a result, discarding its connection.
  void abandon(const exchange_ptr& x) {
    if (x->done)
      return;
    x->done = true;
    x->timer.cancel();
    live_.erase(attempt_key{x->requester, x->req.attempt_id});
    unqueue(x);
    if (auto c = std::move(x->conn))
      discard(c);
  }

  /// Sends `result` for `x` once; the connection (if any) must already be
  /// released or discarded.
  void finish(const exchange_ptr& x, attempt_result result) {
    if (x->done)
      return;
    x->done = true;
    x->timer.cancel();
    live_.erase(attempt_key{x->requester, x->req.attempt_id});
    unqueue(x);
    result.attempt_id = x->req.attempt_id;
    result.latency_ns =
      std::chrono::duration_cast<nanoseconds>(steady::now() - x->started)
        .count();
    ++stats_->answered;
    if (auto to = caf::actor_cast<caf::actor>(x->requester))
      caf::anon_send(to, result_atom::value, std::move(result));
  }

  /// Discards the connection of `x` (if any) and sends `result`.
  void fail(const exchange_ptr& x, attempt_result result) {
    if (auto c = std::move(x->conn))
      discard(c);
    finish(x, std::move(result));
  }

  void arm_timer(const exchange_ptr& x, steady::time_point at,
                 bool is_connect) {
    auto gen = ++x->timer_gen;
    x->timer_is_connect = is_connect;
    x->timer.expires_at(at);
    x->timer.async_wait([this, x, gen](const error_code& ec) {
      if (ec == asio::error::operation_aborted || stopping_ || x->done
          || gen != x->timer_gen)
        return;
      on_timer(x);
    });
  }

  void on_timer(const exchange_ptr& x) {
    if (x->timer_is_connect && steady::now() < x->deadline) {
      // The TCP handshake never completed: nothing was sent, which is what
      // connection_refused tells the classifier (never executed).
      fail(x, error_result(transport_error::connection_refused));
      return;
    }
    ++stats_->timeouts;
    fail(x, error_result(transport_error::timed_out));
  }

  // -- the pool -----------------------------------------------------------------

  void acquire(const exchange_ptr& x) {
    auto now = steady::now();
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (now - c->idle_since > opts_.idle_timeout) {
        discard(c);
        continue;
      }
      send(x, std::move(c));
      return;
    }
    if (open_ < opts_.max_connections) {
      connect(x);
      return;
    }
    if (queue_.size() < opts_.max_queued) {
      ++stats_->queued;
      x->at = phase::queued;
      queue_.push_back(x);
      return;
    }
    ++stats_->pool_rejections;
    finish(x, class_result(failure_class::rejected_locally));
  }

  void unqueue(const exchange_ptr& x) {
    if (x->at != phase::queued)
      return;
    auto i = std::find(queue_.begin(), queue_.end(), x);
    if (i != queue_.end())
      queue_.erase(i);
  }

  /// Returns a healthy connection after a complete response.
  void release(connection_ptr c) {
    if (stopping_) {
      discard(c);
      return;
    }
    c->idle_since = steady::now();
    if (!queue_.empty()) {
      auto x = std::move(queue_.front());
      queue_.pop_front();
      send(x, std::move(c));
      return;
    }
    idle_.push_back(std::move(c));
  }

  /// Closes a connection for good; its pool slot goes to a waiting attempt.
  void discard(const connection_ptr& c) {
    if (!c->open)
      return;
    c->open = false;
    --open_;
    close(*c);
    if (!stopping_ && !queue_.empty() && open_ < opts_.max_connections) {
      auto x = std::move(queue_.front());
      queue_.pop_front();
      connect(x);
    }
  }

  static void close(connection& c) {
    error_code ignored;
    c.socket.shutdown(tcp::socket::shutdown_both, ignored);
    c.socket.close(ignored);
  }

  // -- connect, write, read -----------------------------------------------------

  void connect(const exchange_ptr& x) {
    ++open_;
    ++stats_->connections_opened;
    auto c = std::make_shared<connection>(io_);
    x->conn = c;
    x->at = phase::connecting;
    auto connect_deadline = steady::now() + opts_.connect_timeout;
    if (connect_deadline < x->deadline)
      arm_timer(x, connect_deadline, true);
    resolver_.async_resolve(
      opts_.host, std::to_string(opts_.port),
      [this, x, c](const error_code& ec, tcp::resolver::results_type results) {
        if (stopping_ || x->done || x->conn != c) {
          discard(c);
          return;
        }
        if (ec) {
          fail(x, error_result(transport_error::dns_failure));
          return;
        }
        asio::async_connect(
          c->socket, results,
          [this, x, c](const error_code& ec, const tcp::endpoint&) {
            if (stopping_ || x->done || x->conn != c) {
              discard(c);
              return;
            }
            if (ec) {
              // The handshake failed (refused, unreachable, reset): nothing
              // was sent.
              fail(x, error_result(transport_error::connection_refused));
              return;
            }
            error_code ignored;
            c->socket.set_option(tcp::no_delay{true}, ignored);
            if (x->timer_is_connect)
              arm_timer(x, x->deadline, false);
            send(x, c);
          });
      });
  }

  std::string method_of(const std::string& operation) const {
    auto i = opts_.methods.find(operation);
    return i != opts_.methods.end() ? i->second : opts_.default_method;
  }

  void send(const exchange_ptr& x, connection_ptr c) {
    if (c->uses > 0)
      ++stats_->reused;
    ++c->uses;
    ++stats_->requests_sent;
    x->conn = c;
    x->at = phase::sending;
    auto& r = x->request;
    r = {};
    r.version(11);
    if (x->probe) {
      r.method(http::verb::get);
      r.target(x->req.operation);
    } else {
      r.method_string(method_of(x->req.operation));
      r.target(expand_path(opts_.path_template, x->req.operation));
    }
    r.set(http::field::host, host_header_);
    if (!x->probe)
      r.set(http::field::content_type, opts_.content_type);
    if (!x->req.idempotency_key.empty())
      r.set(idempotency_key_header, x->req.idempotency_key);
    if (x->deadline != steady::time_point::max()) {
      // Remaining budget, rounded down: the downstream never believes it has
      // more time than the caller gives it.
      auto left =
        std::chrono::duration_cast<milliseconds>(x->deadline - steady::now());
      r.set(deadline_ms_header,
            std::to_string(std::max<std::int64_t>(0, left.count())));
    }
    r.set(attempt_header, std::to_string(x->req.attempt_number));
    r.set(criticality_header, to_string(x->req.crit));
    if (!x->req.trace.empty()) {
      // The attempt's own span is the parent of what the downstream does.
      r.set(traceparent_header,
            format_traceparent(x->req.trace, x->req.trace.parent_id));
      // Becomes a header line: only a valid one in canonical form goes out
      // (the spec's rule for an invalid tracestate is to drop it).
      std::string state;
      if (!x->req.trace.tracestate.empty()
          && !parse_tracestate(x->req.trace.tracestate, state))
        r.set(tracestate_header, state);
    }
    r.keep_alive(true);
    if (!x->probe)
      r.body() = x->req.payload;
    r.prepare_payload();
    http::async_write(c->socket, r,
                      [this, x, c](const error_code& ec, std::size_t) {
                        if (stopping_ || x->done || x->conn != c)
                          return;
                        if (ec) {
                          on_io_error(x, ec);
                          return;
                        }
                        receive(x);
                      });
  }

  void receive(const exchange_ptr& x) {
    auto c = x->conn;
    x->at = phase::receiving;
    x->parser.emplace();
    x->parser->header_limit(opts_.max_header_bytes);
    x->parser->body_limit(opts_.max_body_bytes);
    http::async_read(c->socket, c->buffer, *x->parser,
                     [this, x, c](const error_code& ec, std::size_t) {
                       if (stopping_ || x->done || x->conn != c)
                         return;
                       if (ec) {
                         on_io_error(x, ec);
                         return;
                       }
                       on_response(x);
                     });
  }

  void on_io_error(const exchange_ptr& x, const error_code& ec) {
    auto c = x->conn;
    bool nothing_back = !x->parser || !x->parser->got_some();
    bool closed = ec == http::error::end_of_stream || ec == asio::error::eof
                  || ec == asio::error::connection_reset
                  || ec == asio::error::broken_pipe;
    if (closed && nothing_back && c->uses > 1 && !x->resent
        && !x->req.idempotency_key.empty()) {
      // A kept-alive connection the server had already closed: the request
      // most likely never arrived, and its idempotency key makes a resend
      // safe even if it did (as Go's net/http does). Once, on a new one.
      x->resent = true;
      ++stats_->stale_resends;
      x->conn.reset();
      discard(c);
      if (open_ < opts_.max_connections)
        connect(x);
      else
        acquire(x);
      return;
    }
    if (is_http_error(ec) && ec != http::error::end_of_stream) {
      // Bad status line, bad header, limits exceeded, truncated body.
      ++stats_->protocol_errors;
      fail(x, error_result(transport_error::protocol_error));
      return;
    }
    fail(x, error_result(transport_error::connection_reset));
  }

  void on_response(const exchange_ptr& x) {
    auto c = x->conn;
    auto res = x->parser->release();
    x->parser.reset();
    x->conn.reset();
    if (res.keep_alive())
      release(std::move(c));
    else
      discard(c);
    auto status = static_cast<std::int32_t>(res.result_int());
    attempt_result result = status >= 200 && status < 300
                              ? success_result(std::move(res.body()), status)
                              : status_result(status, std::move(res.body()));
    if (auto i = res.find(http::field::retry_after); i != res.end()) {
      auto v = i->value();
      if (auto d = parse_retry_after(std::string_view{v.data(), v.size()},
                                     std::chrono::system_clock::now()))
        result.retry_after_ns = to_wire_duration(*d);
    }
    if (auto i = res.find(opts_.do_not_retry_header); i != res.end()) {
      auto v = trim(std::string_view{i->value().data(), i->value().size()});
      result.do_not_retry = v == "1" || iequals(v, "true");
    }
    finish(x, std::move(result));
  }

  http_transport_options opts_;
  std::shared_ptr<http_transport_stats> stats_;
  std::string host_header_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  tcp::resolver resolver_;
  // -- I/O thread only ----------------------------------------------------------
  bool stopping_ = false;
  /// Open and opening connections (idle ones included).
  std::size_t open_ = 0;
  /// Kept-alive connections; the most recently used is reused first.
  std::vector<connection_ptr> idle_;
  std::deque<exchange_ptr> queue_;
  std::unordered_map<attempt_key, exchange_ptr, attempt_key_hash> live_;
  std::thread thread_;
};

// -- Retry-After ----------------------------------------------------------------

std::optional<std::int64_t> parse_http_date(std::string_view text) {
  // RFC 9110 5.6.7: IMF-fixdate, then the obsolete RFC 850 and asctime forms.
  static constexpr const char* formats[] = {
    "%a, %d %b %Y %H:%M:%S GMT",
    "%A, %d-%b-%y %H:%M:%S GMT",
    "%a %b %e %H:%M:%S %Y",
  };
  std::string s{text};
  for (auto fmt : formats) {
    std::tm tm{};
    auto end = strptime(s.c_str(), fmt, &tm);
    if (end != nullptr && *end == '\0')
      return static_cast<std::int64_t>(timegm(&tm));
  }
  return std::nullopt;
}

} // namespace

std::optional<duration>
parse_retry_after(std::string_view value,
                  std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty())
    return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    // Delta-seconds; absurd values are capped at a day instead of overflowing.
    std::int64_t secs = 0;
    for (auto c : value) {
      secs = secs * 10 + (c - '0');
      if (secs > 86400) {
        secs = 86400;
        break;
      }
    }
    return std::chrono::duration_cast<duration>(seconds{secs});
  }
  auto at = parse_http_date(value);
  if (!at)
    return std::nullopt;
  auto when = std::chrono::system_clock::time_point{seconds{*at}};
  if (when <= now)
    return duration{0};
  return std::chrono::duration_cast<duration>(when - now);
}

std::string expand_path(std::string_view path_template,
                        std::string_view operation) {
  static constexpr std::string_view placeholder = "{operation}";
  std::string encoded;
  for (auto ch : operation) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      encoded += ch;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      encoded += buf;
    }
  }
  std::string result;
  std::size_t pos = 0;
  for (;;) {
    auto i = path_template.find(placeholder, pos);
    if (i == std::string_view::npos) {
      result.append(path_template.substr(pos));
      return result;
    }
    result.append(path_template.substr(pos, i - pos));
    result += encoded;
    pos = i + placeholder.size();
  }
}

caf::behavior
http_transport_actor(caf::event_based_actor* self, http_transport_options opts,
                     std::shared_ptr<http_transport_stats> stats) {
  auto client =
    std::make_shared<http_client>(std::move(opts), std::move(stats));
  // The I/O thread must not outlive the actor: it is joined on termination.
  self->attach_functor([client] { client->stop(); });
  return {
    [self, client](attempt_atom, attempt_request& req) {
      client->post_attempt(std::move(req), caf::actor_cast<caf::actor_addr>(
                                             self->current_sender()));
    },
    [self, client](probe_atom, attempt_request& req) {
      client->post_attempt(
        std::move(req),
        caf::actor_cast<caf::actor_addr>(self->current_sender()), true);
    },
    [self, client](cancel_atom, std::uint64_t attempt_id) {
      client->post_cancel(
        caf::actor_cast<caf::actor_addr>(self->current_sender()), attempt_id);
    },
  };
}

namespace {

/// Throws when `value` cannot be written into a request as it is: no
/// controls anywhere, and no spaces or non-ASCII in a token (`token`).
void check_option(const char* name, std::string_view value, bool token) {
  auto fail = [name](const char* why) {
    throw std::invalid_argument(std::string{"http_transport_options::"} + name
                                + why);
  };
  if (token && value.empty())
    fail(" must not be empty");
  for (auto ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || (token && (c == ' ' || c >= 0x80)))
      fail(" contains a character HTTP does not allow there");
  }
}

} // namespace

http_transport http_transport::spawn(caf::actor_system& sys,
                                     http_transport_options opts) {
  check_option("host", opts.host, true);
  check_option("default_method", opts.default_method, true);
  for (auto& [op, method] : opts.methods)
    check_option("methods", method, true);
  check_option("path_template", opts.path_template, true);
  check_option("content_type", opts.content_type, false);
  check_option("do_not_retry_header", opts.do_not_retry_header, true);
  auto stats = std::make_shared<http_transport_stats>();
  auto hdl = sys.spawn(http_transport_actor, std::move(opts), stats);
  return http_transport{std::move(hdl), std::move(stats)};
}

} // namespace bulwark
