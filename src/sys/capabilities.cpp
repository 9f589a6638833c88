#include "sys/capabilities.h"

#include <dirent.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>

namespace sstrace::sys {

CapSet::CapSet(std::initializer_list<int> caps) {
  for (int c : caps) add(c);
}

CapSet CapSet::from_mask(uint64_t mask) {
  CapSet s;
  s.mask_ = mask;
  return s;
}

void CapSet::add(int cap) {
  if (cap >= 0 && cap < 64) mask_ |= uint64_t{1} << cap;
}

bool CapSet::has(int cap) const { return cap >= 0 && cap < 64 && ((mask_ >> cap) & 1u); }

std::vector<int> CapSet::list() const {
  std::vector<int> caps;
  for (int c = 0; c < 64; ++c)
    if (has(c)) caps.push_back(c);
  return caps;
}

namespace {

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapHandle = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

// "CAP_BPF": libcap's name ("cap_bpf") as capabilities(7) spells it, or
// the number for a capability newer than libcap.
std::string cap_name(int cap) {
  std::unique_ptr<char, CapFree> raw(cap_to_name(cap_value_t(cap)));
  std::string name = raw ? raw.get() : std::to_string(cap);
  for (char& ch : name) ch = char(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

// Sets the permitted and effective flags of exactly `keep` on a cleared
// state: inheritable stays empty.
Result<void> set_exactly(CapSet keep) {
  CapHandle caps(cap_init());
  if (!caps) return sys_error("cannot allocate a capability state");
  std::vector<cap_value_t> values;
  for (int c : keep.list()) values.push_back(cap_value_t(c));
  if (!values.empty()) {
    const int n = int(values.size());
    if (cap_set_flag(caps.get(), CAP_PERMITTED, n, values.data(), CAP_SET) != 0 ||
        cap_set_flag(caps.get(), CAP_EFFECTIVE, n, values.data(), CAP_SET) != 0)
      return sys_error("cannot build the capability set to keep");
  }
  if (cap_set_proc(caps.get()) != 0)
    return sys_error("cannot drop capabilities to " +
                     (keep.empty() ? std::string("none") : describe_caps(keep)));
  return {};
}

// Capabilities belong to threads, not processes, and capset(2) changes the
// caller's only: other threads (the metrics exposer's, started inside
// prometheus-cpp, where libpsx cannot see them) are each sent a signal
// whose handler empties their own sets with raw, async-signal-safe
// system calls.
std::atomic<int> g_threads_dropped{0};

extern "C" void drop_own_caps(int) {
  const int saved = errno;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3]{};
  syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (syscall(SYS_capset, &header, none) == 0 &&
      syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
    g_threads_dropped.fetch_add(1);
  errno = saved;
}

std::vector<pid_t> other_threads() {
  std::vector<pid_t> tids;
  DIR* d = opendir("/proc/self/task");
  if (!d) return tids;
  const pid_t self = gettid();
  while (dirent* e = readdir(d)) {
    const pid_t tid = pid_t(std::atoi(e->d_name));
    if (tid > 0 && tid != self) tids.push_back(tid);
  }
  closedir(d);
  return tids;
}

Result<void> empty_caps_of_other_threads() {
  const std::vector<pid_t> tids = other_threads();
  if (tids.empty()) return {};
  struct sigaction sa {};
  sa.sa_handler = drop_own_caps;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  struct sigaction old {};
  const int sig = SIGRTMIN;
  if (sigaction(sig, &sa, &old) != 0) return sys_error("cannot install the capability drop");
  g_threads_dropped = 0;
  int sent = 0;
  for (pid_t tid : tids)
    if (syscall(SYS_tgkill, getpid(), tid, sig) == 0) ++sent;  // ESRCH: it has just ended
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (g_threads_dropped < sent && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int dropped = g_threads_dropped;
  sigaction(sig, &old, nullptr);
  if (dropped < sent)
    return Error{"cannot drop the capabilities of " + std::to_string(sent - dropped) + " of " +
                 std::to_string(sent) + " other threads"};
  return {};
}

}  // namespace

std::string describe_caps(CapSet caps) {
  const std::vector<int> list = caps.list();
  std::string text;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) text += i + 1 == list.size() ? " and " : ", ";
    text += cap_name(list[i]);
  }
  return text;
}

std::optional<CapSet> parse_cap_mask(std::string_view hex) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front())))
    hex.remove_prefix(1);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t mask = 0;
  for (char ch : hex) {
    int digit;
    if (ch >= '0' && ch <= '9')
      digit = ch - '0';
    else if (ch >= 'a' && ch <= 'f')
      digit = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F')
      digit = ch - 'A' + 10;
    else
      return std::nullopt;
    mask = mask << 4 | uint64_t(digit);
  }
  return CapSet::from_mask(mask);
}

Result<CapSet> permitted_caps() {
  CapHandle caps(cap_get_proc());
  if (!caps) return sys_error("cannot read this process's capabilities");
  CapSet set;
  for (int c = 0; c < 64 && cap_valid(c); ++c) {
    cap_flag_value_t v = CAP_CLEAR;
    if (cap_get_flag(caps.get(), cap_value_t(c), CAP_PERMITTED, &v) == 0 && v == CAP_SET)
      set.add(c);
  }
  return set;
}

Result<void> raise_caps(CapSet wanted) {
  if (wanted.empty()) return {};
  CapHandle caps(cap_get_proc());
  if (!caps) return sys_error("cannot read this process's capabilities");
  std::vector<cap_value_t> values;
  for (int c : wanted.list()) values.push_back(cap_value_t(c));
  if (cap_set_flag(caps.get(), CAP_EFFECTIVE, int(values.size()), values.data(), CAP_SET) != 0 ||
      cap_set_proc(caps.get()) != 0)
    return sys_error("cannot make " + describe_caps(wanted) + " effective");
  return {};
}

Result<void> limit_caps(CapSet keep) {
  // Only this thread does the work that needs `keep`.
  if (auto r = empty_caps_of_other_threads(); !r) return r;
  // Ambient capabilities would survive an execve; there is none to keep.
  if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0)
    return sys_error("cannot clear the ambient capabilities");
  if (auto r = set_exactly(keep); !r) return r;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sys_error("cannot set no_new_privs");
  return {};
}

std::optional<UserIds> lookup_user(const std::string& name) {
  if (name.empty()) return std::nullopt;
  errno = 0;
  const passwd* pw = getpwnam(name.c_str());
  if (!pw) return std::nullopt;
  return UserIds{pw->pw_name, pw->pw_uid, pw->pw_gid};
}

// glibc's setuid applies to every thread (its setxid broadcast); the other
// threads, without KEEPCAPS, lose their capabilities in it.
Result<void> switch_user(const UserIds& user, CapSet keep) {
  // Groups and gid first: after setuid we could no longer change them.
  if (initgroups(user.name.c_str(), user.gid) != 0)
    return sys_error("cannot set the groups of user '" + user.name + "'");
  if (setgid(user.gid) != 0)
    return sys_error("cannot switch to the group of user '" + user.name + "'");
  // Without KEEPCAPS, setuid away from 0 empties the permitted set; with
  // it, only the effective set, which limit_caps() raises again.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return sys_error("cannot set keep-caps");
  if (setuid(user.uid) != 0) return sys_error("cannot switch to user '" + user.name + "'");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) return sys_error("cannot clear keep-caps");
  return limit_caps(keep);
}

}  // namespace sstrace::sys
