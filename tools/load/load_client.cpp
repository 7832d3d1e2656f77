#include "tools/load/load_client.hpp"

#include "bulwark/actors/http/beast.hpp"

#include <algorithm>
#include <deque>
#include <memory>

#include <sys/prctl.h>

#include "bulwark/runtime/core/utf8.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace bulwark {

std::optional<http_target> parse_target_url(std::string_view url,
                                            std::string& error) {
  auto shown = printable_utf8(url, 100);
  constexpr std::string_view scheme = "http://";
  if (url.substr(0, scheme.size()) != scheme) {
    error = "target must start with http:// (got: " + shown + ")";
    return std::nullopt;
  }
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  auto authority = rest.substr(0, slash);
  http_target t;
  t.url = std::string{url};
  t.path = slash == std::string_view::npos ? std::string{"/"}
                                           : std::string{rest.substr(slash)};
  for (char c : t.path)
    if (static_cast<unsigned char>(c) <= 0x20
        || static_cast<unsigned char>(c) >= 0x7F) {
      error =
        "target path must be visible ASCII without spaces (got: " + shown + ")";
      return std::nullopt;
    }
  auto colon = authority.rfind(':');
  auto host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    auto digits = authority.substr(colon + 1);
    unsigned port = 0;
    bool ok = !digits.empty() && digits.size() <= 5;
    for (char c : digits) {
      ok = ok && c >= '0' && c <= '9';
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || port == 0 || port > 65535) {
      error = "target port must be 1 to 65535 (got: " + shown + ")";
      return std::nullopt;
    }
    t.port = static_cast<std::uint16_t>(port);
  }
  boost::system::error_code ec;
  auto text =
    host == "localhost" ? std::string{"127.0.0.1"} : std::string{host};
  auto addr = net::ip::make_address(text, ec);
  if (ec || !addr.is_v4()) {
    error =
      "target host must be an IPv4 address or localhost (got: " + shown + ")";
    return std::nullopt;
  }
  t.host = text;
  return t;
}

namespace {

using clock_type = std::chrono::steady_clock;
using request_t = http::request<http::string_body>;

struct job {
  clock_type::time_point intended;
  std::uint64_t seq = 0;
};

struct engine;

class client_conn : public std::enable_shared_from_this<client_conn> {
 public:
  client_conn(engine& e, std::size_t side);

  void connect_only(std::function<void(bool)> done);
  void run(job j);
  void close();

  bool busy = false;
  bool has_job = false;
  job current;

 private:
  void send();
  void on_response(beast::error_code ec, std::size_t bytes);
  bool resend_on_fresh_connection();
  void finish(request_end end, int status = 0);

  engine& e_;
  std::size_t side_;
  beast::tcp_stream stream_;
  bool connected_ = false;
  /// The connection was opened for the request now on it; a request on a
  /// connection that existed before may be resent once (see
  /// resend_on_fresh_connection).
  bool opened_for_request_ = false;
  bool resent_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::shared_ptr<request_t> req_;
  clock_type::time_point sent_at_;
};

struct side_state {
  http_target target;
  tcp::endpoint endpoint;
  request_template path;
  std::vector<std::shared_ptr<client_conn>> conns;
  std::vector<client_conn*> idle;
  std::deque<job> waiting;
  load_stats stats;
  log_linear_histogram interval_latency;
  std::uint64_t interval_requests = 0;
  std::uint64_t interval_errors = 0;
  std::uint64_t sent_in_time = 0;
  std::uint64_t dropped = 0;
  std::uint64_t connect_failures = 0;
  std::string connect_error;
};

struct engine {
  const load_options& opts;
  const std::function<void(const load_interval&)>& on_interval;
  net::io_context ioc{1};
  net::steady_timer tick{ioc};
  net::steady_timer interval_timer{ioc};
  net::steady_timer drain_timer{ioc};
  net::steady_timer slice_timer{ioc};
  arrival_schedule schedule;
  ab_slicer slicer;
  rng gen;
  std::vector<side_state> sides;
  clock_type::time_point start;
  clock_type::time_point end;
  clock_type::time_point last_answer;
  std::uint64_t seq = 0;
  std::size_t in_flight = 0;
  bool schedule_done = false;
  bool finished = false;
  std::size_t intervals_done = 0;
  load_result result;

