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
 *                                  owner and local port, learned in process context;
 *                                  connect_error records
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

/* connect_call.flags */
enum {
	/* The socket was SS_UNCONNECTED at entry: this call starts an attempt
	 * (a second connect() on a failed attempt returns that attempt's error,
	 * already reported by its close). */
	CONNECT_FRESH = 1 << 0,
	CONNECT_SAW_SYN_SENT = 1 << 1, /* CLOSE -> SYN-SENT during this call */
	CONNECT_UNDONE = 1 << 2,       /* SYN-SENT -> CLOSE during it, no socket error */
};

/* A TCP connect() in flight, by tid: the socket (to know its transitions
 * from others' when a softirq runs on this task), its fd (for the owner at
 * exit) and the destination the caller asked for (for connect_error). */
struct connect_call {
	__u64 sk;
	__s32 fd;
	__u16 family;
	__u16 dport;
	__u8 daddr[SSTRACE_ADDR_LEN];
	__u32 flags;
	__u32 pad0;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct connect_call);
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

/* connect() reports CLOSE -> SYN-SENT before it chooses the local port
 * (tcp_v4_connect() sets SYN-SENT, then inet_hash_connect() picks the port),
 * so a local-port prefilter cannot judge that transition yet. */
static __always_inline bool local_port_unchosen(const struct sstrace_sock_id *id, int oldstate,
						int newstate)
{
	return oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT && id->sport == 0;
}

/* A CLOSE -> SYN-SENT the local-port prefilter could not judge, held back
 * by socket until the port is chosen: released (judged by the real port)
 * by the connect() syscall's exit, or before any later record of the socket
 * (a state change out of SYN-SENT, a SYN retransmission, a reset), so that
 * a socket's records keep the kernel's order. Every entry leaves with the
 * socket's next transition at the latest (SYN-SENT always ends in ESTAB or
 * CLOSE). Only used with a local-port prefilter (cfg_n_lports). */
struct held_syn_sent {
	__u64 ts_ns;
	__u64 enter_ns; /* when CLOSE was entered, 0 = unknown */
	struct sstrace_owner owner;
	__u8 flags; /* sstrace_state.flags of the held record */
	__u8 pad0[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct sock * */
	__type(value, struct held_syn_sent);
} held_syn_sents SEC(".maps");

/* Emits the held CLOSE -> SYN-SENT of sk, if any, judged by the local port
 * connect() chose (0 if it failed before choosing one). Callable from the
 * classic syscall tracepoints: no helper beyond map, ring buffer and reads
 * (the cookie was made at the transition itself). */
static __always_inline void release_held_syn_sent(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct held_syn_sent *h;
	struct sstrace_record *r;
	struct sstrace_sock_id id;

	if (!cfg_n_lports)
		return;
	h = bpf_map_lookup_elem(&held_syn_sents, &key);
	if (!h)
		return;
	read_sock_id(sk, &id);
	if (!prefilter_drops(&id)) {
		r = reserve();
		if (r) {
			r->ts_ns = h->ts_ns;
			r->kind = SSTRACE_REC_STATE;
			r->id = id;
			r->id.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
			r->owner = h->owner;
			r->state.old_state = TCP_CLOSE;
			r->state.new_state = TCP_SYN_SENT;
			r->state.flags = h->flags;
			if (h->enter_ns) {
				r->state.enter_ns = h->enter_ns;
				r->state.flags |= SSTRACE_STATE_ENTER_KNOWN;
			}
			submit(r);
		}
	}
	bpf_map_delete_elem(&held_syn_sents, &key);
}

/* Holds sk's CLOSE -> SYN-SENT (see held_syn_sents). False when the map is
 * full: the record is then judged now, by port 0, as before. */
static __always_inline bool hold_syn_sent(const struct sock *sk, const struct sock_state *st,
					  __u64 now, __u8 flags)
{
	__u64 key = (__u64)sk;
	struct held_syn_sent h = {};

	h.ts_ns = now;
	h.flags = flags;
	if (st) {
		h.enter_ns = st->enter_ns;
		h.owner = st->owner;
	}
	return bpf_map_update_elem(&held_syn_sents, &key, &h, BPF_ANY) == 0;
}

/* Why a connection died before ESTABLISHED: the kernel sets sk_err before
 * tcp_done() moves the socket to CLOSE (tcp_done_with_error()): ECONNREFUSED
 * from tcp_reset() in SYN-SENT, sk_err_soft ?: ETIMEDOUT from tcp_write_err()
 * when the SYNs ran out, the ICMP error from tcp_v4_err()/tcp_v6_err() (an
 * unreachable in SYN-SENT is fatal there). sk_err_soft alone is what an ICMP
 * error left while the socket was owned by the user. */
static __always_inline __u8 connect_error_of(const struct sock *sk)
{
	int err = BPF_CORE_READ(sk, sk_err);

	if (!err)
		err = BPF_CORE_READ(sk, sk_err_soft);
	return err > 0 && err < 256 ? err : 0;
}

/* Follows the socket's transitions made inside its own connect() (the call
 * in connecting[tid], for this very socket: a softirq running on a task in
 * connect() may be moving another socket). True for SYN-SENT -> CLOSE with no
 * socket error: connect() undoing its SYN-SENT (see SSTRACE_STATE_IN_CONNECT). */
static __always_inline bool note_connect_transition(const struct sock *sk, int oldstate,
						    int newstate, __u8 sk_err)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct connect_call *call;

