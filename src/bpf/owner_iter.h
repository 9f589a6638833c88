// Socket owners for ss -p from a BPF iterator (bpf/owners.bpf.c) instead of
// a readlink() per descriptor under /proc: the same sys::SocketOwners table
// for a fraction of the CPU on a host with many sockets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "sys/procfs.h"

namespace sstrace::bpf {

// Lists every socket descriptor of every process with one pass of an
// iter/task_file program. netns != 0 keeps only the sockets of that network
// namespace (the only ones a dump of it looks up). Fails, without output,
// when the kernel or our privileges will not run the iterator (no BTF,
// before 5.11, no CAP_BPF) or when its pids would not be /proc's (/proc
// belongs to another pid namespace than ours).
Result<sys::SocketOwners> iterate_socket_owners(uint32_t netns, const std::string& btf_path = "");

// Reads struct sstrace_socket_fd records from `fd` (the iterator's) to its
// end. A record never straddles two read()s of the iterator in practice
// (the kernel hands out whole seq_file buffers), but a partial one is kept
// for the next read rather than trusted to that.
Result<std::vector<sys::SocketFd>> read_socket_fds(int fd);

struct OwnersFound {
  sys::SocketOwners owners;
  // Why the /proc scan was used instead of the iterator; empty when the
  // iterator was.
  std::string fallback_reason;
};

// The iterator's table when it runs, else the /proc scan's (as ss -p, which
// also shows what it can without root). With `verbose`, a note on stderr
// says which one and why, and libbpf's log is shown.
OwnersFound find_socket_owners(uint32_t netns, bool verbose, const std::string& btf_path = "");

}  // namespace sstrace::bpf