  engine(const load_options& o,
         const std::function<void(const load_interval&)>& cb)
    : opts(o),
      on_interval(cb),
      schedule(o.arrival, o.rate_per_s, o.seed),
      slicer(o.slice),
      gen(o.seed ^ 0x5bd1e995ULL) {}

  std::size_t side_at(clock_type::time_point t) const {
    if (sides.size() < 2)
      return 0;
    return slicer.side_at(t - start) == ab_side::a ? 0 : 1;
  }

  std::shared_ptr<request_t> make_request(std::size_t side, std::uint64_t n) {
    auto& s = sides[side];
    auto r = std::make_shared<request_t>();
    r->version(11);
    auto verb = http::string_to_verb(opts.method);
    if (verb == http::verb::unknown)
      r->method_string(opts.method);
    else
      r->method(verb);
    r->target(s.path.expand(n, gen, opts.run_id));
    r->set(http::field::host,
           s.target.host + ":" + std::to_string(s.target.port));
    r->set(http::field::user_agent, "bulwark-bench load");
    for (auto& [name, value] : opts.headers)
      r->set(name, value.expand(n, gen, opts.run_id));
    if (!opts.body.empty()) {
      r->body() = opts.body.expand(n, gen, opts.run_id);
      r->set(http::field::content_type, opts.content_type);
    }
    r->keep_alive(true);
    r->prepare_payload();
    return r;
  }

  // -- open loop --------------------------------------------------------------

  void enqueue(std::size_t side, job j) {
    auto& s = sides[side];
    if (!s.idle.empty()) {
      auto* c = s.idle.back();
      s.idle.pop_back();
      c->run(j);
      return;
    }
    if (s.waiting.size() >= opts.max_waiting) {
      ++s.dropped;
      return;
    }
    s.waiting.push_back(j);
  }

  void on_tick() {
    auto now = clock_type::now();
    while (!schedule_done) {
      auto offset = schedule.peek();
      if (offset >= opts.duration || limit_reached()) {
        schedule_done = true;
        break;
      }
      auto due = start + offset;
      if (due > now)
        break;
      schedule.next();
      enqueue(side_at(due), job{due, seq++});
    }
    if (!schedule_done) {
      tick.expires_at(start + schedule.peek());
      tick.async_wait([this](beast::error_code ec) {
        if (!ec)
          on_tick();
      });
    } else {
      check_done();
    }
  }

  // -- closed loop ------------------------------------------------------------

  void closed_next(client_conn* c, std::size_t side) {
    auto now = clock_type::now();
    if (now >= end || limit_reached()) {
      schedule_done = true;
      sides[side].idle.push_back(c);
      check_done();
      return;
    }
    if (side_at(now) != side) {
      sides[side].idle.push_back(c); // parked until the side's slice
      return;
    }
    c->run(job{now, seq++});
  }

  void on_slice() {
    auto now = clock_type::now();
    if (now >= end)
      return;
    auto side = side_at(now);
    auto parked = std::move(sides[side].idle);
    sides[side].idle.clear();
    for (auto* c : parked)
      closed_next(c, side);
    auto k = slicer.slice_index(now - start) + 1;
    slice_timer.expires_at(start
                           + slicer.slice() * static_cast<std::int64_t>(k));
    slice_timer.async_wait([this](beast::error_code ec) {
      if (!ec)
        on_slice();
    });
  }

  // -- both -------------------------------------------------------------------

