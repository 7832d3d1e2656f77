#include "tools/chaos/chaos_proxy.hpp"

#include "bulwark/actors/http/beast.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "bulwark/runtime/chaos/proxy_fault_table.hpp"
#include "bulwark/runtime/core/idempotency_key.hpp"
#include "bulwark/runtime/core/rng.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace bulwark {

std::string to_string(proxy_mode x) {
  switch (x) {
    case proxy_mode::http:
      return "http";
    case proxy_mode::tcp:
      return "tcp";
  }
  return "invalid";
}

namespace {

using clock_type = std::chrono::steady_clock;
using request_t = http::request<http::string_body>;
using response_t = http::response<http::string_body>;

class connection;

// One io thread: its io_context, its acceptor on the shared port, its pool
// of idle upstream connections. Only its own thread touches them.
struct worker {
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  struct idle_upstream {
    std::unique_ptr<beast::tcp_stream> stream;
    clock_type::time_point since;
  };
  std::vector<idle_upstream> pool;
  std::unordered_set<std::shared_ptr<connection>> live;
  std::thread thread;
};

// Header fields that describe one hop, not the message (RFC 9110 7.6.1).
void strip_hop_by_hop(http::fields& f) {
  for (auto name :
       {http::field::connection, http::field::keep_alive,
        http::field::proxy_connection, http::field::te, http::field::trailer,
        http::field::transfer_encoding, http::field::upgrade,
        http::field::proxy_authorization, http::field::proxy_authenticate})
    f.erase(name);
}

tcp::endpoint resolve_host(const std::string& host, std::uint16_t port) {
  boost::system::error_code ec;
  auto text = host == "localhost" ? std::string{"127.0.0.1"} : host;
  auto addr = net::ip::make_address(text, ec);
  if (ec)
    throw std::invalid_argument("not an IP address or localhost: '" + host
                                + "'");
  return tcp::endpoint{addr, port};
}

} // namespace

struct chaos_proxy::impl : std::enable_shared_from_this<chaos_proxy::impl> {
  chaos_proxy_options opts;
  tcp::endpoint upstream;

  mutable std::mutex mtx;
  proxy_fault_table table;
  proxy_stats stats;
  rng gen;

  std::atomic<std::size_t> connections{0};
  std::atomic<std::uint16_t> port{0};
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;
  std::vector<std::unique_ptr<worker>> workers;

  explicit impl(chaos_proxy_options o)
    : opts(std::move(o)),
      stats(opts.key_memory),
      gen(opts.seed) {}

  /// Decides the fate of one request (or TCP connection) and counts it.
  std::pair<std::string, proxy_decision> decide(std::string_view method,
                                                std::string_view path,
                                                std::string_view key,
                                                bool key_valid) {
    auto now = clock_type::now();
    std::lock_guard<std::mutex> guard{mtx};
    std::pair<std::string, proxy_decision> out;
    if (auto* f = table.match(method, path)) {
      out.first = f->name;
      out.second = decide_proxy(f->config, f->added, now, gen);
    } else {
      out.first = std::string{proxy_stats::unmatched_route};
    }
    stats.observe(out.first, key, key_valid, out.second);
    return out;
  }

  void upstream_failed(const std::string& route) {
    std::lock_guard<std::mutex> guard{mtx};
    stats.upstream_failed(route);
  }

  void do_accept(worker& w);
};

namespace {

// Writes `data` to `stream`: the first `fast` bytes at once, the rest at
// `bytes_per_s` in small paced pieces (a timer between pieces), then calls
// `done(ec)`. With bytes_per_s == 0 everything goes at once.
template <class Stream>
class paced_writer : public std::enable_shared_from_this<paced_writer<Stream>> {
 public:
  using handler = std::function<void(beast::error_code)>;

  paced_writer(Stream& stream, std::shared_ptr<const std::string> data,
               std::size_t fast, std::uint64_t bytes_per_s, handler done)
    : stream_(stream),
      timer_(stream.get_executor()),
      data_(std::move(data)),
      sent_(0),
      fast_(std::min(fast, data_->size())),
      rate_(bytes_per_s),
      done_(std::move(done)) {
    // About 20 pieces a second, never below one byte.
    piece_ =
      rate_ == 0
        ? data_->size()
        : static_cast<std::size_t>(std::max<std::uint64_t>(1, rate_ / 20));
  }

