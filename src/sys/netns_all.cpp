#include "sys/netns_all.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cctype>
#include <unordered_set>

#include "sys/netns.h"

namespace sstrace::sys {

namespace {

void add(std::vector<NetnsHandle>& out, std::unordered_set<uint32_t>& seen,
         const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  UniqueFd owned(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) return;
  auto ino = uint32_t(st.st_ino);
  if (!seen.insert(ino).second) return;
  out.push_back({ino, path, std::move(owned)});
}

void scan_dir(const std::string& dir, bool pids_only, const char* suffix,
              std::vector<NetnsHandle>& out, std::unordered_set<uint32_t>& seen) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (pids_only && !std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    add(out, seen, dir + "/" + e->d_name + suffix);
  }
  closedir(d);
}

}  // namespace

std::vector<NetnsHandle> all_netns(const std::string& proc_root) {
  std::vector<NetnsHandle> out;
  std::unordered_set<uint32_t> seen;
  // Our own first: the common case, and the one that must not be missed.
  add(out, seen, proc_root + "/self/ns/net");
  scan_dir(kNetnsRunDir, false, "", out, seen);
  scan_dir(proc_root, true, "/ns/net", out, seen);
  return out;
}

}  // namespace sstrace::sys
