// Every type that travels in a message between bulwark actors, listed once:
// `add_bulwark_types` (bulwark/actors/system_setup.cpp) announces exactly these
// to CAF, and tests/actors/protocol/message_types_test.cpp round-trips each one
// through CAF's binary serializer and checks that every type a typed
// interface (dependency, supervisor, saga coordinator) names is either listed
// here or one of CAF's built-in types. A type missing here cannot cross nodes
// and prints as "<unprintable>": add it here when a protocol gains one.
#pragma once

#include "bulwark/actors/protocol/attempt_messages.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"
#include "bulwark/actors/protocol/cluster_messages.hpp"
#include "bulwark/actors/protocol/config_messages.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "bulwark/actors/protocol/saga_messages.hpp"
#include "bulwark/actors/protocol/service_messages.hpp"
#include "bulwark/actors/protocol/stats_messages.hpp"

namespace bulwark {

/// One entry of the list: the type and its portable name.
template <class T>
struct message_type {
  using type = T;
  const char* name;
};

/// Calls `f(message_type<T>{name})` for every message type, in a fixed
/// order.
template <class F>
void for_each_message_type(F&& f) {
  f(message_type<call_request>{"bulwark::call_request"});
  f(message_type<call_reply>{"bulwark::call_reply"});
  f(message_type<attempt_request>{"bulwark::attempt_request"});
  f(message_type<attempt_result>{"bulwark::attempt_result"});
  f(message_type<config_update>{"bulwark::config_update"});
  f(message_type<service_request>{"bulwark::service_request"});
  f(message_type<service_response>{"bulwark::service_response"});
  f(message_type<saga_reply>{"bulwark::saga_reply"});
  f(message_type<saga_stats>{"bulwark::saga_stats"});
  f(message_type<dependency_stats>{"bulwark::dependency_stats"});
  f(message_type<supervisor_stats>{"bulwark::supervisor_stats"});
  // Appended in this order: a node's hello carries a digest of these names
  // (bulwark/runtime/cluster/hello_check.hpp), so nodes that list other
  // types refuse each other instead of dropping messages silently.
  f(message_type<node_hello>{"bulwark::node_hello"});
  f(message_type<node_welcome>{"bulwark::node_welcome"});
  f(message_type<published_entry>{"bulwark::published_entry"});
  f(message_type<ledger_begin>{"bulwark::ledger_begin"});
  f(message_type<ledger_reply>{"bulwark::ledger_reply"});
  f(message_type<ledger_commit>{"bulwark::ledger_commit"});
  f(message_type<ledger_owner_counters>{"bulwark::ledger_owner_counters"});
}

} // namespace bulwark
