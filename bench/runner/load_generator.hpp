// A closed-loop load generator: keeps exactly `inflight` calls outstanding
// against any actor that speaks the send form of the call protocol
// (call_atom/call_request -> reply_atom/call_reply), sending the next call as
// soon as a reply arrives, until `calls` replies came back. Correlation ids
// live in a real hash map (not CAF's request/then machinery, which is
// quadratic in the number in flight in CAF 0.17). Benchmarks may read the
// real clock: wall time and optional per-call latencies use steady_clock.
#pragma once

#include "bulwark/actors/protocol/call_messages.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include <cstdint>
#include <vector>

namespace bulwark::bench {

struct load_config {
  /// Total calls (and replies awaited).
  std::uint64_t calls = 1000000;
  /// Calls kept outstanding at all times (until the tail of the run).
  std::uint32_t inflight = 100;
  /// Copied into every call; the generator sets `id` (and nothing else).
  call_request prototype;
  /// Record each call's latency (two steady_clock reads per call).
  bool record_latency = false;
};

struct load_report {
  std::uint64_t calls = 0;
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  /// Replies whose id matched no outstanding call (duplicates, strays).
  std::uint64_t unmatched = 0;
  /// False when the target went down before every reply arrived.
  bool complete = false;
  /// From the first send to the last reply.
  std::int64_t wall_ns = 0;
  /// CPU time the whole process used meanwhile (all threads): unlike wall
  /// time, it does not grow when other programs take the machine's cores.
  std::int64_t cpu_ns = 0;
  /// The steady state of a closed loop: from the first reply to the last
  /// send, while `inflight` calls are always out. Ramp-up and the final
  /// drain (where fewer calls are out and the slowest ones set the pace)
  /// are left out, so throughput compares like with like.
  std::int64_t steady_ns = 0;
  /// Replies (and successful ones) that arrived in the steady state.
  std::uint64_t steady_replies = 0;
  std::uint64_t steady_ok = 0;
  /// Per call, in completion order, when `record_latency` was set.
  std::vector<std::int64_t> latencies_ns;

  double ns_per_call() const noexcept {
    return calls == 0 ? 0.0 : static_cast<double>(wall_ns) / calls;
  }
};

/// Spawns a generator against `target`, runs it to completion and returns
/// its report. Blocks the calling (non-actor) thread while the actor system
/// runs the loop.
load_report run_closed_loop(caf::actor_system& sys, const caf::actor& target,
                            const load_config& cfg);

} // namespace bulwark::bench
