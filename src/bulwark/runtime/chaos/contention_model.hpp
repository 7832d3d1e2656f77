// The contention model of the AWS Architecture Blog's "Exponential Backoff
// And Jitter" (Marc Brooker, 2015; simulator aws-samples/aws-arch-backoff-
// simulator): N clients each update one row exactly once under optimistic
// concurrency control — read the version, write conditioned on it, and on a
// conflict back off and start again — over a network whose every hop costs
// |Normal(10 ms, 2 ms)|. It is the standard yardstick for backoff jitter, so
// bulwark reproduces it as a discrete-event simulation in virtual time, using
// its own `next_backoff` for the delays and, optionally, its own
// `retry_budget` shared by all clients, to show what a budget adds.
// Pure: no clock, no threads; randomness from the caller's seeded `rng`.
#pragma once

#include <cstdint>

#include "bulwark/runtime/budget/budget_config.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/retry/backoff_config.hpp"

namespace bulwark {

struct contention_config {
  /// Contending clients; each must get exactly one write through.
  std::uint32_t clients = 100;
  /// Every network hop costs |Normal(network_mean, network_sd)|.
  duration network_mean = milliseconds(10);
  duration network_sd = milliseconds(2);
  /// The backoff after a conflict; retry number n counts the client's
  /// failed writes (1 after the first).
  backoff_config backoff;
  /// Whether every retry must first be allowed by a retry budget.
  bool budgeted = false;
  /// One budget per client (each client of the blog's model is its own
  /// process, with its own dependency budget), or one shared by all.
  bool budget_per_client = true;
  budget_config budget;
};

/// The blog's backoff: un-jittered delay min(cap, base * 2^n) with base 5 ms,
/// cap 2 s. bulwark's exponential backoff is base' * 2^(n-1), so base' is
/// 10 ms; decorrelated jitter starts from and never goes below the blog's
/// base, so it keeps 5 ms.
backoff_config aws_backoff_config(jitter_kind jitter);

struct contention_result {
  /// Writes the server received (the blog's "calls").
  std::uint64_t calls = 0;
  /// Writes that conflicted.
  std::uint64_t conflicts = 0;
  /// Retries the budget refused (each refusal defers the retry).
  std::uint64_t budget_denials = 0;
  /// Time from the start until the last client got its write through.
  duration completion = duration::zero();
};

/// Runs the model once. Message flow per client, as in the blog's simulator:
/// read request (one hop) -> version reply (one hop) -> conditional write
/// (one hop; the server counts a call and succeeds iff the version is
/// unchanged, bumping it) -> reply (one hop); on a conflict the next read is
/// sent after next_backoff(n) plus one hop. With a budget, each client
/// deposits once at the start (`on_request`), conflicts call `on_failure`,
/// successes `on_success`; after a conflict the client waits
/// next_backoff(n), then asks `try_withdraw(retry, t)`: granted, its read
/// goes out (one hop); refused, it counts as one more failure (n + 1), waits
/// next_backoff(n + 1) and asks again, so a refusal costs time but no call.
/// Events at the same instant run in the order they were scheduled; the
/// result is a function of `gen`'s seed.
contention_result simulate_contention(const contention_config& cfg, rng& gen);

} // namespace bulwark
