#include "bulwark/runtime/core/correlation_id.hpp"

#include <catch2/catch.hpp>

using namespace bulwark;

TEST_CASE("a correlation id gives back its slot, generation and index",
          "[runtime][core]") {
  auto id = correlation_id::make(7, 42, 3);
  CHECK(correlation_id::slot(id) == 7);
  CHECK(correlation_id::generation(id) == 42);
  CHECK(correlation_id::index(id) == 3);
  CHECK(correlation_id::same_generation(id, 42));
  CHECK_FALSE(correlation_id::same_generation(id, 43));
  // The extremes of each field stay in their field.
  auto max = correlation_id::make(0xFFFFFFFFu, correlation_id::generation_mask,
                                  correlation_id::max_index);
  CHECK(max == ~std::uint64_t{0});
  CHECK(correlation_id::make(0, 0, 0) == 0);
  CHECK(correlation_id::index(correlation_id::make(1, 1, 255)) == 255);
  CHECK(correlation_id::slot(correlation_id::make(1, 1, 255)) == 1);
}

TEST_CASE("generations wrap at 2^24 and compare modulo it", "[runtime][core]") {
  auto wrapped = correlation_id::generation_mask + 1u; // 2^24
  auto id = correlation_id::make(5, wrapped + 9, 0);
  CHECK(correlation_id::generation(id) == 9);
  CHECK(correlation_id::same_generation(id, wrapped + 9));
  CHECK(correlation_id::same_generation(id, 9));
  CHECK_FALSE(correlation_id::same_generation(id, wrapped + 10));
  CHECK(correlation_id::slot(id) == 5);
}