  void start() {
    auto n = rate_ == 0 ? data_->size() : fast_;
    write(n, false);
  }

 private:
  void write(std::size_t n, bool paced) {
    if (n == 0) {
      next();
      return;
    }
    auto self = this->shared_from_this();
    net::async_write(stream_, net::buffer(data_->data() + sent_, n),
                     [self, paced](beast::error_code ec, std::size_t bytes) {
                       self->sent_ += bytes;
                       if (ec) {
                         self->done_(ec);
                         return;
                       }
                       if (paced)
                         self->wait_then_next(bytes);
                       else
                         self->next();
                     });
  }

  void wait_then_next(std::size_t bytes) {
    auto ns = static_cast<std::int64_t>(static_cast<double>(bytes) * 1e9
                                        / static_cast<double>(rate_));
    timer_.expires_after(std::chrono::nanoseconds(ns));
    auto self = this->shared_from_this();
    timer_.async_wait([self](beast::error_code ec) {
      if (ec) {
        self->done_(ec);
        return;
      }
      self->next();
    });
  }

  void next() {
    if (sent_ >= data_->size()) {
      done_({});
      return;
    }
    write(std::min(piece_, data_->size() - sent_), true);
  }

  Stream& stream_;
  net::steady_timer timer_;
  std::shared_ptr<const std::string> data_;
  std::size_t sent_;
  std::size_t fast_;
  std::uint64_t rate_;
  std::size_t piece_;
  handler done_;
};

// A client connection, HTTP or TCP mode. Lives on its worker's thread; the
// worker's `live` set keeps it until it closes (so stop() can close all).
class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(std::shared_ptr<chaos_proxy::impl> proxy, worker& w,
             tcp::socket&& socket)
    : proxy_(std::move(proxy)),
      w_(w),
      opts_(proxy_->opts),
      client_(std::move(socket)),
      timer_(w.ioc) {}

  ~connection() {
    proxy_->connections.fetch_sub(1);
  }

  void start() {
    if (opts_.mode == proxy_mode::http)
      read_request();
    else
      start_tcp();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ec;
    client_.socket().shutdown(tcp::socket::shutdown_both, ec);
    client_.close();
    if (upstream_)
      upstream_->close();
    w_.live.erase(shared_from_this());
  }

 private:
  // -- HTTP mode --------------------------------------------------------------