  void conn_free(client_conn* c, std::size_t side) {
    if (finished)
      return;
    if (opts.closed_loop) {
      closed_next(c, side);
      return;
    }
    auto& s = sides[side];
    if (!s.waiting.empty()) {
      auto j = s.waiting.front();
      s.waiting.pop_front();
      c->run(j);
      return;
    }
    s.idle.push_back(c);
    check_done();
  }

  bool limit_reached() const {
    return opts.max_requests != 0 && seq >= opts.max_requests;
  }

  void record(std::size_t side, request_end end_kind,
              std::chrono::nanoseconds latency, int status = 0) {
    auto& s = sides[side];
    if (status != 0)
      s.stats.record_status(status, latency);
    else
      s.stats.record(end_kind, latency);
    s.interval_latency.record(latency.count());
    ++s.interval_requests;
    if (end_kind != request_end::ok)
      ++s.interval_errors;
    last_answer = clock_type::now();
  }

  void check_done() {
    if (finished || !schedule_done || in_flight > 0)
      return;
    for (auto& s : sides)
      if (!s.waiting.empty())
        return;
    finish();
  }

  void emit_interval() {
    load_interval li;
    li.at_s = std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto& s : sides) {
      interval_summary x;
      x.requests = s.interval_requests;
      x.errors = s.interval_errors;
      x.p50_ms =
        static_cast<double>(s.interval_latency.value_at_quantile(0.5)) / 1e6;
      x.p99_ms =
        static_cast<double>(s.interval_latency.value_at_quantile(0.99)) / 1e6;
      x.max_ms = static_cast<double>(s.interval_latency.max()) / 1e6;
      li.per_target.push_back(x);
      s.interval_latency.reset();
      s.interval_requests = 0;
      s.interval_errors = 0;
    }
    if (on_interval)
      on_interval(li);
    result.intervals.push_back(std::move(li));
  }

  void on_interval_timer() {
    if (finished)
      return;
    emit_interval();
    ++intervals_done;
    interval_timer.expires_at(
      start + opts.interval * static_cast<std::int64_t>(intervals_done + 1));
    interval_timer.async_wait([this](beast::error_code ec) {
      if (!ec)
        on_interval_timer();
    });
  }

  void on_drain_deadline() {
    if (finished)
      return;
    auto now = clock_type::now();
    for (std::size_t i = 0; i < sides.size(); ++i) {
      auto& s = sides[i];
      for (auto& j : s.waiting)
        record(i, request_end::unfinished, now - j.intended);
      s.waiting.clear();
      for (auto& c : s.conns)
        if (c->has_job) {
          record(i, request_end::unfinished, now - c->current.intended);
          c->has_job = false;
        }
    }
    finish();
  }

  void finish() {
    if (finished)
      return;
    finished = true;
    if (sides.front().interval_requests > 0
        || (sides.size() > 1 && sides.back().interval_requests > 0))
      emit_interval();
    tick.cancel();
    interval_timer.cancel();
    drain_timer.cancel();
    slice_timer.cancel();
    for (auto& s : sides)
      for (auto& c : s.conns)
        c->close();
  }

  void begin() {
    start = clock_type::now();
    end = start + opts.duration;
    last_answer = start;
    drain_timer.expires_at(end + opts.drain);
    drain_timer.async_wait([this](beast::error_code ec) {
      if (!ec)
        on_drain_deadline();
    });
    interval_timer.expires_at(start + opts.interval);
    interval_timer.async_wait([this](beast::error_code ec) {
      if (!ec)
        on_interval_timer();
    });
    if (opts.closed_loop) {
      for (std::size_t i = 0; i < sides.size(); ++i) {
        auto idle = std::move(sides[i].idle);
        sides[i].idle.clear();
        for (auto* c : idle)
          closed_next(c, i);
      }
      if (sides.size() > 1) {
        slice_timer.expires_at(start + slicer.slice());
        slice_timer.async_wait([this](beast::error_code ec) {
          if (!ec)
            on_slice();
        });
      }
    } else {
      on_tick();
    }
  }
};

