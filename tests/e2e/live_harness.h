// What the live-stream tests need beyond harness.h: the sstrace live stream
// as a child process whose JSON lines are collected while it runs, worker
// processes (a client, a server: separate pids, so that an event's pid says
// which process the kernel attributed it to) scripted over a pipe, a reader
// of the namespace's SNMP counters, `ss -tane` as (cookie, state, endpoints)
// rows, and the checks every live test makes on a whole stream.
//
// Like harness.h, nothing here uses sstrace's own code: the tests are its
// oracle.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace sstrace::e2e {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// The live stream

// `sstrace [COMMAND] --json -N NS ARGS...`, started at construction. A reader thread
// collects stdout line by line (each parsed as JSON) and stderr, so that
// sstrace never blocks on a full pipe: a test that stops reading must not be
// able to cause `lost` events.
class LiveTrace {
 public:
  struct Config {
    std::vector<std::string> args;  // after --json -N NS
    // Close our end of sstrace's stdout after this many lines (0: never):
    // a reader that goes away early.
    size_t close_stdout_after = 0;
    // Words before the options (e.g. {"top"}), and whether --json is given
    // (without it, lines() has the text and events() nulls).
    std::vector<std::string> command;
    bool json = true;
  };
  LiveTrace(const Netns& ns, Config cfg);
  explicit LiveTrace(const Netns& ns) : LiveTrace(ns, Config{}) {}
  ~LiveTrace();
  LiveTrace(const LiveTrace&) = delete;
  LiveTrace& operator=(const LiveTrace&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& command() const { return command_; }

  // Everything read so far. Lines that are not JSON are kept as null values
  // (raw text in lines()).
  std::vector<Json> events() const;
  std::vector<std::string> lines() const;
  size_t size() const;
  std::string err() const;

  // Waits until an event at index >= from satisfies pred; returns its index,
  // or nullopt at the deadline or when stdout ends.
  std::optional<size_t> wait_for(const std::function<bool(const Json&)>& pred,
                                 std::chrono::milliseconds timeout, size_t from = 0) const;
  // Index of the `sync` event (nullopt: it did not come in time).
  std::optional<size_t> wait_sync(std::chrono::milliseconds timeout = 60s) const;

  // SIGUSR1, then waits for the table_end it causes; returns the table
  // events written just before it (the whole table, contiguous) and the
  // table_end itself as the last element. Empty when nothing came.
  std::vector<Json> dump_table(std::chrono::milliseconds timeout = 30s);

  void signal(int sig) const;
  // SIGINT and wait. Returns the exit status (128+N when killed by signal
  // N; -1 when it had to be killed after the timeout).
  int stop(std::chrono::milliseconds timeout = 30s);
  // Waits for it to exit by itself; -1 on timeout (it is left running).
  int wait_exit(std::chrono::milliseconds timeout);
  bool exited() const { return status_.has_value(); }
  // Everything we know, for failure messages: command, status, stderr, the
  // last lines of stdout.
  std::string describe(size_t last_lines = 40) const;

 private:
  void reader(int out_fd, int err_fd);

  std::string command_;
  pid_t pid_ = -1;
  std::optional<int> status_;
  size_t close_after_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::string> lines_;
  std::vector<Json> events_;
  std::string err_;
  bool out_done_ = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// Worker processes

// The child's end of a Worker's control pipe: one line per message.
class Channel {
 public:
  Channel(int in, int out) : in_(in), out_(out) {}
  // Blocks for the next line; "" at EOF (the parent is gone).
  std::string recv();
  void send(const std::string& line);
  // The fd to poll for commands (readable = a line or EOF is pending).
  int fd() const { return in_; }
  bool pending();  // a full line is buffered or the fd is readable

 private:
  int in_, out_;
  std::string buf_;
};

// A forked process that enters the namespace, names itself `comm` (what
// sstrace reports as comm), closes every fd it inherited but its control
// pipe, and runs body. An exception in body is reported as "error WHAT" on
// the channel. The destructor kills it if it is still running.
class Worker {
 public:
  using Body = std::function<void(Channel&)>;
  Worker(const Netns& ns, const std::string& comm, const Body& body);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& comm() const { return comm_; }
  void send(const std::string& line);
  // The next line; throws on timeout, EOF or an "error ..." line.
  std::string recv(std::chrono::milliseconds timeout = 30s);
  std::string call(const std::string& line, std::chrono::milliseconds timeout = 30s) {
    send(line);
    return recv(timeout);
  }
  // Exit status (-1: still running at the deadline).
  int wait_exit(std::chrono::milliseconds timeout = 30s);

 private:
  pid_t pid_ = -1;
  std::string comm_;
  int to_child_ = -1, from_child_ = -1;
  std::string buf_;
  std::optional<int> status_;
};

// The command interpreter of an endpoint worker: one TCP connection (and
// optionally one listener) driven line by line, so that a test scripts the
// exact order of client and server actions. Replies "ok ..." or "error ...".
//   listen IP PORT     -> "port N"
//   accept             -> "ok LPORT RPORT"
//   connect IP PORT [FROM_IP FROM_PORT]
//                      -> "ok LPORT RPORT" (bound to FROM first when given)
//   send N / recv N    -> "ok" (exactly N payload bytes)
//   shutdown           -> "ok" (SHUT_WR: our FIN, fd kept)
//   eof                -> "ok" once read() returns 0 (error on data)
//   reset              -> "ok" once read() fails with ECONNRESET
//   info               -> "info STATE BYTES_ACKED BYTES_RECEIVED" (tcp_info)
//   wait-closed        -> the same, once tcp_info says TCP_CLOSE
//   linger0            -> "ok": SO_LINGER {1, 0} and close(): a reset
//   close              -> "ok"
//   close-listener     -> "ok"
//   exit
void endpoint_commands(Channel& ch);

// A worker's commands for connects that may fail: connect IP PORT -> "ok
// LPORT" or "errno NAME" (the socket is kept either way, so that held
// connections keep their local ports). poke PORT -> "ok N": one byte on each
// of the N connections to PORT.
void connector_commands(Channel& ch);

// An nftables table NAME in ns dropping every segment to `port` but the SYN
// on input: the client's handshake ACK never arrives, so the client is
// ESTAB while the server keeps a request minisocket and retransmits its
// SYN-ACK. `nft delete table inet NAME` lets the ACKs through again.
void drop_acks_to(const Netns& ns, const std::string& table, int port);

// Over an open connection between two endpoint_commands workers: payload
// both ways, each side reading all of it.
void exchange(Worker& client, Worker& server, size_t up, size_t down);

// An orderly close over such a connection: `first` sends its FIN first and
// the other answers with its own; both wait until the kernel is done with
// the socket, then close their fds. Returns the tcp_info lines wait-closed
// gave, {first's, second's}.
std::pair<std::string, std::string> orderly_close(Worker& first, Worker& second,
                                                  std::chrono::milliseconds timeout = 30s);

// A server for churn workloads (top, replay): listens on 127.0.0.1:8080
// and :9090, accepts, and closes each connection once its client closed or
// reset it; replies "ok" once listening, returns on any command or EOF.
void serve_8080_and_9090(Channel& ch);

// 127.0.0.1-style address and port as a sockaddr_in.
sockaddr_in ipv4_addr(const char* ip, uint16_t port);

// "ok 1 2" -> {"ok", "1", "2"}
std::vector<std::string> words(const std::string& line);

// ---------------------------------------------------------------------------
// Sockets and counters, seen without sstrace

// One TCP row of `ss -tane` (SYN-RECV request sockets included).
struct SsSock {
  std::string state;         // ss spelling
  std::string laddr, raddr;  // without brackets; raddr "*" where there is none
  int lport = 0, rport = 0;
  uint64_t cookie = 0;  // sk:
  uint64_t inode = 0;   // ino:
  std::string text;     // the row, for messages
};
// Throws when ss fails or a row has no sk:.
std::vector<SsSock> ss_tane(const Netns& ns);

// Tcp: counters of /proc/net/snmp in the namespace (RetransSegs, InSegs...).
std::map<std::string, uint64_t> tcp_snmp(const Netns& ns);
// TcpExt: counters of /proc/net/netstat in the namespace (TCPRetransFail...).
std::map<std::string, uint64_t> tcp_ext(const Netns& ns);

// Waits until pred(ss -tane) holds; false at the deadline.
bool wait_ss(const Netns& ns, const std::function<bool(const std::vector<SsSock>&)>& pred,
             std::chrono::milliseconds timeout = 20s);

// ---------------------------------------------------------------------------
// Reading a stream

std::string str(const Json& e, const char* key);                 // "" when absent or not a string
int64_t num(const Json& e, const char* key, int64_t dflt = -1);  // dflt when absent
uint64_t cookie_of(const Json& e);                               // 0 when absent
bool is_type(const Json& e, const char* type);
std::string hex(uint64_t v);

// Per cookie: what the stream said about one socket, in stream order.
struct SocketStory {
  uint64_t cookie = 0;
  std::optional<Json> snapshot;
  std::vector<Json> states;  // state events
  std::vector<Json> closes;
  std::vector<Json> resets;
  std::vector<Json> retransmits;
  std::vector<Json> rtts;
  std::vector<Json> all;  // every socket event (snapshot, table included)
};
std::map<uint64_t, SocketStory> stories(const std::vector<Json>& events);

// "CLOSE>SYN-SENT ESTAB..." style rendering of a story's transitions.
std::string transitions_text(const SocketStory& s);

// The checks every live test makes on a finished stream: every line is JSON
// and valid against docs/schema/events.schema.json; `v` is 1; snapshot
// events only before the one `sync`, whose `sockets` counts them; every
// socket event is about namespace `netns`; no `lost` event; the last line is
// the one `exit` event, with lost 0 and events equal to the number of lines.
::testing::AssertionResult stream_is_sound(const std::vector<Json>& events,
                                           const std::vector<std::string>& lines, uint64_t netns);

// For every cookie: the states it went through form one chain (the snapshot
// state, then each state event's old equals the previous new), no
// transition repeats itself, and at most one close event, which comes with
// the full socket's last transition. The only old == new allowed are the
// hand-over of a FIN-WAIT-2 socket to its minisocket (CONTRACT.md) and a
// request minisocket's child taking over its cookie (SYN-RECV -> SYN-RECV,
// not inferred, after the cookie was a request: docs/events.md).
::testing::AssertionResult chains_are_consistent(const std::map<uint64_t, SocketStory>& st);

// The state a story ends in: the last state event's new, else the
// snapshot's state; "" when it has neither.
std::string final_state(const SocketStory& s);

// Compares (cookie, state, endpoints) sets of table events with an ss -tane
// dump, request minisockets (SYN-RECV) included.
::testing::AssertionResult table_matches_ss(const std::vector<Json>& table,
                                            const std::vector<SsSock>& ss);

}  // namespace sstrace::e2e
