// What a live run (the stream, top) needs from the kernel's privilege
// checks, when, and the drop to what it keeps once it is set up
// (docs/ARCHITECTURE.md, "Privileges"). The snapshot needs what ss needs
// and is not checked up front: like ss, it shows what it may read.
#pragma once

#include "cli/options.h"
#include "sys/capabilities.h"

namespace sstrace::cli {

// What must be effective before the first privileged step: loading and
// attaching the programs (CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, which
// implies both in the kernel's bpf_capable()/perfmon_capable()); entering
// -N's or every namespace (setns: CAP_SYS_ADMIN); with --all-netns, other
// processes' /proc/PID/ns/net (CAP_SYS_PTRACE); with --btf, a mount
// namespace of our own (CAP_SYS_ADMIN); with --user, the switch
// (CAP_SETUID, CAP_SETGID).
sys::CapSet caps_to_start(const Options& opts);

// The capabilities in `needed` that `held` does not provide, counting
// CAP_SYS_ADMIN as CAP_BPF and CAP_PERFMON as the kernel does.
sys::CapSet missing_caps(sys::CapSet needed, sys::CapSet held);

// What the run keeps once the programs are attached, the iterators made
// and the table seeded: nothing, except with --all-netns, which opens a
// sock_diag socket inside each namespace created later (the /proc/PID/ns
// handle: CAP_SYS_PTRACE; setns there and back: CAP_SYS_ADMIN).
sys::CapSet caps_to_keep(const Options& opts);

// Throws FatalError ("needs CAP_BPF and CAP_PERFMON (run as root or grant
// them)") when something caps_to_start() names is not permitted, and makes
// the rest effective.
void check_start_privileges(const Options& opts);

// After seeding: --user's switch (as tcpdump -Z), or without it the same
// drop in place. A separate step so that whatever must still be opened
// with the old privileges (an --output file) is opened before it.
void drop_privileges(const Options& opts);

}  // namespace sstrace::cli
