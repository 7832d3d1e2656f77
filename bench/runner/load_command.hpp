// `bulwark-bench load --target URL ...`: load on a team's own HTTP service
// (tools/load/load_client.hpp) from the command line: open loop at a constant
// or Poisson rate with latencies from the intended send times, or a closed
// loop; an A/B mode that alternates two targets in one run and reports the
// ratios; request templates with unique idempotency keys; JSON lines or a
// table; the report folder with charts. Says plainly when the rate was not
// held. See docs/benchmarking-your-service.md.
#pragma once

namespace bulwark::bench {

/// Runs the subcommand; `argv[0]` is "load". Returns the exit code: 0 after
/// a run (also when the rate was not held: the output says so), 2 for a
/// usage error, 1 when the run could not start.
int run_load_command(int argc, char** argv);

} // namespace bulwark::bench
