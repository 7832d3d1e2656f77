#include "bulwark/actors/cluster/reach_prober.hpp"

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/core/utf8.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include <atomic>
#include <list>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace bulwark {

namespace {

using clock_type = std::chrono::steady_clock;
using done_fn = std::function<void(probe_result)>;

const std::string stopped_text = "prober stopped";

/// One probe in flight; owned by the prober's list and by the handlers of
/// its connect and its timer, whichever comes first finishes it.
struct probe_op {
  explicit probe_op(net::io_context& io) : socket(io), timer(io) {
    // nop
  }

  tcp::socket socket;
  net::steady_timer timer;
  tcp::endpoint target;
  std::chrono::nanoseconds deadline{0};
  clock_type::time_point started;
  done_fn done;
  bool finished = false;
  std::list<std::shared_ptr<probe_op>>::iterator pos;
};

std::string endpoint_text(const tcp::endpoint& ep) {
  if (ep.address().is_v6())
    return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

/// The address of an IP literal or "localhost", or nothing: no resolver is
/// ever asked. Embedded NULs are refused (the parser would stop at them).
std::optional<net::ip::address> parse_host(const std::string& host) {
  if (host == "localhost")
    return net::ip::address{net::ip::address_v4::loopback()};
  if (host.empty() || host.size() > reach_prober::max_host_bytes
      || host.find('\0') != std::string::npos)
    return std::nullopt;
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (ec)
    return std::nullopt;
  return addr;
}

/// Calls `done` once; an exception from it is dropped, because it has
/// nowhere to go on the io thread and must not stop the other probes.
void deliver(done_fn& done, probe_result result) noexcept {
  auto fn = std::move(done);
  done = nullptr;
  try {
    fn(std::move(result));
  } catch (...) {
    // Dropped on purpose, see above.
  }
}

} // namespace

struct reach_prober::impl {
  explicit impl(std::size_t max) : max_concurrent(max) {
    // nop
  }

  net::io_context io{1};
  net::executor_work_guard<net::io_context::executor_type> work =
    net::make_work_guard(io);
  std::thread thread;
  const std::size_t max_concurrent;
  // Probes accepted by `probe` and not yet answered.
  std::atomic<std::size_t> in_flight{0};
  // Set by the destructor; `probe` refuses from then on.
  std::atomic<bool> stopping{false};

  // -- io thread only ---------------------------------------------------------
  std::list<std::shared_ptr<probe_op>> ops;
  bool stopped = false;

  /// Answers a probe that never started, on the io thread (never inside
  /// `probe`, so a caller holding a lock cannot deadlock on its callback).
  void refuse(done_fn done, std::string error, clock_type::time_point started) {
    net::post(io, [done = std::move(done), error = std::move(error),
                   started]() mutable {
      deliver(done, probe_result{false, std::move(error),
                                 clock_type::now() - started});
    });
  }

  void start(const std::shared_ptr<probe_op>& op) {
    ops.push_front(op);
    op->pos = ops.begin();
    if (stopped) {
      finish(op, stopped_text);
      return;
    }
    op->timer.expires_at(op->started + op->deadline);
    op->timer.async_wait([this, op](const boost::system::error_code&) {
      if (op->finished)
        return;
      finish(op, fmt::format("no TCP connection to {} within {}",
                             endpoint_text(op->target),
                             format_duration(op->deadline)));
    });
    op->socket.async_connect(
      op->target, [this, op](const boost::system::error_code& ec) {
        if (op->finished)
          return;
        if (ec)
          finish(op, fmt::format("TCP connect to {} failed: {}",
                                 endpoint_text(op->target), ec.message()));
        else
          finish(op, std::string{});
      });
  }

  /// Ends `op` once: closes its socket (no byte was sent; a pending connect
  /// is cancelled), cancels its timer and calls its `done`. The handler that
  /// did not win sees `finished` and does nothing.
  void finish(std::shared_ptr<probe_op> op, std::string error) {
    // By value: `op` may be the list's own element, which `erase` destroys.
    op->finished = true;
    boost::system::error_code ignored;
    op->socket.close(ignored);
    op->timer.cancel();
    ops.erase(op->pos);
    in_flight.fetch_sub(1);
    auto ok = error.empty();
    deliver(op->done, probe_result{ok, std::move(error),
                                   clock_type::now() - op->started});
  }

  void stop_all() {
    stopped = true;
    while (!ops.empty())
      finish(ops.front(), stopped_text);
  }
};

reach_prober::reach_prober(std::size_t max_concurrent) {
  if (max_concurrent == 0)
    throw std::invalid_argument("reach_prober: max_concurrent must be >= 1");
  impl_ = std::make_unique<impl>(max_concurrent);
  auto* self = impl_.get();
  self->thread = std::thread([self] { self->io.run(); });
}

reach_prober::~reach_prober() {
  auto* self = impl_.get();
  self->stopping = true;
  net::post(self->io, [self] { self->stop_all(); });
  // run() returns once the stop and every answer posted before it ran.
  self->work.reset();
  if (self->thread.joinable())
    self->thread.join();
}

void reach_prober::probe(std::string host, std::uint16_t port,
                         std::chrono::nanoseconds deadline, done_fn done) {
  auto started = clock_type::now();
  if (!done)
    throw std::invalid_argument("reach_prober::probe: done is empty");
  auto* self = impl_.get();
  if (self->stopping) {
    self->refuse(std::move(done), stopped_text, started);
    return;
  }
  auto addr = parse_host(host);
  if (!addr) {
    self->refuse(std::move(done),
                 fmt::format("host \"{}\" is not an IP literal or "
                             "\"localhost\" (names are not resolved)",
                             printable_utf8(host, 40)),
                 started);
    return;
  }
  if (port == 0) {
    self->refuse(
      std::move(done),
      fmt::format("port 0 of host {} is not a destination", addr->to_string()),
      started);
    return;
  }
  if (deadline <= std::chrono::nanoseconds::zero()) {
    self->refuse(std::move(done),
                 fmt::format("probe deadline must be positive (got: {}ns)",
                             deadline.count()),
                 started);
    return;
  }
  if (self->in_flight.fetch_add(1) >= self->max_concurrent) {
    self->in_flight.fetch_sub(1);
    self->refuse(std::move(done),
                 fmt::format("too many probes in flight (limit: {})",
                             self->max_concurrent),
                 started);
    return;
  }
  // The socket and timer are made on the io thread, which owns them.
  net::post(self->io, [self, target = tcp::endpoint{*addr, port}, deadline,
                       started, done = std::move(done)]() mutable {
    auto op = std::make_shared<probe_op>(self->io);
    op->target = target;
    op->deadline = deadline;
    op->started = started;
    op->done = std::move(done);
    self->start(op);
  });
}

std::size_t reach_prober::in_flight() const noexcept {
  return impl_->in_flight.load();
}

std::size_t reach_prober::max_concurrent() const noexcept {
  return impl_->max_concurrent;
}

} // namespace bulwark
