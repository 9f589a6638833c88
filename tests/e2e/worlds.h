// The socket populations the snapshot tests look at, each in a namespace of
// its own: a small mix with one of nearly everything, the hosts of the two
// ss articles in seeds/ (their public and private addresses moved onto
// 127/8 so nothing leaves the namespace), and a large mixed world spread
// over several processes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace sstrace::e2e {

// One of each: TCP in every state a test can hold cheaply (LISTEN on
// 127.0.0.1, 127.0.0.2, ::1, 0.0.0.0, ::; ESTAB v4/v6 with and without
// keepalive; an unaccepted ESTAB; queues; TIME-WAIT; FIN-WAIT-1/2;
// CLOSE-WAIT; LAST-ACK; CLOSING; SYN-SENT v4/v6; SYN-RECV), UDP bound and connected
// v4/v6, UNIX stream/dgram/seqpacket with path, abstract and unnamed
// sockets, RAW v4/v6, PACKET raw/dgram.
void build_mixed_world(SocketSet& s);

// Addresses of the seed articles, and where they live in the namespace.
struct SeedAddr {
  const char* seed;  // as written in the article
  const char* here;  // its stand-in on 127/8
};
extern const std::vector<SeedAddr> kSeedAddrs;
// Replaces every seed address in a command by its stand-in.
std::string localize_seed_command(std::string cmd);

// The hosts the articles ran ss on: a server 10.0.0.4 with :55544 (v4 and
// v6), :22, connections from 183.240.139.102 and 113.90.165.102 (some with
// data queued), keepalive clients to 23.51.2.3:443 and 140.82.112.25:443,
// listeners on :submission (587) and :hostmon (5355); a host 192.168.1.200
// serving :80 and :25 to 192.168.1.130; UDP and UNIX sockets.
void build_seed_world(SocketSet& s);

// The seed host's sshd (article 2, `ss -atonp`): a process named "sshd"
// holding 10.0.0.4:22 and keepalive connections to it from 113.90.165.102
// and 183.240.139.102.
std::unique_ptr<SocketHolder> start_seed_sshd(const Netns& ns);

// The state names article 1 lists for `ss -4 state FILTER`.
extern const std::vector<std::string> kSeedStateNames;

// About `n` sockets of every kind, spread over `processes` child processes
// (each under 20,000 fds). Returns the holders; they hold until destroyed.
std::vector<std::unique_ptr<SocketHolder>> build_big_world(const Netns& ns, size_t n,
                                                           int processes);

}  // namespace sstrace::e2e
