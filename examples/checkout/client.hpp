// The driver's client side: what one order is (with the context its client
// sends: a deadline, a criticality, a W3C trace), sending it until an answer
// names its outcome, and reading the services' books (GET /ledger,
// GET /context, GET /stock) and the admin servers over plain loopback HTTP,
// so the driver sees what any client would.
#pragma once

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

#include "common.hpp"

namespace checkout {

/// One order, what its client sends with it, and what the client saw.
struct order_state {
  std::string order;
  std::string sku;
  int qty = 1;
  /// `Bulwark-Deadline-Ms` the client sends.
  std::int64_t deadline_ms = 20'000;
  /// `Bulwark-Criticality` the client sends ("" sends none: standard).
  std::string criticality;
  /// The trace the client starts (32 hex digits), sent in `traceparent`
  /// with the sampled flag, so every hop keeps its journeys.
  std::string trace_id;
  /// The first answer that carried an outcome, and how many sends it took.
  boost::json::object body;
  int sends = 0;
  std::string error;
  /// A re-send after the outcome (some orders), and the final read.
  boost::json::object resent;
  boost::json::object final_read;

  /// POST /checkout's body.
  std::string request() const;
  /// The context headers (deadline, criticality, traceparent).
  std::string headers() const;
};

/// Order `i` of a run: its id, sku, quantity and client context.
order_state make_order(int i);

/// An answer that names the order's outcome (anything else — no answer, a
/// 503 without an outcome while the gateway restarts — is re-sent).
bool has_outcome(const http_answer& a, boost::json::object& body);

/// Sends POST /checkout until an answer names its outcome (at most `ms`).
bool send_until_outcome(std::uint16_t port, const std::string& request,
                        const std::string& headers, boost::json::object& body,
                        int& sends, std::string& error, int ms);

/// The parts of an answer that must not change between sends of one order.
std::string outcome_key(const boost::json::object& body);

bool in_array(const boost::json::object& body, const char* field,
              const char* x);

/// A string member, or "".
std::string str(const boost::json::object& o, const char* key);

/// `ledger[kind][key]` as a count (0 when absent).
int ledger_count(const boost::json::object& ledger, const char* kind,
                 const std::string& key);

/// GET `target` as a JSON object; empty when the answer is not 200 JSON.
boost::json::object get_json(std::uint16_t port, const std::string& target);

/// GET `target`'s body when it answered 200, else "".
std::string get_text(std::uint16_t port, const std::string& target);

/// PUT /faults (reports a failure on stderr).
void put_faults(std::uint16_t port, const std::string& body);

/// Inventory's stock of `sku`; -1 when it cannot be read. Read a few times:
/// the route has inventory's injected errors too.
std::int64_t stock_of(std::uint16_t port, const std::string& sku);

} // namespace checkout
