// transition_counter: the exact number of TCP state transitions (and of
// transitions to CLOSE) the kernel reported in one namespace while it ran:
// the "expected" column of the churn benchmark. Attaches, prints "ready",
// counts until SIGINT/SIGTERM or --max-seconds, then prints
//
//   transitions N closes M misses K
//
// K: the program's recursion_misses (runs the kernel skipped because the
// program was already running on that CPU); non-zero means N is a floor.
//
//   transition_counter --netns NAME [--max-seconds S]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>

#include <vector>

#include "bench_util.h"
#include "transition_counter.skel.h"

namespace sstrace::bench {
namespace {

constexpr const char* kTool = "transition_counter";

uint32_t netns_inode(const std::string& name) {
  struct stat st {};
  std::string path = cat(sys::kNetnsRunDir, "/", name);
  if (::stat(path.c_str(), &st) != 0) die(kTool, path, errno);
  return uint32_t(st.st_ino);
}

// Sum over CPUs of one per-CPU counter.
uint64_t counter(const transition_counter_bpf* skel, uint32_t key) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) die(kTool, "libbpf_num_possible_cpus", -ncpu);
  std::vector<uint64_t> per_cpu(size_t(ncpu), 0);
  if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counts), &key, per_cpu.data()) != 0)
    die(kTool, "reading the counters", errno);
  uint64_t sum = 0;
  for (uint64_t v : per_cpu) sum += v;
  return sum;
}

uint64_t recursion_misses(const transition_counter_bpf* skel) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.count_transition), &info, &len) != 0)
    die(kTool, "bpf_obj_get_info_by_fd", errno);
  return info.recursion_misses;
}

}  // namespace
}  // namespace sstrace::bench

int main(int argc, char** argv) {
  using namespace sstrace::bench;
  Args args(kTool, argc, argv, {});
  args.check({"netns", "max-seconds"});
  std::string ns = args.str("netns");
  if (ns.empty()) die(kTool, "--netns NAME is required");
  long max_seconds = args.num("max-seconds", 900, 1, 86400);

  transition_counter_bpf* skel = transition_counter_bpf__open();
  if (!skel) die(kTool, "opening the BPF object", errno);
  skel->rodata->cfg_netns = netns_inode(ns);
  if (int err = transition_counter_bpf__load(skel)) die(kTool, "loading the BPF object", -err);
  if (int err = transition_counter_bpf__attach(skel))
    die(kTool, "attaching tp_btf/inet_sock_set_state", -err);
  std::printf("ready\n");
  std::fflush(stdout);

  wait_for_stop(max_seconds);
  std::printf("transitions %llu closes %llu misses %llu\n",
              static_cast<unsigned long long>(counter(skel, 0)),
              static_cast<unsigned long long>(counter(skel, 1)),
              static_cast<unsigned long long>(recursion_misses(skel)));
  transition_counter_bpf__destroy(skel);
  return 0;
}
