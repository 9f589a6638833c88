// End-to-end harness: real sockets in network namespaces the tests create,
// the system's ss and the built sstrace run side by side on them.
//
// Everything here is independent of sstrace's own code on purpose: the tests
// are an oracle for it, so they parse what the binary prints and compare it
// with what ss prints, nothing more.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace sstrace::e2e {

using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// Privileges

// Why the e2e tests cannot run here (not root, no network namespaces, no
// BPF, no ip/ss/nft), or "" when they can. Probed once per process.
std::string privilege_problem();

// SSTRACE_REQUIRE_PRIVILEGED=1 (scripts/test.sh and CI): a missing privilege
// is a failure, so that CI can never pass by skipping.
bool privileges_required();

}  // namespace sstrace::e2e

// At the top of every e2e test body (or SetUp): skip with the reason, or fail
// when SSTRACE_REQUIRE_PRIVILEGED=1.
#define SSTRACE_REQUIRE_PRIVILEGES()                                      \
  do {                                                                    \
    const std::string sstrace_why_ = ::sstrace::e2e::privilege_problem(); \
    if (!sstrace_why_.empty()) {                                          \
      if (::sstrace::e2e::privileges_required()) {                        \
        FAIL() << "SSTRACE_REQUIRE_PRIVILEGED=1 but " << sstrace_why_;    \
      }                                                                   \
      GTEST_SKIP() << sstrace_why_;                                       \
    }                                                                     \
  } while (0)

namespace sstrace::e2e {

// ---------------------------------------------------------------------------
// Processes

struct RunResult {
  std::string out;
  std::string err;
  int status = -1;  // exit code; 128 + signal when killed
  bool timed_out = false;
  std::string command;  // for messages

