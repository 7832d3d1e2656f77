// Bytes in JSON: base64, and lossless round trips that a
// strict JSON parser accepts.
#include "bulwark/actors/storage/json_bytes.hpp"

#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "bulwark/runtime/core/rng.hpp"

using namespace bulwark;
namespace json = boost::json;

TEST_CASE("base64 matches the RFC 4648 test vectors and rejects every "
          "malformed text",
          "[actors][storage][json_bytes]") {
  std::vector<std::pair<std::string, std::string>> vectors = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
    {"\xff\xfe", "//4="}};
  for (auto& [plain, text] : vectors) {
    CAPTURE(plain);
    CHECK(base64_encode(plain) == text);
    std::string back;
    REQUIRE(base64_decode(text, back));
    CHECK(back == plain);
  }
  for (std::string bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zg==Zg==",
                          "Zm9v!", "Zm 9", "=Zg="}) {
    CAPTURE(bad);
    std::string out;
    CHECK_FALSE(base64_decode(bad, out));
  }
}

TEST_CASE("bytes become a JSON string when they are UTF-8 and a base64 "
          "object otherwise, and come back unchanged",
          "[actors][storage][json_bytes]") {
  CHECK(bytes_to_json("héllo") == json::value("héllo"));
  auto v = bytes_to_json(std::string{"\xff\x00x", 3});
  REQUIRE(v.is_object());
  CHECK(json::serialize(v) == R"({"base64":"/wB4"})");
  std::string out;
  std::string error;
  REQUIRE(bytes_from_json(v, out, error));
  CHECK(out == std::string{"\xff\x00x", 3});
  for (auto bad : {json::value(1), json::value(json::object{{"hex", "ff"}}),
                   json::value(json::object{{"base64", "Zg"}}),
                   json::value(json::object{{"base64", 5}})}) {
    CAPTURE(json::serialize(bad));
    CHECK_FALSE(bytes_from_json(bad, out, error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("random byte strings survive a round trip through strictly valid "
          "JSON text",
          "[actors][storage][json_bytes]") {
  // BULWARK_SEED=N replays seed N.
  auto* env = std::getenv("BULWARK_SEED");
  std::uint64_t seed = env != nullptr ? std::stoull(env) : 20261201;
  INFO("seed " << seed);
  rng gen{seed};
  for (int i = 0; i < 2000; ++i) {
    std::string bytes;
    auto n = gen.below(40);
    bool ascii = gen.below(3) == 0;
    for (std::uint64_t k = 0; k < n; ++k)
      bytes += static_cast<char>(ascii ? 0x20 + gen.below(95) : gen.below(256));
    auto text = json::serialize(bytes_to_json(bytes));
    json::error_code ec;
    auto parsed = json::parse(text, ec); // strict: invalid UTF-8 rejected
    REQUIRE_FALSE(ec);
    std::string back;
    std::string error;
    REQUIRE(bytes_from_json(parsed, back, error));
    CHECK(back == bytes);
    if (ascii)
      CHECK(parsed.is_string());
  }
}
