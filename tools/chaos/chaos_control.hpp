// The fault proxy's control API, served by the house HTTP server
// (bulwark/actors/http/http_server.hpp) on its own port, loopback only (it
// changes faults without authentication):
//   GET    /faults          the fault table {"faults": {name: fault}}
//   PUT    /faults          replace every fault (the same document)
//   PUT    /faults/<name>   add or replace one fault
//   DELETE /faults/<name>   remove one fault (404 when there is none)
//   GET    /stats           counters per route (proxy_stats) and connections
//   DELETE /stats           forget every counter and remembered key
//   GET    /health          "ok"
// A change is validated whole: a bad one is answered 400 with every error
// and its JSON Pointer, and nothing changes. Bodies are at most 64 KiB.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bulwark/actors/http/http_server.hpp"
#include "tools/chaos/chaos_proxy.hpp"

namespace bulwark {

/// The handler of the control API for `proxy` (which must outlive it).
http_handler chaos_control_handler(chaos_proxy& proxy);

/// Starts the control API of `proxy` on `host`:`port` (0: a free port).
/// Throws std::invalid_argument when `host` is not a loopback address.
std::unique_ptr<http_server> start_chaos_control(chaos_proxy& proxy,
                                                 const std::string& host,
                                                 std::uint16_t port);

} // namespace bulwark
