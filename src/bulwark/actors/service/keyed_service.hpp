// An in-process downstream service whose replicas share one idempotency
// ledger: the server side of a `keyed` operation (think: a payments database
// behind three stateless replicas). Each replica is a transport actor (the
// transport protocol of bulwark/actors/protocol/protocol.hpp), so dependency
// actors call it directly. A request's side effect runs only when the ledger
// says `execute`; duplicates get the recorded result, concurrent duplicates
// wait for the first. Seeded faults hit both sides of the side effect: refusals
// before it (provably never executed), and errors or silence after it (it
// ran, the caller cannot know). Used by the 1,000-seed keyed test and the
// `idempotency` benchmark, which count side effects per key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/ledger/ledger_config.hpp"

namespace bulwark {

struct keyed_service_options {
  std::uint64_t seed = 1;
  ledger_config ledger;
  /// Refused before the ledger (connection refused: never executed).
  std::uint32_t refuse_percent = 0;
  /// The side effect ran, the answer is an HTTP-like 500.
  std::uint32_t error_after_percent = 0;
  /// The side effect ran, no answer ever comes.
  std::uint32_t silence_after_percent = 0;
  /// Latency of an execution: uniform in [fast_min, fast_max], or with
  /// `slow_percent` uniform in [slow_min, slow_max].
  duration fast_min = milliseconds(1);
  duration fast_max = milliseconds(5);
  std::uint32_t slow_percent = 0;
  duration slow_min = milliseconds(20);
  duration slow_max = milliseconds(80);
};

/// Counts of what the service did.
struct keyed_service_counts {
  /// Side effects executed (ledger `execute` verdicts that ran).
  std::uint64_t side_effects = 0;
  /// Distinct keys that executed at least once.
  std::uint64_t distinct_keys = 0;
  /// Keys that executed more than once (must stay 0).
  std::uint64_t keys_executed_twice = 0;
  std::uint64_t duplicates_answered = 0;
  std::uint64_t waits = 0;
  std::uint64_t refused = 0;
};

class keyed_service {
 public:
  explicit keyed_service(const keyed_service_options& opts);
  ~keyed_service();

  keyed_service(const keyed_service&) = delete;
  keyed_service& operator=(const keyed_service&) = delete;

  /// Starts one more replica; every replica shares this service's ledger.
  /// The service must outlive its replicas' work (they hold a reference).
  caf::actor spawn_replica(caf::actor_system& sys);

  /// Thread-safe snapshot of the counts.
  keyed_service_counts counts() const;

  /// How often `key` executed.
  std::uint32_t executions(const std::string& key) const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

} // namespace bulwark
