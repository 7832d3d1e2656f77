#include "bulwark/actors/http/http_server.hpp"

#include "bulwark/actors/http/http_head_scanner.hpp"

#include "bulwark/actors/http/beast.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace bulwark {

namespace {

class session;

/// Closed once `stop()` gave up on late answers: a responder called after
/// that must not post into an io_context that is about to be destroyed.
struct response_gate {
  std::mutex mtx;
  bool open = true;
};

const std::string continue_text = "HTTP/1.1 100 Continue\r\n\r\n";

// Lingering close: after an error answer, unread request bytes would make
// the kernel reset the connection and the client could lose the answer. So
// the server half-closes and discards input for a short while first.
constexpr std::size_t linger_max_bytes = 64 * 1024;
constexpr std::chrono::milliseconds linger_max_time{1'000};

// Largest single read: a body arrives in pieces of this size at most, so the
// read buffer stays small whatever the body limit is.
constexpr std::size_t body_read_chunk = 16 * 1024;

} // namespace

namespace detail {

/// Shared by a stream's responder side and its session: the bytes written
/// and not yet taken by the socket, and whether the stream is over.
struct http_stream_state {
  std::atomic<std::size_t> pending{0};
  std::atomic<bool> ended{false};
};

} // namespace detail

namespace detail {

struct http_response_slot {
  std::shared_ptr<response_gate> gate;
  std::weak_ptr<session> conn;
  std::uint64_t seq; // the session's request this slot answers
  std::size_t stream_cap;
  std::atomic<bool> done{false};
  // A stream: started by start_stream, ended by finish or by the session.
  std::mutex stream_mtx;
  std::shared_ptr<http_stream_state> stream;
  bool finished = false;

  http_response_slot(std::shared_ptr<response_gate> g, std::weak_ptr<session> c,
                     std::uint64_t request, std::size_t cap)
    : gate(std::move(g)),
      conn(std::move(c)),
      seq(request),
      stream_cap(cap) {}

  ~http_response_slot();

  bool deliver_first(http_response res) {
    if (done.exchange(true))
      return false;
    deliver(std::move(res));
    return true;
  }

  void deliver(http_response res);

  bool start_stream(http_response head);
  bool write(std::string piece);
  bool finish();

  enum class stream_end { finish, flush_and_close, close_now };
  // Runs `f(session&)` on the session unless the server gave up.
  template <class F>
  void with_session(F&& f);
};

} // namespace detail

struct http_server::impl {
  http_handler handler;
  http_server_options opts;

  // The registry, its lock and the gate are declared before the io_context:
  // members are destroyed in reverse order, and sessions destroyed together
  // with the io_context's pending handlers still unregister themselves.
  mutable std::mutex mtx;
  std::condition_variable cv;
  std::unordered_map<std::uint64_t, std::weak_ptr<session>> sessions;
  std::uint64_t next_id = 0;
  std::size_t in_flight = 0;
  std::size_t running_threads = 0;
  bool started = false;
  bool stopped = false;
  std::atomic<bool> draining{false};
  std::shared_ptr<response_gate> gate = std::make_shared<response_gate>();
  std::atomic<std::uint16_t> port{0};

  net::io_context ioc;
  net::strand<net::io_context::executor_type> accept_strand{ioc.get_executor()};
  tcp::acceptor acceptor{accept_strand};
  net::steady_timer accept_retry{accept_strand};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  impl(http_handler h, http_server_options o)
    : handler(std::move(h)),
      opts(std::move(o)),
      ioc(static_cast<int>(std::max<std::size_t>(1, opts.threads))) {}

  void request_done() {
    std::lock_guard<std::mutex> guard{mtx};
    --in_flight;
    cv.notify_all();
  }

  void request_started() {
    std::lock_guard<std::mutex> guard{mtx};
    ++in_flight;
  }

