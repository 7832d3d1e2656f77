// How a service's idempotency ledger remembers keys: how many it holds at
// most, how long a completed key's result is kept to answer duplicates, how
// long an execution that never reports back may hold its key, and how many
// concurrent duplicates may wait for one execution. Parsed from the ledger
// object of a service (see docs/ledger.md); the ledger itself is
// bulwark/runtime/ledger/idempotency_ledger.hpp.
#pragma once

#include <cstdint>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

struct ledger_config {
  /// Bound on remembered keys (in progress + completed). A new key beyond it
  /// evicts the oldest completed key; in-progress keys are never evicted.
  std::uint32_t max_entries = 100'000;
  /// A completed key answers duplicates while now - completed_at < retention.
  duration retention = hours(24);
  /// An in-progress key is released by `expire` once now - started_at >=
  /// in_progress_timeout, so a crashed executor does not block it forever.
  duration in_progress_timeout = seconds(30);
  /// Concurrent duplicates that may wait for one execution; more are rejected.
  std::uint32_t max_waiters_per_key = 64;
};

/// The largest accepted max_entries.
inline constexpr std::uint32_t ledger_max_entries_limit = 10'000'000;

/// The largest accepted max_waiters_per_key.
inline constexpr std::uint32_t ledger_max_waiters_limit = 100'000;

/// The largest accepted retention and in_progress_timeout (7 days).
inline constexpr duration ledger_max_duration = hours(24 * 7);

/// Reads a ledger object (keys: max_entries, retention, in_progress_timeout,
/// max_waiters_per_key). Cross-field rule: in_progress_timeout must not exceed
/// retention (error at `in_progress_timeout`), so a client retrying after the
/// timeout still finds a result that completed late.
ledger_config parse_ledger_config(const boost::json::value& v,
                                  const json_path& at, error_list& errors);

/// @relates ledger_config
boost::json::object to_json(const ledger_config& cfg);

} // namespace bulwark
