/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel-side helpers: reading a socket's identity and counters with CO-RE. */
#ifndef SSTRACE_SOCK_BPF_H
#define SSTRACE_SOCK_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sstrace/events.h"

/* #defines that vmlinux.h cannot carry. */
#define AF_INET 2
#define AF_INET6 10
#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

/* Identity and endpoints of a full socket (also a request or timewait
 * minisocket: they all start with struct sock_common). */
static __always_inline void read_common_id(const struct sock_common *skc,
					   struct sstrace_sock_id *id)
{
	__builtin_memset(id, 0, sizeof(*id));
	id->family = BPF_CORE_READ(skc, skc_family);
	id->netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	id->dport = __builtin_bswap16(BPF_CORE_READ(skc, skc_dport));
	id->sport = BPF_CORE_READ(skc, skc_num);
	/* Explicit sizes: BPF_CORE_READ_INTO would size the copy by the
	 * destination's element (one byte of the array). */
	if (id->family == AF_INET) {
		bpf_core_read(id->saddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(id->daddr, 4, &skc->skc_daddr);
	} else {
		bpf_core_read(id->saddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(id->daddr, 16, &skc->skc_v6_daddr);
		/* IPV6_V6ONLY can only change before bind() (do_ipv6_setsockopt
		 * refuses it once inet_num is set), so a listener's is final. */
		if (BPF_CORE_READ_BITFIELD_PROBED(skc, skc_ipv6only))
			id->flags |= SSTRACE_ID_V6ONLY;
	}
}

/* A full socket. The local port comes from inet_sport, as the classic
 * inet_sock_set_state tracepoint reads it: at -> CLOSE skc_num is already
 * 0 on the reference kernel (inet_put_port() ran). */
static __always_inline void read_sock_id(const struct sock *sk, struct sstrace_sock_id *id)
{
	const struct inet_sock *inet = (const struct inet_sock *)sk;

	read_common_id(&sk->__sk_common, id);
	id->sport = __builtin_bswap16(BPF_CORE_READ(inet, inet_sport));
}

/* A request minisocket (SYN-RECV): skc_num is its local port. */
static __always_inline void read_reqsk_id(const struct request_sock *req,
					  struct sstrace_sock_id *id)
{
	read_common_id(&req->__req_common, id);
}

/* Segments in a retransmitted skb: tcp_skb_pcount(), the value the kernel
 * adds to RetransSegs (net/ipv4/tcp_output.c, __tcp_retransmit_skb). */
static __always_inline __u32 skb_pcount(const struct sk_buff *skb)
{
	__u16 segs = 0;

	bpf_probe_read_kernel(&segs, sizeof(segs),
			      (void *)skb + bpf_core_field_offset(struct sk_buff, cb) +
				  bpf_core_field_offset(struct tcp_skb_cb, tcp_gso_segs));
	return segs;
}

/* Was the state change made by the process that owns the socket? These
 * transitions run only in the connect(), listen(), close() and shutdown()
 * system calls (tcp_v4_connect, inet_csk_listen_start, tcp_close_state),
 * never in softirq, so `current` is the owner and not a bystander. */
static __always_inline bool in_owner_context(int oldstate, int newstate)
{
	if (oldstate == TCP_CLOSE && (newstate == TCP_SYN_SENT || newstate == TCP_LISTEN))
		return true;
	if (oldstate == TCP_ESTABLISHED && newstate == TCP_FIN_WAIT1)
		return true;
	if (oldstate == TCP_CLOSE_WAIT && newstate == TCP_LAST_ACK)
		return true;
	return false;
}

/* Kernel threads close and connect sockets too (delayed fput, sunrpc, MPTCP
 * subflows): they are never a socket's owner for our purposes. */
static __always_inline bool current_is_kthread(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(task, flags) & PF_KTHREAD;
}

/* At FIN-WAIT-2/CLOSING -> CLOSE: did tcp_time_wait() hand the connection to
 * a timewait minisocket? inet_twsk_hashdance_schedule() unhashes the full
 * socket before tcp_done() runs tcp_set_state(CLOSE), whereas every other
 * way to CLOSE still finds it hashed when the tracepoint fires (tcp_set_state
 * unhashes after the trace call). */
static __always_inline __u8 timewait_flags(const struct sock *sk, int oldstate)
{
	__u8 flags = 0;

	if (oldstate != TCP_FIN_WAIT2 && oldstate != TCP_CLOSING)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_nulls_node.pprev) == NULL)
		flags |= SSTRACE_STATE_TO_TIMEWAIT;
	if (BPF_CORE_READ(sk, __sk_common.skc_flags) &
	    (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DONE)))
		flags |= SSTRACE_STATE_FIN_RECEIVED;
	return flags;
}

/* struct file before the file_ref_t conversion (v6.13, "fs: port files to
 * file_ref"): a plain count, 0 once the last fput() ran. */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* file_ref_t's states past the last reference (include/linux/file_ref.h):
 * __file_ref_put() turns FILE_REF_NOREF into FILE_REF_DEAD before __fput(). */
#define FILE_REF_RELEASED 0xC000000000000000ULL

/* Is the file going away (__fput() running its release, e.g. tcp_close())? */
static __always_inline bool file_released(const struct file *file)
{
	if (bpf_core_field_exists(struct file, f_ref))
		return (__u64)BPF_CORE_READ(file, f_ref.refcnt.counter) >= FILE_REF_RELEASED;
	return BPF_CORE_READ((const struct file___old *)file, f_count.counter) == 0;
}

/* Closed by its process, still finishing its shutdown: see
 * SSTRACE_STATE_ORPHAN. A socket without a struct socket that is not dead
 * is an accepted-queue child, not an orphan. */
static __always_inline bool sock_orphaned(const struct sock *sk)
{
	const struct socket *sock;
	const struct file *file;

	if (BPF_CORE_READ(sk, __sk_common.skc_flags) &
	    (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DEAD)))
		return true;
	sock = BPF_CORE_READ(sk, sk_socket);
	if (!sock)
		return false;
	file = BPF_CORE_READ(sock, file);
	return file && file_released(file);
}

#endif /* SSTRACE_SOCK_BPF_H */