	if (!(oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) &&
	    !(oldstate == TCP_SYN_SENT && newstate == TCP_CLOSE))
		return false;
	call = bpf_map_lookup_elem(&connecting, &tid);
	if (!call || call->sk != (__u64)sk)
		return false;
	if (newstate == TCP_SYN_SENT) {
		call->flags |= CONNECT_SAW_SYN_SENT;
		return false;
	}
	if (sk_err)
		return false;
	call->flags |= CONNECT_UNDONE;
	return true;
}

static __always_inline int on_state_change(const struct sock *sk, const int oldstate,
					   const int newstate)
{
	struct sstrace_sock_id id;
	struct sstrace_record *r;
	struct sock_state *st;
	bool dropped, held, undone = false;
	__u8 sk_err = 0, flags = 0;
	__u64 now;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_CLOSE && (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV))
		sk_err = connect_error_of(sk);
	/* Before the prefilter: sys_exit_connect judges by these whatever the
	 * filter shows. */
	if (oldstate == TCP_CLOSE || newstate == TCP_CLOSE)
		undone = note_connect_transition(sk, oldstate, newstate, sk_err);
	if (oldstate == TCP_SYN_SENT)
		release_held_syn_sent(sk);
	read_sock_id(sk, &id);
	/* Judged later, by the port connect() chooses (hold_syn_sent()). */
	held = cfg_n_lports && local_port_unchosen(&id, oldstate, newstate) &&
	       (!cfg_netns || id.netns == cfg_netns) && (!cfg_family || id.family == cfg_family);
	dropped = !held && prefilter_drops(&id);
	if (dropped)
		return 0;
	/* Generates the cookie if the socket has none yet, so that a timewait
	 * minisocket made from it later inherits it (inet_twsk_alloc copies
	 * sk_cookie only if set). */
	id.cookie = bpf_get_socket_cookie((void *)sk);

	st = bpf_sk_storage_get(&sock_states, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st)
		count(SSTRACE_STAT_NO_STORAGE);

	if (st && in_owner_context(oldstate, newstate) && !current_is_kthread()) {
		set_owner_from_current(&st->owner);
		flags |= SSTRACE_STATE_PROCESS_CONTEXT;
	}
	/* Not at -> CLOSE: a close() that ends the connection at once (SO_LINGER
	 * 0, unread data) leaves nothing behind to orphan, and the minisocket
	 * handover is told by timewait_flags(). */
	if (newstate != TCP_CLOSE && sock_orphaned(sk))
		flags |= SSTRACE_STATE_ORPHAN;
	now = bpf_ktime_get_ns();
	if (held && hold_syn_sent(sk, st, now, flags))
		r = NULL;
	else if (held && prefilter_drops(&id))
		r = NULL;
	else
		r = reserve();
	if (r) {
		r->ts_ns = now;
		r->kind = SSTRACE_REC_STATE;
		r->id = id;
		r->state.old_state = oldstate;
		r->state.new_state = newstate;
		r->state.flags = flags;
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
		if (newstate == TCP_CLOSE && (oldstate == TCP_SYN_SENT || oldstate == TCP_SYN_RECV))
			r->state.sk_err = sk_err;
		if (undone)
			r->state.flags |= SSTRACE_STATE_IN_CONNECT;
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

/* The kernel runs a tracing program at most once per CPU at a time: a state
 * change in a softirq that interrupts handle_inet_sock_set_state on its CPU
 * (a socket's process-context close() when a packet arrives for another) is
 * skipped, counted only in the program's recursion_misses. A second program
 * on the same tracepoint, attached after the first so that it runs after it,
 * is not running then and handles the change instead. The first marks on its
 * CPU the change it is handling; the second, finding its own change marked,
 * knows the first handled it (the common case: one map lookup and a few
 * compares). A change the second finds unmarked is one the first skipped.
 *
 * The marks are a few slots, not one, because the second can itself be
 * interrupted (tracepoints run with preemption off, so only by interrupts):
 * a softirq's batch of packets then makes changes the first handles and
 * marks while the second is skipped for them, and the second must still
 * find its own mark afterwards. So the first writes into a free slot (one
 * the second has taken), or when none is free over the newest mark, never
 * over the older one the interrupted second is looking for; and the second,
 * when done, clears the marks written since it started (numbered by a
 * per-CPU sequence), whose own second runs were skipped. Nothing is lost
 * unless both are skipped; the first's misses less the second's rescues are
 * the losses (SSTRACE_STAT_RESCUED). */
struct state_mark {
	__u64 sk;
	__u64 seq;
	__s32 oldstate;
	__s32 newstate;
};

#define STATE_MARKS 4

struct state_marks {
	__u64 seq;
	struct state_mark slot[STATE_MARKS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct state_marks);
} state_marks SEC(".maps");

/* A free slot, else the one with the newest mark. */
static __always_inline struct state_mark *slot_for_mark(struct state_marks *m)
{
	struct state_mark *newest = &m->slot[0];

	for (int i = 0; i < STATE_MARKS; i++) {
		struct state_mark *mark = &m->slot[i];

		if (!mark->sk)
			return mark;
		if (mark->seq > newest->seq)
			newest = mark;
	}
	return newest;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	__u32 zero = 0;
	struct state_marks *m = bpf_map_lookup_elem(&state_marks, &zero);

	if (m) {
		struct state_mark *mark = slot_for_mark(m);

		mark->sk = (__u64)sk;
		mark->seq = ++m->seq;
		mark->oldstate = oldstate;
		mark->newstate = newstate;
	}
	return on_state_change(sk, oldstate, newstate);
}

/* Finds and clears the mark the first program left for this change, among
 * those written before the second started (`before`). */
static __always_inline bool take_state_mark(struct state_marks *m, const struct sock *sk,
					    int oldstate, int newstate, __u64 before)
{
	for (int i = 0; i < STATE_MARKS; i++) {
		struct state_mark *mark = &m->slot[i];

		if (mark->sk == (__u64)sk && mark->seq <= before && mark->oldstate == oldstate &&
		    mark->newstate == newstate) {
			mark->sk = 0;
			return true;
		}
	}
	return false;
}

/* Marks written after `since`: by changes that interrupted this run of the
 * second program, which was skipped for them. Nobody will take them. */
static __always_inline void clear_marks_since(struct state_marks *m, __u64 since)
{
	for (int i = 0; i < STATE_MARKS; i++)
		if (m->slot[i].seq > since)
			m->slot[i].sk = 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(rescue_inet_sock_set_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	__u32 zero = 0;
	struct state_marks *m = bpf_map_lookup_elem(&state_marks, &zero);
	__u64 started;
	bool handled;

	if (!m)
		return 0;
	started = m->seq;
	handled = take_state_mark(m, sk, oldstate, newstate, started);
	if (!handled && sk->sk_protocol == IPPROTO_TCP) {
		count(SSTRACE_STAT_RESCUED);
		on_state_change(sk, oldstate, newstate);
	}
	clear_marks_since(m, started);
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

	/* A SYN retransmitted or a reset received in SYN-SENT comes after the
	 * SYN-SENT itself. */
	if (cfg_n_lports && BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
		release_held_syn_sent(sk);
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

/* A reset for a segment that matched no socket (a closed port): its
 * endpoints from the segment, seen from our side (its destination is our
 * local end). Cookie 0: there is no socket. */
static __always_inline bool read_skb_id(const struct sk_buff *skb, struct sstrace_sock_id *id)
{
	unsigned char *head;
	__u16 nh, th, proto;
	struct tcphdr tcp;

	__builtin_memset(id, 0, sizeof(*id));
	if (!skb)
		return false;
	head = BPF_CORE_READ(skb, head);
	nh = BPF_CORE_READ(skb, network_header);
	th = BPF_CORE_READ(skb, transport_header);
	proto = __builtin_bswap16(BPF_CORE_READ(skb, protocol));
	if (bpf_probe_read_kernel(&tcp, sizeof(tcp), head + th))
		return false;
	if (proto == 0x0800) { /* ETH_P_IP */
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return false;
		id->family = AF_INET;
		__builtin_memcpy(id->saddr, &ip.daddr, 4);
		__builtin_memcpy(id->daddr, &ip.saddr, 4);
	} else if (proto == 0x86DD) { /* ETH_P_IPV6 */
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return false;
		id->family = AF_INET6;
		__builtin_memcpy(id->saddr, &ip6.daddr, 16);
		__builtin_memcpy(id->daddr, &ip6.saddr, 16);
	} else {
		return false;
	}
	id->sport = __builtin_bswap16(tcp.dest);
	id->dport = __builtin_bswap16(tcp.source);
	id->netns = BPF_CORE_READ(skb, dev, nd_net.net, ns.inum);
	return true;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(handle_tcp_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct sstrace_sock_id id;
	struct sstrace_record *r;
	int state = TCP_CLOSE;

	if (sk) {
		state = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
			return 0; /* minisocket: no full struct sock behind the pointer */
		if (emit_sock_record(sk, SSTRACE_REC_RESET, &r))
			return 0;
	} else {
		if (!read_skb_id(skb, &id) || prefilter_drops(&id))
			return 0;
		r = reserve();
		if (!r)
			return 0;
		r->kind = SSTRACE_REC_RESET;
		r->id = id;
	}
	r->reset.dir = SSTRACE_RESET_SENT;
	r->reset.state = state;
	/* The tracepoint's third argument, enum sk_rst_reason (the rstreason
	 * series, v6.10): absent before, where ctx[2] must not be read. */
	if (bpf_core_field_exists(struct trace_event_raw_tcp_send_reset, reason)) {
		r->reset.reason = (__u32)ctx[2];
		r->reset.has_reason = 1;
	}
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
static __always_inline struct socket *socket_of_fd(long fd)
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
	return sock;
}

static __always_inline struct sock *sock_of_fd(long fd)
{
	struct socket *sock = socket_of_fd(fd);

	return sock ? BPF_CORE_READ(sock, sk) : NULL;
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
	struct connect_call call = {};
	const void *uaddr = (const void *)BPF_CORE_READ(ctx, args[1]);
	struct socket *sock;
	struct sock *sk;

	call.fd = (__s32)BPF_CORE_READ(ctx, args[0]);
	sock = socket_of_fd(call.fd);
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0; /* only TCP connects are followed */
	call.sk = (__u64)sk;
	if (BPF_CORE_READ(sock, state) == SS_UNCONNECTED)
		call.flags |= CONNECT_FRESH;
	/* struct sockaddr_in / sockaddr_in6: family, port, then the address
	 * (after sin6_flowinfo for IPv6). */
	bpf_probe_read_user(&call.family, sizeof(call.family), uaddr);
	if (call.family == AF_INET) {
		bpf_probe_read_user(&call.dport, 2, uaddr + 2);
		bpf_probe_read_user(call.daddr, 4, uaddr + 4);
	} else if (call.family == AF_INET6) {
		bpf_probe_read_user(&call.dport, 2, uaddr + 2);
		bpf_probe_read_user(call.daddr, 16, uaddr + 8);
	}
	call.dport = __builtin_bswap16(call.dport);
	bpf_map_update_elem(&connecting, &tid, &call, BPF_ANY);
	return 0;
}

/* Errors of connect() that are not a failed attempt (in progress, already
 * connected, interrupted: include/uapi/asm-generic/errno.h), and the
 * kernel-internal restart codes (>= 512, include/linux/errno.h) a signal
 * turns into EINTR or a restart. */
static __always_inline bool is_attempt_error(long err)
{
	return err > 0 && err < 512 && err != 115 /* EINPROGRESS */ && err != 114 /* EALREADY */ &&
	       err != 106 /* EISCONN */ && err != 4 /* EINTR */;
}

/* connect() failed and the socket never left CLOSE (or left it only to be
 * put back by connect() itself, before any SYN: see
 * SSTRACE_STATE_IN_CONNECT). Errors after a SYN went out are the close's. */
static __always_inline void emit_connect_error(const struct connect_call *call, long err)
{
	struct sock *sk = (struct sock *)call->sk;
	struct sstrace_sock_id id;
	struct sstrace_record *r;

	if (!(call->flags & CONNECT_FRESH))
		return;
	if ((call->flags & CONNECT_SAW_SYN_SENT) && !(call->flags & CONNECT_UNDONE))
		return;
	read_sock_id(sk, &id); /* the local end, as far as bound */
	if (id.family != AF_INET && id.family != AF_INET6)
		return;
	/* The destination asked for, where the sockaddr is of the socket's
	 * family (a mismatch fails with EAFNOSUPPORT: the address stays "*"). */
	id.dport = call->dport;
	if (call->family == AF_INET && id.family == AF_INET)
		__builtin_memcpy(id.daddr, call->daddr, 4);
	else if (call->family == AF_INET6 && id.family == AF_INET6)
		__builtin_memcpy(id.daddr, call->daddr, SSTRACE_ADDR_LEN);
	if (prefilter_drops(&id))
		return;
	/* A cookie only if one was ever made (no helper makes one here). */
	id.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	r = reserve();
	if (!r)
		return;
	r->kind = SSTRACE_REC_CONNECT_ERROR;
	r->id = id;
	set_owner_from_current(&r->owner);
	r->connect_error.err = err;
	submit(r);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int handle_sys_exit_connect(struct syscall_trace_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct connect_call *call = bpf_map_lookup_elem(&connecting, &tid);
	long ret = ctx->ret;

	if (!call)
		return 0;
	release_held_syn_sent((const struct sock *)call->sk);
	/* 0 or EINPROGRESS: the port is chosen and the socket is ours. */
	if (ret == 0 || ret == -115)
		emit_owner(call->fd);
	else if (is_attempt_error(-ret))
		emit_connect_error(call, -ret);
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
