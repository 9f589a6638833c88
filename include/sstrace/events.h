/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one ABI between the BPF programs (bpf/sstrace.bpf.c, bpf/owners.bpf.c)
 * and user space (src/bpf/). Plain C, fixed-size fields only: clang -target
 * bpf compiles it against vmlinux.h, g++ against <linux/types.h>. User space
 * static_asserts the sizes (src/bpf/tracer.cpp, src/bpf/owner_iter.cpp) so
 * that a change on one side that is not made on the other fails the build
 * instead of corrupting the stream.
 */
#ifndef SSTRACE_EVENTS_H
#define SSTRACE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Kinds of record on the ring buffer. */
enum sstrace_record_kind {
	SSTRACE_REC_STATE = 1,	       /* inet_sock_set_state */
	SSTRACE_REC_RTT = 2,	       /* tcp_probe, srtt moved past the threshold */
	SSTRACE_REC_RETRANSMIT = 3,    /* tcp_retransmit_skb / tcp_retransmit_synack */
	SSTRACE_REC_RESET = 4,	       /* tcp_send_reset / tcp_receive_reset */
	SSTRACE_REC_OWNER = 5,	       /* accept() returned this socket to a process */
	SSTRACE_REC_CONNECT_ERROR = 6, /* connect() failed before the socket left CLOSE */
};

/* sstrace_reset.dir */
enum sstrace_reset_dir {
	SSTRACE_RESET_SENT = 1,
	SSTRACE_RESET_RECEIVED = 2,
};

/* sstrace_state.flags */
enum sstrace_state_flags {
	/* The full socket went to CLOSE because tcp_time_wait() handed the
	 * connection to a timewait minisocket (it is no longer hashed when the
	 * tracepoint fires; see tcp_set_state() and inet_twsk_hashdance_schedule()). */
	SSTRACE_STATE_TO_TIMEWAIT = 1 << 0,
	/* The peer's FIN had arrived (SOCK_DONE, set by tcp_fin()): with
	 * TO_TIMEWAIT, the minisocket's substate is TIME-WAIT, otherwise
	 * FIN-WAIT-2. (Not RCV_SHUTDOWN: close() sets it on orphans too.) */
	SSTRACE_STATE_FIN_RECEIVED = 1 << 1,
	/* The transition ran in the process that owns the socket (connect,
	 * listen, close): pid/comm are that process. */
	SSTRACE_STATE_PROCESS_CONTEXT = 1 << 2,
	/* enter_ns is known (the socket was seen by sstrace before). */
	SSTRACE_STATE_ENTER_KNOWN = 1 << 3,
	/* SYN-SENT -> CLOSE inside the socket's own connect(), with no socket
	 * error: tcp_v4_connect()/tcp_v6_connect() undoing their SYN-SENT on
	 * the `failure:` path (inet_hash_connect() found no free local port,
	 * EADDRNOTAVAIL). The SYN was never sent: the connect_error record at
	 * the syscall's exit carries the errno. */
	SSTRACE_STATE_IN_CONNECT = 1 << 4,
	/* The socket has no process any more (ss -p shows none): SOCK_DEAD
	 * (sock_orphan(), in tcp_close() and inet_child_forget()), or its file
	 * is being released right now (close() -> __fput() -> tcp_close(),
	 * whose FIN-WAIT-1 or LAST-ACK comes just before sock_orphan()). Not
	 * a child waiting in the accept queue: it has no socket yet, but it is
	 * no orphan. Never set at -> CLOSE (see on_state_change()). */
	SSTRACE_STATE_ORPHAN = 1 << 5,
};

/* sstrace_sock_id.flags */
enum sstrace_id_flags {
	/* An AF_INET6 socket with IPV6_V6ONLY set (skc_ipv6only). Without it
	 * the IPv6 wildcard also takes IPv4, and ss prints it as "*". */
	SSTRACE_ID_V6ONLY = 1 << 0,
};

#define SSTRACE_COMM_LEN 16
#define SSTRACE_ADDR_LEN 16

/* Identity and endpoints of one socket; addresses in network order, IPv4 in
 * the first 4 bytes; ports in host order. */
struct sstrace_sock_id {
	__u64 cookie;
	__u32 netns;  /* network namespace inode */
	__u16 family; /* AF_INET or AF_INET6 */
	__u16 sport;
	__u16 dport;
	__u8 flags; /* enum sstrace_id_flags */
	__u8 pad0;
	__u8 saddr[SSTRACE_ADDR_LEN];
	__u8 daddr[SSTRACE_ADDR_LEN];
};

/* Who owns the socket, as learned in process context; pid 0 = unknown. */
struct sstrace_owner {
	__u32 pid; /* tgid */
	__u32 pad0;
	char comm[SSTRACE_COMM_LEN];
};

