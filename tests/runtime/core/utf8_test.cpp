#include "bulwark/runtime/core/utf8.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace bulwark;

TEST_CASE("valid UTF-8 is recognised and invalid forms are refused",
          "[runtime][core][utf8]") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xc3")); // cut short
  CHECK_FALSE(is_valid_utf8("\xc0\xaf")); // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xe0\x80\xaf")); // overlong
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80")); // surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("a\x80z")); // stray continuation
}

TEST_CASE("printable_utf8 escapes invalid bytes and cuts between characters",
          "[runtime][core][utf8]") {
  CHECK(printable_utf8("ok", 10) == "ok");
  CHECK(printable_utf8("a\xff"
                       "b",
                       10)
        == "a\\xFFb");
  CHECK(printable_utf8("a\r\nb", 10) == "a\\x0D\\x0Ab");
  CHECK(printable_utf8(std::string("a\0b", 3), 10) == "a\\x00b");
  CHECK(is_valid_utf8(printable_utf8("\xc3\x28\xa0\xa1", 10)));
  // "é" is two bytes: a bound of 4 keeps "ab" and the whole "é", not half.
  CHECK(printable_utf8("ab\xc3\xa9xyz", 4) == "ab\xc3\xa9...");
  CHECK(printable_utf8("ab\xc3\xa9xyz", 3) == "ab...");
  CHECK(printable_utf8(std::string(100, 'x'), 60).size() == 63);
}

TEST_CASE("UTF-8 validation accepts well-formed text and rejects overlongs, "
          "surrogates, truncation and code points above U+10FFFF",
          "[runtime][core][utf8]") {
  struct row {
    std::string bytes;
    bool valid;
  };
  std::vector<row> rows = {
    {"", true},
    {"plain ascii \t\n", true},
    {std::string{"nul \0 inside", 12}, true},
    {"\xc3\xa9t\xc3\xa9", true}, // été
    {"\xe2\x82\xac", true}, // euro sign
    {"\xf0\x9f\x98\x80", true}, // emoji
    {"\xf4\x8f\xbf\xbf", true}, // U+10FFFF
    {"\xed\x9f\xbf", true}, // U+D7FF
    {"\xff", false},
    {"\xc0\xaf", false}, // overlong '/'
    {"\xe0\x80\xaf", false}, // overlong
    {"\xf0\x80\x80\xaf", false}, // overlong
    {"\xed\xa0\x80", false}, // surrogate U+D800
    {"\xf4\x90\x80\x80", false}, // U+110000
    {"\xc3", false}, // truncated
    {"\xe2\x82", false}, // truncated
    {"a\x80", false}, // lone continuation
    {"\xc3\x28", false}, // bad continuation
  };
  for (auto& r : rows) {
    CAPTURE(r.bytes);
    CHECK(is_valid_utf8(r.bytes) == r.valid);
  }
}
