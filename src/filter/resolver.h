// Everything the filter parser asks the system: host names, service names,
// interface names, cgroup paths and the ephemeral port range. ss resolves
// all of these while it parses, in the network namespace it runs in; so do
// we. Tests and the fuzzer substitute their own answers.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "filter/ast.h"

namespace sstrace::filter {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Addresses of a host name for one family (AF_INET or AF_INET6), as
  // gethostbyname2(3) answers, each a full-length prefix.
  virtual std::vector<Prefix> host(const std::string& name, int family) const = 0;
  // Port (host order) of a service name for "tcp" or "udp", if known.
  virtual std::optional<int> service(const std::string& name, const char* proto) const = 0;
  // Interface index of a name, 0 if there is no such interface.
  virtual uint32_t ifindex(const std::string& name) const = 0;
  // cgroup v2 id of a path (absolute, or relative to the cgroup2 mount);
  // nullopt with *why set when it cannot be found.
  virtual std::optional<uint64_t> cgroup_id(const std::string& path, std::string* why) const = 0;
  // net.ipv4.ip_local_port_range: what `autobound` means for inet sockets.
  virtual std::pair<int, int> local_port_range() const = 0;
};

// The real system (glibc NSS, if_nametoindex, name_to_handle_at, /proc).
const Resolver& system_resolver();

// Answers from tables, nothing from the system: for tests, the fuzzer, and
// parsing a filter for another host.
class TableResolver final : public Resolver {
 public:
  std::map<std::pair<std::string, int>, std::vector<Prefix>> hosts;  // (name, family)
  std::map<std::pair<std::string, std::string>, int> services;       // (name, proto)
  std::map<std::string, uint32_t> interfaces;
  std::map<std::string, uint64_t> cgroups;
  std::pair<int, int> port_range{32768, 60999};

  std::vector<Prefix> host(const std::string& name, int family) const override;
  std::optional<int> service(const std::string& name, const char* proto) const override;
  uint32_t ifindex(const std::string& name) const override;
  std::optional<uint64_t> cgroup_id(const std::string& path, std::string* why) const override;
  std::pair<int, int> local_port_range() const override { return port_range; }

  // Adds a host address in text form ("10.0.0.1", "::1").
  void add_host(const std::string& name, const std::string& addr);
};

}  // namespace sstrace::filter
