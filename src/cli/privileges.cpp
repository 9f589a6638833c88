#include "cli/privileges.h"

#include <linux/capability.h>

#include "common/result.h"

namespace sstrace::cli {

sys::CapSet caps_to_start(const Options& opts) {
  sys::CapSet caps{CAP_BPF, CAP_PERFMON};
  if (!opts.netns.empty() || opts.all_netns || !opts.btf_file.empty()) caps.add(CAP_SYS_ADMIN);
  if (opts.all_netns) caps.add(CAP_SYS_PTRACE);
  if (opts.user) caps.add({CAP_SETUID, CAP_SETGID});  // setuid, setgid, initgroups
  return caps;
}

sys::CapSet missing_caps(sys::CapSet needed, sys::CapSet held) {
  sys::CapSet missing = needed.minus(held);
  // kernel/bpf/syscall.c: bpf_capable() and perfmon_capable() accept
  // CAP_SYS_ADMIN for either (the pre-5.8 way to grant BPF).
  if (held.has(CAP_SYS_ADMIN)) missing = missing.minus({CAP_BPF, CAP_PERFMON});
  return missing;
}

sys::CapSet caps_to_keep(const Options& opts) {
  if (opts.all_netns) return {CAP_SYS_ADMIN, CAP_SYS_PTRACE};
  return {};
}

void check_start_privileges(const Options& opts) {
  Result<sys::CapSet> held = sys::permitted_caps();
  if (!held) throw FatalError(held.error().str());
  const sys::CapSet missing = missing_caps(caps_to_start(opts), *held);
  if (!missing.empty()) {
    const bool one = missing.list().size() == 1;
    throw FatalError("needs " + sys::describe_caps(missing) + " (run as root or grant " +
                     (one ? "it" : "them") + ")");
  }
  // Permitted is not effective for a binary given file capabilities
  // without +e; the drop after seeding takes back whatever is not kept.
  if (auto r = sys::raise_caps(*held); !r) throw FatalError(r.error().str());
}

void drop_privileges(const Options& opts) {
  const sys::CapSet keep = caps_to_keep(opts);
  Result<void> r = opts.user ? sys::switch_user(*opts.user, keep) : sys::limit_caps(keep);
  if (!r) throw FatalError(r.error().str());
}

}  // namespace sstrace::cli
