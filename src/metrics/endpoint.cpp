#include "metrics/endpoint.h"

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <exception>

#include "common/result.h"

namespace sstrace::metrics {

std::string civetweb_listening_port(const std::string& addr_port) {
  if (!addr_port.empty() && addr_port.front() == ':') return "+" + addr_port.substr(1);
  return addr_port;
}

std::unique_ptr<Endpoint> Endpoint::open(const std::string& addr_port) {
  // Two threads: a scrape never waits for another (Prometheus and a person
  // with curl), and an idle endpoint costs nothing but their stacks.
  std::vector<std::string> options = {"listening_ports", civetweb_listening_port(addr_port),
                                      "num_threads", "2"};
  try {
    return std::unique_ptr<Endpoint>(
        new Endpoint(std::make_unique<prometheus::Exposer>(std::move(options))));
  } catch (const std::exception&) {
    // civetweb says only "null context when constructing CivetServer"; the
    // causes are the port being taken or the address not being ours.
    // Debian 12's civetweb is built without IPv6: a bracketed address
    // cannot be bound there whatever the host has.
    const bool v6 = !addr_port.empty() && addr_port.front() == '[';
    throw FatalError("--metrics: cannot listen on " + addr_port +
                     (v6 ? " (is the port in use, the address not one of this host's, or "
                           "civetweb built without IPv6?)"
                         : " (is the port in use, or the address not one of this host's?)"));
  }
}

Endpoint::Endpoint(std::unique_ptr<prometheus::Exposer> exposer) : exposer_(std::move(exposer)) {}

Endpoint::~Endpoint() {
  if (exposer_ && registry_) exposer_->RemoveCollectable(registry_);
}

void Endpoint::serve(const std::shared_ptr<prometheus::Registry>& registry) {
  registry_ = registry;
  exposer_->RegisterCollectable(registry_);
}

}  // namespace sstrace::metrics
