// The decisions of a remote member (the local stand-in for one dependency or
// supervisor published by another node), without actors: which calls go to
// the remote node, and the one final reply each call gets. CAF fails neither
// sends nor requests in flight when a link dies, so the stand-in keeps its own
// table of the calls it sent and fails them itself: on a link down (outcome
// unknown: the call may have executed), at the call's deadline (a hung node
// not yet detected), or at once when the link is not up or the node's share
// of the in-flight bounds is used (never sent). The actor
// (actors/cluster/remote_member) feeds link states, calls, the remote's
// replies, cancels and timer wake-ups in, and carries out the actions, like
// supervisor_core and its actor: events in, actions out. Every event appends
// its actions to a list the owner reuses; time is an input (`now`).
//
// Per call: exactly one final reply (`reply` made here or `forward` of the
// remote's), at most one `preliminary` and never after the final; the one
// exception is a call cancelled by its caller after its preliminary was
// passed on, which ends silently (`end_silently`), as in the dependency
// protocol.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/core/recycled_list.hpp"
#include "bulwark/runtime/core/failure_class.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/slot_table.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/core/timer_heap.hpp"

namespace bulwark {

struct remote_call_options {
  /// The peer node's name (in messages).
  std::string node;
  /// The remote's local name, e.g. "payments-a" (in messages).
  std::string name;
  /// Calls out at once (this stand-in's share of the peer's bound).
  std::uint32_t max_in_flight = 1024;
  /// Bytes (operation + payload + idempotency key) out at once.
  std::int64_t max_in_flight_bytes = 16 * 1024 * 1024;
  /// How each declared operation may be repeated.
  std::vector<operation_config> operations;
  /// For operations not declared.
  idempotency default_idempotency = idempotency::unsafe;
};

/// A call as the core sees it; the actor keeps the caller's address, and
/// the request, by the slot `call` returns.
struct remote_call {
  /// The caller's correlation id (its reply carries it back).
  std::uint64_t caller_id = 0;
  /// Only looked up (idempotency), never kept.
  std::string_view operation;
  /// Operation + payload + idempotency key.
  std::size_t bytes = 0;
  /// Absolute; `no_deadline` for none.
  time_point deadline = no_deadline;
  /// The caller asked for a preliminary reply.
  bool progressive = false;
};

enum class remote_action_kind : std::uint8_t {
  /// Send call `slot` to the remote target as `(rcall_atom, call_request)`
  /// with id `wire_id` and budget `budget_ns`.
  send,
  /// Send `(cancel_atom, wire_id)` to the remote target.
  cancel_remote,
  /// Answer `caller_id` with the failure `cls`, `may_retry`, `message`
  /// (final). `slot` is `no_slot` for a call refused on arrival: the reply
  /// goes to the sender of the message being handled.
  reply,
  /// Pass the remote's final reply being handled on to the caller of
  /// `slot`, with its id replaced by `caller_id`.
  forward,
  /// Pass the remote's preliminary reply being handled on to the caller of
  /// `slot`, id replaced by `caller_id`; the final follows.
  preliminary,
  /// Call `slot` ended without a final reply (cancelled by its caller after
  /// its preliminary): forget its caller.
  end_silently,
  /// Tell the owner (the supervisor that spawned the stand-in) whether the
  /// member is reachable (`up`). Comes before the failures of a link down.
  reachable,
  /// Wake up at `at` and call `advance`: there is no outstanding wake-up at
  /// or before the earliest timer. Early or extra wake-ups are harmless.
  arm_timer,
};

/// @relates remote_action_kind
std::string to_string(remote_action_kind x);

struct remote_action {
  remote_action_kind kind = remote_action_kind::send;
  /// The call's slot (`remote_call_core::no_slot`: refused on arrival).
  std::uint32_t slot = 0;
  /// reply, forward, preliminary, end_silently: the caller's id.
  std::uint64_t caller_id = 0;
  /// send, cancel_remote, forward, preliminary: the id on the wire.
  std::uint64_t wire_id = 0;
  /// send: the budget left at `now` in nanoseconds (`deadline - now`,
  /// always > 0), `remote_call_core::no_budget` for no deadline: what
  /// budget_from_deadline (actors/protocol/wire.hpp) gives.
  std::int64_t budget_ns = 0;
  /// reply only.
  failure_class cls = failure_class::transient;
  bool may_retry = false;
  std::string message;
  /// reachable only.
  bool up = false;
  /// arm_timer only.
  time_point at{};
};

/// The actions of one or more events, in order; reused (recycled_list.hpp).
using remote_action_list = recycled_list<remote_action>;

struct remote_call_counters {
  /// Calls admitted and sent.
  std::uint64_t sent = 0;
  /// Refused on arrival: link not up.
  std::uint64_t refused_unreachable = 0;
  /// Refused on arrival: max_in_flight or max_in_flight_bytes.
  std::uint64_t refused_bound = 0;
  /// Refused on arrival: no budget left.
  std::uint64_t refused_deadline = 0;
  /// Final replies of the remote passed on.
  std::uint64_t replies = 0;
  /// Preliminary replies passed on.
  std::uint64_t preliminaries = 0;
  /// Preliminaries dropped: a second one, one the call did not ask for, or
  /// one for a call its caller cancelled (answered `cancelled` then).
  std::uint64_t dropped_preliminaries = 0;
  /// Sent calls failed by a link down (may have executed).
  std::uint64_t unknown_outcome = 0;
  /// Sent calls whose deadline passed first.
  std::uint64_t deadline_exceeded = 0;
  /// Cancels of callers accepted (duplicates not counted).
  std::uint64_t cancelled = 0;
  /// Calls that ended silently (cancelled after their preliminary).
  std::uint64_t silent_ends = 0;
  /// Replies and preliminaries for unknown, finished or old-generation ids.
  std::uint64_t late_replies = 0;
  /// link_up / link_down of an older generation, or repeated.
  std::uint64_t stale_link_events = 0;
  /// Calls out now.
  std::uint32_t in_flight = 0;
  /// Their bytes.
  std::int64_t in_flight_bytes = 0;
};

class remote_call_core {
 public:
  using action_list = remote_action_list;

