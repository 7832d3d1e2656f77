// The keyed load of the `cluster` scenario (bench/scenarios/cluster.cpp)
// and its account against the ledger owner's journal: what a charge is, the
// counts the journal backs or refutes (duplicates, successes without a
// record, answers unlike their record), and the fields and bars they make.
// The journal is the side effect: a record is a charge that happened.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/runner/scenario.hpp"

namespace bulwark::bench::cluster_charges {

/// One keyed charge: its key is `charge_key(index)`, its budget runs from
/// its first send.
struct charge_record {
  std::int64_t first_ns = 0;
  std::uint32_t sends = 0;
  bool done = false;
  bool ok = false;
  /// The body of the successful reply: the journal's record must say the
  /// same.
  std::string payload;
};

/// The idempotency key of charge `index`.
std::string charge_key(std::size_t index);

/// The charges against the ledger owner's journal (read after every node
/// that could commit has stopped).
struct keyed_result {
  std::uint64_t charges = 0;
  std::uint64_t charges_ok = 0;
  /// Ended without success (budget spent or a failure not worth a re-send).
  std::uint64_t charges_failed = 0;
  /// Sends beyond the first of each charge.
  std::uint64_t resends = 0;
  std::uint64_t journal_records = 0;
  /// Distinct keys in the journal: the charges whose side effect happened.
  std::uint64_t keys_charged = 0;
  /// Records beyond one per key: side effects that happened twice.
  std::uint64_t duplicates = 0;
  /// Successful charges whose key has no record: a success the journal
  /// does not back.
  std::uint64_t unrecorded_successes = 0;
  /// Successful charges whose body is not their key's record's body: the
  /// caller was told of an execution that is not the recorded one.
  std::uint64_t answer_mismatches = 0;
  /// Keys with a record whose charge never saw success (the outcome was
  /// unknown to the caller when its budget ended): allowed, reported.
  std::uint64_t recorded_unconfirmed = 0;
  /// Records for keys the driver never sent.
  std::uint64_t unknown_keys = 0;
  /// Records by the member that executed them (a record's body starts
  /// with its node's name): a member out of the charge rotation shows.
  std::map<std::string, std::uint64_t> by_member;
};

/// The ledger node's `owner begins N executes N ...` line (the owner's
/// counters at its stop) by name; empty when it printed none.
std::map<std::string, std::uint64_t>
parse_owner_counters(const std::optional<std::string>& line);

/// Reads the journal (after every node that could commit has stopped) and
/// holds `charges` against it.
keyed_result account_charges(const std::deque<charge_record>& charges,
                             const std::string& journal);

/// The keyed fields: the account and each of `members`' share of the
/// journal.
void add_keyed_fields(field_list& f, const keyed_result& keyed,
                      const std::vector<std::string>& members);

/// The owner's counters `owner` as fields (null where it printed none):
/// which of the ledger's paths the kills and stops took.
void add_owner_fields(field_list& f,
                      const std::map<std::string, std::uint64_t>& owner);

/// The keyed bars that failed: every count the journal refutes must be 0,
/// some charge must have succeeded, and the journal must hold as many
/// records as the owner says it appended (`owner_at_stop`).
void add_keyed_bars(std::vector<std::string>& bars, const keyed_result& keyed,
                    const std::map<std::string, std::uint64_t>& owner_at_stop);

} // namespace bulwark::bench::cluster_charges
