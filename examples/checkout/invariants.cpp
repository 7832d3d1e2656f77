#include "invariants.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <boost/json.hpp>

namespace json = boost::json;

namespace checkout {

void run_report::violate(std::string what) {
  if (violations.size() < 20)
    violations.push_back(std::move(what));
  else if (violations.size() == 20)
    violations.push_back("...");
}

void check_orders(const std::vector<order_state>& orders,
                  const json::object& pay, const json::object& inv,
                  run_report& rep) {
  for (auto& o : orders) {
    rep.resends += std::max(0, o.sends - 1);
    if (o.body.empty() || str(o.body, "order_id") != o.order) {
      rep.violate(o.order + ": no outcome (" + o.error + ")");
      continue;
    }
    ++rep.answered;
    auto first = outcome_key(o.body);
    if (!o.resent.empty()) {
      ++rep.resent;
      if (outcome_key(o.resent) != first)
        rep.violate(o.order + ": re-sent, got " + outcome_key(o.resent)
                    + " after " + first);
    }
    if (o.final_read.empty() || outcome_key(o.final_read) != first)
      rep.violate(o.order + ": read again at the end, got "
                  + outcome_key(o.final_read) + " after " + first);
    auto outcome = str(o.body, "outcome");
    ++rep.outcomes[outcome];
    if (std::getenv("CHECKOUT_FAILURES") != nullptr && outcome != "completed")
      std::printf("  %s: %s\n", o.order.c_str(),
                  json::serialize(o.body).c_str());
    ++rep.rec_sources[str(o.body, "recommendations_source")];
    ++rep.price_sources[str(o.body, "price_source")];
    auto count = [&](const json::object& ledger, const char* kind,
                     const std::string& suffix) {
      return ledger_count(ledger, kind, o.order + suffix);
    };
    auto charges = count(pay, "charge", "");
    auto refunds = count(pay, "refund", "-refund");
    auto reserves = count(inv, "reserve", "-reserve");
    auto releases = count(inv, "release", "-release");
    auto confirms = count(inv, "confirm", "-confirm");
    auto effects = [&] {
      return " (charges=" + std::to_string(charges) + " refunds="
             + std::to_string(refunds) + " reserves=" + std::to_string(reserves)
             + " releases=" + std::to_string(releases)
             + " confirms=" + std::to_string(confirms) + ")";
    };
    if (charges > 1 || refunds > 1 || reserves > 1 || releases > 1
        || confirms > 1)
      rep.violate(o.order + ": a side effect ran twice" + effects());
    if (outcome == "completed") {
      if (charges != 1 || confirms != 1 || refunds != 0 || releases != 0)
        rep.violate(o.order + ": completed" + effects());
      rep.sold[o.sku] += o.qty;
    } else if (outcome == "compensated") {
      ++rep.compensations_checked;
      bool refunded = in_array(o.body, "compensations", "refund");
      bool released = in_array(o.body, "compensations", "release");
      if (confirms != 0)
        rep.violate(o.order + ": confirmed, then compensated" + effects());
      if (refunds != (refunded ? 1 : 0) || (!refunded && charges != 0))
        rep.violate(o.order + ": compensated, refund listed="
                    + (refunded ? std::string{"yes"} : std::string{"no"})
                    + effects());
      if (releases != (released ? 1 : 0) || (!released && reserves != 0))
        rep.violate(o.order + ": compensated, release listed="
                    + (released ? std::string{"yes"} : std::string{"no"})
                    + effects());
    } else if (outcome == "rejected") {
      if (charges + refunds + reserves + releases + confirms != 0)
        rep.violate(o.order + ": rejected before any effect" + effects());
    } else {
      rep.violate(o.order + ": outcome " + outcome + ": "
                  + json::serialize(o.body));
    }
  }
  // A charge key the gateway never used would be a stray side effect.
  if (auto* m = pay.if_contains("charge"); m != nullptr && m->is_object())
    for (auto& kv : m->as_object())
      if (kv.value().is_int64() && kv.value().as_int64() > 1)
        rep.violate(std::string{kv.key()} + ": charged "
                    + std::to_string(kv.value().as_int64()) + " times");
  if (pay.empty() || inv.empty())
    rep.violate("a ledger is unreadable");
}

void check_stock(const std::function<std::int64_t(const std::string&)>& stock,
                 run_report& rep) {
  for (int k = 0; k < 5; ++k) {
    auto sku = "sku-" + std::to_string(k);
    auto have = stock(sku);
    auto sold = rep.sold[sku];
    auto want = 1'000'000 - sold;
    if (have != want && !(have == 1'000'000 && sold == 0))
      rep.violate(sku + ": stock " + std::to_string(have) + ", expected "
                  + std::to_string(want));
  }
}

namespace {

std::int64_t int_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->as_int64() : -1;
}

/// The gateway's own budget per downstream call (order.hpp).
constexpr std::int64_t gateway_call_budget_ms = 5'000;

} // namespace