  static constexpr std::uint32_t no_slot =
    std::numeric_limits<std::uint32_t>::max();

  /// The budget of a call without a deadline (wire.hpp's no_deadline_ns).
  static constexpr std::int64_t no_budget =
    std::numeric_limits<std::int64_t>::max();

  explicit remote_call_core(remote_call_options opts);

  // -- link events ------------------------------------------------------------
  //
  // `gen` names the target handle. A new target (a new link, or the remote
  // re-resolved after its actor ended) comes with a generation at least as
  // large as any before; link_up of a smaller one, or of the current one
  // while up, is stale. link_down applies to the current generation while
  // up (calls are failed) and records a newer one while down; the first link
  // event always reports `reachable`, later ones only on a change.

  /// Calls may go to the target of generation `gen`. An up link replaced
  /// without a down first fails its calls as a node loss.
  void link_up(std::uint64_t gen, time_point now, action_list& out);

  /// The target of `gen` is gone: `node_lost` when the node is unreachable
  /// (remote_link_unreachable), otherwise the remote actor ended. Emits
  /// `reachable(false)`, then fails every call in the table `transient`,
  /// outcome unknown, may_retry = may_repeat(op, false).
  void link_down(std::uint64_t gen, bool node_lost, time_point now,
                 action_list& out);

  // -- calls ------------------------------------------------------------------

  /// A call arrives. Checks, in order: no budget left (`deadline_exceeded`,
  /// nothing can help, so not worth another member), link not up, then the
  /// bounds (both `rejected_locally`, may_retry true: never executed). A
  /// refused call gets a `reply` at once and no slot (nullopt); an admitted
  /// one a slot and a `send` action.
  std::optional<std::uint32_t> call(const remote_call& c, time_point now,
                                    action_list& out);

  /// The remote answered `wire_id` (a preliminary reply when `preliminary`).
  /// Unknown, finished and old-generation ids are dropped and counted.
  void on_reply(std::uint64_t wire_id, bool preliminary, time_point now,
                action_list& out);

  /// The caller gave up on its call `caller_id`: among calls for which
  /// `same_caller(slot)` is true (callers choose their ids; the owner knows
  /// who asks). The remote gets `cancel_remote`; the call stays until the
  /// remote's final reply (normally `cancelled`), which is passed on, or
  /// until a link down or its deadline. After a preliminary was passed on,
  /// the call ends silently at once. A preliminary that arrives after the
  /// cancel means the remote will end silently: the caller is answered
  /// `cancelled` then. Returns whether a call matched. A linear scan:
  /// cancels are rare.
  template <class SameCaller>
  bool cancel(std::uint64_t caller_id, SameCaller&& same_caller, time_point now,
              action_list& out) {
    for (std::uint32_t slot = 0; slot < calls_.capacity(); ++slot) {
      if (!calls_.in_use(slot) || calls_[slot].caller_id != caller_id
          || !same_caller(slot))
        continue;
      cancel_call(slot, now, out);
      return true;
    }
    return false;
  }

  /// Fails the calls whose deadline passed by `now` (`deadline_exceeded`,
  /// and `cancel_remote` unless one was sent).
  void advance(time_point now, action_list& out);

  /// The earliest call deadline, nullopt when none is set.
  std::optional<time_point> next_timer() const noexcept {
    if (timers_.empty())
      return std::nullopt;
    return timers_.next();
  }

  // -- observers --------------------------------------------------------------

  bool up() const noexcept {
    return up_;
  }
  std::uint64_t generation() const noexcept {
    return gen_;
  }
  const remote_call_counters& counters() const noexcept {
    return counters_;
  }
  const remote_call_options& options() const noexcept {
    return opts_;
  }
  /// How `op` may be repeated.
  idempotency idempotency_of(std::string_view op) const noexcept;

  /// The wire id of call `slot` (in use).
  std::uint64_t wire_id(std::uint32_t slot) const noexcept {
    return calls_.id(slot, 0);
  }

 private:
  struct call_state {
    std::uint64_t caller_id = 0;
    std::int64_t bytes = 0;
    idempotency repeat = idempotency::unsafe;
    bool progressive = false;
    bool preliminary_passed = false;
    bool cancel_sent = false;
  };

  void cancel_call(std::uint32_t slot, time_point now, action_list& out);
  void fail_all(bool node_lost, action_list& out);
  void report(bool up, action_list& out);
  void end_call(std::uint32_t slot);
  remote_action& push_reply(std::uint32_t slot, std::uint64_t caller_id,
                            failure_class cls, bool may_retry,
                            action_list& out);
  void arm(time_point now, action_list& out);

  remote_call_options opts_;
  /// Operation names sorted, for a binary search per call.
  std::vector<std::pair<std::string, idempotency>> ops_;
  slot_table<call_state> calls_;
  timer_heap timers_;
  /// The wake-up last asked for with `arm_timer`, if still ahead.
  std::optional<time_point> armed_;
  std::uint64_t gen_ = 0;
  bool up_ = false;
  std::optional<bool> reported_;
  remote_call_counters counters_;
};

} // namespace bulwark