  void unregister(std::uint64_t id) {
    std::lock_guard<std::mutex> guard{mtx};
    sessions.erase(id);
    cv.notify_all();
  }

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void reject(tcp::socket socket);
  void run_thread();
  std::vector<std::shared_ptr<session>> snapshot();
};

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket&& socket, http_server::impl& srv, std::uint64_t id)
    : stream_(std::move(socket)),
      srv_(srv),
      id_(id) {}

  ~session() {
    finish_request();
    srv_.unregister(id_);
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->do_read(); });
  }

  void post_response(http_response res) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), res = std::move(res)]() mutable {
                self->on_response(std::move(res));
              });
  }

  void post_stream_head(std::uint64_t seq, http_response head,
                        std::shared_ptr<detail::http_stream_state> state) {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), seq, head = std::move(head),
               state = std::move(state)]() mutable {
                self->on_stream_head(seq, std::move(head), std::move(state));
              });
  }

  void post_stream_piece(std::uint64_t seq, std::string piece) {
    net::post(stream_.get_executor(), [self = shared_from_this(), seq,
                                       piece = std::move(piece)]() mutable {
      self->on_stream_piece(seq, std::move(piece));
    });
  }

  void post_stream_end(std::uint64_t seq,
                       detail::http_response_slot::stream_end how) {
    net::post(stream_.get_executor(), [self = shared_from_this(), seq, how] {
      self->on_stream_end(seq, how);
    });
  }

  /// Closes now, whatever the state (end of the grace period).
  void post_close() {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->close(); });
  }

  /// Closes unless a request is with the handler or being answered.
  void post_close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->awaiting_ && !self->writing_ && !self->streaming_)
        self->close();
    });
  }

 private:
  /// Starts a request: what is buffered already (pipelined bytes) is
  /// scanned before anything more is read.
  void do_read() {
    if (closed_)
      return;
    if (srv_.draining) {
      close();
      return;
    }
    auto& o = srv_.opts;
    parser_.emplace();
    // The scanner bounds the head; Beast only ever sees a complete one.
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
      o.max_header_bytes + 4, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(o.max_body_bytes);
    parser_->on_chunk_header(on_chunk_);
    body_error_.reset();
    head_scan_.emplace(
      http_section::request_head,
      http_head_limits{o.max_header_bytes, o.max_header_fields});
    trailer_scan_.reset();
    header_copy_.reset();
    line_scanned_ = 0;
    in_body_ = false;
    stream_.expires_after(o.read_timeout);
    on_data();
  }

  std::string_view buffered() const {
    return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
  }

  /// Parses what is buffered; then reads more, answers an error, or hands
  /// the request to the handler.
  void on_data() {
    if (!in_body_) {
      auto st = head_scan_->scan(buffered());
      if (st == http_scan_state::need_more) {
        // Never more than the head may still need (+1 to see it overflow).
        read_more(srv_.opts.max_header_bytes + 1 - buffer_.size());
        return;
      }
      if (st == http_scan_state::rejected) {
        write_error(head_scan_->status(), head_scan_->reason());
        return;
      }
      on_head();
      return;
    }
    if (buffer_.size() > 0) {
      beast::error_code ec;
      auto n = parser_->put(buffer_.data(), ec);
      buffer_.consume(n);
      if (n > 0)
        line_scanned_ = 0; // a pending chunk line starts somewhere else now
      if (ec && ec != http::error::need_more) {
        on_parse_error(ec);
        return;
      }
      if (parser_->is_done()) {
        on_request();
        return;
      }
    }
    if (auto want = body_read_size())
      read_more(want);
  }

  /// The head is complete and valid: Beast parses it.
  void on_head() {
    auto begin = head_scan_->begin();
    auto size = head_scan_->end() - begin;
    buffer_.consume(begin);
    beast::error_code ec;
    auto n = parser_->put(net::buffer(buffer_.data().data(), size), ec);
    if (!ec && (n != size || !parser_->is_header_done()))
      ec = http::error::need_more; // cannot happen: the head is complete
    if (ec) {
      on_parse_error(ec);
      return;
    }
    buffer_.consume(size);
    auto& req = parser_->get();
    if (head_scan_->absolute_form()) {
      req.target(head_scan_->origin_target());
      req.set(http::field::host, head_scan_->authority());
    }
    if (parser_->is_done()) {
      on_request();
      return;
    }
    if (parser_->chunked()) {
      // Beast merges trailer fields into the header; the handler gets the
      // header as it was (RFC 9110 §6.5.1: trailers are not headers).
      header_copy_.emplace(req.base());
    }
    parser_->eager(true);
    in_body_ = true;
    if (beast::iequals(req[http::field::expect], "100-continue")
        && req.version() >= 11) {
      net::async_write(
        stream_, net::buffer(continue_text),
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec)
            self->close();
          else
            self->on_data();
        });
      return;
    }
    on_data();
  }

  /// How much to read next in the body phase, or 0 after answering an error.
  /// Whatever Beast leaves unconsumed is an incomplete chunk-size line or
  /// the last chunk's trailer section; both are bounded here, since Beast
  /// waits for the whole line and the whole trailer section.
  std::size_t body_read_size() {
    auto& o = srv_.opts;
    if (!parser_->chunked()) {
      auto left = parser_->content_length_remaining();
      return left ? static_cast<std::size_t>(
               std::min<std::uint64_t>(*left, body_read_chunk))
                  : body_read_chunk;
    }
    auto data = buffered();
    if (data.empty())
      return body_read_chunk;
    // The CRLF after a chunk's data comes first when Beast has not seen it.
    std::size_t line = data.substr(0, 2) == "\r\n" ? 2 : 0;
    if (!trailer_scan_) {
      auto lf = data.find('\n', std::max(line, line_scanned_));
      if (lf == std::string_view::npos) {
        line_scanned_ = data.size();
        if (data.size() - line > o.max_chunk_line_bytes) {
          write_error(http_status::bad_request, chunk_line_error());
          return 0;
        }
        return line + o.max_chunk_line_bytes + 1 - data.size();
      }
      if (lf + 1 - line > o.max_chunk_line_bytes) {
        write_error(http_status::bad_request, chunk_line_error());
        return 0;
      }
      // The last chunk: a size of zeros only ("0", "000;ext").
      auto size = data.substr(line, lf - line);
      auto digits = size.find_first_not_of('0');
      bool last =
        !size.empty() && digits != 0
        && (digits == std::string_view::npos
            || !std::isxdigit(static_cast<unsigned char>(size[digits])));
      if (!last)
        return 1; // cannot happen: Beast consumes a complete chunk-size line
      trailer_scan_.emplace(
        http_section::trailer,
        http_head_limits{o.max_header_bytes, o.max_header_fields});
      trailer_begin_ = lf + 1;
    }
    auto st = trailer_scan_->scan(data.substr(trailer_begin_));
    if (st == http_scan_state::rejected) {
      write_error(trailer_scan_->status(), trailer_scan_->reason());
      return 0;
    }
    if (st == http_scan_state::complete)
      return 1; // cannot happen: Beast completes a complete trailer section
    return trailer_begin_ + o.max_header_bytes + 1 - data.size();
  }

  std::string chunk_line_error() const {
    return "malformed HTTP request: chunk-size line (with its extensions) "
           "longer than "
           + std::to_string(srv_.opts.max_chunk_line_bytes) + " bytes";
  }

  void read_more(std::size_t want) {
    want = std::clamp<std::size_t>(want, 1, body_read_chunk);
    stream_.async_read_some(
      buffer_.prepare(want),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->on_read(ec, n);
      });
  }

  void on_read(beast::error_code ec, std::size_t n) {
    if (closed_)
      return;
    buffer_.commit(n);
    if (ec == net::error::eof) {
      on_eof();
    } else if (ec) {
      // Timeout (the stream closed the socket already), reset, or the
      // server closing: nothing to answer.
      close();
    } else {
      on_data();
    }
  }

  void on_eof() {
    if (!in_body_) {
      // Between requests (or only empty lines): the client is done.
      if (buffered().find_first_not_of("\r\n") == std::string_view::npos)
        close();
      else
        write_error(http_status::bad_request,
                    "truncated request (the connection was half-closed)");
      return;
    }
    beast::error_code ec;
    parser_->put_eof(ec);
    if (!ec && parser_->is_done())
      on_request();
    else
      write_error(http_status::bad_request,
                  "truncated request (the connection was half-closed)");
  }

  /// Beast calls this for every chunk-size line it parsed, before the
  /// chunk's data, and for the last chunk after finding the end of the
  /// trailer section but before parsing it. Lines and trailers that arrive
  /// whole in one read are checked here, the others by body_read_size.
  void on_chunk_header(std::uint64_t size, beast::string_view ext,
                       beast::error_code& ec) {
    auto& o = srv_.opts;
    auto data = buffered(); // Beast parses buffer_ in place
    const char* first = data.data();
    const char* line = ext.data();
    while (line > first && std::isxdigit(static_cast<unsigned char>(line[-1])))
      --line;
    const char* line_end = ext.data() + ext.size() + 2; // after its CRLF
    if (static_cast<std::size_t>(line_end - line) > o.max_chunk_line_bytes) {
      body_error_.emplace(http_status::bad_request, chunk_line_error());
      ec = http::error::bad_chunk;
      return;
    }
    if (size != 0)
      return;
    http_head_scanner trailer{
      http_section::trailer,
      http_head_limits{o.max_header_bytes, o.max_header_fields}};
    auto st = trailer.scan(std::string_view{
      line_end, static_cast<std::size_t>(first + data.size() - line_end)});
    if (st != http_scan_state::complete) {
      body_error_.emplace(st == http_scan_state::rejected
                            ? trailer.status()
                            : http_status::bad_request,
                          st == http_scan_state::rejected
                            ? trailer.reason()
                            : "malformed HTTP request: bad trailer section");
      ec = http::error::bad_chunk;
    }
  }

  void on_parse_error(beast::error_code ec) {
    if (body_error_) {
      write_error(body_error_->first, body_error_->second);
    } else if (ec == http::error::body_limit) {
      write_error(http_status::payload_too_large,
                  "request body larger than "
                    + std::to_string(srv_.opts.max_body_bytes) + " bytes");
    } else if (ec == http::error::header_limit) {
      write_error(http_status::request_header_fields_too_large,
                  "header section larger than "
                    + std::to_string(srv_.opts.max_header_bytes) + " bytes");
    } else {
      // Bad chunk, bad extension, a field Beast refuses, ...
      write_error(http_status::bad_request,
                  "malformed HTTP request: " + ec.message());
    }
  }

  void on_request() {
    auto req = parser_->release();
    parser_.reset();
    if (header_copy_) {
      req.base() = std::move(*header_copy_);
      header_copy_.reset();
    }
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    // The handler may take its time; the response has its own deadline.
    stream_.expires_never();
    awaiting_ = true;
    counted_ = true;
    srv_.request_started();
    self_hold_ = shared_from_this();
    auto slot = std::make_shared<detail::http_response_slot>(
      srv_.gate, weak_from_this(), ++request_seq_,
      srv_.opts.max_stream_pending_bytes);
    http_responder responder{slot};
    slot.reset();
    try {
      srv_.handler(std::move(req), responder);
    } catch (const std::exception& e) {
      responder.respond(json_error(http_status::internal_server_error,
                                   std::string{"handler failed: "} + e.what()));
    } catch (...) {
      responder.respond(
        json_error(http_status::internal_server_error, "handler failed"));
    }
  }

  void on_response(http_response res) {
    if (!awaiting_ || closed_)
      return;
    awaiting_ = false;
    res.version(version_);
    bool keep =
      keep_alive_ && !srv_.draining && res[http::field::connection].empty();
    write(std::move(res), keep, head_);
  }

  // -- streamed answers ----------------------------------------------------
  //
  // The head and the pieces queue in `out_` and are written one batch at a
  // time (everything queued goes in one write). Operations carry the
  // request's sequence number: a piece from an earlier request's responder
  // never lands in a later answer.

  bool stream_op_valid(std::uint64_t seq) const {
    return streaming_ && !closed_ && seq == request_seq_;
  }

  void on_stream_head(std::uint64_t seq, http_response res,
                      std::shared_ptr<detail::http_stream_state> state) {
    if (!awaiting_ || closed_ || seq != request_seq_) {
      state->ended = true;
      return;
    }
    awaiting_ = false;
    streaming_ = true;
    stream_finishing_ = false;
    stream_closing_ = false;
    stream_state_ = std::move(state);
    stream_chunked_ = version_ >= 11;
    res.version(version_);
    stream_keep_ = keep_alive_ && stream_chunked_ && !srv_.draining
                   && res[http::field::connection].empty();
    res.keep_alive(stream_keep_);
    if (res[http::field::server].empty())
      res.set(http::field::server, srv_.opts.server_name);
    res.body().clear();
    res.erase(http::field::content_length);
    if (stream_chunked_)
      res.chunked(true);
    else
      res.erase(http::field::transfer_encoding);
    std::ostringstream text;
    text << res.base();
    out_.emplace_back(text.str(), 0);
    if (head_) {
      // A HEAD answer is the head only: the stream is over once it is sent.
      stream_state_->ended = true;
      stream_finishing_ = true;
    }
    stream_kick();
  }

  void on_stream_piece(std::uint64_t seq, std::string piece) {
    if (!stream_op_valid(seq) || stream_finishing_ || stream_closing_)
      return;
    auto n = piece.size();
    if (n == 0)
      return; // a chunk of size 0 would end the stream
    if (stream_chunked_) {
      std::ostringstream size;
      size << std::hex << n << "\r\n";
      out_.emplace_back(size.str() + std::move(piece) + "\r\n", n);
    } else {
      out_.emplace_back(std::move(piece), n);
    }
    stream_kick();
  }

  void on_stream_end(std::uint64_t seq,
                     detail::http_response_slot::stream_end how) {
    if (!stream_op_valid(seq) || stream_finishing_ || stream_closing_)
      return;
    using end = detail::http_response_slot::stream_end;
    if (how == end::close_now) {
      close();
      return;
    }
    if (how == end::flush_and_close) {
      stream_closing_ = true;
    } else {
      stream_finishing_ = true;
      if (stream_chunked_)
        out_.emplace_back("0\r\n\r\n", 0);
    }
    stream_kick();
  }

  void stream_kick() {
    if (writing_ || closed_ || !streaming_)
      return;
    if (out_.empty()) {
      if (stream_closing_) {
        close();
      } else if (stream_finishing_) {
        streaming_ = false;
        stream_state_->ended = true;
        stream_state_.reset();
        on_write({}, stream_keep_ && !srv_.draining);
      }
      return;
    }
    out_writing_.clear();
    std::size_t counted = 0;
    for (auto& [bytes, n] : out_) {
      out_writing_ += bytes;
      counted += n;
    }
    out_.clear();
    writing_ = true;
    stream_.expires_after(srv_.opts.read_timeout);
    net::async_write(
      stream_, net::buffer(out_writing_),
      [self = shared_from_this(), counted](beast::error_code ec, std::size_t) {
        self->on_stream_written(ec, counted);
      });
  }

  void on_stream_written(beast::error_code ec, std::size_t counted) {
    writing_ = false;
    if (stream_state_)
      stream_state_->pending -= counted;
    if (ec) {
      close();
      return;
    }
    // Give a large batch's memory back rather than keep it per connection.
    if (out_writing_.capacity() > body_read_chunk)
      std::string{}.swap(out_writing_);
    stream_kick();
  }

  void write_error(http_status status, const std::string& message) {
    if (closed_)
      return;
    auto res = json_error(status, message);
    write(std::move(res), false, false);
  }

  void write(http_response res, bool keep, bool head) {
    res.keep_alive(keep);
    if (res[http::field::server].empty())
      res.set(http::field::server, srv_.opts.server_name);
    res.prepare_payload();
    // A HEAD answer announces the length of the body it does not send.
    if (head)
      res.body().clear();
    res_ = std::make_shared<http_response>(std::move(res));
    writing_ = true;
    stream_.expires_after(srv_.opts.read_timeout);
    http::async_write(
      stream_, *res_,
      [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
        self->on_write(ec, keep);
      });
  }

  void on_write(beast::error_code ec, bool keep) {
    writing_ = false;
    res_.reset();
    finish_request();
    // Keep `this` alive until the end of this function.
    auto hold = std::move(self_hold_);
    if (ec) {
      close();
    } else if (!keep) {
      linger();
    } else {
      do_read();
    }
  }

  void linger() {
    if (closed_)
      return;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lingering_ = true;
    stream_.expires_after(std::min<std::chrono::milliseconds>(
      srv_.opts.read_timeout, linger_max_time));
    discard_more();
  }

  void discard_more() {
    if (closed_)
      return;
    if (discarded_ >= linger_max_bytes) {
      close();
      return;
    }
    stream_.async_read_some(
      net::buffer(discard_),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->discarded_ += n;
        if (ec)
          self->close();
        else
          self->discard_more();
      });
  }

  void finish_request() {
    if (counted_) {
      counted_ = false;
      srv_.request_done();
    }
  }

  void close() {
    if (closed_)
      return;
    closed_ = true;
    awaiting_ = false;
    streaming_ = false;
    // Counted done before a stream's writer can see it ended.
    finish_request();
    if (stream_state_) {
      stream_state_->ended = true;
      stream_state_.reset();
    }
    out_.clear();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    // Callers hold a reference (every posted handler captures one).
    self_hold_.reset();
  }

  beast::tcp_stream stream_;
  http_server::impl& srv_;
  std::uint64_t id_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool in_body_ = false; // the head is parsed, the body is being read
  std::optional<http_head_scanner> head_scan_;
  std::optional<http_head_scanner> trailer_scan_;
  std::size_t trailer_begin_ = 0; // in buffered(), while trailer_scan_ is set
  std::size_t line_scanned_ = 0; // of a pending chunk-size line
  std::optional<http::request_header<>> header_copy_;
  // An error found by on_chunk_header (Beast only sees "bad chunk").
  std::optional<std::pair<http_status, std::string>> body_error_;
  std::function<void(std::uint64_t, beast::string_view, beast::error_code&)>
    on_chunk_{
      [this](std::uint64_t size, beast::string_view ext,
             beast::error_code& ec) { on_chunk_header(size, ext, ec); }};
  std::shared_ptr<http_response> res_;
  std::uint64_t request_seq_ = 0;
  // A streamed answer: bytes to write with the piece sizes they count for.
  std::deque<std::pair<std::string, std::size_t>> out_;
  std::string out_writing_;
  std::shared_ptr<detail::http_stream_state> stream_state_;
  bool streaming_ = false;
  bool stream_chunked_ = true; // false for HTTP/1.0: the close ends the body
  bool stream_keep_ = false;
  bool stream_finishing_ = false; // the last chunk is queued
  bool stream_closing_ = false; // the responder was dropped mid-stream
  std::shared_ptr<session> self_hold_; // while the handler owns the request
  std::array<char, 4096> discard_{};
  std::size_t discarded_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool awaiting_ = false;
  bool writing_ = false;
  bool counted_ = false;
  bool lingering_ = false;
  bool closed_ = false;
};

} // namespace

