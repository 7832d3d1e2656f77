// What the checkout demo and the kill drill check after the run, from the
// outside: every order's answers against the services' own books (each side
// effect at most once, a completed order charged and confirmed once, a
// failed one refunded and released as far as it got, stock matching the
// completed orders), the context the gateway forwarded (each downstream call
// carried its client's criticality, a deadline no later than the client's,
// and the client's trace id), and the trace the gateway's admin server
// serves for an order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "client.hpp"

namespace checkout {

/// Findings of one run.
struct run_report {
  /// At most 20 are kept, then "...".
  std::vector<std::string> violations;
  std::map<std::string, int> outcomes;
  std::map<std::string, int> rec_sources;
  std::map<std::string, int> price_sources;
  /// sku -> quantity of completed orders.
  std::map<std::string, std::int64_t> sold;
  int answered = 0;
  int resent = 0;
  int resends = 0;
  int compensations_checked = 0;
  /// Downstream calls whose forwarded context was checked.
  int contexts_checked = 0;

  void violate(std::string what);
};

/// Every order against the payments and inventory ledgers (GET /ledger).
void check_orders(const std::vector<order_state>& orders,
                  const boost::json::object& payments_ledger,
                  const boost::json::object& inventory_ledger,
                  run_report& report);

/// The stock of sku-0..sku-4 (read by `stock_of`) against the completed
/// orders: every sku starts at 1,000,000.
void check_stock(const std::function<std::int64_t(const std::string&)>& stock,
                 run_report& report);

/// The context each keyed call arrived with (GET /context of payments and
/// inventory) against what its order's client sent: forward steps (reserve,
/// charge) carry the client's criticality and at most the client's
/// deadline, compensations (release, refund) run as critical, every call is
/// in the client's trace.
void check_context(const std::vector<order_state>& orders,
                   const boost::json::object& payments_context,
                   const boost::json::object& inventory_context,
                   run_report& report);

/// The totals of the books and the outcome counts.
void print_report(const run_report& report,
                  const boost::json::object& payments_ledger,
                  const boost::json::object& inventory_ledger);

} // namespace checkout
