// The metastable model: a pure discrete-event simulation, in virtual time
// (nanoseconds from time_point{}), of open-loop clients calling a few
// servers. Servers have N workers, exponential service times and a FIFO
// queue (bounded or not); work whose caller timed out is not cancelled (a
// worker still serves it); an error window makes a server answer every
// request at once with an error (what was queued at its start included),
// while work already in service finishes. The client sends first tries as a
// Poisson process whose rate follows a schedule of phases, sends every
// attempt round-robin over the servers, gives each attempt its own timeout,
// caps attempts per request, and asks a `client_policy` whether and when to
// retry. A request succeeds only if one of its attempts is answered without
// error within that attempt's timeout. One seed fixes the run; first-try
// arrival times depend only on the seed and the phases, so every mode meets
// the same arrivals.
#pragma once

#include "bench/model/client_mode.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/overload/server_queue.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark::bench::model {

/// Which queued job a server starts next, and what it refuses.
enum class server_policy {
  /// The published set-ups: first in, first out; nothing is shed or
  /// dropped (only a full bounded queue refuses an arrival).
  fifo,
  /// bulwark's server-side overload control, the same pure code as
  /// http_service's (bulwark/runtime/overload/server_queue.hpp): newest
  /// first while overloaded, queued work whose caller's deadline (send time
  /// + attempt timeout) passed dropped at once, shedding by criticality.
  /// Shed and dropped jobs are answered with an error at once.
  overload_control,
};

std::string_view to_string(server_policy x) noexcept;

struct server_config {
  std::uint32_t workers = 1;
  duration mean_service = milliseconds(100);
  /// Requests waiting for a worker; 0 = unbounded. A full queue answers an
  /// arrival with an error at once.
  std::size_t max_queue = 0;
  /// Every request arriving (or queued) in [error_start, error_end) is
  /// answered with an error at once; no window when they are equal.
  time_point error_start{};
  time_point error_end{};
  /// FIFO by default, so the published set-ups' results do not move.
  server_policy policy = server_policy::fifo;
  /// The queue's settings under `overload_control` (its `max_queue`, not
  /// this config's, bounds the queue then). Every model request is
  /// `standard`.
  server_queue_config overload;
};

/// The model's server settings for `overload_control`, scaled to the
/// server and its callers: target = the smaller of 10 mean service times
/// and a fifth of the callers' timeout, interval = 2 x target, unbounded
/// queue, everything else at server_queue_config's defaults. Set-up A: 1 s
/// and 2 s (an M/M/1 queue at 90% load waits 0.9 s on average, so a much
/// smaller target calls normal operation overloaded and serves it newest
/// first, which fattens its tail); set-up B: 200 ms and 400 ms (a standing
/// queue of a fifth of the 1 s timeout).
server_queue_config model_overload_config(duration mean_service,
                                          duration caller_timeout);

/// A stretch of constant first-try rate.
struct rate_phase {
  std::string name;
  duration length{0};
  double rate_per_s = 0;
};

struct model_config {
  std::vector<server_config> servers;
  /// Back to back from t = 0; first tries stop at the end of the last.
  std::vector<rate_phase> phases;
  duration attempt_timeout = seconds(1);
  /// Attempts per request, first try included (>= 1).
  std::uint32_t max_attempts = 1;
  std::uint64_t seed = 1;
  /// Width of the timeline's buckets (queue depth samples).
  duration bucket = seconds(1);
};

/// How a request ended.
enum class request_end {
  succeeded,
  /// Its last allowed attempt failed.
  attempts_exhausted,
  /// The policy refused a retry, or rejected it locally when it was due.
  retry_refused,
  /// The policy refused its first try.
  rejected_locally,
};

std::string_view to_string(request_end x) noexcept;

struct request_record {
  time_point first_try{};
  time_point end{};
  std::uint32_t attempts = 0;
  request_end how = request_end::succeeded;

  bool succeeded() const noexcept {
    return how == request_end::succeeded;
  }
};

struct attempt_record {
  std::uint32_t request = 0;
  /// 1 for the first try.
  std::uint32_t number = 1;
  std::uint32_t server = 0;
  time_point sent{};
  /// When the client learned the outcome (answer or timeout).
  time_point ended{};
  attempt_outcome outcome = attempt_outcome::timeout;
};

struct model_run {
  /// In order of first try.
  std::vector<request_record> requests;
  /// In order of sending.
  std::vector<attempt_record> attempts;
  /// Jobs a worker finished after their attempt had timed out: wasted work.
  std::uint64_t late_completions = 0;
  /// Jobs a worker finished in all.
  std::uint64_t served = 0;
  /// Under `overload_control`: jobs shed, and jobs dropped because their
  /// caller's deadline passed while they waited (summed over servers).
  std::uint64_t shed = 0;
  std::uint64_t dropped_expired = 0;
  /// Requests waiting in all servers' queues at the start of each bucket
  /// (index i: time i * bucket), up to the end of the last phase.
  std::vector<std::uint32_t> queue_depth;
  /// The policy's gauge at the same instants (client_policy::gauge); empty
  /// when the policy has none.
  std::vector<double> policy_gauge;
  /// Time of the last event the run processed (every request has ended).
  time_point finished{};
};

/// Runs the model until every request has ended. Throws
/// std::invalid_argument for a config it cannot run (no server, no worker,
/// max_attempts 0, a negative rate or a timeout <= 0).
model_run run_model(const model_config& cfg, client_policy& policy);

/// The phase containing `t` (index into cfg.phases), or phases.size() when
/// `t` lies after the last.
std::size_t phase_of(const model_config& cfg, time_point t) noexcept;

/// Start of phase `i` (the end of the last phase for i == phases.size()).
time_point phase_start(const model_config& cfg, std::size_t i) noexcept;

} // namespace bulwark::bench::model
