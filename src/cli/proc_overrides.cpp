#include "cli/proc_overrides.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/result.h"
#include "sys/proc_env.h"

namespace sstrace::cli {

namespace {

// A table ss would read from /proc/net/<name> while the variable or
// PROC_ROOT is set (ss.c unix_show, packet_show, netlink_show), which
// sstrace has no reader for.
void refuse_unread_table(bool wanted, const char* env, const char* name, const char* what) {
  if (!wanted) return;
  const bool by_env = std::getenv(env) != nullptr;
  if (!by_env && !sys::proc_root_set()) return;
  const std::string path = sys::proc_file(env, (std::string("net/") + name).c_str());
  throw FatalError(std::string(by_env ? env : "PROC_ROOT") + " is set: ss would read " + what +
                   " sockets from " + path +
                   ", which sstrace cannot read; select TCP, UDP or RAW tables only (-t, -u, -w) "
                   "or unset " +
                   (by_env ? env : "PROC_ROOT"));
}

// ss would just list nothing for a file it cannot open; a path the user
// named deserves a message that says which one (and no sock_diag hint).
void check_readable(const std::optional<sys::ProcTable>& files, const diag::DumpRequest& req) {
  if (!files) return;
  auto check = [](bool wanted, const std::string& path, const std::string& from) {
    if (!wanted || ::access(path.c_str(), R_OK) == 0) return;
    throw FatalError(sys_error("cannot read " + path + " (from " + from + ")").str());
  };
  check(req.ipv4, files->v4, files->v4_from);
  check(req.ipv6, files->v6, files->v6_from);
}

}  // namespace

void apply_proc_overrides(diag::DumpRequest& req, bool tcp_from_tcpdiag_file) {
  if (req.tcp && !tcp_from_tcpdiag_file) {
    req.proc_tcp = sys::proc_table_override("PROC_NET_TCP", "PROC_NET_TCP6", "tcp");
  }
  if (req.udp) req.proc_udp = sys::proc_table_override("PROC_NET_UDP", "PROC_NET_UDP6", "udp");
  if (req.raw) req.proc_raw = sys::proc_table_override("PROC_NET_RAW", "PROC_NET_RAW6", "raw");
  for (const auto* files : {&req.proc_tcp, &req.proc_udp, &req.proc_raw}) {
    check_readable(*files, req);
  }
  refuse_unread_table(req.netlink, "PROC_NET_NETLINK", "netlink", "NETLINK");
  refuse_unread_table(req.packet, "PROC_NET_PACKET", "packet", "PACKET");
  refuse_unread_table(req.unix_, "PROC_NET_UNIX", "unix", "UNIX");
}

bool owners_from_proc_root() { return sys::proc_root_set(); }

}  // namespace sstrace::cli