  void read_request() {
    if (closed_)
      return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
    parser_->body_limit(opts_.max_body_bytes);
    client_.expires_after(opts_.read_timeout);
    http::async_read_header(
      client_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_header(ec);
      });
  }

  void on_header(beast::error_code ec) {
    if (closed_)
      return;
    if (ec || parser_->is_done()) {
      on_request(ec);
      return;
    }
    // A client waiting for "100 Continue" before its body (curl does for
    // bodies over 1 KiB) would otherwise stall for a second.
    auto& req = parser_->get();
    if (beast::iequals(req[http::field::expect], "100-continue")
        && req.version() >= 11) {
      static const std::string continue_text = "HTTP/1.1 100 Continue\r\n\r\n";
      req.erase(http::field::expect); // answered here, not forwarded
      net::async_write(
        client_, net::buffer(continue_text),
        [self = shared_from_this()](beast::error_code wec, std::size_t) {
          if (wec) {
            self->close();
            return;
          }
          self->read_body();
        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(
      client_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_request(ec);
      });
  }

  void on_request(beast::error_code ec) {
    if (closed_)
      return;
    if (ec) {
      if (ec == http::error::body_limit)
        answer_local(http::status::payload_too_large,
                     fmt::format("request body larger than {} bytes",
                                 opts_.max_body_bytes));
      else if (ec == http::error::header_limit)
        answer_local(http::status::request_header_fields_too_large,
                     fmt::format("request header larger than {} bytes",
                                 opts_.max_header_bytes));
      else if (ec.category()
                 == make_error_code(http::error::end_of_stream).category()
               && ec != http::error::end_of_stream)
        answer_local(http::status::bad_request, "malformed HTTP request");
      else
        close();
      return;
    }
    client_.expires_never();
    req_ = parser_->release();
    parser_.reset();
    keep_alive_ = req_.keep_alive();
    head_ = req_.method() == http::verb::head;
    std::string_view raw_key;
    if (auto i = req_.find("Idempotency-Key"); i != req_.end())
      raw_key = std::string_view{i->value().data(), i->value().size()};
    bool key_valid = raw_key.empty() || !key_problem(raw_key);
    auto method = std::string_view{req_.method_string().data(),
                                   req_.method_string().size()};
    auto target = std::string_view{req_.target().data(), req_.target().size()};
    auto [route, decision] = proxy_->decide(method, target, raw_key, key_valid);
    route_ = std::move(route);
    decision_ = decision;
    after_latency([self = shared_from_this()] { self->act_http(); });
  }

  void after_latency(std::function<void()> next) {
    if (decision_.latency <= duration::zero()) {
      next();
      return;
    }
    timer_.expires_after(decision_.latency);
    timer_.async_wait([self = shared_from_this(),
                       next = std::move(next)](beast::error_code ec) {
      if (ec || self->closed_)
        return;
      next();
    });
  }

  void act_http() {
    switch (decision_.action) {
      case proxy_action::reset:
        reset();
        return;
      case proxy_action::black_hole:
        black_hole();
        return;
      case proxy_action::error: {
        response_t res{static_cast<http::status>(decision_.status), 11};
        res.set(http::field::content_type, "text/plain");
        // Route names are [A-Za-z0-9._-] (fault_name_problem): safe here.
        res.set("Bulwark-Chaos-Fault", route_);
        if (decision_.retry_after > duration::zero()) {
          auto secs =
            std::chrono::ceil<std::chrono::seconds>(decision_.retry_after)
              .count();
          res.set(http::field::retry_after, std::to_string(secs));
        }
        res.body() = fmt::format("injected {} by bulwark-chaos (fault {})\n",
                                 to_string(decision_.failure), route_);
        send_response(std::move(res), decision_.body_bytes_per_s);
        return;
      }
      case proxy_action::forward:
        forward(false);
        return;
    }
  }

  // Forwards req_ on a pooled connection (or a new one). `fresh` forbids
  // the pool: a resend after a stale pooled connection failed.
  void forward(bool fresh) {
    reused_ = false;
    upstream_.reset();
    if (!fresh) {
      auto now = clock_type::now();
      while (!w_.pool.empty()) {
        auto entry = std::move(w_.pool.back());
        w_.pool.pop_back();
        if (now - entry.since < opts_.upstream_idle) {
          upstream_ = std::move(entry.stream);
          reused_ = true;
          break;
        }
      }
    }
    if (upstream_) {
      write_upstream();
      return;
    }
    upstream_ = std::make_unique<beast::tcp_stream>(w_.ioc);
    upstream_->expires_after(opts_.connect_timeout);
    upstream_->async_connect(
      proxy_->upstream, [self = shared_from_this()](beast::error_code ec) {
        if (self->closed_)
          return;
        if (ec) {
          self->upstream_error(http::status::bad_gateway,
                               "cannot connect to the upstream");
          return;
        }
        beast::error_code ignored;
        self->upstream_->socket().set_option(tcp::no_delay{true}, ignored);
        self->write_upstream();
      });
  }

  void write_upstream() {
    if (!out_req_) {
      out_req_ = std::make_shared<request_t>(std::move(req_));
      strip_hop_by_hop(*out_req_);
      out_req_->keep_alive(true);
      out_req_->prepare_payload();
    }
    upstream_->expires_after(opts_.upstream_timeout);
    http::async_write(
      *upstream_, *out_req_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (self->closed_)
          return;
        if (ec) {
          self->retry_or_fail("the upstream closed the "
                              "connection");
          return;
        }
        self->read_upstream();
      });
  }

  void read_upstream() {
    up_parser_.emplace();
    up_parser_->header_limit(
      static_cast<std::uint32_t>(opts_.max_header_bytes));
    up_parser_->body_limit(opts_.max_body_bytes);
    if (head_)
      up_parser_->skip(true);
    up_buffer_.clear();
    http::async_read(
      *upstream_, up_buffer_, *up_parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
        if (self->closed_)
          return;
        if (ec) {
          if (ec == beast::error::timeout) {
            self->upstream_error(http::status::gateway_timeout,
                                 "the upstream did not answer "
                                 "in time");
          } else if (bytes == 0
                     && (ec == http::error::end_of_stream
                         || ec == net::error::connection_reset
                         || ec == net::error::eof)) {
            self->retry_or_fail("the upstream closed the "
                                "connection");
          } else {
            self->upstream_error(http::status::bad_gateway,
                                 "bad response from the "
                                 "upstream");
          }
          return;
        }
        self->on_upstream_response();
      });
  }

  void retry_or_fail(const char* what) {
    // A kept-alive connection the upstream had closed before reading:
    // the request never arrived, so one resend on a new connection is safe.
    if (reused_) {
      upstream_->close();
      forward(true);
      return;
    }
    upstream_error(http::status::bad_gateway, what);
  }

  void upstream_error(http::status status, const char* what) {
    proxy_->upstream_failed(route_);
    if (upstream_) {
      upstream_->close();
      upstream_.reset();
    }
    out_req_.reset();
    answer_local(status, what, keep_alive_);
  }

  void on_upstream_response() {
    auto res = up_parser_->release();
    up_parser_.reset();
    out_req_.reset();
    upstream_->expires_never();
    if (res.keep_alive() && w_.pool.size() < opts_.upstream_pool
        && !proxy_->stopping)
      w_.pool.push_back(
        worker::idle_upstream{std::move(upstream_), clock_type::now()});
    else
      upstream_->close();
    upstream_.reset();
    strip_hop_by_hop(res);
    auto status = res.result_int();
    bool bodyless = head_ || status < 200 || status == 204 || status == 304;
    if (!bodyless)
      res.prepare_payload();
    send_response(std::move(res), decision_.body_bytes_per_s);
  }

  void answer_local(http::status status, std::string_view message,
                    bool keep = false) {
    response_t res{status, 11};
    res.set(http::field::content_type, "text/plain");
    res.body() = std::string{message} + "\n";
    keep_alive_ = keep;
    send_response(std::move(res), 0);
  }

  void send_response(response_t res, std::uint64_t bytes_per_s) {
    res.version(11);
    res.keep_alive(keep_alive_);
    if (res.result_int() >= 200 && !head_ && res.result_int() != 204
        && res.result_int() != 304 && !res.has_content_length())
      res.prepare_payload();
    auto keep = keep_alive_ && !res.need_eof();
    auto done = [self = shared_from_this(), keep](beast::error_code ec) {
      if (self->closed_)
        return;
      if (ec || !keep) {
        self->close();
        return;
      }
      self->read_request();
    };
    // Writing must finish within the read timeout plus the paced time.
    auto body_size = res.body().size();
    auto paced = bytes_per_s == 0
                   ? std::chrono::milliseconds{0}
                   : std::chrono::milliseconds{static_cast<std::int64_t>(
                     static_cast<double>(body_size) * 1000.0
                     / static_cast<double>(bytes_per_s))};
    client_.expires_after(opts_.read_timeout + paced);
    if (bytes_per_s == 0) {
      auto msg = std::make_shared<response_t>(std::move(res));
      http::async_write(
        client_, *msg,
        [msg, done](beast::error_code ec, std::size_t) { done(ec); });
      return;
    }
    std::ostringstream os;
    os << res.base();
    auto header_size = os.str().size();
    if (!head_)
      os << res.body();
    auto text = std::make_shared<const std::string>(os.str());
    std::make_shared<paced_writer<beast::tcp_stream>>(
      client_, text, header_size, bytes_per_s, done)
      ->start();
  }

  void reset() {
    beast::error_code ec;
    client_.socket().set_option(tcp::socket::linger{true, 0}, ec);
    closed_ = true;
    timer_.cancel();
    client_.socket().close(ec);
    if (upstream_)
      upstream_->close();
    w_.live.erase(shared_from_this());
  }

  void black_hole() {
    // Read and drop until the client gives up or the hold time ends.
    client_.expires_after(opts_.black_hole_timeout);
    scratch_.resize(16 * 1024);
    drain();
  }

  void drain() {
    client_.async_read_some(
      net::buffer(scratch_),
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (self->closed_)
          return;
        if (ec) {
          self->close();
          return;
        }
        self->drain();
      });
  }

  // -- TCP mode ---------------------------------------------------------------

  void start_tcp() {
    auto [route, decision] = proxy_->decide("", "/", "", true);
    route_ = std::move(route);
    decision_ = decision;
    after_latency([self = shared_from_this()] {
      switch (self->decision_.action) {
        case proxy_action::black_hole:
          self->black_hole();
          return;
        case proxy_action::reset:
        case proxy_action::error: // a TCP service cannot answer a status
          self->reset();
          return;
        case proxy_action::forward:
          self->connect_tcp();
          return;
      }
    });
  }

  void connect_tcp() {
    upstream_ = std::make_unique<beast::tcp_stream>(w_.ioc);
    upstream_->expires_after(opts_.connect_timeout);
    upstream_->async_connect(
      proxy_->upstream, [self = shared_from_this()](beast::error_code ec) {
        if (self->closed_)
          return;
        if (ec) {
          self->proxy_->upstream_failed(self->route_);
          self->reset();
          return;
        }
        self->pump_up_ = std::make_shared<pipe_state>();
        self->pump_down_ = std::make_shared<pipe_state>();
        self->pump(self->client_, *self->upstream_, *self->pump_up_, 0);
        self->pump(*self->upstream_, self->client_, *self->pump_down_,
                   self->decision_.body_bytes_per_s);
      });
  }

  struct pipe_state {
    std::vector<char> buf = std::vector<char>(16 * 1024);
    bool done = false;
  };

  // Copies `from` -> `to` until EOF (then half-closes `to`) or an error
  // (then closes everything).
  void pump(beast::tcp_stream& from, beast::tcp_stream& to, pipe_state& p,
            std::uint64_t bytes_per_s) {
    from.expires_after(opts_.tcp_idle_timeout);
    from.async_read_some(
      net::buffer(p.buf), [self = shared_from_this(), &from, &to, &p,
                           bytes_per_s](beast::error_code ec, std::size_t n) {
        if (self->closed_)
          return;
        if (ec == net::error::eof) {
          beast::error_code ignored;
          to.socket().shutdown(tcp::socket::shutdown_send, ignored);
          p.done = true;
          if (self->pump_up_->done && self->pump_down_->done)
            self->close();
          return;
        }
        if (ec) {
          self->close();
          return;
        }
        auto data = std::make_shared<const std::string>(p.buf.data(), n);
        to.expires_after(self->opts_.tcp_idle_timeout);
        std::make_shared<paced_writer<beast::tcp_stream>>(
          to, data, 0, bytes_per_s,
          [self, &from, &to, &p, bytes_per_s](beast::error_code wec) {
            if (self->closed_)
              return;
            if (wec) {
              self->close();
              return;
            }
            self->pump(from, to, p, bytes_per_s);
          })
          ->start();
      });
  }

  std::shared_ptr<chaos_proxy::impl> proxy_;
  worker& w_;
  const chaos_proxy_options& opts_;
  beast::tcp_stream client_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  request_t req_;
  std::shared_ptr<request_t> out_req_;
  bool keep_alive_ = false;
  bool head_ = false;
  bool closed_ = false;
  bool reused_ = false;
  std::string route_;
  proxy_decision decision_;
  std::unique_ptr<beast::tcp_stream> upstream_;
  beast::flat_buffer up_buffer_;
  std::optional<http::response_parser<http::string_body>> up_parser_;
  std::vector<char> scratch_;
  std::shared_ptr<pipe_state> pump_up_;
  std::shared_ptr<pipe_state> pump_down_;
};

} // namespace

