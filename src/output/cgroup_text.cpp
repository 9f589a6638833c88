#include "output/cgroup_text.h"

#include "output/append_number.h"
#include "sys/cgroup_paths.h"

namespace sstrace::output {

std::string cgroup_text(uint64_t id) {
  if (auto path = sys::cgroup_path(id)) return *std::move(path);
  std::string text = "unreachable:";
  append_hex(text, id);
  return text;
}

const std::string& cgroup_text_of_last(uint64_t id) {
  struct Memo {
    uint64_t id = 0;
    uint64_t walks = 0;
    bool valid = false;
    std::string text;
  };
  thread_local Memo memo;
  // Read before the lookup: a walk during it (here or in another thread)
  // makes the next call ask again rather than keep a path the walk changed.
  const uint64_t walks = sys::cgroup_walks();
  if (memo.valid && memo.id == id && memo.walks == walks) return memo.text;
  memo.text = cgroup_text(id);
  memo.id = id;
  memo.walks = walks;
  // An unknown id is asked again next time: the lookup walks the hierarchy
  // again (at most once a second) for ids it does not know.
  memo.valid = !memo.text.starts_with("unreachable:");
  return memo.text;
}

}  // namespace sstrace::output
