#include "bulwark/runtime/load/ab_slicer.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("slices alternate between the two sides in the order A B B A",
          "[runtime][load][ab]") {
  ab_slicer s{milliseconds(100)};
  std::string order;
  for (int i = 0; i < 8; ++i)
    order += to_string(s.side_at(milliseconds(100) * i + milliseconds(50)));
  CHECK(order == "abbaabba");
  CHECK(s.side_at(milliseconds(99)) == ab_side::a);
  CHECK(s.side_at(milliseconds(100)) == ab_side::b);
  CHECK(s.slice_index(milliseconds(250)) == 2);
}

TEST_CASE("over any whole number of four-slice groups both sides get the "
          "same time, and a linear drift lands on both alike",
          "[runtime][load][ab]") {
  ab_slicer s{milliseconds(10)};
  // Sum of slice indices per side: with ABBA it is equal per group of four.
  std::uint64_t a_sum = 0, b_sum = 0, a_n = 0, b_n = 0;
  for (std::uint64_t k = 0; k < 400; ++k) {
    auto side = s.side_at(milliseconds(10) * static_cast<int>(k));
    (side == ab_side::a ? a_sum : b_sum) += k;
    (side == ab_side::a ? a_n : b_n) += 1;
  }
  CHECK(a_n == b_n);
  CHECK(a_sum == b_sum);
}

TEST_CASE("a non-positive slice counts as one millisecond and negative "
          "offsets belong to the first slice",
          "[runtime][load][ab]") {
  ab_slicer s{duration::zero()};
  CHECK(s.slice() == milliseconds(1));
  CHECK(s.slice_index(-seconds(1)) == 0);
  CHECK(s.side_at(-seconds(1)) == ab_side::a);
}
