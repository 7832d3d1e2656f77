// The checkout example: one program, several roles. With no arguments it is
// the demo that ctest runs (it starts the four services and the gateway as
// child processes of itself, drives checkouts with faults, checks the
// invariants and stops every child); `e2e` is the kill drill: the gateway,
// inventory, the payments replicas and the payments-ledger process are
// SIGKILLed and restarted mid-run (the gateway's saga log and the ledger
// journals bring back every order and every committed key); the other
// subcommands are the processes themselves, so a person can start each by
// hand (see README.md).
#include <cstdio>
#include <string>
#include <vector>

#include "common.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    return checkout::run_driver(false);
  auto cmd = args.front();
  args.erase(args.begin());
  if (cmd == "e2e")
    return checkout::run_driver(true);
  if (cmd == "hostile" && !args.empty())
    return checkout::run_hostile(args[0],
                                 args.size() > 1 ? std::stoull(args[1]) : 1,
                                 args.size() > 2 ? std::stoi(args[2]) : 2'000);
  if (cmd == "gateway")
    return checkout::run_gateway(args);
  if (cmd == "payments-ledger")
    return checkout::run_payments_ledger(args);
  if (cmd == "inventory" || cmd == "pricing" || cmd == "payments"
      || cmd == "recommendations")
    return checkout::run_service(cmd, args);
  std::fprintf(
    stderr, "usage: checkout [e2e]\n"
            "       checkout hostile PATH/TO/bulwark-hostile [SEED] [CASES]\n"
            "       checkout inventory|pricing|payments|recommendations "
            "--port N [--error-rate P] [--error-after-rate P] "
            "[--latency-ms M] [--outage-s S] [--data-dir D] "
            "[--admin-port N]\n"
            "       checkout payments --port N --ledger-port P [faults] "
            "[--admin-port N]   (a replica on a shared ledger)\n"
            "       checkout payments-ledger --port N --cluster-port P "
            "[--data-dir D] [--admin-port N]\n"
            "       checkout gateway --port N --inventory PORT --pricing "
            "PORT[,PORT...] --payments PORT[,PORT...] --recommendations PORT "
            "[--data-dir D] [--policies on|off] [--admin-port N]\n");
  return 2;
}
