#include "bulwark/runtime/core/idempotency_key.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace bulwark;

TEST_CASE("visible ASCII keys up to the bound are valid and the empty key "
          "means none",
          "[runtime][core][key]") {
  CHECK_FALSE(key_problem(""));
  CHECK_FALSE(key_problem("order-1"));
  CHECK_FALSE(key_problem("a!~{}\"\\:/"));
  CHECK_FALSE(key_problem(std::string(max_key_bytes, 'k')));
  CHECK_FALSE(key_problem("abc", 3));
}

TEST_CASE("a key with a control, a space or a non-ASCII byte is refused "
          "naming the byte and its position, never quoting the key",
          "[runtime][core][key]") {
  auto p = key_problem("o-1\r\nPUT /faults");
  REQUIRE(p);
  CHECK(*p
        == "contains a CR (0x0D) at byte 3; allowed: visible ASCII "
           "0x21-0x7E");
  CHECK(key_problem(std::string("nul-1\0A", 7))->find("a NUL (0x00) at byte 5")
        != std::string::npos);
  CHECK(key_problem("a\nb")->find("a LF (0x0A) at byte 1")
        != std::string::npos);
  CHECK(key_problem("a b")->find("a space (0x20) at byte 1")
        != std::string::npos);
  CHECK(key_problem("a\tb")->find("a control character (0x09)")
        != std::string::npos);
  CHECK(key_problem("a\x7f")->find("a control character (0x7F)")
        != std::string::npos);
  CHECK(key_problem("caf\xc3\xa9")->find("a non-ASCII byte (0xC3) at byte 3")
        != std::string::npos);
  CHECK(key_problem("\xff")->find("0xFF") != std::string::npos);
  CHECK(key_problem("PUT /faults")->find("PUT") == std::string::npos);
}

TEST_CASE("a key over the bound is refused with both lengths",
          "[runtime][core][key]") {
  CHECK(*key_problem(std::string(max_key_bytes + 1, 'k'))
        == "longer than 255 bytes (got 256 bytes)");
  CHECK(*key_problem("abcd", 3) == "longer than 3 bytes (got 4 bytes)");
}