// -- responder -------------------------------------------------------------------

template <class F>
void detail::http_response_slot::with_session(F&& f) {
  // Under the gate's lock: stop() closes it before the io_context goes.
  std::lock_guard<std::mutex> guard{gate->mtx};
  if (!gate->open)
    return;
  if (auto s = conn.lock())
    f(*s);
}

detail::http_response_slot::~http_response_slot() {
  if (stream && !finished) {
    // Dropped mid-stream: what was written goes out, then the connection
    // closes without the last chunk (never a second response).
    stream->ended = true;
    with_session(
      [&](session& s) { s.post_stream_end(seq, stream_end::flush_and_close); });
    return;
  }
  if (done.exchange(true))
    return;
  try {
    deliver(json_error(http_status::internal_server_error,
                       "the handler dropped the request without answering"));
  } catch (...) {
    // Out of memory while answering: the connection's deadline closes it.
  }
}

void detail::http_response_slot::deliver(http_response res) {
  with_session([&](session& s) { s.post_response(std::move(res)); });
}

bool detail::http_response_slot::start_stream(http_response head) {
  std::lock_guard<std::mutex> guard{stream_mtx};
  if (done.exchange(true))
    return false;
  stream = std::make_shared<http_stream_state>();
  with_session(
    [&](session& s) { s.post_stream_head(seq, std::move(head), stream); });
  return true;
}

