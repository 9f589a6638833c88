# Holds N loopback connections (2N sockets + a listener) in this namespace
# and times in-process NETLINK_SOCK_DIAG dumps of TCP over IPv4: SYN-RECV
# states only (sstrace's request check) against every state.
# Usage (root): ip netns add M; ip -n M link set lo up;
#   ip netns exec M python3 bench/syn_recv_dump_cost.py 9000; ip netns del M
import socket, struct, sys, time, resource, statistics
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", 7400)); l.listen(4096)
keep = []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", 7400)); a, _ = l.accept(); keep += [c, a]
def dump(states):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
    req = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, states) + b"\0" * 48
    s.send(struct.pack("=IHHII", 16 + len(req), 20, 0x301, 1, 0) + req)
    count = 0
    while True:
        data = s.recv(65536)
        off = 0
        while off < len(data):
            ln, typ = struct.unpack_from("=IH", data, off)
            if typ == 3:  # NLMSG_DONE
                s.close(); return count
            count += 1
            off += (ln + 3) & ~3
def timed(states, rounds):
    t = []
    for _ in range(rounds):
        t0 = time.perf_counter(); k = dump(states); t.append((time.perf_counter() - t0) * 1000)
    return k, min(t), statistics.median(t)
syn = (1 << 3) | (1 << 12)
print("sockets", 2 * n + 1, "syn-recv only: found %d min %.2f ms median %.2f ms" % timed(syn, 50))
print("sockets", 2 * n + 1, "every state:   found %d min %.2f ms median %.2f ms" % timed(0xffe, 20))
