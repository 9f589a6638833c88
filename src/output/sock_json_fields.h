// The per-socket JSON fields of snapshot and table events (CONTRACT.md plus
// what ss -e -o -m -i -p would show).
#pragma once

#include <span>
#include <string>

#include "diag/sock_info.h"
#include "output/json_writer.h"
#include "sys/procfs.h"

namespace sstrace::output {

// Every per-socket field except type/ts/v, written into an object the
// caller has opened. docs/snapshot-json.md describes each field; `users`
// may be empty (then no users/pid/comm).
void write_sock_fields(JsonWriter& w, const diag::SockInfo& s,
                       std::span<const sys::SocketUser> users);

// laddr/raddr as the JSON events spell them: the address as ss -n prints it
// without brackets ("*" for the dual-stack IPv6 wildcard); a remote address
// that is unset is "*". Unix: the path ("*" when unnamed); packet: ss -n's
// ethertype ("*" for all, "[2048]").
std::string json_laddr(const diag::SockInfo& s);
std::string json_raddr(const diag::SockInfo& s);

}  // namespace sstrace::output
