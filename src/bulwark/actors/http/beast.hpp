// Boost.Asio and Boost.Beast, as the .cpp files that speak HTTP over sockets
// include them (the server, the HTTP transport, trace peers, the tools), in
// one place: GCC 12 with -fsanitize=address reports a false
// -Wmaybe-uninitialized (a boost::optional inside Beast's parser, inlined
// from Boost's headers) that -Werror would turn into a failed sanitizer
// build, so the warning is silenced around these includes only. Not for
// public headers: it pulls Asio into whoever includes it
// (bulwark/actors/http/http_server.hpp keeps its own three message headers).
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif
