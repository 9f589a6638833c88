// SPDX-License-Identifier: GPL-2.0
/*
 * Who holds which socket, for ss -p: one pass of an iter/task_file program
 * over every open file of every process, writing one struct
 * sstrace_socket_fd per socket descriptor. It replaces a readlink() per
 * descriptor under /proc/<pid>/fd (src/sys/procfs.cpp), which costs most of
 * start-up on a host with a hundred thousand sockets.
 *
 * It lists what /proc/<pid>/fd lists, in the numbers /proc shows:
 *   - processes only: the kernel already skips threads that share their
 *     leader's descriptor table, and a thread with a table of its own
 *     (unshare(CLONE_FILES)) is in /proc/<pid>/task/<tid>/fd, not in
 *     /proc/<pid>/fd, so only thread-group leaders are reported;
 *   - sockets only: bpf_sock_from_file() is the kernel's own test
 *     (f_op == &socket_file_ops), the one that makes readlink() say
 *     "socket:[N]"; an O_PATH descriptor of a socket's path is no socket;
 *   - pids as numbered in the reader's pid namespace (the one the iterator
 *     walks); user space checks that /proc is that namespace's.
 * bpf_sock_from_file() needs 5.11; without it the load fails and user space
 * falls back to /proc.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "sstrace/events.h"

char LICENSE[] SEC("license") = "GPL";

/* include/linux/sched.h, include/linux/pid_namespace.h */
#define PF_WQ_WORKER 0x00000020
#define PF_KTHREAD 0x00200000
#define MAX_PID_NS_LEVEL 32

/* Set by user space between open and load. */
const volatile __u32 cfg_netns = 0; /* 0: sockets of every network namespace */

static __always_inline bool in_wanted_netns(const struct socket *sock)
{
	if (!cfg_netns)
		return true;
	const struct sock *sk = sock->sk;
	/* No sock (a socket being torn down): no sock_diag dump shows it. */
	return sk && sk->__sk_common.skc_net.net->ns.inum == cfg_netns;
}

/* The leader's pid in the pid namespace at `level` (the reader's). At
 * level 0, the usual case, that is the global tgid. */
static __always_inline __u32 pid_at_level(const struct task_struct *leader, __u32 level)
{
	if (level == 0)
		return leader->tgid;
	if (level > MAX_PID_NS_LEVEL)
		return 0;
	/* numbers[] is indexed by a variable: read through a plain pointer. */
	struct pid *pid = BPF_CORE_READ(leader, thread_pid);
	int nr = 0;
	bpf_core_read(&nr, sizeof(nr), &pid->numbers[level].nr);
	return nr;
}

SEC("iter/task_file")
int list_socket_fds(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	if (!task || !file || task->pid != task->tgid)
		return 0;
	struct socket *sock = bpf_sock_from_file(file);
	if (!sock || !in_wanted_netns(sock))
		return 0;

	/* The iterator walks the pid namespace of the task that read()s it. */
	struct task_struct *reader = bpf_get_current_task_btf();
	struct sstrace_socket_fd rec = {};
	rec.pid = pid_at_level(task, reader->thread_pid->level);
	if (!rec.pid)
		return 0;
	rec.inode = file->f_inode->i_ino;
	rec.fd = ctx->fd;
	if (task->flags & (PF_KTHREAD | PF_WQ_WORKER))
		rec.flags |= SSTRACE_SOCKET_FD_KERNEL_THREAD;
	bpf_probe_read_kernel(rec.comm, sizeof(rec.comm), task->comm);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
