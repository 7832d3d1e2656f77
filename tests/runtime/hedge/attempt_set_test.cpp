#include "bulwark/runtime/hedge/attempt_set.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include <catch2/catch.hpp>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;

namespace {

std::vector<std::uint64_t> cancelled(const settle_result& r) {
  return {r.cancel.begin(), r.cancel.begin() + r.cancel_count};
}

} // namespace

TEST_CASE("the first success wins even when failures arrive before it",
          "[runtime][hedge]") {
  attempt_set set;
  CHECK(set.add(100) == 0);
  CHECK(set.add(101) == 1);
  CHECK(set.add(102) == 2);
  CHECK(set.outstanding() == 3);
  auto first = set.on_result(100, false);
  CHECK(first.kind == settle_kind::failed);
  CHECK_FALSE(first.is_winner());
  CHECK(first.cancel_count == 0);
  CHECK_FALSE(set.settled());
  auto win = set.on_result(102, true);
  CHECK(win.is_winner());
  CHECK(cancelled(win) == std::vector<std::uint64_t>{101});
  CHECK(set.settled());
  CHECK(set.succeeded());
  CHECK(set.winner() == 2);
  CHECK(set.id_at(set.winner()) == 102);
  CHECK(set.status_at(0) == attempt_status::failed);
  CHECK(set.status_at(1) == attempt_status::cancelled);
  CHECK(set.status_at(2) == attempt_status::succeeded);
  CHECK(set.outstanding() == 0);
}

TEST_CASE("late replies after a winner are dropped and cancel nothing again",
          "[runtime][hedge]") {
  attempt_set set;
  set.add(1);
  set.add(2);
  set.add(3);
  auto win = set.on_result(2, true);
  REQUIRE(win.is_winner());
  CHECK(cancelled(win) == std::vector<std::uint64_t>{1, 3});
  for (auto [id, ok] :
       {std::pair{1, true}, std::pair{3, false}, std::pair{2, true}}) {
    auto late = set.on_result(static_cast<std::uint64_t>(id), ok);
    CHECK(late.kind == settle_kind::late);
    CHECK(late.drop());
    CHECK(late.cancel_count == 0);
  }
  CHECK(set.cancel_all().kind == settle_kind::late);
  CHECK_FALSE(set.close());
  CHECK(set.add(4) == attempt_set::npos);
  CHECK(set.winner() == 1);
}

TEST_CASE("the request fails when every attempt failed and no more will be "
          "sent",
          "[runtime][hedge]") {
  SECTION("closed before the last failure") {
    attempt_set set;
    set.add(1);
    set.add(2);
    CHECK_FALSE(set.close());
    CHECK(set.on_result(1, false).kind == settle_kind::failed);
    auto last = set.on_result(2, false);
    CHECK(last.all_failed());
    CHECK(last.cancel_count == 0);
    CHECK(set.settled());
    CHECK_FALSE(set.succeeded());
    CHECK(set.winner() == attempt_set::npos);
  }
  SECTION("closed after the last failure") {
    attempt_set set;
    set.add(1);
    set.add(2);
    CHECK(set.on_result(2, false).kind == settle_kind::failed);
    auto last = set.on_result(1, false);
    // Nothing outstanding, but the caller may still send another attempt.
    CHECK(last.kind == settle_kind::failed);
    CHECK(set.outstanding() == 0);
    CHECK_FALSE(set.settled());
    CHECK(set.close());
    CHECK(set.settled());
    CHECK_FALSE(set.close());
  }
  SECTION("a retry added after all failures can still win") {
    attempt_set set;
    set.add(1);
    CHECK(set.on_result(1, false).kind == settle_kind::failed);
    CHECK(set.add(2) == 1);
    CHECK(set.on_result(2, true).is_winner());
  }
}

TEST_CASE("a final failure wins and cancels the other attempts",
          "[runtime][hedge]") {
  attempt_set set;
  set.add(7);
  set.add(8);
  auto r = set.on_result(8, false, true);
  CHECK(r.is_winner());
  CHECK(cancelled(r) == std::vector<std::uint64_t>{7});
  CHECK(set.settled());
  CHECK_FALSE(set.succeeded());
  CHECK(set.status_at(set.winner()) == attempt_status::failed);
  CHECK(set.on_result(7, true).kind == settle_kind::late);
}

TEST_CASE("results of unknown or already reported attempts are dropped",
          "[runtime][hedge]") {
  attempt_set set;
  set.add(1);
  set.add(2);
  CHECK(set.on_result(99, true).kind == settle_kind::unknown);
  CHECK(set.on_result(1, false).kind == settle_kind::failed);
  auto again = set.on_result(1, true);
  CHECK(again.kind == settle_kind::unknown);
  CHECK(again.drop());
  CHECK_FALSE(set.settled());
  CHECK(set.outstanding() == 1);
}

