#include "bench/scenarios/cluster_charges.hpp"

#include <algorithm>
#include <sstream>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "bulwark/actors/http/ledger_journal.hpp"

namespace bulwark::bench::cluster_charges {

std::string charge_key(std::size_t index) {
  return "charge-" + std::to_string(index + 1);
}

std::map<std::string, std::uint64_t>
parse_owner_counters(const std::optional<std::string>& line) {
  std::map<std::string, std::uint64_t> out;
  if (!line)
    return out;
  std::istringstream in{*line};
  std::string name;
  std::uint64_t value = 0;
  while (in >> name >> value)
    out[name] = value;
  return out;
}

keyed_result account_charges(const std::deque<charge_record>& charges,
                             const std::string& journal) {
  journal_replay replayed;
  { auto opened = ledger_journal::open(journal, replayed); }
  std::map<std::string, std::vector<const journal_record*>> by_key;
  keyed_result out;
  for (auto& r : replayed.records) {
    by_key[r.key].push_back(&r);
    ++out.by_member[r.body.substr(0, r.body.find(' '))];
  }
  out.journal_records = replayed.records.size();
  out.keys_charged = by_key.size();
  for (auto& [key, records] : by_key)
    out.duplicates += records.size() - 1;
  out.charges = charges.size();
  std::uint64_t known = 0;
  for (std::size_t i = 0; i < charges.size(); ++i) {
    auto& c = charges[i];
    out.resends += c.sends > 1 ? c.sends - 1 : 0;
    auto found = by_key.find(charge_key(i));
    known += found != by_key.end() ? 1 : 0;
    if (!c.ok) {
      out.charges_failed += c.done ? 1 : 0;
      out.recorded_unconfirmed += found != by_key.end() ? 1 : 0;
      continue;
    }
    ++out.charges_ok;
    if (found == by_key.end())
      ++out.unrecorded_successes;
    else if (found->second.front()->body != c.payload)
      ++out.answer_mismatches;
  }
  out.unknown_keys = by_key.size() - known;
  return out;
}

void add_keyed_fields(field_list& f, const keyed_result& keyed,
                      const std::vector<std::string>& members) {
  f.add("duplicates", keyed.duplicates);
  f.add("unrecorded_successes", keyed.unrecorded_successes);
  f.add("answer_mismatches", keyed.answer_mismatches);
  f.add("journal_unknown_keys", keyed.unknown_keys);
  f.add("charges", keyed.charges);
  f.add("charges_ok", keyed.charges_ok);
  f.add("charges_failed", keyed.charges_failed);
  f.add("charge_resends", keyed.resends);
  f.add("keys_charged", keyed.keys_charged);
  f.add("journal_records", keyed.journal_records);
  f.add("recorded_unconfirmed", keyed.recorded_unconfirmed);
  std::string text;
  double share_min = 1;
  for (std::size_t i = 0; i < members.size(); ++i) {
    auto found = keyed.by_member.find(members[i]);
    auto n = found != keyed.by_member.end() ? found->second : 0;
    text += (i == 0 ? "" : ", ") + members[i] + " " + std::to_string(n);
    share_min =
      std::min(share_min, keyed.journal_records == 0
                            ? 0.0
                            : static_cast<double>(n)
                                / static_cast<double>(keyed.journal_records));
  }
  f.add("journal_by_member", text);
  f.add("charge_share_min", share_min);
}

void add_owner_fields(field_list& f,
                      const std::map<std::string, std::uint64_t>& owner) {
  // Which of the ledger's paths the kills and stops took, from the owner's
  // counters (its `duplicates` are begins answered from the record, not
  // side effects: hence the field's name).
  const std::pair<const char*, const char*> owner_fields[] = {
    {"owner_executes", "executes"},
    {"owner_answered_from_record", "duplicates"},
    {"owner_waits", "waits"},
    {"owner_client_downs", "client_downs"},
    {"owner_abandoned", "abandoned"},
    {"owner_retries_told", "retries_told"},
    {"owner_stale_commits", "stale_commits"},
  };
  for (auto& [field, counter] : owner_fields) {
    auto i = owner.find(counter);
    if (i == owner.end())
      f.add(field, field_value{std::in_place_type<std::nullptr_t>, nullptr});
    else
      f.add(field, i->second);
  }
}

void add_keyed_bars(std::vector<std::string>& bars, const keyed_result& keyed,
                    const std::map<std::string, std::uint64_t>& owner_at_stop) {
  // Each a count the journal refutes: any is a broken promise.
  const std::tuple<const char*, std::uint64_t, const char*> zeros[] = {
    {"duplicates", keyed.duplicates, "journal records beyond one per key"},
    {"unrecorded_successes", keyed.unrecorded_successes,
     "charges answered ok without a journal record"},
    {"answer_mismatches", keyed.answer_mismatches,
     "charges answered ok with another body than their record"},
    {"journal_unknown_keys", keyed.unknown_keys, "records for keys never sent"},
  };
  for (auto& [name, value, what] : zeros)
    if (value != 0)
      bars.push_back(fmt::format("{} {} != 0 ({})", name, value, what));
  if (keyed.charges_ok == 0)
    bars.push_back("charges_ok 0: no keyed call succeeded");
  // The owner appends a record before it answers `committed`: a journal
  // with another count than the appends lost (or grew) durable side
  // effects. Without the counters that cross-check cannot run.
  if (auto i = owner_at_stop.find("appends"); i == owner_at_stop.end())
    bars.push_back("the ledger node printed no owner counters at its stop");
  else if (i->second != keyed.journal_records)
    bars.push_back(fmt::format("journal_records {} != the owner's appends {}",
                               keyed.journal_records, i->second));
}

} // namespace bulwark::bench::cluster_charges
