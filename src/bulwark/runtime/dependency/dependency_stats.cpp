#include "bulwark/runtime/dependency/dependency_stats.hpp"

#include "bulwark/runtime/metrics/metric_table.hpp"

namespace bulwark {

boost::json::object to_json(const dependency_stats& x) {
  boost::json::object o;
  append_json(dependency_metric_rows(), x, o);
  return o;
}

} // namespace bulwark
