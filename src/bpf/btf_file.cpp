#include "bpf/btf_file.h"

#include <bpf/btf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpf/libbpf_log.h"
#include "sys/mount_ns.h"

namespace sstrace::bpf {

namespace {

constexpr const char* kSysfsBtf = "/sys/kernel/btf/vmlinux";

}  // namespace

Result<void> check_btf_file(const std::string& path, bool verbose) {
  set_libbpf_log(verbose);  // libbpf's own complaint is for -v; ours is one line
  if (access(path.c_str(), R_OK) != 0) return sys_error("--btf: cannot read '" + path + "'");
  btf* b = btf__parse(path.c_str(), nullptr);
  if (!b) {
    const int err = errno;
    return Error{"--btf: '" + path + "' is not BTF (a raw BTF file or an ELF file with .BTF)", err};
  }
  const bool has_types = btf__type_cnt(b) > 1;
  btf__free(b);
  if (!has_types) return Error{"--btf: '" + path + "' holds no types"};
  return {};
}

Result<void> provide_kernel_btf(const std::string& path) {
  if (auto r = sys::enter_own_mount_namespace(); !r) return r;
  if (access(kSysfsBtf, F_OK) == 0) return sys::bind_file(path, kSysfsBtf);
  utsname u{};
  if (uname(&u) != 0) return sys_error("uname");
  // libbpf's first fallback after sysfs (btf__load_vmlinux_btf).
  Result<std::string> target =
      sys::make_file_on_tmpfs("/boot", std::string("vmlinux-") + u.release);
  if (!target) return target.error();
  return sys::bind_file(path, *target);
}

}  // namespace sstrace::bpf
