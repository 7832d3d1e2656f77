// Links what mutual TLS between nodes needs (CAF's OpenSSL module and
// OpenSSL) from an installed bulwark: checks a /cluster/tls whose files do
// not exist and prints the first error.
#include "bulwark/actors/cluster/cluster_tls.hpp"

#include <cstdio>

int main() {
  bulwark::cluster_tls_config tls;
  tls.certificate = "/nonexistent/node.pem";
  tls.key = "/nonexistent/node-key.pem";
  tls.cafile = "/nonexistent/ca.pem";
  auto errors = bulwark::check_cluster_tls(tls);
  std::printf("%s\n", errors.empty() ? "no error" : errors.front().c_str());
  return bulwark::cluster_tls_built() && !errors.empty() ? 0 : 1;
}
