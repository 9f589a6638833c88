// --btf FILE: the kernel's BTF from a file, for kernels without
// /sys/kernel/btf/vmlinux.
//
// libbpf takes a custom BTF for CO-RE relocations (bpf_object_open_opts.
// btf_custom_path), but resolves tp_btf and iterator attach targets
// against btf__load_vmlinux_btf(), which reads /sys/kernel/btf/vmlinux or
// a fixed list of vmlinux paths (libbpf 1.1, btf.c). So the file is also
// made to appear where libbpf looks, in a mount namespace of our own: over
// /sys/kernel/btf/vmlinux where that exists, else as /boot/vmlinux-RELEASE
// on a tmpfs over /boot. The kernel still checks a tp_btf program against
// its own BTF: the file cannot stand in for a kernel built without
// CONFIG_DEBUG_INFO_BTF, and the load then says so.
#pragma once

#include <string>

#include "common/result.h"

namespace sstrace::bpf {

// The file exists, is readable and parses as BTF (raw, or an ELF vmlinux
// with a .BTF section). libbpf's log goes to stderr only when `verbose`.
Result<void> check_btf_file(const std::string& path, bool verbose);

// The mount namespace step above. Before any thread starts.
Result<void> provide_kernel_btf(const std::string& path);

}  // namespace sstrace::bpf
