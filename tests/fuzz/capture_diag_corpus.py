#!/usr/bin/env python3
"""Captures real NETLINK_SOCK_DIAG replies as seeds for sstrace_diag_fuzz.

Run as root on a host (or in a namespace) with sockets of every kind open;
tests/fuzz/corpus/diag/ holds what it wrote on the reference machine (kernel
6.18) with the sockets make_sockets() opens. Each seed is the fuzzer's
selector byte (diag_fuzz.cpp: the inet protocol, or /proc lines) followed by
the replies exactly as they arrived: one datagram per file, cut to at most
MAX_MSGS messages, and the dump's NLMSG_DONE on its own. Requests ask for
every attribute, as `ss -tuxwpeim0 --netlink` would.

    ip netns exec NS tests/fuzz/capture_diag_corpus.py tests/fuzz/corpus/diag
"""
import os
import socket
import struct
import sys

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE = 3
MAX_MSGS = 8
SEL_TCP, SEL_UDP, SEL_RAW, SEL_PROC, SEL_PROC6 = 0, 1, 2, 0x80, 0xC0


def request(payload):
    return struct.pack("=IHHII", 16 + len(payload), SOCK_DIAG_BY_FAMILY,
                       NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + payload


def inet_req(family, proto):
    # struct inet_diag_req_v2 (linux/inet_diag.h): every state, every
    # extension bit (INET_DIAG_MEMINFO .. INET_DIAG_SKMEMINFO and beyond).
    sockid = b"\0" * 48
    return request(struct.pack("=BBBxI", family, proto, 0xFF, 0xFFFFFFFF) + sockid)


def unix_req():
    # struct unix_diag_req: UDIAG_SHOW_NAME|VFS|PEER|ICONS|RQLEN|MEMINFO|UID.
    return request(struct.pack("=BBHIIIII", socket.AF_UNIX, 0, 0, 0xFFFFFFFF, 0, 0x7F, 0, 0))


def packet_req():
    # struct packet_diag_req: PACKET_SHOW_INFO|MCLIST|RING_CFG|FANOUT|MEMINFO|FILTER.
    return request(struct.pack("=BBHIII", socket.AF_PACKET, 0, 0, 0, 0x3F, 0) + b"\0" * 4)


def netlink_req():
    # struct netlink_diag_req: every protocol, NDIAG_SHOW_MEMINFO|GROUPS|RING|FLAGS.
    return request(struct.pack("=BBHIII", socket.AF_NETLINK, 255, 0, 0, 0xF, 0) + b"\0" * 4)


def dump(req):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    s.send(req)
    datagrams = []
    while True:
        d = s.recv(65536)
        datagrams.append(d)
        off, done = 0, False
        while off + 16 <= len(d):
            ln, typ = struct.unpack_from("=IH", d, off)
            done = done or typ == NLMSG_DONE or typ == 2
            off += (ln + 3) & ~3
        if done:
            return datagrams


def messages(d):
    off = 0
    while off + 16 <= len(d):
        (ln,) = struct.unpack_from("=I", d, off)
        yield d[off:off + ln]
        off += (ln + 3) & ~3


def make_sockets():
    keep = []
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.bind(("127.0.0.1", 0))
    lst.listen()
    cli = socket.create_connection(lst.getsockname())
    srv, _ = lst.accept()
    cli.send(b"x" * 5000)  # unread bytes: a Recv-Q
    tw = socket.create_connection(lst.getsockname())
    tws, _ = lst.accept()
    tw.close()
    tws.close()  # the client side goes FIN-WAIT-2 / TIME-WAIT
    l6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    l6.bind(("::1", 0))
    l6.listen()
    c6 = socket.create_connection(l6.getsockname()[:2])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u6.bind(("::1", 0))
    ux = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ux.bind("\0sstrace-fuzz-abstract")
    ux.listen()
    upath = "/tmp/sstrace-fuzz.sock"
    if os.path.exists(upath):
        os.unlink(upath)
    ud = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ud.bind(upath)
    pa, pb = socket.socketpair()
    pk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    nl.bind((0, 1))
    keep += [lst, cli, srv, tw, tws, l6, c6, u, u6, ux, ud, pa, pb, pk, nl]
    return keep


def write(outdir, name, sel, data):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(bytes([sel]) + data)


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    keep = make_sockets()
    reqs = [
        ("tcp4", SEL_TCP, inet_req(socket.AF_INET, socket.IPPROTO_TCP)),
        ("tcp6", SEL_TCP, inet_req(socket.AF_INET6, socket.IPPROTO_TCP)),
        ("udp4", SEL_UDP, inet_req(socket.AF_INET, socket.IPPROTO_UDP)),
        ("udp6", SEL_UDP, inet_req(socket.AF_INET6, socket.IPPROTO_UDP)),
        ("unix", SEL_TCP, unix_req()),
        ("packet", SEL_TCP, packet_req()),
        ("netlink", SEL_TCP, netlink_req()),
    ]
    for name, sel, req in reqs:
        for i, d in enumerate(dump(req)):
            msgs = list(messages(d))
            body = [m for m in msgs if struct.unpack_from("=H", m, 4)[0] != NLMSG_DONE]
            done = [m for m in msgs if struct.unpack_from("=H", m, 4)[0] == NLMSG_DONE]
            if body:
                write(outdir, f"{name}-{i}", sel, b"".join(body[:MAX_MSGS]))
                write(outdir, f"{name}-{i}-one", sel, body[0])
            if done:
                write(outdir, f"{name}-done", sel, done[0])
    for name, sel in (("tcp", SEL_PROC), ("tcp6", SEL_PROC6)):
        with open(f"/proc/net/{name}", "rb") as f:
            write(outdir, f"proc-{name}", sel, f.read()[:4096])
    del keep


if __name__ == "__main__":
    main()
