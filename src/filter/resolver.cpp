#include "filter/resolver.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sstrace::filter {
namespace {

// First mount point of a cgroup2 filesystem, from /proc/mounts.
std::string cgroup2_mount() {
  std::ifstream in("/proc/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string dev, dir, type;
    if (fields >> dev >> dir >> type && type == "cgroup2") return dir;
  }
  return {};
}

// A cgroup v2 id is the 8-byte file handle of its directory
// (kernfs_encode_fh(), v4.18+), the value INET_DIAG_CGROUP_ID reports.
std::optional<uint64_t> handle_id(int dirfd, const char* path, int* err) {
  union {
    file_handle fh;
    char buf[sizeof(file_handle) + sizeof(uint64_t)];
  } h{};
  h.fh.handle_bytes = sizeof(uint64_t);
  int mount_id = 0;
  if (name_to_handle_at(dirfd, path, &h.fh, &mount_id, 0) != 0) {
    *err = errno;
    return std::nullopt;
  }
  if (h.fh.handle_bytes != sizeof(uint64_t)) {
    *err = 0;
    return std::nullopt;
  }
  uint64_t id;
  std::memcpy(&id, h.fh.f_handle, sizeof(id));
  return id;
}

class SystemResolver final : public Resolver {
 public:
  std::vector<Prefix> host(const std::string& name, int family) const override {
    hostent he{};
    hostent* res = nullptr;
    int herr = 0;
    std::vector<char> buf(4096);
    while (gethostbyname2_r(name.c_str(), family, &he, buf.data(), buf.size(), &res, &herr) ==
               ERANGE &&
           buf.size() < (1u << 20))
      buf.resize(buf.size() * 2);
    std::vector<Prefix> out;
    if (res == nullptr || (he.h_addrtype != AF_INET && he.h_addrtype != AF_INET6)) return out;
    const size_t len = he.h_addrtype == AF_INET ? 4 : 16;
    for (char** a = he.h_addr_list; *a != nullptr; ++a) {
      Prefix p;
      p.family = static_cast<uint8_t>(he.h_addrtype);
      p.bitlen = static_cast<uint8_t>(len * 8);
      std::memcpy(p.bytes.data(), *a, len);
      out.push_back(p);
    }
    return out;
  }

  std::optional<int> service(const std::string& name, const char* proto) const override {
    servent se{};
    servent* res = nullptr;
    char buf[4096];
    if (getservbyname_r(name.c_str(), proto, &se, buf, sizeof(buf), &res) != 0 || res == nullptr)
      return std::nullopt;
    return ntohs(static_cast<uint16_t>(se.s_port));
  }

  uint32_t ifindex(const std::string& name) const override { return if_nametoindex(name.c_str()); }

  std::optional<uint64_t> cgroup_id(const std::string& path, std::string* why) const override {
    // Like iproute2: the path as given first, then relative to the cgroup2
    // mount.
    int err = 0;
    if (auto id = handle_id(AT_FDCWD, path.c_str(), &err)) return id;
    size_t skip = path.find_first_not_of('/');
    if (skip == std::string::npos) {
      *why = "not a cgroup2 path";
      return std::nullopt;
    }
    const std::string mnt = cgroup2_mount();
    if (mnt.empty()) {
      *why = "no cgroup2 filesystem is mounted";
      return std::nullopt;
    }
    int fd = open(mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      *why = "cannot open " + mnt + ": " + std::strerror(errno);
      return std::nullopt;
    }
    auto id = handle_id(fd, path.c_str() + skip, &err);
    close(fd);
    if (!id) *why = err != 0 ? std::strerror(err) : "not a cgroup2 directory";
    return id;
  }

  std::pair<int, int> local_port_range() const override {
    // ss falls back to 1024-4999 when the sysctl cannot be read.
    int lo = 0, hi = 0;
    if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "re")) {
      if (std::fscanf(f, "%d %d", &lo, &hi) != 2) lo = 0;
      std::fclose(f);
    }
    if (lo == 0) return {1024, 4999};
    return {lo, hi};
  }
};

}  // namespace

std::vector<Prefix> TableResolver::host(const std::string& name, int family) const {
  auto it = hosts.find({name, family});
  return it == hosts.end() ? std::vector<Prefix>{} : it->second;
}

std::optional<int> TableResolver::service(const std::string& name, const char* proto) const {
  auto it = services.find({name, proto});
  if (it == services.end()) return std::nullopt;
  return it->second;
}

uint32_t TableResolver::ifindex(const std::string& name) const {
  auto it = interfaces.find(name);
  return it == interfaces.end() ? 0 : it->second;
}

std::optional<uint64_t> TableResolver::cgroup_id(const std::string& path, std::string* why) const {
  auto it = cgroups.find(path);
  if (it != cgroups.end()) return it->second;
  *why = "no such cgroup";
  return std::nullopt;
}

void TableResolver::add_host(const std::string& name, const std::string& addr) {
  Prefix p;
  p.family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(p.family, addr.c_str(), p.bytes.data()) != 1) return;
  p.bitlen = p.family == AF_INET ? 32 : 128;
  hosts[{name, p.family}].push_back(p);
}

const Resolver& system_resolver() {
  static const SystemResolver resolver;
  return resolver;
}

}  // namespace sstrace::filter
