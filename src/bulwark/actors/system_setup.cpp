#include "bulwark/actors/system_setup.hpp"

#include "bulwark/actors/protocol/message_types.hpp"

namespace bulwark {

void add_bulwark_types(caf::actor_system_config& cfg) {
  for_each_message_type([&cfg](auto entry) {
    using type = typename decltype(entry)::type;
    cfg.add_message_type<type>(entry.name);
  });
}

} // namespace bulwark