TEST_CASE("add refuses duplicates, a full set and a closed set",
          "[runtime][hedge]") {
  attempt_set set;
  for (std::uint64_t id = 0; id < attempt_set::capacity; ++id)
    CHECK(set.add(id + 10) == id);
  CHECK(set.add(1000) == attempt_set::npos);
  CHECK(set.size() == attempt_set::capacity);
  attempt_set dup;
  dup.add(5);
  CHECK(dup.add(5) == attempt_set::npos);
  dup.close();
  CHECK(dup.add(6) == attempt_set::npos);
  CHECK(dup.index_of(5) == 0);
  CHECK(dup.index_of(6) == attempt_set::npos);
}

TEST_CASE("cancel_all lists every outstanding attempt once",
          "[runtime][hedge]") {
  attempt_set set;
  set.add(1);
  set.add(2);
  set.add(3);
  set.on_result(2, false);
  auto r = set.cancel_all();
  CHECK(r.kind == settle_kind::cancelled);
  CHECK(cancelled(r) == std::vector<std::uint64_t>{1, 3});
  CHECK(set.settled());
  CHECK(set.on_result(1, true).kind == settle_kind::late);
  CHECK(set.cancel_all().cancel_count == 0);
}

TEST_CASE("reset makes a set reusable", "[runtime][hedge]") {
  attempt_set set;
  set.add(1);
  set.on_result(1, true);
  set.reset();
  CHECK(set.size() == 0);
  CHECK_FALSE(set.settled());
  CHECK_FALSE(set.closed());
  CHECK(set.winner() == attempt_set::npos);
  CHECK(set.add(1) == 0);
  CHECK(set.on_result(1, false).kind == settle_kind::failed);
}

TEST_CASE("under random interleavings exactly one event settles the request "
          "and every loser is cancelled once",
          "[runtime][hedge]") {
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    INFO("seed " << seed);
    rng gen{seed};
    attempt_set set;
    auto n = 1 + gen.below(attempt_set::capacity);
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 0; i < n; ++i) {
      ids.push_back(1000 * seed + i);
      REQUIRE(set.add(ids.back()) == i);
    }
    bool close_early = gen.below(2) == 0;
    if (close_early)
      set.close();
    // Each attempt replies once, in random order, with a random result; some
    // replies are duplicated.
    std::vector<std::uint64_t> order = ids;
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[gen.below(i)]);
    std::map<std::uint64_t, int> cancel_times;
    int settlements = 0;
    bool expect_settled = false;
    std::uint64_t first_success = 0;
    bool seen_success = false;
    for (auto id : order) {
      bool ok = gen.uniform() < 0.3;
      auto r = set.on_result(id, ok);
      if (!seen_success && ok && !expect_settled) {
        seen_success = true;
        first_success = id;
      }
      if (r.is_winner() || r.all_failed()) {
        ++settlements;
        expect_settled = true;
      }
      for (std::uint32_t i = 0; i < r.cancel_count; ++i)
        ++cancel_times[r.cancel[i]];
      if (gen.below(4) == 0)
        CHECK(set.on_result(id, ok).drop());
    }
    if (!close_early && set.close())
      ++settlements;
    CHECK(settlements == 1);
    CHECK(set.settled());
    CHECK(set.outstanding() == 0);
    if (seen_success) {
      REQUIRE(set.winner() != attempt_set::npos);
      CHECK(set.id_at(set.winner()) == first_success);
    } else {
      CHECK(set.winner() == attempt_set::npos);
    }
    for (auto& [id, times] : cancel_times) {
      CHECK(times == 1);
      CHECK(set.status_at(set.index_of(id)) == attempt_status::cancelled);
    }
  }
}

TEST_CASE("attempt and settle names match their enumerators",
          "[runtime][hedge]") {
  CHECK(to_string(attempt_status::outstanding) == "outstanding");
  CHECK(to_string(attempt_status::succeeded) == "succeeded");
  CHECK(to_string(attempt_status::failed) == "failed");
  CHECK(to_string(attempt_status::cancelled) == "cancelled");
  CHECK(to_string(settle_kind::won) == "won");
  CHECK(to_string(settle_kind::failed) == "failed");
  CHECK(to_string(settle_kind::all_failed) == "all_failed");
  CHECK(to_string(settle_kind::cancelled) == "cancelled");
  CHECK(to_string(settle_kind::late) == "late");
  CHECK(to_string(settle_kind::unknown) == "unknown");
}
