// The answer a ledger records for a key, and its packing into the pure
// ledger's status + body (`ledger_result`). One place for both ledgers,
// http_service's in-process one and the shared ledger's owner, so the
// executor, every duplicate and a replay from the journal get the same
// bytes wherever the key ran: `Retry-After` (whole seconds, rounded up) and
// the do-not-retry marker are folded into the headers, because a journal
// record keeps status, content type, headers and body only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"
#include "bulwark/runtime/core/time.hpp"
#include "bulwark/runtime/ledger/idempotency_ledger.hpp"

namespace bulwark {

/// What a ledger keeps for a key and every copy of its answer is built from.
struct recorded_response {
  std::int32_t status = 500;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Whole seconds, rounded up: a caller must never come back too early.
std::string retry_after_text(duration d);

/// `x` with `Retry-After` and the do-not-retry marker folded into its
/// headers. The status is kept as it is (a ledger that bounds it checks it).
recorded_response record_of(const service_response& x);

/// The recorded answer as a service response (nothing left to fold).
service_response to_service_response(const recorded_response& r);

/// The answer half of a journal record, and back.
recorded_response recorded_of(const journal_record& r);
void set_answer(journal_record& r, const recorded_response& rec);

/// Packs content type, headers and body into the ledger's body as
/// length-prefixed fields ("<len>:<bytes>").
ledger_result to_ledger(const recorded_response& r);

/// Inverse of `to_ledger`. Only `to_ledger` packs, so a body that does not
/// unpack is a bug; the answer is then a 500 rather than made-up bytes.
recorded_response from_ledger(const ledger_result& x);

} // namespace bulwark
