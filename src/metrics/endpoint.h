// The HTTP endpoint Prometheus scrapes: prometheus-cpp's Exposer (a
// civetweb server with threads of its own), opened before the run enters
// the -N namespace, so that it listens where sstrace was started (a host's
// Prometheus scrapes the host's address). setns() moves only the calling
// thread, and the listening socket belongs to the namespace it was created
// in.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace sstrace::metrics {

class Endpoint {
 public:
  // Listens on ADDR:PORT (--metrics: an IPv4 address or host name, [an IPv6
  // address] where civetweb was built with IPv6 (Debian 12's was not), or
  // nothing for every address). Throws FatalError with one line when it
  // cannot (the port is taken, the address is not ours).
  static std::unique_ptr<Endpoint> open(const std::string& addr_port);
  ~Endpoint();
  // Serves the registry at /metrics.
  void serve(const std::shared_ptr<prometheus::Registry>& registry);

 private:
  explicit Endpoint(std::unique_ptr<prometheus::Exposer> exposer);
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<prometheus::Registry> registry_;
};

// --metrics's ADDR:PORT as civetweb's listening_ports spells it: ":PORT"
// (every address) is "+PORT" (IPv4, and IPv6 where civetweb has it), the
// rest as given.
std::string civetweb_listening_port(const std::string& addr_port);

}  // namespace sstrace::metrics
