#include "bulwark/runtime/cluster/hello_check.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

using namespace bulwark;

namespace {

const std::vector<std::string> registered{"bulwark::call_request",
                                          "bulwark::call_reply"};

peer_facts facts(std::string node) {
  peer_facts f;
  f.types_digest = types_digest(registered, cluster_protocol_version);
  f.node = std::move(node);
  f.epoch = 42;
  f.heartbeat_ns = 100'000'000;
  f.timeout_ns = 500'000'000;
  return f;
}

} // namespace

TEST_CASE("the types digest is FNV-1a 64 over names, separators and the "
          "version",
          "[runtime][cluster]") {
  // Values computed independently (Python) from the documented byte layout.
  CHECK(types_digest({}, 0) == 0x4d25767f9dce13f5ULL);
  CHECK(types_digest({"a"}, 1) == 0x2e15cb2d501a2eb5ULL);
  CHECK(types_digest(registered, 1) == 0x1942f8fc1824c467ULL);
}

TEST_CASE("the types digest changes with order, appends, splits and version",
          "[runtime][cluster]") {
  auto base = types_digest({"a", "b"}, 1);
  CHECK(types_digest({"b", "a"}, 1) != base);
  CHECK(types_digest({"a", "b", "c"}, 1) != base);
  CHECK(types_digest({"a"}, 1) != base);
  CHECK(types_digest({"a", "b", ""}, 1) != base);
  CHECK(types_digest({"a", "b"}, 2) != base);
  CHECK(types_digest({"ab", "c"}, 1) != types_digest({"a", "bc"}, 1));
  CHECK(types_digest({"ab"}, 1) != types_digest({"a", "b"}, 1));
  CHECK(types_digest({"a", "b"}, 1) == base);
}

TEST_CASE("refusal reasons have names", "[runtime][cluster]") {
  CHECK(to_string(hello_refusal::none) == "none");
  CHECK(to_string(hello_refusal::version_differs) == "version_differs");
  CHECK(to_string(hello_refusal::invalid_node_name) == "invalid_node_name");
  CHECK(to_string(hello_refusal::same_node_name) == "same_node_name");
  CHECK(to_string(hello_refusal::message_types_differ)
        == "message_types_differ");
  CHECK(to_string(hello_refusal::heartbeat_settings_differ)
        == "heartbeat_settings_differ");
  CHECK(to_string(hello_refusal::not_published) == "not_published");
  CHECK(to_string(hello_refusal::declarations_differ) == "declarations_differ");
}

TEST_CASE("a peer with equal settings and another name is accepted",
          "[runtime][cluster]") {
  auto remote = facts("pay-a");
  remote.epoch = 7; // epochs tell incarnations apart; not a setting
  auto v = check_peer(facts("gateway"), remote);
  CHECK(v.ok);
  CHECK(v.refusal == hello_refusal::none);
  CHECK(v.reason.empty());
}

TEST_CASE("a peer with another protocol version is refused",
          "[runtime][cluster]") {
  auto remote = facts("pay-a");
  remote.version = cluster_protocol_version + 1;
  remote.types_digest = 0; // the first difference wins
  auto v = check_peer(facts("gateway"), remote);
  CHECK_FALSE(v.ok);
  CHECK(v.refusal == hello_refusal::version_differs);
  CHECK(v.reason == "protocol version differs: local 2, remote 3");
}

TEST_CASE("a peer whose message types differ is refused with both digests",
          "[runtime][cluster]") {
  auto remote = facts("pay-a");
  remote.types_digest = types_digest({"bulwark::call_request"}, 1);
  auto v = check_peer(facts("gateway"), remote);
  CHECK_FALSE(v.ok);
  CHECK(v.refusal == hello_refusal::message_types_differ);
  CHECK(v.reason
        == fmt::format("message types differ: local 0x3952f4e315838eb4, "
                       "remote 0x{:016x}",
                       remote.types_digest));
  remote.types_digest = 0xab;
  CHECK(check_peer(facts("gateway"), remote).reason
        == "message types differ: local 0x3952f4e315838eb4, remote "
           "0x00000000000000ab");
}