/* Counters read from tcp_sock when the full socket reaches CLOSE: the close
 * summary. RTT statistics come from per-socket storage fed by tcp_probe. */
struct sstrace_summary {
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 total_retrans;
	__u32 srtt_us;
	__u32 min_srtt_us; /* 0: no sample */
	__u32 max_srtt_us;
	__u64 srtt_sum_us;
	__u32 srtt_samples;
	__u32 pad0;
};

struct sstrace_state {
	__u8 old_state; /* kernel TCP_* numbering (include/net/tcp_states.h) */
	__u8 new_state;
	__u8 flags; /* enum sstrace_state_flags */
	/* At SYN-SENT/SYN-RECV -> CLOSE: the socket's error, sk_err or else
	 * sk_err_soft (a positive errno); 0: none (the application closed it,
	 * or SSTRACE_STATE_IN_CONNECT). */
	__u8 sk_err;
	__u8 pad0[4];
	__u64 enter_ns;			/* when old_state was entered (bpf_ktime_get_ns) */
	struct sstrace_summary summary; /* valid when new_state == TCP_CLOSE */
};

struct sstrace_rtt {
	__u32 srtt_us;
	__u32 rttvar_us;
	__u32 prev_srtt_us; /* last value reported for this socket, 0 = none */
	__u32 min_rtt_us;
	__u32 snd_cwnd;
	__u32 snd_ssthresh;
	__u32 packets_out;
	__u32 state;
};

struct sstrace_retransmit {
	__u32 segs;
	__u32 state;
	__u8 synack; /* tcp_retransmit_synack (request socket) */
	__u8 pad0[7];
};

struct sstrace_reset {
	__u32 dir; /* enum sstrace_reset_dir */
	__u32 state;
	__u32 reason;	 /* enum sk_rst_reason, valid when has_reason */
	__u8 has_reason; /* the kernel's tcp_send_reset has a reason (6.10+) */
	__u8 pad0[3];
};

/* connect() returned an error while the socket stayed in CLOSE. id has the
 * destination from the syscall's sockaddr, the local end as far as bound,
 * and the cookie if the socket ever had one (0 otherwise). */
struct sstrace_connect_error {
	__s32 err; /* positive errno */
	__u32 pad0;
};

struct sstrace_record {
	__u32 kind; /* enum sstrace_record_kind */
	__u32 cpu;
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	struct sstrace_sock_id id;
	struct sstrace_owner owner;
	union {
		struct sstrace_state state;
		struct sstrace_rtt rtt;
		struct sstrace_retransmit retransmit;
		struct sstrace_reset reset;
		struct sstrace_connect_error connect_error;
	};
};

/* Per-CPU counters in the `stats` array map, index = enum below. */
enum sstrace_stat {
	SSTRACE_STAT_RINGBUF_DROPS = 0, /* bpf_ringbuf_reserve() failed */
	SSTRACE_STAT_RTT_SUPPRESSED,	/* tcp_probe samples under threshold */
	SSTRACE_STAT_FILTERED,		/* records the prefilter dropped (followed netns only) */
	SSTRACE_STAT_NO_STORAGE,	/* bpf_sk_storage_get() failed */
	SSTRACE_STAT_RESCUED,		/* state changes the second program handled (see
					 * rescue_inet_sock_set_state) */
	SSTRACE_STAT__MAX,
};

/* Up to this many port ranges in the in-kernel prefilter. */
#define SSTRACE_MAX_PORT_RANGES 8

struct sstrace_port_range {
	__u16 lo;
	__u16 hi;
};

/* One socket descriptor of one process, as the iter/task_file program
 * (bpf/owners.bpf.c) lists them for ss -p: what /proc/<pid>/fd/<fd> ->
 * "socket:[<inode>]" says, without a readlink per descriptor. Written with
 * bpf_seq_write(), read() back as an array of these. */
struct sstrace_socket_fd {
	__u64 inode; /* the socket's inode number (what sock_diag reports) */
	__u32 pid;   /* tgid, numbered in the reader's pid namespace */
	__u32 fd;
	__u32 flags; /* enum sstrace_socket_fd_flags */
	__u32 pad0;
	char comm[SSTRACE_COMM_LEN]; /* the thread-group leader's task->comm */
};

/* sstrace_socket_fd.flags */
enum sstrace_socket_fd_flags {
	/* A kernel thread or workqueue worker: /proc/<pid>/comm shows a longer
	 * name than task->comm (proc_task_name()), so user space reads it. */
	SSTRACE_SOCKET_FD_KERNEL_THREAD = 1 << 0,
};

#endif /* SSTRACE_EVENTS_H */
