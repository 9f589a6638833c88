// ss's TCPDIAG_FILE: the TCP sockets of a dump saved with -D (by sstrace or
// by ss: the raw sock_diag replies as the kernel sent them), read instead of
// asking the kernel, so that a dump taken on a production host can be
// filtered and shown elsewhere.
#pragma once

#include <cstdio>
#include <string>

#include "common/result.h"
#include "diag/sock_diag.h"

namespace sstrace::diag {

// Every SOCK_DIAG_BY_FAMILY reply in `in`, as TCP sockets (from_file set),
// across all the dumps the file holds (-D writes one per family, each ending
// in NLMSG_DONE; ss stops at the first, so it shows only the IPv4 part of
// its own files). An error names `name` and the byte offset: a file that
// is not a dump, one cut short (it must end after an NLMSG_DONE), or one
// that saved the kernel's refusal.
Result<void> read_dump_file(std::FILE* in, const std::string& name, const SockCallback& on_sock);

}  // namespace sstrace::diag