void chaos_proxy::impl::do_accept(worker& w) {
  w.acceptor.async_accept(w.ioc, [self = shared_from_this(), &w](
                                   beast::error_code ec, tcp::socket socket) {
    if (self->stopping)
      return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay{true}, ignored);
      if (self->connections.fetch_add(1) >= self->opts.max_connections) {
        self->connections.fetch_sub(1);
        if (self->opts.mode == proxy_mode::http) {
          static const std::string busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n";
          net::write(socket, net::buffer(busy), ignored);
        }
        socket.close(ignored);
      } else {
        auto conn = std::make_shared<connection>(self, w, std::move(socket));
        w.live.insert(conn);
        conn->start();
      }
    }
    self->do_accept(w);
  });
}

chaos_proxy::chaos_proxy(chaos_proxy_options opts)
  : impl_(std::make_shared<impl>(std::move(opts))) {}

chaos_proxy::~chaos_proxy() {
  stop();
}

void chaos_proxy::start() {
  auto& st = *impl_;
  if (st.started)
    throw std::logic_error("chaos_proxy::start called twice");
  st.started = true;
  st.upstream = resolve_host(st.opts.upstream_host, st.opts.upstream_port);
  auto listen = resolve_host(st.opts.listen_host, st.opts.listen_port);
  auto threads = std::max<std::size_t>(1, st.opts.threads);
  for (std::size_t i = 0; i < threads; ++i) {
    auto w = std::make_unique<worker>();
    w->acceptor.open(listen.protocol());
    w->acceptor.set_option(tcp::acceptor::reuse_address{true});
    int one = 1;
    // Every worker's acceptor binds the same port; the kernel spreads new
    // connections over them.
    ::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one,
                 sizeof one);
    w->acceptor.bind(listen);
    w->acceptor.listen(net::socket_base::max_listen_connections);
    if (i == 0) {
      st.port = w->acceptor.local_endpoint().port();
      listen.port(st.port);
    }
    st.workers.push_back(std::move(w));
  }
  for (auto& w : st.workers) {
    st.do_accept(*w);
    auto* raw = w.get();
    w->thread = std::thread{[raw] { raw->ioc.run(); }};
  }
}

