// The internal enums of http_service's translation units name their values
// (logs and test failures print them).
#include "bulwark/actors/http/service_internals.hpp"
#include "bulwark/actors/http/shared_ledger_route.hpp"

#include <catch2/catch.hpp>

using namespace bulwark::service_detail;

TEST_CASE("the service's internal enums have names", "[actors][http]") {
  CHECK(to_string(answer_mode::final_only) == "final_only");
  CHECK(to_string(answer_mode::sse) == "sse");
  CHECK(to_string(answer_mode::ndjson) == "ndjson");
  CHECK(to_string(answer_mode::final_link) == "final_link");
  CHECK(to_string(call_end::answered) == "answered");
  CHECK(to_string(call_end::timed_out) == "timed_out");
  CHECK(to_string(call_end::down) == "down");
  CHECK(to_string(call_end::shut_down) == "shut_down");
  CHECK(to_string(call_end::failed) == "failed");
  CHECK(to_string(final_store::state::unknown) == "unknown");
  CHECK(to_string(final_store::state::pending) == "pending");
  CHECK(to_string(final_store::state::ready) == "ready");
  CHECK(to_string(service_core::admission::admitted) == "admitted");
  CHECK(to_string(service_core::admission::overloaded) == "overloaded");
  CHECK(to_string(service_core::admission::stopping) == "stopping");
  CHECK(to_string(shared_entry::phase::asking) == "asking");
  CHECK(to_string(shared_entry::phase::executing) == "executing");
  CHECK(to_string(shared_entry::phase::committing) == "committing");
  CHECK(to_string(static_cast<call_end>(200)) == "invalid");
}
