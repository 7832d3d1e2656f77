#include "bulwark/actors/ledger/ledger_owner.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/all.hpp>

#include "bulwark/actors/http/ledger_journal.hpp"
#include "bulwark/actors/ledger/recorded_response.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/ledger_messages.hpp"
#include "bulwark/runtime/ledger/ledger_owner_core.hpp"

namespace bulwark {

namespace {

/// Internal: the core's next expiry is due.
using owner_tick_atom = caf::atom_constant<caf::atom("ledgertick")>;

constexpr std::string_view wrong_route_text =
  "route is not the route of this ledger owner";

/// The journal record of a commit: the request that ran and its recorded
/// answer.
journal_record record_of_commit(const std::string& key,
                                const service_request& req,
                                const ledger_result& recorded) {
  journal_record r;
  r.key = key;
  r.method = req.method;
  r.path = req.path;
  r.query = req.query;
  r.request_body = req.body;
  set_answer(r, from_ledger(recorded));
  return r;
}

/// Random per start and never 0, so a commit of an earlier incarnation
/// (whose counter restarted at 1) never matches.
std::uint64_t draw_epoch() {
  std::random_device rd;
  std::uint64_t x = 0;
  while (x == 0)
    x = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  return x;
}

// -- the actor ------------------------------------------------------------------

/// What the spawn function hands the actor; moved out once, so the journal
/// (and its lock) lives exactly as long as the actor's state.
struct owner_start {
  ledger_owner_settings settings;
  std::unique_ptr<ledger_journal> journal;
  std::vector<journal_record> records;
};

struct owner_state {
  std::string route;
  std::unique_ptr<ledger_owner_core> core;
  std::unique_ptr<ledger_journal> journal;
  ledger_owner_action_list out;
  /// Clients by handle and by index. Strong handles: a remote client's
  /// proxy must stay resolvable until its down message (which drops it).
  std::unordered_map<caf::actor_addr, ledger_client> index_of;
  std::unordered_map<ledger_client, caf::actor> clients;
  ledger_client next_client = 0;
  /// The commit being handled: a `journal_append` takes its request.
  const ledger_commit* commit = nullptr;
  /// When the pending tick is due (no_deadline: none).
  time_point tick_at = no_deadline;