client_conn::client_conn(engine& e, std::size_t side)
  : e_(e),
    side_(side),
    stream_(e.ioc) {}

void client_conn::connect_only(std::function<void(bool)> done) {
  stream_.expires_after(std::chrono::seconds(5));
  stream_.async_connect(
    e_.sides[side_].endpoint,
    [self = shared_from_this(), done = std::move(done)](beast::error_code ec) {
      if (ec) {
        auto& s = self->e_.sides[self->side_];
        ++s.connect_failures;
        s.connect_error = ec.message();
        self->stream_.close();
        done(false);
        return;
      }
      beast::error_code ignored;
      self->stream_.socket().set_option(tcp::no_delay{true}, ignored);
      self->connected_ = true;
      done(true);
    });
}

void client_conn::run(job j) {
  current = j;
  has_job = true;
  resent_ = false;
  busy = true;
  ++e_.in_flight;
  req_ = e_.make_request(side_, j.seq);
  opened_for_request_ = !connected_;
  if (connected_) {
    send();
    return;
  }
  connect_only([self = shared_from_this()](bool ok) {
    if (self->e_.finished)
      return;
    if (!ok) {
      self->finish(request_end::transport_error);
      return;
    }
    self->send();
  });
}

void client_conn::send() {
  sent_at_ = clock_type::now();
  if (e_.opts.closed_loop)
    current.intended = sent_at_; // closed loop: latency from the real send
  if (!e_.opts.closed_loop && sent_at_ < e_.end && !resent_)
    ++e_.sides[side_].sent_in_time;
  ++e_.sides[side_].stats.sent;
  stream_.expires_after(e_.opts.timeout);
  http::async_write(
    stream_, *req_,
    [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (self->e_.finished)
        return;
      if (ec) {
        if (!self->resend_on_fresh_connection())
          self->finish(request_end::transport_error);
        return;
      }
      self->parser_.emplace();
      self->parser_->header_limit(
        static_cast<std::uint32_t>(self->e_.opts.max_header_bytes));
      self->parser_->body_limit(self->e_.opts.max_body_bytes);
      if (self->req_->method() == http::verb::head)
        self->parser_->skip(true);
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec2, std::size_t n) {
                         self->on_response(ec2, n);
                       });
    });
}

// A kept-alive connection the server closed while it sat idle in the pool
// (servers drop idle connections, e.g. after 10 s) fails the next request
// before any byte of an answer: the server never read it, so it is sent
// again, once, on a new connection. Its latency still runs from its
// intended time.
bool client_conn::resend_on_fresh_connection() {
  if (resent_ || opened_for_request_ || e_.finished)
    return false;
  resent_ = true;
  stream_.close();
  connected_ = false;
  buffer_.clear();
  connect_only([self = shared_from_this()](bool ok) {
    if (self->e_.finished)
      return;
    if (!ok) {
      self->finish(request_end::transport_error);
      return;
    }
    self->send();
  });
  return true;
}

void client_conn::on_response(beast::error_code ec, std::size_t bytes) {
  if (e_.finished)
    return;
  if (ec) {
    bool closed = ec == http::error::end_of_stream || ec == net::error::eof
                  || ec == net::error::connection_reset
                  || ec == net::error::broken_pipe;
    if (!(closed && bytes == 0 && resend_on_fresh_connection()))
      finish(request_end::transport_error);
    return;
  }
  opened_for_request_ = false;
  auto& res = parser_->get();
  auto keep = res.keep_alive();
  auto status = static_cast<int>(res.result_int());
  auto end = end_of_status(status);
  parser_.reset();
  if (!keep) {
    stream_.close();
    connected_ = false;
    buffer_.clear();
  }
  finish(end, status);
}