void check_context(const std::vector<order_state>& orders,
                   const json::object& pay, const json::object& inv,
                   run_report& rep) {
  auto entry = [](const json::object& ctx, const char* kind,
                  const std::string& key) -> const json::object* {
    auto* m = ctx.if_contains(kind);
    if (m == nullptr || !m->is_object())
      return nullptr;
    auto* e = m->as_object().if_contains(key);
    return e != nullptr && e->is_object() ? &e->as_object() : nullptr;
  };
  int forward_seen = 0;
  for (auto& o : orders) {
    struct call {
      const json::object& ctx;
      const char* kind;
      std::string key;
      bool forward;
    };
    for (auto& c : {call{pay, "charge", o.order, true},
                    call{inv, "reserve", o.order + "-reserve", true},
                    call{pay, "refund", o.order + "-refund", false},
                    call{inv, "release", o.order + "-release", false}}) {
      auto* e = entry(c.ctx, c.kind, c.key);
      if (e == nullptr)
        continue; // never called, or recorded by a process killed since
      ++rep.contexts_checked;
      auto what = o.order + " " + c.kind + ": ";
      auto crit = str(*e, "criticality");
      auto want_crit = !c.forward              ? std::string{"critical"}
                       : o.criticality.empty() ? std::string{"standard"}
                                               : o.criticality;
      if (crit != want_crit)
        rep.violate(what + "arrived as " + crit + ", the client sent "
                    + want_crit);
      if (str(*e, "trace_id") != o.trace_id)
        rep.violate(what + "arrived in trace " + str(*e, "trace_id")
                    + ", the client's is " + o.trace_id);
      auto left = int_of(*e, "deadline_left_ms");
      auto bound = c.forward ? std::min(o.deadline_ms, gateway_call_budget_ms)
                             : gateway_call_budget_ms;
      if (left < 0 || left > bound)
        rep.violate(what + "arrived with " + std::to_string(left)
                    + " ms left, more than " + std::to_string(bound)
                    + " ms (the client's deadline was "
                    + std::to_string(o.deadline_ms) + " ms)");
      if (c.forward)
        ++forward_seen;
    }
  }
  if (forward_seen == 0)
    rep.violate("no forwarded context was recorded by payments or inventory");
}

void print_report(const run_report& rep, const json::object& pay,
                  const json::object& inv) {
  auto print_map = [](const char* title, const std::map<std::string, int>& m) {
    std::printf("  %-24s", title);
    for (auto& [k, n] : m)
      std::printf(" %s=%d", k.empty() ? "-" : k.c_str(), n);
    std::printf("\n");
  };
  print_map("outcomes:", rep.outcomes);
  print_map("recommendations source:", rep.rec_sources);
  print_map("price source:", rep.price_sources);
  auto total_of = [](const json::object& ledger, const char* kind) {
    long n = 0;
    if (auto* m = ledger.if_contains(kind); m != nullptr && m->is_object())
      for (auto& kv : m->as_object())
        if (kv.value().is_int64())
          n += kv.value().as_int64();
    return n;
  };
  std::printf("  %-24s charges=%ld refunds=%ld reserves=%ld releases=%ld "
              "confirms=%ld\n",
              "side effects (ledgers):", total_of(pay, "charge"),
              total_of(pay, "refund"), total_of(inv, "reserve"),
              total_of(inv, "release"), total_of(inv, "confirm"));
  std::printf("  %-24s %d downstream calls carried their client's "
              "criticality, deadline and trace\n",
              "context:", rep.contexts_checked);
}

} // namespace checkout
