// A checkout order as the gateway's saga log keeps it: the order itself and
// the context of the client's request — its deadline, criticality and trace
// — so that every downstream call a saga step makes inherits them, also after
// a gateway restart resumed the saga from the log. Forward steps before the
// pivot inherit the deadline (a step that can no longer finish in time is
// not started: the order is compensated instead); the pivot and the
// compensations do not (once charged, finishing or undoing the order is worth
// more than the client's patience: a re-sent order id reads the outcome), and
// compensations always run as `critical`. Every call stays in the client's
// trace, with the gateway's server span as its parent.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"

namespace checkout {

/// What the client's `POST /checkout` carried besides the order.
struct request_context {
  /// The client's deadline as wall-clock milliseconds since the epoch, so it
  /// means the same after a restart; 0 when there is none.
  std::int64_t deadline_unix_ms = 0;
  bulwark::criticality crit = bulwark::criticality::standard;
  /// The client's trace; `parent_id` is the gateway's server span.
  bulwark::trace_context trace;
  /// The client's span (the parent of the gateway's server span).
  std::uint64_t upstream_span = 0;
};

struct order {
  std::string order_id;
  std::string sku;
  std::int64_t qty = 1;
  request_context context;
};

/// The longest order id and sku (services accept ids up to 64 bytes; the
/// keys add suffixes such as "-release").
constexpr std::size_t max_id_bytes = 64;

/// Reads POST /checkout's body and the request's context; on bad input
/// returns nullopt and sets `error` to a 400 naming every problem.
std::optional<order> read_order(const bulwark::service_request& req,
                                bulwark::service_response& error);

/// The saga's input (JSON) and back. `from_input` reads what `to_input`
/// wrote, and inputs logged by an older gateway (no context: no deadline,
/// standard, untraced).
std::string to_input(const order& o);
order from_input(const std::string& text);

/// Which kind of saga step makes a call.
enum class step_kind : std::uint8_t { forward, pivot, compensation };

/// @relates step_kind
std::string to_string(step_kind x);

/// Time each downstream call gets at most (its dependency actor retries
/// inside it).
constexpr auto call_budget = std::chrono::seconds(5);

/// The call of one step try at steady time `now`, with the order's context
/// (see above); nullopt when it is a forward step and the client's deadline
/// has passed (`why` says so), so the step is not started.
std::optional<bulwark::call_request>
make_call(std::chrono::steady_clock::time_point now, const order& o,
          step_kind kind, std::string operation, std::string payload,
          std::string key, std::string& why);

} // namespace checkout
