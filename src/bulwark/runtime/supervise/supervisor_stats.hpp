// What a supervisor reports about itself: the counters of its decisions
// (`supervisor_counters`, bumped by supervisor_core), the calls in flight and
// the state of each member. The supervisor actor answers `stats_atom` with a
// `supervisor_stats` value; its JSON form (`to_json`) is for people, and the
// Prometheus families come from bulwark/runtime/metrics/metric_table.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "bulwark/runtime/supervise/outlier_detector.hpp"

namespace bulwark {

/// Number of `member_health` values.
inline constexpr std::size_t member_health_count = 3;

/// Whether a member's actor is up and can be reached.
enum class member_status : std::uint8_t {
  /// Up; routable unless ejected or cooling down.
  running,
  /// Up, but its node is lost (a stand-in for a member on another node
  /// reported it): skipped until the node is back; no restart.
  unreachable,
  /// Down, with a restart scheduled.
  restarting,
  /// Down for good (stopped on purpose, or the supervisor gave up).
  stopped,
};

/// @relates member_status
std::string to_string(member_status x);

/// Number of `member_status` values.
inline constexpr std::size_t member_status_count = 4;

/// Counters of what the supervisor decided (plain integers: one thread).
/// Every field has a row in bulwark/runtime/metrics/metric_table.cpp.
struct supervisor_counters {
  std::uint64_t requests = 0;
  std::uint64_t replies_ok = 0;
  std::uint64_t replies_failed = 0;
  std::uint64_t attempts = 0;
  std::uint64_t failovers = 0;
  std::uint64_t failovers_denied_budget = 0;
  std::uint64_t hedges = 0;
  std::uint64_t hedges_won = 0;
  std::uint64_t hedges_denied_budget = 0;
  std::uint64_t cancels = 0;
  std::uint64_t late_results = 0;
  std::uint64_t no_member = 0;
  std::uint64_t deadline_exceeded = 0;
  std::uint64_t ejections = 0;
  std::uint64_t readmissions = 0;
  std::uint64_t probes = 0;
  std::uint64_t member_crashes = 0;
  std::uint64_t restarts = 0;
  std::uint64_t escalations = 0;
  /// Calls that waited for a restarting member because none was available.
  std::uint64_t parked = 0;
  /// Members routed around for `rejection_cooldown` after a rejection.
  std::uint64_t cooldowns = 0;
  /// Times a running member was reported unreachable (its node lost).
  std::uint64_t unreachable_events = 0;
  /// `(reach_atom, bool)` messages from a sender that is no current member
  /// (bumped by the supervisor actor, not by supervisor_core).
  std::uint64_t reach_ignored = 0;
  /// Preliminary answers of members passed on to the callers of progressive
  /// calls (at most one per call).
  std::uint64_t preliminary_replies = 0;
  /// Progressive calls their caller cancelled after the preliminary answer:
  /// they end without a reply.
  std::uint64_t cancelled_after_preliminary = 0;
};

/// One member as the supervisor sees it.
struct supervisor_member_stats {
  std::string name;
  /// Its actor is up (false while it is being restarted).
  bool running = false;
  /// Running, unreachable (its node lost), restarting or stopped.
  member_status status = member_status::stopped;
  member_health health = member_health::healthy;
  /// Attempts sent to it and not answered yet.
  std::uint64_t outstanding = 0;
  /// Times it was ejected as an outlier.
  std::uint64_t ejections = 0;
  /// Starts so far (1 = never restarted).
  std::uint64_t incarnation = 0;
};

struct supervisor_stats {
  /// The supervisor's configured name.
  std::string name;
  supervisor_counters counters;
  /// Calls received and not answered yet.
  std::uint64_t in_flight = 0;
  /// In configuration order.
  std::vector<supervisor_member_stats> members;

  /// Members whose actor is up.
  std::uint64_t running_members() const noexcept;

  /// Members in outlier state `h`.
  std::uint64_t members_in(member_health h) const noexcept;

  /// Members in status `st`.
  std::uint64_t members_in(member_status st) const noexcept;
};

/// {"supervisor": name, every counter by name, "in_flight",
///  "members": [{"name", "running", "status", "health", "outstanding",
///  "ejections", "incarnation"}]}.
boost::json::object to_json(const supervisor_stats& x);

} // namespace bulwark
