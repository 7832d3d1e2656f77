// The shared ledger's messages survive CAF's serializer field for field, and
// a reply whose verdict is out of range is refused on load.
#include "bulwark/actors/protocol/ledger_messages.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

service_response sample_response() {
  service_response x;
  x.status = 201;
  x.content_type = "application/json";
  x.body = std::string("{\"id\":7}\0\xff", 10);
  x.headers = {{"Location", "/orders/7"}, {"Retry-After", "2"}};
  return x;
}

ledger_begin sample_begin() {
  ledger_begin x;
  x.id = 41;
  x.route = "POST /orders";
  x.key = "order-7";
  x.budget_ns = 1'500'000'000;
  return x;
}

ledger_reply sample_reply() {
  ledger_reply x;
  x.id = 41;
  x.verdict = owner_verdict::committed;
  x.epoch = 0x9e3779b97f4a7c15ULL;
  x.ticket = 3;
  x.recorded = sample_response();
  x.message = "why";
  return x;
}

ledger_commit sample_commit() {
  ledger_commit x;
  x.id = 42;
  x.route = "POST /orders";
  x.key = "order-7";
  x.epoch = 0x9e3779b97f4a7c15ULL;
  x.ticket = 3;
  x.executed = true;
  x.request.method = "POST";
  x.request.path = "/orders";
  x.request.query = "a=1";
  x.request.body = "{\"amount\":5}";
  x.request.headers = {{"Idempotency-Key", "order-7"}};
  x.request.idempotency_key = "order-7";
  x.request.deadline = time_point{} + hours(2);
  x.response = sample_response();
  return x;
}

template <class T>
caf::error load(caf::actor_system& sys, T x, T& out) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  if (auto err = sink(x))
    return err;
  caf::binary_deserializer source{sys, buf};
  return source(out);
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "a begin, a reply and a commit cross with every field",
                 "[actors][messages]") {
  ledger_begin b;
  REQUIRE(!load(sys, sample_begin(), b));
  CHECK(b == sample_begin());
  ledger_reply r;
  REQUIRE(!load(sys, sample_reply(), r));
  CHECK(r == sample_reply());
  ledger_commit c;
  REQUIRE(!load(sys, sample_commit(), c));
  CHECK(c == sample_commit());
  // The comparisons look at the fields that differ here.
  auto other = sample_commit();
  other.request.body = "{}";
  CHECK_FALSE(other == sample_commit());
  auto later = sample_begin();
  later.budget_ns = 1;
  CHECK_FALSE(later == sample_begin());
  auto stale = sample_reply();
  stale.verdict = owner_verdict::stale;
  CHECK_FALSE(stale == sample_reply());
}

TEST_CASE_METHOD(deterministic_fixture,
                 "every verdict crosses and one out of range is refused",
                 "[actors][messages]") {
  for (std::uint8_t v = 0; v < detail::owner_verdict_count; ++v) {
    auto x = sample_reply();
    x.verdict = static_cast<owner_verdict>(v);
    ledger_reply y;
    REQUIRE(!load(sys, x, y));
    CHECK(y.verdict == x.verdict);
  }
  auto bad = sample_reply();
  bad.verdict = static_cast<owner_verdict>(detail::owner_verdict_count);
  ledger_reply y;
  CHECK(load(sys, bad, y) == caf::sec::invalid_argument);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "the shared ledger's messages travel inside a message with "
                 "their atoms",
                 "[actors][messages]") {
  auto msg = caf::make_message(commit_atom::value, sample_commit());
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(msg));
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(copy));
  REQUIRE(copy.match_elements<commit_atom, ledger_commit>());
  CHECK(copy.get_as<ledger_commit>(1) == sample_commit());
  CHECK(caf::atom("ledger") == ledger_atom::value);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "the owner's counters cross in their order",
                 "[actors][messages]") {
  ledger_owner_counters x;
  std::uint64_t* fields[] = {
    &x.begins,        &x.executes,  &x.duplicates,      &x.waits,
    &x.rejections,    &x.invalid,   &x.appends,         &x.committed,
    &x.stale_commits, &x.abandoned, &x.timeouts,        &x.client_downs,
    &x.retries_told,  &x.cancels,   &x.dropped_waiters, &x.replayed,
  };
  static_assert(sizeof(ledger_owner_counters) == 16 * sizeof(std::uint64_t),
                "a counter was added: send it and list it here");
  for (std::size_t i = 0; i < std::size(fields); ++i)
    *fields[i] = i + 1;
  ledger_owner_counters y;
  REQUIRE(!load(sys, x, y));
  CHECK(y.begins == 1);
  CHECK(y.executes == 2);
  CHECK(y.stale_commits == 9);
  CHECK(y.client_downs == 12);
  CHECK(y.replayed == 16);
}
