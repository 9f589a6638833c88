// ss's PROC_ROOT and PROC_NET_* variables applied to a snapshot (iproute2
// misc/ss.c: tcp_show, udp_show, raw_show read /proc/net files instead of
// sock_diag when they are set; user_ent_hash_build scans PROC_ROOT for -p).
#pragma once

#include "diag/sock_diag.h"

namespace sstrace::cli {

// Points the TCP, UDP and RAW tables of `req` at the files ss would read.
// Throws FatalError for the tables ss would also read from a file but
// sstrace cannot (UNIX, PACKET, NETLINK): never a silent kernel dump in
// place of the file the user named. TCPDIAG_FILE wins over PROC_NET_TCP,
// as in ss.
void apply_proc_overrides(diag::DumpRequest& req, bool tcp_from_tcpdiag_file);

// Whether -p must scan PROC_ROOT rather than ask the kernel (BPF iterator).
bool owners_from_proc_root();

}  // namespace sstrace::cli