TEST_CASE("a peer with other heartbeat settings is refused with both values",
          "[runtime][cluster]") {
  auto remote = facts("pay-a");
  remote.heartbeat_ns = 200'000'000;
  auto v = check_peer(facts("gateway"), remote);
  CHECK_FALSE(v.ok);
  CHECK(v.refusal == hello_refusal::heartbeat_settings_differ);
  CHECK(v.reason
        == "heartbeat settings differ: local interval 100ms timeout 500ms, "
           "remote interval 200ms timeout 500ms");
  remote = facts("pay-a");
  remote.timeout_ns = -5;
  CHECK(check_peer(facts("gateway"), remote).reason
        == "heartbeat settings differ: local interval 100ms timeout 500ms, "
           "remote interval 100ms timeout -5ns");
  remote.timeout_ns = 0;
  CHECK(check_peer(facts("gateway"), remote).reason
        == "heartbeat settings differ: local interval 100ms timeout 500ms, "
           "remote interval 100ms timeout 0s");
}

TEST_CASE("a peer with our own node name is refused", "[runtime][cluster]") {
  auto v = check_peer(facts("gateway"), facts("gateway"));
  CHECK_FALSE(v.ok);
  CHECK(v.refusal == hello_refusal::same_node_name);
  CHECK(v.reason == "same node name as ours: \"gateway\"");
}

TEST_CASE("a remote node name is validated before any reason quotes it",
          "[runtime][cluster]") {
  auto local = facts("gateway");
  for (std::string bad :
       {std::string{}, std::string(65, 'n'), std::string{"a\nb"},
        std::string{"a\"b"}, std::string{"x y"}, std::string{"\x1b[31m"},
        std::string{"caf\xc3\xa9"}, std::string{"a\0b", 3}}) {
    CAPTURE(bad);
    auto remote = facts(bad);
    remote.types_digest = 1; // would quote digests, not the name, anyway
    auto v = check_peer(local, remote);
    CHECK_FALSE(v.ok);
    CHECK(v.refusal == hello_refusal::invalid_node_name);
    CHECK(v.reason == "invalid node name");
  }
  CHECK(is_valid_node_name(std::string(64, 'n')));
  CHECK(is_valid_node_name("pay-a.eu_1"));
  CHECK_FALSE(is_valid_node_name(std::string(65, 'n')));
}

TEST_CASE("a peer must publish every remote we call there, with our "
          "declarations",
          "[runtime][cluster]") {
  cluster_remote_config pay;
  pay.name = "payments-a";
  pay.node = "pay-a";
  pay.target = "payments";
  pay.operations = {{"charge", idempotency::keyed},
                    {"quote", idempotency::idempotent}};
  cluster_remote_config elsewhere = pay;
  elsewhere.name = "payments-b";
  elsewhere.node = "pay-b";
  elsewhere.target = "missing-there";
  published_declaration theirs;
  theirs.name = "payments";
  theirs.repeat = idempotency::idempotent; // covers "quote"
  theirs.operations = {{"charge", idempotency::keyed}};
  // Only the remotes at this peer are checked.
  auto v = check_published("pay-a", {pay, elsewhere}, {theirs});
  CHECK(v.ok);
  CHECK(v.refusal == hello_refusal::none);
  v = check_published("pay-b", {pay, elsewhere}, {theirs});
  CHECK_FALSE(v.ok);
  CHECK(v.refusal == hello_refusal::not_published);
  CHECK(v.reason
        == R"(pay-b does not publish "missing-there" (remote "payments-b"))");
  auto unsafe_there = theirs;
  unsafe_there.operations = {{"charge", idempotency::unsafe}};
  v = check_published("pay-a", {pay}, {unsafe_there});
  CHECK(v.refusal == hello_refusal::declarations_differ);
  CHECK(v.reason
        == R"(operation "charge" of remote "payments-a" is keyed here and )"
           "unsafe at pay-a");
  // An operation the peer does not list falls back to its default.
  auto unsafe_default = theirs;
  unsafe_default.repeat = idempotency::unsafe;
  v = check_published("pay-a", {pay}, {unsafe_default});
  CHECK(v.refusal == hello_refusal::declarations_differ);
  CHECK(v.reason.find("\"quote\"") != std::string::npos);
  // A shared ledger's owner takes no calls: no remote may name it.
  auto ledger = theirs;
  ledger.callable = false;
  v = check_published("pay-a", {pay}, {ledger});
  CHECK(v.refusal == hello_refusal::not_published);
  CHECK(v.reason
        == R"(pay-a publishes "payments" as a ledger owner, not a dependency )"
           R"(or supervisor (remote "payments-a"))");
}