bool detail::http_response_slot::write(std::string piece) {
  std::lock_guard<std::mutex> guard{stream_mtx};
  if (!stream || finished || stream->ended)
    return false;
  auto pending = stream->pending += piece.size();
  if (pending > stream_cap) {
    // The client does not read: end the stream rather than buffer more.
    stream->ended = true;
    with_session(
      [&](session& s) { s.post_stream_end(seq, stream_end::close_now); });
    return false;
  }
  with_session([&](session& s) { s.post_stream_piece(seq, std::move(piece)); });
  return true;
}

bool detail::http_response_slot::finish() {
  std::lock_guard<std::mutex> guard{stream_mtx};
  if (!stream || finished)
    return false;
  finished = true;
  if (stream->ended)
    return false;
  with_session([&](session& s) { s.post_stream_end(seq, stream_end::finish); });
  return true;
}

http_responder::http_responder(std::shared_ptr<detail::http_response_slot> slot)
  : slot_(std::move(slot)) {}

bool http_responder::respond(http_response res) const {
  return slot_ && slot_->deliver_first(std::move(res));
}

bool http_responder::respond(http_status status, std::string_view content_type,
                             std::string body) const {
  if (!slot_ || slot_->done)
    return false;
  http_response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::move(body);
  return respond(std::move(res));
}

