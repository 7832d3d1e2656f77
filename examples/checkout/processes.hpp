// The driver's child processes: every checkout role runs as a real process
// started from this same program (fork + exec of /proc/self/exe), owned by a
// process_group that stops each one on every path (SIGTERM, a grace period,
// SIGKILL; children also get PR_SET_PDEATHSIG so a crashed driver leaves
// nothing behind), and the data directory their journals and saga log live
// in, removed at the end. `start_deployment` starts the four services (with
// payments as replicas, the payments-ledger process too) and the gateway,
// each with its admin server, on free ports.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace checkout {

struct child {
  std::string name;
  std::vector<std::string> args;
  std::uint16_t port = 0;
  /// The port of the process's admin server (metrics, journeys, traces,
  /// dashboard); 0 when it has none.
  std::uint16_t admin_port = 0;
  pid_t pid = -1;
};

/// Starts `checkout ARGS...` as a child; -1 when fork failed.
pid_t spawn_child(const std::vector<std::string>& args);

/// SIGTERM, up to `grace_ms` for a clean exit, then SIGKILL; always reaps.
void stop_child(child& c, int grace_ms);

/// Waits up to `ms` for `pid` to exit; the time it took, or -1.
long wait_exit_ms(pid_t pid, int ms);

/// VmRSS of `pid` in kB (0 when unreadable).
long rss_kb(pid_t pid);

/// Runs `argv` to completion; its exit status (-1 when it could not run).
int run_program(const std::vector<std::string>& argv);

/// Owns the children: the destructor stops every one, on every path.
struct process_group {
  std::vector<child> children;

  process_group() = default;
  process_group(const process_group&) = delete;
  process_group& operator=(const process_group&) = delete;
  ~process_group();

  child& get(const std::string& name);

  /// Starts a child and waits until it answers GET /health on `port`.
  bool start(const std::string& name, std::vector<std::string> args,
             std::uint16_t port, std::uint16_t admin_port = 0);

  /// Starts `c` again with the same arguments (ports, data directory).
  bool restart(child& c);
};

/// The services' ledger journals and the gateway's saga log: a fresh
/// directory, removed with everything in it on every path (declare it
/// before the process_group, so the children are gone first).
struct data_dir {
  std::string path;
  data_dir();
  ~data_dir();
  data_dir(const data_dir&) = delete;
  data_dir& operator=(const data_dir&) = delete;
  std::string sub(const std::string& name) const;
};

/// The ports of one checkout deployment on 127.0.0.1.
struct deployment {
  std::uint16_t inventory = 0;
  /// One per pricing replica (two or more: a supervisor in the gateway).
  std::vector<std::uint16_t> pricing;
  /// One per payments replica (two or more: a supervisor in the gateway,
  /// and the replicas share the payments-ledger process's ledgers).
  std::vector<std::uint16_t> payments;
  /// The payments-ledger process (only with two or more payments
  /// replicas): its HTTP port (GET /ledger: the journals' records per key)
  /// and its cluster gate, which the replicas name as --ledger-port.
  std::uint16_t payments_ledger = 0;
  std::uint16_t payments_ledger_cluster = 0;
  std::uint16_t recommendations = 0;
  std::uint16_t gateway = 0;
};

/// Starts inventory, `pricing_replicas` pricing processes (named pricing-N
/// when there are several), payments, recommendations and the gateway, each
/// with an admin server on a free port, and prints the data directory and
/// the pids; false (said on stderr) when `data` has no directory or a
/// process did not become ready. One payments replica is one process with
/// its own journals ("payments"); two or more are the payments-ledger
/// process (the journals) and replicas payments-1, payments-2, ... on its
/// shared ledgers.
bool start_deployment(process_group& pg, const data_dir& data,
                      int pricing_replicas, int payments_replicas,
                      deployment& out);

/// Prints the data directory and every process's pid.
void print_processes(const process_group& pg, const data_dir& data);

} // namespace checkout
