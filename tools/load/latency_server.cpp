#include "tools/load/latency_server.hpp"

#include "bulwark/actors/http/beast.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include <sys/prctl.h>

#include "bulwark/runtime/core/rng.hpp"

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace bulwark {

namespace {
class server_session;
} // namespace

struct latency_server::impl : std::enable_shared_from_this<impl> {
  latency_server_options opts;
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  std::chrono::steady_clock::time_point started_at;
  rng gen;
  mutable std::mutex mtx; // guards `injected`
  log_linear_histogram injected;
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint16_t> port{0};
  std::unordered_set<std::shared_ptr<server_session>> live;
  std::size_t connections = 0;
  bool started = false;
  bool stopped = false;

  explicit impl(latency_server_options o)
    : opts(std::move(o)),
      gen(opts.seed) {}

  void do_accept();
};

namespace {

class server_session : public std::enable_shared_from_this<server_session> {
 public:
  server_session(std::shared_ptr<latency_server::impl> srv, tcp::socket&& s)
    : srv_(std::move(srv)),
      stream_(std::move(s)),
      timer_(srv_->ioc) {}

  void start() {
    read();
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    timer_.cancel();
    stream_.close();
    --srv_->connections;
    srv_->live.erase(shared_from_this());
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(8 * 1024 * 1024);
    stream_.expires_after(std::chrono::seconds(60));
    http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (self->closed_)
          return;
        if (ec) {
          self->close();
          return;
        }
        self->on_request();
      });
  }

  void on_request() {
    stream_.expires_never();
    auto now = std::chrono::steady_clock::now();
    keep_ = parser_->get().keep_alive();
    parser_.reset();
    auto& o = srv_->opts;
    auto latency = draw_latency(o.latency, srv_->gen);
    {
      std::lock_guard<std::mutex> guard{srv_->mtx};
      srv_->injected.record(latency.count());
    }
    auto due = now + latency;
    auto offset = now - srv_->started_at;
    if (o.stall_length > duration::zero() && offset >= o.stall_start
        && offset < o.stall_start + o.stall_length) {
      auto stall_end = srv_->started_at + o.stall_start + o.stall_length;
      if (due < stall_end)
        due = stall_end;
    }
    if (due <= now) {
      respond();
      return;
    }
    timer_.expires_at(due);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_)
        return;
      self->respond();
    });
  }

  void respond() {
    res_ =
      std::make_shared<http::response<http::string_body>>(http::status::ok, 11);
    res_->set(http::field::content_type, "text/plain");
    res_->body() = srv_->opts.body;
    res_->keep_alive(keep_);
    res_->prepare_payload();
    ++srv_->answered;
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(
      stream_, *res_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (self->closed_)
          return;
        if (ec || !self->keep_) {
          self->close();
          return;
        }
        self->read();
      });
  }

  std::shared_ptr<latency_server::impl> srv_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  bool keep_ = false;
  bool closed_ = false;
};

} // namespace

void latency_server::impl::do_accept() {
  acceptor.async_accept(
    ioc, [self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (!self->acceptor.is_open())
        return;
      if (!ec) {
        if (self->connections >= self->opts.max_connections) {
          beast::error_code ignored;
          s.close(ignored);
        } else {
          beast::error_code ignored;
          s.set_option(tcp::no_delay{true}, ignored);
          ++self->connections;
          auto session = std::make_shared<server_session>(self, std::move(s));
          self->live.insert(session);
          session->start();
        }
      }
      self->do_accept();
    });
}

latency_server::latency_server(latency_server_options opts)
  : impl_(std::make_shared<impl>(std::move(opts))) {}

latency_server::~latency_server() {
  stop();
}

void latency_server::start() {
  auto& st = *impl_;
  if (st.started)
    throw std::logic_error("latency_server::start called twice");
  st.started = true;
  auto host =
    st.opts.host == "localhost" ? std::string{"127.0.0.1"} : st.opts.host;
  tcp::endpoint ep{net::ip::make_address(host), st.opts.port};
  st.acceptor.open(ep.protocol());
  st.acceptor.set_option(tcp::acceptor::reuse_address{true});
  st.acceptor.bind(ep);
  st.acceptor.listen(net::socket_base::max_listen_connections);
  st.port = st.acceptor.local_endpoint().port();
  st.started_at = std::chrono::steady_clock::now();
  st.do_accept();
  auto self = impl_;
  st.thread = std::thread{[self] {
    // Answers leave within 1 ns of their drawn time, not Linux's default
    // 50 us timer slack: the latencies are the reference a test compares to.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    self->ioc.run();
  }};
}

void latency_server::stop() {
  auto& st = *impl_;
  if (!st.started || st.stopped)
    return;
  st.stopped = true;
  auto self = impl_;
  net::post(st.ioc, [self] {
    beast::error_code ec;
    self->acceptor.close(ec);
    auto live = self->live;
    for (auto& s : live)
      s->close();
    self->ioc.stop();
  });
  if (st.thread.joinable())
    st.thread.join();
  // Run the cancelled handlers: they hold sessions, which hold this impl.
  st.ioc.restart();
  st.ioc.poll();
  st.live.clear();
}

std::uint16_t latency_server::port() const noexcept {
  return impl_->port;
}

std::uint64_t latency_server::answered() const noexcept {
  return impl_->answered;
}

log_linear_histogram latency_server::injected() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->injected;
}

void latency_server::clear_injected() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->injected.reset();
}

} // namespace bulwark