bool http_responder::responded() const noexcept {
  return slot_ && slot_->done;
}

bool http_responder::start_stream(http_response head) const {
  return slot_ && slot_->start_stream(std::move(head));
}

bool http_responder::write(std::string piece) const {
  return slot_ && slot_->write(std::move(piece));
}

bool http_responder::finish() const {
  return slot_ && slot_->finish();
}

// -- server ------------------------------------------------------------------------

void http_server::impl::do_accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        [this](beast::error_code ec, tcp::socket socket) {
                          on_accept(ec, std::move(socket));
                        });
}

void http_server::impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (draining || !acceptor.is_open())
    return;
  if (ec) {
    // Out of descriptors and the like: try again shortly rather than spin.
    accept_retry.expires_after(std::chrono::milliseconds(50));
    accept_retry.async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && !draining && acceptor.is_open())
        do_accept();
    });
    return;
  }
  std::shared_ptr<session> s;
  {
    std::lock_guard<std::mutex> guard{mtx};
    if (draining)
      return; // `socket` closes here
    if (sessions.size() < opts.max_connections) {
      auto id = next_id++;
      s = std::make_shared<session>(std::move(socket), *this, id);
      sessions.emplace(id, s);
    }
  }
  if (s)
    s->start();
  else
    reject(std::move(socket));
  do_accept();
}