  // stderr split into its non-empty lines.
  std::vector<std::string> err_lines() const;
};

// Runs argv (PATH is searched), feeding `input` on stdin. Kills it after
// `timeout`.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              std::chrono::milliseconds timeout = std::chrono::seconds(120));
// /bin/sh -c cmd.
RunResult run_shell(const std::string& cmd,
                    std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Splits a command line the way a shell would for the commands in the seeds:
// whitespace separates words, '...' and "..." quote. No expansions.
std::vector<std::string> shell_split(const std::string& line);
// The reverse, for messages and for run_shell: quotes words that need it.
std::string shell_join(const std::vector<std::string>& words);

// Path of the sstrace binary under test: SSTRACE_E2E_BINARY from the
// environment (an installed sstrace, or a deliberately broken stand-in to
// check that the tests catch it), else the one this build made.
std::string sstrace_binary();

// ---------------------------------------------------------------------------
// Network namespaces

// `ip netns add sstrace-e2e-<pid>-<n>` with lo up; deleted (with every veth
// end inside it) by the destructor. Sockets created in it keep it alive
// until they are closed, so holders must go first (declare them after it).
class Netns {
 public:
  Netns();
  ~Netns();
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  const std::string& name() const { return name_; }
  // Inode of the namespace (what sstrace reports as `netns`).
  uint64_t inode() const { return inode_; }

  // Runs fn on a thread that has setns()ed into the namespace, and waits.
  // Sockets it creates belong to the namespace; their fds are the process's.
  // Exceptions thrown by fn are rethrown here.
  void run(const std::function<void()>& fn) const;
  template <class F>
  auto call(F&& f) const -> decltype(f()) {
    using R = decltype(f());
    if constexpr (std::is_void_v<R>) {
      run(std::function<void()>(std::forward<F>(f)));
    } else {
      std::optional<R> result;
      run([&] { result.emplace(f()); });
      return std::move(*result);
    }
  }

  // `ip netns exec NAME argv...`.
  RunResult exec(const std::vector<std::string>& argv, const std::string& input = "") const;
  // `nsenter --net=/run/netns/NAME argv...`: the network namespace only.
  // `ip netns exec` (and `ss -N`) also remount /sys for the namespace, which
  // hides the cgroup2 mount: ss then prints cgroup:unreachable:N instead of
  // the path it prints on the host. The reference runs of ss use this.
  RunResult enter(const std::vector<std::string>& argv, const std::string& input = "") const;
  // Same, and throws with the command's stderr unless it exits 0.
  void must(const std::vector<std::string>& argv, const std::string& input = "") const;
  // `nft -f -` inside the namespace.
  void nft(const std::string& script) const;

 private:
  std::string name_;
  uint64_t inode_ = 0;
};

// A veth pair between two namespaces, addressed inside them only (nothing
// is ever routed out of a test namespace): 10.<subnet>.0.1/24 and
// fd00:<subnet>::1/64 on `a`, .2 and ::2 on `b`.
struct VethLink {
  std::string dev_a, dev_b;
  std::string ip4_a, ip4_b, ip6_a, ip6_b;
};
VethLink connect_veth(const Netns& a, const Netns& b, int subnet);

// ---------------------------------------------------------------------------
// Sockets

// Reads TCP states from /proc/thread-self/net/tcp{,6} of the calling
// thread's namespace: {local port, remote port} -> states seen (kernel
// numbering). Used to wait for a transition without depending on sstrace.
std::multimap<std::pair<uint16_t, uint16_t>, int> proc_tcp_states();

// Local port of a socket (getsockname).
uint16_t local_port(int fd);

struct TcpPair {
  int client = -1;
  int server = -1;  // the accepted socket
  uint16_t client_port = 0;
  uint16_t server_port = 0;
};

// Creates sockets inside a namespace and holds their fds until it is
// destroyed. Every method runs inside the namespace and throws
// std::runtime_error with the failing call and errno.
//
// Addresses are text ("127.0.0.1", "::1", "0.0.0.0", "::"); port 0 lets the
// kernel choose. A server bound to a wildcard address is reached through the
// loopback address of its family.
class SocketSet {
 public:
  explicit SocketSet(const Netns& ns);
  ~SocketSet();
  SocketSet(const SocketSet&) = delete;
  SocketSet& operator=(const SocketSet&) = delete;

  const Netns& ns() const { return ns_; }
  size_t size() const { return fds_.size(); }
  // Closes one held fd now.
  void close(int fd);
  // Takes ownership of an fd created elsewhere.
  int adopt(int fd);

  // TCP
  int tcp_listen(const std::string& ip, uint16_t port = 0, int backlog = 128, int rcvbuf = 0);
  // Connects to the listener (accepting the child). client_ip binds the
  // client's source address first (port 0: any); server_ip is the address
  // to connect to (default: the listener's, loopback for a wildcard).
  TcpPair tcp_connect(int listener, const std::string& client_ip = "", uint16_t client_port = 0,
                      const std::string& server_ip = "");
  // Connects without accepting: the connection waits in the listener's
  // accept queue (ESTAB without an inode; the listener's Recv-Q counts it).
  int tcp_connect_unaccepted(int listener);
  // Keepalive on both ends, so `-o` shows timer:(keepalive,...).
  void keepalive(int fd);
  // The active closer after a full close: returns the client port of the
  // connection whose TIME-WAIT minisocket now exists.
  uint16_t tcp_time_wait(int listener, const std::string& client_ip = "");
  // Client shutdown(SHUT_WR), server keeps reading nothing: client
  // FIN-WAIT-2, server CLOSE-WAIT; both fds held.
  TcpPair tcp_fin_wait2(int listener);
  // Client FIN never acknowledged (the server's packets to it are dropped):
  // client FIN-WAIT-1.
  TcpPair tcp_fin_wait1(int listener);
  // Server in CLOSE-WAIT shuts down its side; the client's ACK of that FIN is
  // dropped: server LAST-ACK (client TIME-WAIT).
  TcpPair tcp_last_ack(int listener);
  // Simultaneous close: the client's FIN is dropped and the server sends its
  // own FIN, which the client receives before any ACK of its FIN: client
  // CLOSING, server FIN-WAIT-1.
  TcpPair tcp_closing(int listener);
  // A non-blocking connect whose SYN an nft rule drops: SYN-SENT.
  int tcp_syn_sent(const std::string& ip, uint16_t port, const std::string& client_ip = "");
  // The client's final ACK of the handshake is dropped: the server side is a
  // SYN-RECV request minisocket, the client (returned) thinks ESTAB.
  int tcp_syn_recv(int listener);
  // An established pair with queues: the server does not read `unread`
  // bytes (its Recv-Q); with fill_send the client writes to a small-window
  // peer until it blocks (its Send-Q). The listener must have been made
  // with a small rcvbuf for fill_send to stop soon.
  TcpPair tcp_with_queues(int listener, size_t unread, bool fill_send);

  // UDP
  int udp_bind(const std::string& ip, uint16_t port = 0);
  int udp_connect(const std::string& ip, uint16_t port, const std::string& client_ip = "");

  // UNIX. A name starting with '@' is abstract; other names are made paths
  // inside this set's private directory (returned by unix_path).
  int unix_listen(const std::string& name, int type = 1 /* SOCK_STREAM */);
  std::pair<int, int> unix_connect(const std::string& name);  // {client, accepted}
  std::pair<int, int> unix_socketpair(int type = 1 /* SOCK_STREAM */);
  int unix_dgram(const std::string& name = "");
  std::string unix_path(const std::string& name) const;

  // RAW (family AF_INET / AF_INET6) and PACKET (SOCK_RAW / SOCK_DGRAM).
  // Packet sockets get a filter that keeps nothing: otherwise every packet
  // on lo (retransmissions, probes) grows their Recv-Q between two listings.
  int raw(int family, int protocol);
  int packet(int type, uint16_t eth_protocol);

 private:
  int hold(int fd);
  void ensure_nft_table();
  // Waits until /proc shows the connection {lport, rport} in `state`.
  void wait_state(uint16_t lport, uint16_t rport, int state);

  const Netns& ns_;
  std::vector<int> fds_;
  std::string dir_;  // for UNIX socket paths
  bool nft_ready_ = false;
  std::map<std::string, int> unix_listeners_;  // name -> fd, for unix_connect
};

// A child process that setns()es into the namespace, builds sockets with a
// SocketSet and holds them until this object is destroyed (one process may
// hold at most 20,000 fds, so large worlds use several). Its comm is `comm`
// (ss -p shows it).
class SocketHolder {
 public:
  SocketHolder(const Netns& ns, const std::string& comm,
               const std::function<void(SocketSet&)>& build);
  ~SocketHolder();
  SocketHolder(const SocketHolder&) = delete;
  SocketHolder& operator=(const SocketHolder&) = delete;
  pid_t pid() const { return pid_; }
  size_t sockets() const { return sockets_; }

 private:
  pid_t pid_ = -1;
  int stop_fd_ = -1;  // closing it tells the child to exit
  size_t sockets_ = 0;
};

// Raises RLIMIT_NOFILE's soft limit to the hard one.
void raise_fd_limit();

// In a freshly forked test child: closes every inherited descriptor above
// stderr except `keep`, dies with the parent, and takes the name `comm`.
// A child must hold only its own sockets: an inherited copy would make it a
// second owner (ss -p) or keep a pipe open that a test expects to close.
void become_own_process(const std::string& comm, std::initializer_list<int> keep);

// ---------------------------------------------------------------------------
// ss and sstrace

// `ss ARGS...` inside the namespace (through Netns::enter).
RunResult run_ss(const Netns& ns, const std::vector<std::string>& args);
// `sstrace snapshot -N NS ARGS...`. With SSTRACE_E2E_REFERENCE=ss in the
// environment this runs ss in the namespace instead: the tests then check
// the harness itself (ss against ss must pass, JSON tests aside).
RunResult run_snapshot(const Netns& ns, const std::vector<std::string>& args);

// One row of ss's text output (continuation lines of -e/-i/-m without -O
// joined), split into tokens.
struct SsRow {
  std::vector<std::string> tokens;
  std::string netid;  // "" when the column is not shown
  std::string state;  // "" when the column is not shown
  std::string recv_q, send_q;
  // inet: address text as printed (brackets kept) and port text ("*" or a
  // number or a service name). UNIX: path and inode. PACKET: the whole
  // column in *_addr, "" port.
  std::string local_addr, local_port, peer_addr, peer_port;
  std::vector<std::string> extras;  // Process, -e, -o, -m, -i tokens

  // The value of the first extra token "key:value" (e.g. "sk", "ino"), or "".
  std::string extra(const std::string& key) const;
};

// The row as one line, for messages.
std::string join_tokens(const SsRow& row);

struct SsLayout {
  bool header = true;         // false for -H
  std::optional<bool> netid;  // default: from the header
  std::optional<bool> state;  // default: from the header
  std::string kind = "tcp";   // when there is no Netid column
};

struct SsTable {
  std::string header;  // the header line as printed ("" with -H)
  std::vector<SsRow> rows;
};

SsTable parse_ss(const std::string& text, const SsLayout& layout = {});

// Tokens of a row with what changes by itself over time taken out: timer
// expiries, lastsnd/lastrcv/lastack, busy, rwnd_limited/sndbuf_limited.
// What remains must be identical between ss and sstrace.
std::vector<std::string> stable_tokens(const SsRow& row);

// The listing tool's own netlink sockets ("nl ... tcpdiag:ss/1234"): ss and
// sstrace each see themselves, so such rows are left out of comparisons.
bool is_observer_row(const SsRow& row);

// Order-independent comparison of two outputs as multisets of stable token
// rows. Returns "" when equal, otherwise a readable list of the rows only
// one side has.
std::string diff_rows(const SsTable& expected, const SsTable& actual);

// Which socket a row is about: Netid, local and peer columns (a UNIX
// socket's local "port" is its inode). Rows with the same identity are
// compared as a group.
std::string row_identity(const SsRow& row);

// Compares sstrace's rows with those of two ss runs made just before and
// just after it, socket by socket: each socket's rows in sstrace's output
// must be what one of the two ss runs shows for it (present or absent
// included). Sockets change by themselves (retransmission timers, queues
// filling), each at its own moments, so a whole-output comparison would
// rarely find two identical ss runs in a busy namespace; a per-socket
// bracket needs each socket only to hold still for the length of one run.
// Returns "" when sstrace agrees, otherwise the differing rows.
std::string bracket_diff(const SsTable& before, const SsTable& sstrace, const SsTable& after);

// Runs (ss, sstrace, ss) with the same arguments in the namespace, up to
// eight times until bracket_diff finds no difference.
struct Parity {
  RunResult ss, sstrace;  // ss: the run before sstrace, on the last attempt
  SsTable ss_table, sstrace_table, ss_after_table;
  std::string diff;  // bracket_diff of the last attempt
  int attempts = 0;
};
Parity compare_with_ss(const Netns& ns, const std::vector<std::string>& args,
                       const SsLayout& layout = {});

// Asserts exit statuses 0, identical headers (whitespace aside), the same
// rows; prints both outputs on failure. `min_rows` guards against both
// sides being empty by accident.
::testing::AssertionResult same_as_ss(const Parity& p, size_t min_rows = 1);

// Shorthand: compare_with_ss + same_as_ss.
::testing::AssertionResult snapshot_matches_ss(const Netns& ns, const std::string& args,
                                               size_t min_rows = 1, const SsLayout& layout = {});

// ---------------------------------------------------------------------------
// JSON

// One JSON value per non-empty line; an unparsable line is an error naming
// the line.
std::vector<Json> parse_json_lines(const std::string& text, std::string* error);

// A validator for the subset of JSON Schema that docs/schema/events.schema.json
// uses: type, enum, const, required, properties, additionalProperties,
// patternProperties, items, prefixItems, minItems, maxItems, minimum,
// maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, pattern,
// format (date-time), oneOf, anyOf, allOf, not, if/then/else,
// dependentRequired, and local $ref ("#/$defs/...", "#/definitions/...").
// Unknown keywords are reported, not ignored, so that the schema cannot
// grow a constraint the tests silently do not check.
class JsonSchema {
 public:
  explicit JsonSchema(Json root);
  static JsonSchema load(const std::string& path);  // throws on error
  // Empty when valid; otherwise one message per violation, with its JSON
  // pointer.
  std::vector<std::string> validate(const Json& value) const;
  // Keywords anywhere in the schema that this validator does not check.
  std::vector<std::string> unsupported_keywords() const;

 private:
  void check(const Json& schema, const Json& value, const std::string& where,
             std::vector<std::string>& errors, int depth) const;
  const Json& resolve(const std::string& ref) const;
  Json root_;
};

// The schema file the tests validate against (SSTRACE_SCHEMA_FILE).
const JsonSchema& events_schema();

// Keys for comparing JSON snapshot objects with ss rows as multisets: the
// fields both must agree on. Sockets with addresses (TCP, UDP, RAW, UNIX):
// state, local address:port, peer address:port (no peer: "*" and 0, or
// what ss prints), queues. ss shows a UNIX socket's inode and its peer's in
// the port columns, and so does the JSON (lport, rport). PACKET sockets:
// state, queues and inode (ss -e's ino:).
std::string json_socket_key(const Json& obj);
std::string ss_row_key(const SsRow& row);

// Compares one socket's details in JSON with its ss row, for what the ss
// row shows: timer name and retransmissions (-o), uid, inode and cookie
// (-e), skmem (-m), tcp_info and congestion control (-i), users (-p).
// Returns one line per difference.
std::vector<std::string> compare_json_details(const SsRow& row, const Json& obj);

// Compares `sstrace snapshot ARGS --json` with `ss ARGS -e` in the
// namespace: every line valid against the schema, type "snapshot", netns
// the namespace's inode, the same sockets (keys above), each ss row with a
// cookie (sk:) matched by cookie and each UNIX/PACKET row by inode, and for
// those pairs compare_json_details. Bracketed by two ss runs socket by
// socket, like compare_with_ss.
::testing::AssertionResult json_matches_ss(const Netns& ns, const std::string& args,
                                           size_t min_rows = 1);

// ---------------------------------------------------------------------------
// ss -s

struct SsSummary {
  long total = -1;
  long tcp_total = -1, estab = -1, closed = -1, orphaned = -1, timewait = -1;
  // RAW, UDP, TCP, INET, FRAG -> {Total, IP, IPv6}
  std::map<std::string, std::vector<long>> transport;
};
std::optional<SsSummary> parse_summary(const std::string& text);

// `sstrace snapshot ARGS` (ARGS containing -s) against `ss ARGS` in the
// namespace, on the numbers that belong to the namespace and hold still:
// Total (up to the listing tools' own sockets, see the .cpp), estab,
// timewait and the whole Transport table. TCP's total, closed and orphaned
// come from host-wide counters (tcp_sockets_allocated, tcp_orphan_count)
// that any other process on the host moves, so they are only checked for
// being present.
::testing::AssertionResult summary_matches_ss(const Netns& ns, const std::string& args = "-s");

// ---------------------------------------------------------------------------
// Shell pipelines from the seeds

// Runs a pipeline as written (`ss -mtO | grep 55544 | head -n 2`) inside the
// namespace, once with ss and once with `sstrace snapshot` put where the
// pipeline says `ss`, and compares the output lines as multisets of tokens
// (header lines without their whitespace, time-dependent values as in
// stable_tokens). Stable against sockets changing, like compare_with_ss.
::testing::AssertionResult pipeline_matches_ss(const Netns& ns, const std::string& pipeline,
                                               size_t min_lines = 1);
// The pipeline with every `ss` command replaced by `replacement`.
std::string replace_ss_command(const std::string& pipeline, const std::string& replacement);

}  // namespace sstrace::e2e
