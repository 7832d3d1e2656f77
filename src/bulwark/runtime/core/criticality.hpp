// How much a request matters to the user, in the three classes of Google's
// SRE book: `critical` requests are the last to be shed and may use reserved
// capacity; `standard` is the default; `sheddable` requests are shed first
// under overload and prefer a fallback to a retry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark {

enum class criticality : std::uint8_t { critical, standard, sheddable };

/// @relates criticality
inline std::string to_string(criticality x) {
  switch (x) {
    case criticality::critical:
      return "critical";
    case criticality::standard:
      return "standard";
    case criticality::sheddable:
      return "sheddable";
  }
  return "invalid";
}

/// @relates criticality
inline bool from_string(std::string_view str, criticality& x) {
  for (auto c :
       {criticality::critical, criticality::standard, criticality::sheddable})
    if (to_string(c) == str) {
      x = c;
      return true;
    }
  return false;
}

} // namespace bulwark