void http_server::impl::reject(tcp::socket socket) {
  auto body = json_error_body("too many connections (limit "
                              + std::to_string(opts.max_connections) + ")");
  auto text = std::make_shared<std::string>(
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    "Connection: close\r\nContent-Length: "
    + std::to_string(body.size()) + "\r\n\r\n" + body);
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  net::async_write(*sock, net::buffer(*text),
                   [sock, text](beast::error_code, std::size_t) {
                     beast::error_code ignored;
                     sock->shutdown(tcp::socket::shutdown_both, ignored);
                     sock->close(ignored);
                   });
}

void http_server::impl::run_thread() {
  for (;;) {
    try {
      ioc.run();
      break;
    } catch (...) {
      // A completion handler threw; the connection it served is gone, the
      // server goes on.
    }
  }
  std::lock_guard<std::mutex> guard{mtx};
  --running_threads;
  cv.notify_all();
}

std::vector<std::shared_ptr<session>> http_server::impl::snapshot() {
  std::vector<std::shared_ptr<session>> result;
  std::lock_guard<std::mutex> guard{mtx};
  for (auto& [id, weak] : sessions)
    if (auto s = weak.lock())
      result.push_back(std::move(s));
  return result;
}

http_server::http_server(http_handler handler, http_server_options opts)
  : impl_(std::make_unique<impl>(std::move(handler), std::move(opts))) {}

