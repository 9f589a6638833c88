// SPDX-License-Identifier: GPL-2.0
/*
 * sstrace kernel side: raw records about TCP sockets, keyed by socket cookie,
 * on one ring buffer. Nothing is formatted here; user space (src/bpf/) turns
 * records into events and keeps the connection table.
 *
 * Hooks (docs/ARCHITECTURE.md has the why of each):
 *   tp_btf/inet_sock_set_state     every state change of a full socket
 *   tp_btf/tcp_probe               srtt change detection (hot: every segment)
 *   tp_btf/tcp_retransmit_skb      retransmitted segments (err == 0 only)
 *   tp_btf/tcp_retransmit_synack   SYN-ACK retransmissions (request sockets)
 *   tp_btf/tcp_send_reset, tcp_receive_reset
 *   tracepoint/syscalls/sys_{enter,exit}_connect, sys_exit_accept{,4}
 *                                  owner and local port, learned in process context
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sstrace/events.h"
#include "sock.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Configuration, set by user space between open and load. */
const volatile __u32 cfg_netns = 0;    /* 0: every namespace */
const volatile __u16 cfg_family = 0;   /* 0: both */
const volatile __u32 cfg_n_lports = 0; /* 0: any local port */
const volatile __u32 cfg_n_rports = 0; /* 0: any remote port */
const volatile struct sstrace_port_range cfg_lports[SSTRACE_MAX_PORT_RANGES] = {};
const volatile struct sstrace_port_range cfg_rports[SSTRACE_MAX_PORT_RANGES] = {};
const volatile __u32 cfg_rtt_min_change_us = 1000;
const volatile __u32 cfg_rtt_min_change_pct = 20;
const volatile __u64 cfg_rtt_interval_ns = 1000000000ULL;
const volatile bool cfg_rtt_enabled = true;
/* Wake the reader when this much is pending (see submit()). */
const volatile __u64 cfg_wakeup_bytes = 64 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by user space */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SSTRACE_STAT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Per-socket state; freed by the kernel with the socket, so memory follows
 * the number of live sockets, never a table size we guessed. */
struct sock_state {
	__u64 enter_ns;	    /* when the current state was entered, 0 = unknown */
	__u64 last_rtt_ns;  /* when an rtt record was last emitted */
	__u32 last_srtt_us; /* srtt in the last rtt record, 0 = none yet */
	__u32 min_srtt_us;
	__u32 max_srtt_us;
	__u32 srtt_samples;
	__u64 srtt_sum_us;
	struct sstrace_owner owner;
	__u32 last_total_retrans; /* tp->total_retrans at the last retransmit record */
	__u32 retrans_base_known; /* last_total_retrans is a real baseline */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_state);
} sock_states SEC(".maps");

/* connect() in flight: tid -> fd, so that sys_exit_connect can find the
 * socket once the kernel has chosen its local port. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __s32);
} connecting SEC(".maps");

/* The close summary: kernel counters plus what tcp_probe gathered. */
static __always_inline void read_summary(const struct sock *sk, const struct sock_state *st,
					 struct sstrace_summary *sum)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;

	sum->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	sum->bytes_received = BPF_CORE_READ(tp, bytes_received);
	sum->total_retrans = BPF_CORE_READ(tp, total_retrans);
	sum->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	if (st) {
		sum->min_srtt_us = st->min_srtt_us;
		sum->max_srtt_us = st->max_srtt_us;
		sum->srtt_sum_us = st->srtt_sum_us;
		sum->srtt_samples = st->srtt_samples;
	}
}

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &stat);

	if (v)
		(*v)++;
}

static __always_inline bool port_in(__u16 port, const volatile struct sstrace_port_range *r,
				    __u32 n)
{
	for (__u32 i = 0; i < SSTRACE_MAX_PORT_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	}
	return false;
}

/* The cheap in-kernel part of the user's filter: namespace, family and
 * port ranges. It only ever drops what the full filter would drop too. */
static __always_inline bool prefilter_pass(const struct sstrace_sock_id *id)
{
	if (cfg_netns && id->netns != cfg_netns)
		return false;
	if (cfg_family && id->family != cfg_family)
		return false;
	if (cfg_n_lports && !port_in(id->sport, cfg_lports, cfg_n_lports))
		return false;
	if (cfg_n_rports && !port_in(id->dport, cfg_rports, cfg_n_rports))
		return false;
	return true;
}