  static inline const char* name = "bulwark.ledger.owner";
};

using owner_self = caf::stateful_actor<owner_state>*;

/// The sender's client index, assigned (and the sender monitored) on its
/// first message; nullopt for an anonymous message.
std::optional<ledger_client> client_of(owner_self self, bool assign) {
  auto& st = self->state;
  const auto& sender = self->current_sender();
  if (!sender)
    return std::nullopt;
  auto addr = caf::actor_cast<caf::actor_addr>(sender);
  if (auto i = st.index_of.find(addr); i != st.index_of.end())
    return i->second;
  if (!assign)
    return std::nullopt;
  // Skip indexes in use (after a wrap) and the core's reserved maximum.
  ledger_client c = st.next_client++;
  while (c == std::numeric_limits<ledger_client>::max()
         || st.clients.count(c) != 0)
    c = st.next_client++;
  auto hdl = caf::actor_cast<caf::actor>(sender);
  st.index_of.emplace(addr, c);
  st.clients.emplace(c, hdl);
  self->monitor(hdl);
  return c;
}

void send_reply(owner_self self, ledger_client client, ledger_reply reply) {
  auto& st = self->state;
  auto i = st.clients.find(client);
  if (i == st.clients.end())
    return;
  self->send(i->second, ledger_atom::value, std::move(reply));
}

void send_answer(owner_self self, const ledger_owner_action& a) {
  ledger_reply r;
  r.id = a.id;
  r.verdict = a.verdict;
  if (a.verdict == owner_verdict::execute
      || a.verdict == owner_verdict::committed) {
    r.epoch = a.ticket.epoch;
    r.ticket = a.ticket.counter;
  }
  if (a.verdict == owner_verdict::duplicate_done
      || a.verdict == owner_verdict::committed)
    r.recorded = to_service_response(from_ledger(a.response));
  r.message = std::string{a.message};
  send_reply(self, a.client, std::move(r));
}

/// Carries out the core's actions in order. Returns false when a journal
/// append failed and the owner quit: nothing after it is answered.
bool carry_out(owner_self self, time_point now) {
  auto& st = self->state;
  // By index: `committed` appends to the list being walked.
  for (std::size_t i = 0; i < st.out.size(); ++i) {
    if (st.out[i].kind == ledger_owner_action_kind::answer) {
      send_answer(self, st.out[i]);
      continue;
    }
    auto key = st.out[i].key;
    auto ticket = st.out[i].ticket;
    if (st.journal) {
      // Only a commit yields an append, so `st.commit` is set.
      auto rec = record_of_commit(key, st.commit->request, st.out[i].response);
      try {
        st.journal->append(rec);
      } catch (const std::exception& e) {
        // Neither success (the record may be missing after a restart) nor
        // failure (it may be on disk) is true: stop, replay decides.
        st.out.clear();
        self->quit(caf::make_error(caf::sec::runtime_error,
                                   std::string{"ledger owner: "} + e.what()));
        return false;
      }
    }
    st.core->committed(key, ticket, now, st.out);
  }
  st.out.clear();
  return true;
}

/// One pending tick, at the core's next expiry, unless one due no later is
/// pending already.
void schedule_tick(owner_self self, time_point now) {
  auto& st = self->state;
  auto next = st.core->next_expiry();
  if (next == no_deadline || next >= st.tick_at)
    return;
  st.tick_at = next;
  self->delayed_send(self, std::max(duration{0}, next - now),
                     owner_tick_atom::value);
}

void answer_wrong_route(owner_self self, ledger_client client,
                        std::uint64_t id) {
  ledger_reply r;
  r.id = id;
  r.verdict = owner_verdict::invalid;
  r.message = std::string{wrong_route_text};
  send_reply(self, client, std::move(r));
}

caf::behavior owner_actor(owner_self self, std::shared_ptr<owner_start> start) {
  auto& st = self->state;
  auto settings = std::move(start->settings);
  st.route = std::move(settings.route);
  ledger_owner_options opts;
  opts.ledger = settings.ledger;
  opts.epoch = draw_epoch();
  opts.max_response_bytes = settings.max_response_bytes;
  st.core = std::make_unique<ledger_owner_core>(opts);
  st.journal = std::move(start->journal);
  auto now = self->clock().now();
  // File order: the last record of a key wins. Nothing is in progress yet,
  // so the core takes every record.
  for (auto& r : start->records)
    st.core->replay(r.key, to_ledger(recorded_of(r)), now);
  start->records = {};
  schedule_tick(self, now);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto i = st.index_of.find(dm.source);
    if (i == st.index_of.end())
      return;
    auto client = i->second;
    st.index_of.erase(i);
    st.clients.erase(client);
    auto now = self->clock().now();
    st.core->client_down(client, now, st.out);
    if (carry_out(self, now))
      schedule_tick(self, now);
  });
  return {
    [self](ledger_atom, const ledger_begin& b) {
      auto& st = self->state;
      auto client = client_of(self, true);
      if (!client)
        return;
      if (b.route != st.route) {
        answer_wrong_route(self, *client, b.id);
        return;
      }
      auto now = self->clock().now();
      st.core->begin(b.key, *client, b.id, now, st.out);
      if (carry_out(self, now))
        schedule_tick(self, now);
    },
    [self](commit_atom, const ledger_commit& c) {
      auto& st = self->state;
      auto client = client_of(self, true);
      if (!client)
        return;
      if (c.route != st.route) {
        answer_wrong_route(self, *client, c.id);
        return;
      }
      auto now = self->clock().now();
      ledger_result response;
      if (c.executed)
        response = to_ledger(record_of(c.response));
      st.commit = &c;
      st.core->commit(c.key, owner_ticket{c.epoch, c.ticket}, *client, c.id,
                      c.executed, std::move(response), now, st.out);
      auto ok = carry_out(self, now);
      st.commit = nullptr;
      if (ok)
        schedule_tick(self, now);
    },
    [self](cancel_atom, std::uint64_t id) {
      // An unknown sender has nothing waiting here.
      if (auto client = client_of(self, false))
        self->state.core->cancel(*client, id);
    },
    [self](stats_atom) { return self->state.core->counters(); },
    [self](owner_tick_atom) {
      auto& st = self->state;
      auto now = self->clock().now();
      st.tick_at = no_deadline;
      st.core->advance(now, st.out);
      if (carry_out(self, now))
        schedule_tick(self, now);
    },
  };
}

} // namespace

caf::actor spawn_ledger_owner(caf::actor_system& sys,
                              ledger_owner_settings settings) {
  if (settings.route.empty())
    throw std::invalid_argument("ledger owner: the route must not be empty");
  auto start = std::make_shared<owner_start>();
  if (!settings.journal_path.empty()) {
    journal_replay replayed;
    start->journal = ledger_journal::open(settings.journal_path, replayed);
    start->records = std::move(replayed.records);
  }
  start->settings = std::move(settings);
  return sys.spawn(owner_actor, std::move(start));
}

} // namespace bulwark
