// SPDX-License-Identifier: GPL-2.0
/* sstrace kernel side: see docs/ARCHITECTURE.md. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sstrace/events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
	struct sstrace_record *r;

	if (sk->__sk_common.skc_family != 2 && sk->__sk_common.skc_family != 10)
		return 0;
	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	r->kind = SSTRACE_REC_STATE;
	r->ts_ns = bpf_ktime_get_ns();
	r->id.cookie = bpf_get_socket_cookie((void *)sk);
	r->state.old_state = oldstate;
	r->state.new_state = newstate;
	bpf_ringbuf_submit(r, 0);
	return 0;
}
