// Where ss looks for /proc: its PROC_ROOT and PROC_NET_* overrides
// (iproute2 misc/ss.c generic_proc_open, user_ent_hash_build). sstrace
// snapshot honours them wherever it reads /proc, so a tree copied from
// another host (or a container's view of the host's /proc) is read the
// way ss would read it.
#pragma once

#include <optional>
#include <string>

namespace sstrace::sys {

// $PROC_ROOT, or "/proc" when unset. ss scans <root>/<pid>/fd for -p and
// reads <root>/<pid>/stat for a netlink socket's owner.
std::string proc_root();

// Whether PROC_ROOT is set (to anything, even ""), as ss tests it.
bool proc_root_set();

// The file ss reads for /proc/<name> ("net/raw"): $env when set, else
// <proc_root()>/<name>.
std::string proc_file(const char* env, const char* name);

// A /proc/net table ss reads from a file instead of sock_diag: ss skips its
// netlink dump for a protocol when the protocol's IPv4 variable (e.g.
// PROC_NET_RAW, never PROC_NET_RAW6) or PROC_ROOT is set, then reads both
// files. nullopt when neither is set (sock_diag answers).
struct ProcTable {
  std::string v4;        // PROC_NET_<P>, or <root>/net/<p>
  std::string v6;        // PROC_NET_<P>6, or <root>/net/<p>6
  std::string v4_from;   // where each path came from, for messages:
  std::string v6_from;   // "PROC_NET_RAW", "PROC_ROOT", "/proc while PROC_NET_RAW is set"
  const char* env = "";  // the variable that moved the protocol to files
};
std::optional<ProcTable> proc_table_override(const char* env4, const char* env6, const char* name);

}  // namespace sstrace::sys