void client_conn::finish(request_end end, int status) {
  if (end == request_end::transport_error) {
    stream_.close();
    connected_ = false;
    buffer_.clear();
  }
  busy = false;
  --e_.in_flight;
  if (has_job) {
    has_job = false;
    e_.record(side_, end, clock_type::now() - current.intended, status);
  }
  stream_.expires_never();
  e_.conn_free(this, side_);
}

void client_conn::close() {
  beast::error_code ignored;
  stream_.socket().close(ignored);
}

} // namespace

load_result
run_load(const load_options& opts,
         const std::function<void(const load_interval&)>& on_interval) {
  engine e{opts, on_interval};
  load_result& r = e.result;
  if (opts.targets.empty() || opts.targets.size() > 2) {
    r.error = "a load run needs one target, or two for A/B";
    return r;
  }
  for (auto& t : opts.targets) {
    side_state s;
    s.target = t;
    s.endpoint = tcp::endpoint{net::ip::make_address(t.host), t.port};
    std::string error;
    auto path = request_template::parse(t.path, error);
    if (!path) {
      r.error = "target path: " + error;
      return r;
    }
    s.path = std::move(*path);
    e.sides.push_back(std::move(s));
  }
  // Timers on this thread fire within 1 ns of their time instead of Linux's
  // default 50 us slack: the sends are the measurement's reference.
  auto slack = ::prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  struct restore_slack {
    int value;
    ~restore_slack() {
      if (value > 0)
        ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(value), 0, 0, 0);
    }
  } restore{slack};
  // Connect the whole pool first, so the run measures requests, not
  // handshakes.
  auto per_side = std::max<std::size_t>(1, opts.connections);
  std::size_t pending = per_side * e.sides.size();
  for (std::size_t i = 0; i < e.sides.size(); ++i)
    for (std::size_t k = 0; k < per_side; ++k) {
      auto c = std::make_shared<client_conn>(e, i);
      e.sides[i].conns.push_back(c);
      c->connect_only([&e, &pending, i, raw = c.get()](bool ok) {
        if (ok)
          e.sides[i].idle.push_back(raw);
        if (--pending == 0)
          e.ioc.stop();
      });
    }
  e.ioc.run();
  e.ioc.restart();
  for (auto& s : e.sides)
    if (s.idle.empty()) {
      r.error = "cannot connect to " + printable_utf8(s.target.url, 100) + ": "
                + s.connect_error;
      return r;
    }
  // Connections that failed to open are retried when they get a request.
  for (auto& s : e.sides)
    for (auto& c : s.conns)
      if (std::find(s.idle.begin(), s.idle.end(), c.get()) == s.idle.end())
        s.idle.insert(s.idle.begin(), c.get());
  e.begin();
  e.ioc.run();
  auto stop_time = e.last_answer;
  r.elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
    std::max(stop_time, e.start) - e.start);
  // Time each side was scheduled: its slices within the duration.
  std::vector<std::chrono::nanoseconds> active(e.sides.size());
  if (e.sides.size() == 1) {
    active[0] = opts.duration;
  } else {
    auto slice = e.slicer.slice();
    for (std::chrono::nanoseconds t{0}; t < opts.duration; t += slice) {
      auto len = std::min(slice, opts.duration - t);
      active[e.slicer.side_at(t) == ab_side::a ? 0 : 1] += len;
    }
  }
  std::uint64_t sent_in_time = 0;
  for (std::size_t i = 0; i < e.sides.size(); ++i) {
    r.per_target.push_back(e.sides[i].stats);
    r.active.push_back(active[i]);
    r.sent_in_time.push_back(e.sides[i].sent_in_time);
    r.dropped.push_back(e.sides[i].dropped);
    sent_in_time += e.sides[i].sent_in_time;
  }
  if (!opts.closed_loop)
    r.verdict = judge_rate(opts.rate_per_s, sent_in_time, opts.duration);
  // Handlers still queued hold connections; let them see the end.
  e.ioc.restart();
  e.ioc.poll();
  return std::move(e.result);
}

} // namespace bulwark
