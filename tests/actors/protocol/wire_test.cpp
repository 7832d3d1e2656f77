// Deadlines crossing nodes: a deadline leaves as the time left and arrives as
// `now + budget` on the receiver's clock, with "none" kept and no overflow at
// either end of the range.
#include "bulwark/actors/protocol/wire.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace bulwark;

TEST_CASE("a deadline crosses nodes as the budget left and comes back on "
          "the receiver's clock",
          "[actors][messages]") {
  auto sender_now = time_point{} + seconds(100);
  auto deadline = to_wire_time(sender_now + milliseconds(300));
  auto budget = budget_from_deadline(deadline, sender_now);
  CHECK(budget == 300'000'000);
  // The receiver's clock has another epoch: only the budget matters.
  auto receiver_now = time_point{} + hours(5);
  CHECK(deadline_from_budget(budget, receiver_now)
        == to_wire_time(receiver_now + milliseconds(300)));
  // A deadline already passed leaves as a spent budget and arrives in the
  // past, where the receiver answers it as a late call.
  auto late = budget_from_deadline(to_wire_time(sender_now - milliseconds(1)),
                                   sender_now);
  CHECK(late == -1'000'000);
  CHECK(deadline_from_budget(late, receiver_now) < to_wire_time(receiver_now));
}

TEST_CASE("no deadline stays none across nodes and huge budgets saturate",
          "[actors][messages]") {
  auto now = time_point{} + seconds(10);
  CHECK(budget_from_deadline(no_deadline_ns, now) == no_deadline_ns);
  CHECK(deadline_from_budget(no_deadline_ns, now) == no_deadline_ns);
  constexpr auto max = std::numeric_limits<std::int64_t>::max();
  constexpr auto min = std::numeric_limits<std::int64_t>::min();
  // One below "none": a real deadline, clamped, never turned into "none".
  CHECK(deadline_from_budget(max - 1, now) == max - 1);
  CHECK(deadline_from_budget(min, now) == min + to_wire_time(now));
  CHECK(budget_from_deadline(min, now) == min);
  CHECK(deadline_from_budget(0, now) == to_wire_time(now));
}