/* prefilter_pass() read straight from a full socket, loading only what a
 * configured part of the filter needs (the cfg_ tests are constants at load
 * time: an unset part costs nothing). For tcp_probe, which must not create
 * storage for a socket the filter drops (another namespace's, with -N). */
static __always_inline bool sock_prefilter_pass(const struct sock *sk)
{
	const struct inet_sock *inet = (const struct inet_sock *)sk;
	struct sstrace_sock_id id = {};

	if (cfg_netns)
		id.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (cfg_family)
		id.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (cfg_n_lports)
		id.sport = __builtin_bswap16(BPF_CORE_READ(inet, inet_sport));
	if (cfg_n_rports)
		id.dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return prefilter_pass(&id);
}

/* The prefilter where a record would be made: counts what it dropped in the
 * namespace we follow, so that the count (the exit event's `prefiltered`)
 * says what the filter saved, not how busy other namespaces are. */
static __always_inline bool prefilter_drops(const struct sstrace_sock_id *id)
{
	if (prefilter_pass(id))
		return false;
	if (!cfg_netns || id->netns == cfg_netns)
		count(SSTRACE_STAT_FILTERED);
	return true;
}

static __always_inline struct sstrace_record *reserve(void)
{
	struct sstrace_record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

	if (!r) {
		count(SSTRACE_STAT_RINGBUF_DROPS);
		return NULL;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->ts_ns = bpf_ktime_get_ns();
	r->cpu = bpf_get_smp_processor_id();
	return r;
}

/* Wake the reader once, when the pending data crosses cfg_wakeup_bytes: a
 * forced wake-up per record past the mark costs an interrupt each (a VM exit
 * on a guest), and the reader, once woken, drains everything anyway. Below
 * the mark the reader's poll timeout picks records up. */
static __always_inline void submit(struct sstrace_record *r)
{
	__u64 pending = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bool crossing = pending < cfg_wakeup_bytes && pending + sizeof(*r) >= cfg_wakeup_bytes;

	bpf_ringbuf_submit(r, crossing ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void set_owner_from_current(struct sstrace_owner *o)
{
	o->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* connect() reports CLOSE -> SYN-SENT before it chooses the local port, so a
 * local-port prefilter cannot judge that transition yet. Its record is
 * dropped (the filter sees local port 0 in user space too), but the socket's
 * owner and the time it entered SYN-SENT are kept for its later records,
 * which the prefilter can judge: without them a shown connection would lose
 * its pid/comm and old_us. */
static __always_inline bool local_port_unchosen(const struct sstrace_sock_id *id, int oldstate,
						int newstate)
{
	return oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT && id->sport == 0 &&
	       (!cfg_netns || id->netns == cfg_netns) && (!cfg_family || id->family == cfg_family);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	struct sstrace_sock_id id;
	struct sstrace_record *r;
	struct sock_state *st;
	bool dropped;
	__u64 now;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	read_sock_id(sk, &id);
	dropped = prefilter_drops(&id);
	if (dropped && !local_port_unchosen(&id, oldstate, newstate))
		return 0;
	/* Generates the cookie if the socket has none yet, so that a timewait
	 * minisocket made from it later inherits it (inet_twsk_alloc copies
	 * sk_cookie only if set). */
	id.cookie = bpf_get_socket_cookie((void *)sk);

	st = bpf_sk_storage_get(&sock_states, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		count(SSTRACE_STAT_NO_STORAGE);

	r = dropped ? NULL : reserve();
	now = r ? r->ts_ns : bpf_ktime_get_ns();
	if (st && in_owner_context(oldstate, newstate) && !current_is_kthread()) {
		set_owner_from_current(&st->owner);
		if (r)
			r->state.flags |= SSTRACE_STATE_PROCESS_CONTEXT;
	}
	if (r) {
		r->kind = SSTRACE_REC_STATE;
		r->id = id;
		r->state.old_state = oldstate;
		r->state.new_state = newstate;
		if (st) {
			r->owner = st->owner;
			if (st->enter_ns) {
				r->state.enter_ns = st->enter_ns;
				r->state.flags |= SSTRACE_STATE_ENTER_KNOWN;
			}
		}
		if (newstate == TCP_CLOSE) {
			read_summary(sk, st, &r->state.summary);
			r->state.flags |= timewait_flags(sk, oldstate);
		}
		submit(r);
	}
	if (st) {
		st->enter_ns = now;
		/* A socket born now starts from 0 retransmissions: the baseline
		 * for handle_tcp_retransmit_skb()'s deltas. */
		if (oldstate == TCP_CLOSE || oldstate == TCP_LISTEN) {
			st->last_total_retrans =
			    BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);
			st->retrans_base_known = 1;
		}
	}
	return 0;
}

/* Hot path: every incoming segment of every established connection. The
 * common case is a storage lookup, a few compares and a return. */
SEC("tp_btf/tcp_probe")
int BPF_PROG(handle_tcp_probe, struct sock *sk, const struct sk_buff *skb)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct sstrace_sock_id id;
	struct sstrace_record *r;
	struct sock_state *st;
	__u32 srtt, last, delta;
	__u64 now;

	if (!cfg_rtt_enabled)
		return 0;
	/* Before the storage: a socket the filter drops gets none (its
	 * state changes get none either, see handle_inet_sock_set_state). */
	if (!sock_prefilter_pass(sk))
		return 0;
	st = bpf_sk_storage_get(&sock_states, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		count(SSTRACE_STAT_NO_STORAGE);
		return 0;
	}
	srtt = BPF_CORE_READ(tp, srtt_us) >> 3;
	if (!srtt)
		return 0;
	if (!st->min_srtt_us || srtt < st->min_srtt_us)
		st->min_srtt_us = srtt;
	if (srtt > st->max_srtt_us)
		st->max_srtt_us = srtt;
	st->srtt_sum_us += srtt;
	st->srtt_samples++;

	last = st->last_srtt_us;
	delta = srtt > last ? srtt - last : last - srtt;
	if (last && (delta < cfg_rtt_min_change_us ||
		     (__u64)delta * 100 < (__u64)last * cfg_rtt_min_change_pct)) {
		count(SSTRACE_STAT_RTT_SUPPRESSED);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (last && now - st->last_rtt_ns < cfg_rtt_interval_ns) {
		count(SSTRACE_STAT_RTT_SUPPRESSED);
		return 0;
	}
	read_sock_id(sk, &id);
	r = reserve();
	if (!r)
		return 0;
	r->kind = SSTRACE_REC_RTT;
	r->id = id;
	r->id.cookie = bpf_get_socket_cookie(sk);
	r->owner = st->owner;
	r->rtt.srtt_us = srtt;
	/* 0 = none: srtt is never 0 here (checked above), so last is 0 only
	 * before the first report. */
	r->rtt.prev_srtt_us = last;
	/* tcp_info's tcpi_rttvar: mdev_us is kept scaled by 4 (tcp_rtt_estimator). */
	r->rtt.rttvar_us = BPF_CORE_READ(tp, mdev_us) >> 2;
	r->rtt.min_rtt_us = BPF_CORE_READ(tp, rtt_min.s[0].v);
	r->rtt.snd_cwnd = BPF_CORE_READ(tp, snd_cwnd);
	r->rtt.snd_ssthresh = BPF_CORE_READ(tp, snd_ssthresh);
	r->rtt.packets_out = BPF_CORE_READ(tp, packets_out);
	r->rtt.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	submit(r);
	st->last_srtt_us = srtt;
	st->last_rtt_ns = now;
	return 0;
}

static __always_inline int emit_sock_record(const struct sock *sk, __u32 kind,
					    struct sstrace_record **out)
{
	struct sstrace_sock_id id;
	struct sstrace_record *r;
	struct sock_state *st;

	read_sock_id(sk, &id);
	if (prefilter_drops(&id))
		return -1;
	r = reserve();
	if (!r)
		return -1;
	r->kind = kind;
	r->id = id;
	r->id.cookie = bpf_get_socket_cookie((void *)sk);
	st = bpf_sk_storage_get(&sock_states, (void *)sk, 0, 0);
	if (st)
		r->owner = st->owner;
	*out = r;
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(handle_tcp_retransmit_skb, const struct sock *sk, const struct sk_buff *skb, int err)
{
	struct sstrace_record *r;
	struct sock_state *st;
	__u32 total, segs;

	/* A failed retransmission is not reported; the segments the kernel
	 * counted for it (total_retrans and RetransSegs are added before the
	 * transmit) go with the next successful one, through the delta below. */
	if (err)
		return 0;
	/* segs = the growth of tp->total_retrans since the last record: exactly
	 * what the kernel added to RetransSegs for this socket. The skb's
	 * tcp_gso_segs, read after the transmit, can differ. */
	total = BPF_CORE_READ((const struct tcp_sock *)sk, total_retrans);
	/* No storage for a socket the filter drops (emit_sock_record() below
	 * then counts the drop). */
	st = sock_prefilter_pass(sk)
		 ? bpf_sk_storage_get(&sock_states, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE)
		 : NULL;
	segs = st && st->retrans_base_known ? total - st->last_total_retrans : skb_pcount(skb);
	if (st) {
		st->last_total_retrans = total;
		st->retrans_base_known = 1;
	}
	if (emit_sock_record(sk, SSTRACE_REC_RETRANSMIT, &r))
		return 0;
	r->retransmit.segs = segs;
	r->retransmit.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	submit(r);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(handle_tcp_retransmit_synack, const struct sock *sk, const struct request_sock *req)
{
	struct sstrace_sock_id id;
	struct sstrace_record *r;

	read_reqsk_id(req, &id);
	if (prefilter_drops(&id))
		return 0;
	r = reserve();
	if (!r)
		return 0;
	r->kind = SSTRACE_REC_RETRANSMIT;
	r->id = id;
	/* The request socket has a cookie of its own (the SYN-RECV entry of a
	 * dump), not the listener's and not the future child's. */
	r->id.cookie = bpf_get_socket_cookie((void *)req);
	r->retransmit.segs = 1;
	r->retransmit.state = TCP_SYN_RECV;
	r->retransmit.synack = 1;
	submit(r);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(handle_tcp_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct sstrace_record *r;

	/* No socket: a reset for a segment that matched none. Not a
	 * connection of ours. */
	if (!sk)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_TIME_WAIT ||
	    BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_NEW_SYN_RECV)
		return 0; /* minisocket: no full struct sock behind the pointer */
	if (emit_sock_record(sk, SSTRACE_REC_RESET, &r))
		return 0;
	r->reset.dir = SSTRACE_RESET_SENT;
	r->reset.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	submit(r);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(handle_tcp_receive_reset, struct sock *sk)
{
	struct sstrace_record *r;

	if (emit_sock_record(sk, SSTRACE_REC_RESET, &r))
		return 0;
	r->reset.dir = SSTRACE_RESET_RECEIVED;
	r->reset.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	submit(r);
	return 0;
}

/* Process context: the socket behind a fd of the current task. */
static __always_inline struct sock *sock_of_fd(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *file = NULL;
	struct socket *sock;

	if (fd < 0 || fd >= max)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	/* private_data is a struct socket only for socket files: check the
	 * file's ops are the socket ones via the inode mode (S_IFSOCK). */
	if ((BPF_CORE_READ(file, f_inode, i_mode) & 00170000) != 0140000)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* Tells user space who owns a socket (and its local port, which connect()
 * chooses after the CLOSE -> SYN-SENT transition). */
static __always_inline void emit_owner(long fd)
{
	struct sstrace_sock_id id;
	struct sstrace_record *r;
	struct sock *sk = sock_of_fd(fd);

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return;
	read_sock_id(sk, &id);
	if (id.family != AF_INET && id.family != AF_INET6)
		return;
	if (!prefilter_pass(&id))
		return;
	/* Generated by the first state change we saw; 0 means none was seen
	 * (a socket that never changed state since we attached): nothing to
	 * join with. */
	id.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (!id.cookie)
		return;
	r = reserve();
	if (!r)
		return;
	r->kind = SSTRACE_REC_OWNER;
	r->id = id;
	set_owner_from_current(&r->owner);
	submit(r);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int handle_sys_enter_connect(struct syscall_trace_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s32 fd = (__s32)BPF_CORE_READ(ctx, args[0]);

	bpf_map_update_elem(&connecting, &tid, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int handle_sys_exit_connect(struct syscall_trace_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__s32 *fd = bpf_map_lookup_elem(&connecting, &tid);
	long ret = ctx->ret;

	if (!fd)
		return 0;
	/* 0 or EINPROGRESS: the port is chosen and the socket is ours. */
	if (ret == 0 || ret == -115)
		emit_owner(*fd);
	bpf_map_delete_elem(&connecting, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int handle_sys_exit_accept4(struct syscall_trace_exit *ctx)
{
	if (ctx->ret >= 0)
		emit_owner(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int handle_sys_exit_accept(struct syscall_trace_exit *ctx)
{
	if (ctx->ret >= 0)
		emit_owner(ctx->ret);
	return 0;
}
