#include "bulwark/runtime/supervise/supervisor_stats.hpp"

#include <boost/json/array.hpp>

#include "bulwark/runtime/metrics/metric_table.hpp"

namespace bulwark {

static_assert(static_cast<std::size_t>(member_health::probing) + 1
                == member_health_count,
              "member_health changed: update member_health_count");

static_assert(static_cast<std::size_t>(member_status::stopped) + 1
                == member_status_count,
              "member_status changed: update member_status_count");

std::string to_string(member_status x) {
  switch (x) {
    case member_status::running:
      return "running";
    case member_status::unreachable:
      return "unreachable";
    case member_status::restarting:
      return "restarting";
    case member_status::stopped:
      return "stopped";
  }
  return "invalid";
}

std::uint64_t supervisor_stats::running_members() const noexcept {
  std::uint64_t n = 0;
  for (auto& m : members)
    n += m.running ? 1 : 0;
  return n;
}

std::uint64_t supervisor_stats::members_in(member_health h) const noexcept {
  std::uint64_t n = 0;
  for (auto& m : members)
    n += m.health == h ? 1 : 0;
  return n;
}

std::uint64_t supervisor_stats::members_in(member_status st) const noexcept {
  std::uint64_t n = 0;
  for (auto& m : members)
    n += m.status == st ? 1 : 0;
  return n;
}

boost::json::object to_json(const supervisor_stats& x) {
  boost::json::object o;
  o["supervisor"] = x.name;
  append_json(supervisor_metric_rows(), x, o);
  boost::json::array ms;
  for (auto& m : x.members)
    ms.push_back(boost::json::object{{"name", m.name},
                                     {"running", m.running},
                                     {"status", to_string(m.status)},
                                     {"health", to_string(m.health)},
                                     {"outstanding", m.outstanding},
                                     {"ejections", m.ejections},
                                     {"incarnation", m.incarnation}});
  o["members"] = std::move(ms);
  return o;
}

} // namespace bulwark