http_server::~http_server() {
  stop();
}

void http_server::start(const std::string& host, std::uint16_t port) {
  auto& d = *impl_;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    if (d.started)
      throw std::logic_error("http_server: start called twice");
  }
  beast::error_code ec;
  auto addr =
    net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec)
    throw std::invalid_argument("http_server: host must be an IP address or "
                                "\"localhost\" (got: \""
                                + host + "\")");
  tcp::endpoint endpoint{addr, port};
  d.acceptor.open(endpoint.protocol());
  d.acceptor.set_option(net::socket_base::reuse_address(true));
  d.acceptor.bind(endpoint);
  d.acceptor.listen(net::socket_base::max_listen_connections);
  d.port = d.acceptor.local_endpoint().port();
  d.work.emplace(d.ioc.get_executor());
  net::post(d.accept_strand, [&d] { d.do_accept(); });
  std::lock_guard<std::mutex> guard{d.mtx};
  d.started = true;
  auto n = std::max<std::size_t>(1, d.opts.threads);
  d.running_threads = n;
  for (std::size_t i = 0; i < n; ++i)
    d.threads.emplace_back([&d] { d.run_thread(); });
}

void http_server::stop() {
  auto& d = *impl_;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    if (!d.started || d.stopped)
      return;
    d.stopped = true;
    d.draining = true;
  }
  net::post(d.accept_strand, [&d] {
    beast::error_code ignored;
    d.acceptor.close(ignored);
    d.accept_retry.cancel();
  });
  for (auto& s : d.snapshot())
    s->post_close_if_idle();
  {
    std::unique_lock<std::mutex> lock{d.mtx};
    d.cv.wait_for(lock, d.opts.shutdown_grace,
                  [&d] { return d.in_flight == 0; });
  }
  {
    std::lock_guard<std::mutex> guard{d.gate->mtx};
    d.gate->open = false;
  }
  for (auto& s : d.snapshot())
    s->post_close();
  d.work.reset();
  {
    std::unique_lock<std::mutex> lock{d.mtx};
    if (!d.cv.wait_for(lock, std::chrono::seconds(5),
                       [&d] { return d.running_threads == 0; }))
      d.ioc.stop();
  }
  for (auto& t : d.threads)
    if (t.joinable())
      t.join();
  d.threads.clear();
}

std::uint16_t http_server::port() const noexcept {
  return impl_->port;
}

std::size_t http_server::connections() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->sessions.size();
}

bool http_server::await_connections(std::size_t at_most,
                                    std::chrono::milliseconds bound) const {
  auto& d = *impl_;
  std::unique_lock<std::mutex> lock{d.mtx};
  return d.cv.wait_for(lock, bound,
                       [&d, at_most] { return d.sessions.size() <= at_most; });
}

std::size_t http_server::in_flight() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->in_flight;
}

// -- helpers -------------------------------------------------------------------------

std::string json_error_body(std::string_view message) {
  boost::json::object obj;
  obj["error"] = message;
  return boost::json::serialize(obj);
}

http_response json_response(http_status status, std::string body) {
  http_response res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

http_response json_error(http_status status, std::string_view message) {
  return json_response(status, json_error_body(message));
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost")
    return true;
  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  return !ec && addr.is_loopback();
}

} // namespace bulwark
