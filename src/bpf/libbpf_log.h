// Where libbpf's own messages go. Every loader (the tracer, the owners
// iterator) sets it before touching libbpf: its default prints warnings on
// stderr, which would be noise for a failure we report, or recover from,
// ourselves.
#pragma once

namespace sstrace::bpf {

// verbose (-v): libbpf's whole log on stderr, prefixed "sstrace: libbpf: ";
// otherwise nothing.
void set_libbpf_log(bool verbose);

}  // namespace sstrace::bpf