void chaos_proxy::stop() {
  auto& st = *impl_;
  if (!st.started || st.stopped)
    return;
  st.stopped = true;
  st.stopping = true;
  for (auto& w : st.workers) {
    auto* raw = w.get();
    net::post(raw->ioc, [raw] {
      beast::error_code ec;
      raw->acceptor.close(ec);
      auto live = raw->live; // close() erases from the set
      for (auto& c : live)
        c->close();
      for (auto& idle : raw->pool)
        idle.stream->close();
      raw->pool.clear();
      raw->ioc.stop();
    });
  }
  for (auto& w : st.workers)
    if (w->thread.joinable())
      w->thread.join();
  // Run the cancelled handlers: they hold connections, which hold this
  // impl (a cycle that would outlive the proxy otherwise).
  for (auto& w : st.workers) {
    w->ioc.restart();
    w->ioc.poll();
    w->live.clear();
    w->pool.clear();
  }
  st.workers.clear();
}

std::uint16_t chaos_proxy::port() const noexcept {
  return impl_->port;
}

const chaos_proxy_options& chaos_proxy::options() const noexcept {
  return impl_->opts;
}

error_list chaos_proxy::put_fault(std::string_view name,
                                  const boost::json::value& fault) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->table.put(name, fault, clock_type::now());
}

error_list chaos_proxy::replace_faults(const boost::json::value& doc) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->table.replace_all(doc, clock_type::now());
}

bool chaos_proxy::remove_fault(std::string_view name) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->table.remove(name);
}

boost::json::object chaos_proxy::faults_json() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->table.to_json();
}

boost::json::object chaos_proxy::stats_json() const {
  boost::json::object out;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    out = impl_->stats.to_json();
  }
  out["connections"] = impl_->connections.load();
  return out;
}

route_stats chaos_proxy::route(std::string_view name) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->stats.route(name);
}

void chaos_proxy::clear_stats() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->stats.clear();
}

} // namespace bulwark
