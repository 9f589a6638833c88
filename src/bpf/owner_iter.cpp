// Loads bpf/owners.bpf.c, runs its iterator once and turns the records into
// a sys::SocketOwners. The object is separate from the tracer's so that
// `snapshot -p` loads nothing else, and live start-up has the table before
// the tracer's ring buffer starts filling.
#include "bpf/owner_iter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "bpf/libbpf_log.h"
#include "owners.skel.h"
#include "sstrace/events.h"
#include "sys/fd.h"

namespace sstrace::bpf {

static_assert(sizeof(sstrace_socket_fd) == 8 + 4 + 4 + 4 + 4 + SSTRACE_COMM_LEN,
              "ABI: sstrace_socket_fd");

namespace {

struct SkelDeleter {
  void operator()(owners_bpf* s) const { owners_bpf__destroy(s); }
};
struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};

// The iterator numbers pids in our pid namespace; /proc numbers them in the
// namespace it was mounted for. (/proc/1/ns/pid, which would name the
// latter, is often unreadable even for root in a container.) A /proc of a
// namespace below ours has no "self" for us; one of a namespace above ours
// numbers us differently (an equal pid and tid there would be a
// coincidence). In the initial namespace, where there is nothing above,
// the test is exact.
Result<void> proc_numbers_pids_as_we_do() {
  char link[64];
  ssize_t n = ::readlink("/proc/thread-self", link, sizeof link - 1);
  if (n <= 0) return sys_error("cannot read /proc/thread-self");
  link[n] = '\0';
  char expected[64];
  std::snprintf(expected, sizeof expected, "%d/task/%d", static_cast<int>(::getpid()),
                static_cast<int>(::gettid()));
  if (std::strcmp(link, expected) != 0)
    return Error{"/proc belongs to another pid namespace than sstrace"};
  return {};
}

std::string comm_of(const sstrace_socket_fd& r) {
  // A kernel thread's /proc name is longer than task->comm: read it there,
  // as the /proc scan does.
  if (r.flags & SSTRACE_SOCKET_FD_KERNEL_THREAD) return sys::process_comm(static_cast<int>(r.pid));
  return std::string(r.comm, strnlen(r.comm, sizeof r.comm));
}

}  // namespace

Result<std::vector<sys::SocketFd>> read_socket_fds(int fd) {
  std::vector<sys::SocketFd> fds;
  std::vector<char> buf(256 * 1024);
  size_t have = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("failed to read the owners iterator");
    if (n == 0) break;
    have += static_cast<size_t>(n);
    size_t used = 0;
    for (; have - used >= sizeof(sstrace_socket_fd); used += sizeof(sstrace_socket_fd)) {
      sstrace_socket_fd r;
      std::memcpy(&r, buf.data() + used, sizeof r);
      fds.push_back(sys::SocketFd{
          r.inode, sys::SocketUser{comm_of(r), static_cast<int>(r.pid), static_cast<int>(r.fd)}});
    }
    std::memmove(buf.data(), buf.data() + used, have - used);
    have -= used;
  }
  if (have != 0) return Error{"the owners iterator ended inside a record"};
  return fds;
}

Result<sys::SocketOwners> iterate_socket_owners(uint32_t netns, const std::string& btf_path) {
  if (auto same = proc_numbers_pids_as_we_do(); !same) return same.error();
  LIBBPF_OPTS(bpf_object_open_opts, open_opts);
  if (!btf_path.empty()) open_opts.btf_custom_path = btf_path.c_str();
  std::unique_ptr<owners_bpf, SkelDeleter> skel(owners_bpf__open_opts(&open_opts));
  if (!skel) return sys_error("failed to open the owners iterator");
  skel->rodata->cfg_netns = netns;
  if (int err = owners_bpf__load(skel.get()))
    return Error{"failed to load the owners iterator", -err};
  std::unique_ptr<bpf_link, LinkDeleter> link(
      bpf_program__attach_iter(skel->progs.list_socket_fds, nullptr));
  if (!link) return sys_error("failed to attach the owners iterator");
  sys::UniqueFd iter(bpf_iter_create(bpf_link__fd(link.get())));
  if (!iter) return sys_error("failed to create the owners iterator");
  auto fds = read_socket_fds(iter.get());
  if (!fds) return fds.error();
  return sys::SocketOwners::from_fds(std::move(*fds));
}

OwnersFound find_socket_owners(uint32_t netns, bool verbose, const std::string& btf_path) {
  set_libbpf_log(verbose);
  auto iterated = iterate_socket_owners(netns, btf_path);
  if (iterated) {
    if (verbose) std::fprintf(stderr, "sstrace: owners: BPF iterator\n");
    return {std::move(*iterated), {}};
  }
  std::string why = iterated.error().str();
  if (verbose) std::fprintf(stderr, "sstrace: owners: /proc scan (%s)\n", why.c_str());
  return {sys::SocketOwners::scan(), std::move(why)};
}

}  // namespace sstrace::bpf
