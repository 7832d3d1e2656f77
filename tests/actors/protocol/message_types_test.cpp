#include "bulwark/actors/protocol/message_types.hpp"

#include "bulwark/actors/protocol/protocol.hpp"
#include "bulwark/actors/system_setup.hpp"
#include "tests/support/deterministic_fixture.hpp"

#include <caf/all.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <vector>

using namespace bulwark;
using bulwark::testing::deterministic_fixture;

namespace {

// -- the types a typed interface names ------------------------------------------

template <class T>
struct is_atom_constant : std::false_type {};

template <caf::atom_value V>
struct is_atom_constant<caf::atom_constant<V>> : std::true_type {};

/// True when `sys` can serialize a `T` inside a message: a CAF built-in
/// type, or one announced with a portable name.
template <class T>
bool announced(caf::actor_system& sys) {
  if (caf::type_nr<T>::value != 0)
    return true;
  auto& name = sys.types().portable_name(0, &typeid(T));
  return name != sys.types().default_type_name();
}

template <class T>
void check_type(caf::actor_system& sys, std::vector<std::string>& missing) {
  if constexpr (!std::is_void<T>::value && !is_atom_constant<T>::value)
    if (!announced<T>(sys))
      missing.push_back(typeid(T).name());
}

template <class... Ts>
void check_types(caf::actor_system& sys, std::vector<std::string>& missing,
                 caf::detail::type_list<Ts...>) {
  (check_type<Ts>(sys, missing), ...);
}

template <class... Ts>
void check_outputs(caf::actor_system& sys, std::vector<std::string>& missing,
                   caf::output_tuple<Ts...>) {
  (check_type<Ts>(sys, missing), ...);
}

template <class In, class Out>
void check_signature(caf::actor_system& sys, std::vector<std::string>& missing,
                     caf::typed_mpi<In, Out>) {
  check_types(sys, missing, In{});
  check_outputs(sys, missing, Out{});
}

template <class... Sigs>
auto signature_values(caf::detail::type_list<Sigs...>) {
  return std::make_tuple(Sigs{}...);
}

/// Every type that `Handle`'s messages (in and out) carry and `sys` could
/// not serialize, by its C++ (mangled) name.
template <class Handle>
std::vector<std::string> unannounced(caf::actor_system& sys) {
  std::vector<std::string> missing;
  std::apply([&](auto... sigs) { (check_signature(sys, missing, sigs), ...); },
             signature_values(typename Handle::signatures{}));
  return missing;
}

/// Every protocol's typed interface.
std::vector<std::string> unannounced_in_interfaces(caf::actor_system& sys) {
  auto missing = unannounced<dependency_actor>(sys);
  for (auto& x : unannounced<supervisor_actor>(sys))
    missing.push_back(x);
  for (auto& x : unannounced<saga_coordinator_actor>(sys))
    missing.push_back(x);
  return missing;
}

} // namespace

TEST_CASE_METHOD(deterministic_fixture,
                 "every listed message type is announced under its name",
                 "[actors][protocol]") {
  std::size_t n = 0;
  for_each_message_type([&](auto entry) {
    using type = typename decltype(entry)::type;
    ++n;
    CAPTURE(entry.name);
    CHECK(sys.types().portable_name(0, &typeid(type)) == entry.name);
  });
  CHECK(n >= 8);
}

TEST_CASE_METHOD(deterministic_fixture,
                 "every listed message type survives CAF's binary serializer "
                 "inside a message",
                 "[actors][protocol]") {
  for_each_message_type([&](auto entry) {
    using type = typename decltype(entry)::type;
    CAPTURE(entry.name);
    auto msg = caf::make_message(type{});
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(msg));
    caf::message copy;
    caf::binary_deserializer source{sys, buf};
    REQUIRE(!source(copy));
    REQUIRE(copy.match_elements<type>());
    CHECK(caf::deep_to_string(copy.get_as<type>(0))
          == caf::deep_to_string(type{}));
  });
}

TEST_CASE_METHOD(deterministic_fixture,
                 "every type the typed interfaces name is announced or built "
                 "into CAF",
                 "[actors][protocol]") {
  auto missing = unannounced_in_interfaces(sys);
  CAPTURE(missing);
  CHECK(missing.empty());
}

TEST_CASE("the interface check finds types that were not announced",
          "[actors][protocol]") {
  // A system without add_bulwark_types: the check must name call_request,
  // or the test above could not fail.
  caf::actor_system_config cfg;
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system bare{cfg};
  auto missing = unannounced<dependency_actor>(bare);
  CHECK_THAT(missing,
             Catch::VectorContains(std::string{typeid(call_request).name()}));
}
