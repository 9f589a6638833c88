// SPDX-License-Identifier: GPL-2.0
/*
 * The churn benchmark's ground truth: every TCP state transition the kernel
 * reports in one namespace, and every transition to CLOSE, counted per CPU.
 * A tp_btf program has a recursion guard of its own (bpf_trace_run*), so it
 * never skips an event because another tracer's program is running, as a
 * classic-tracepoint program (bpftrace's, tcpstates') does when they share
 * bpf_prog_active. Its own skips are in the program's recursion_misses.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 cfg_netns = 0;

enum { COUNT_ALL, COUNT_CLOSE, COUNT__MAX };

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	if (v)
		(*v)++;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(count_transition, const struct sock *sk, const int oldstate, const int newstate)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != cfg_netns)
		return 0;
	bump(COUNT_ALL);
	if (newstate == TCP_CLOSE)
		bump(COUNT_CLOSE);
	return 0;
}
