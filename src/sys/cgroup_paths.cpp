#include "sys/cgroup_paths.h"

#include <ftw.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string_view>
#include <unordered_map>

namespace sstrace::sys {

namespace {

// /proc/mounts escapes blanks and backslashes in paths as \ooo.
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') {
          ok = false;
          break;
        }
        v = v * 8 + (s[i + k] - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::optional<std::string> cgroup2_mount() {
  std::ifstream f("/proc/self/mounts");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string dev, dir, type;
    if (in >> dev >> dir >> type && type == "cgroup2") return unescape_mount_path(dir);
  }
  return std::nullopt;
}

class CgroupMap {
 public:
  std::optional<std::string> path(uint64_t id) {
    std::lock_guard lock(mu_);
    if (auto it = paths_.find(id); it != paths_.end()) return it->second;
    const auto now = std::chrono::steady_clock::now();
    if (!loaded_ || now - loaded_at_ >= std::chrono::seconds(1)) {
      load();
      walks_.fetch_add(1, std::memory_order_relaxed);
      loaded_at_ = now;
      if (auto it = paths_.find(id); it != paths_.end()) return it->second;
    }
    return std::nullopt;
  }
  uint64_t walks() const { return walks_.load(std::memory_order_relaxed); }

 private:
  void load() {
    loaded_ = true;
    auto mnt = cgroup2_mount();
    if (!mnt) return;
    root_len_ = mnt->size();
    self_ = this;
    nftw(mnt->c_str(), &CgroupMap::visit, 64, FTW_MOUNT | FTW_PHYS);
    self_ = nullptr;
  }

  static int visit(const char* path, const struct stat* st, int type, FTW*) {
    if (type != FTW_D) return 0;
    // Built in one step: assigning "/" to an emptied substr() trips GCC 12's
    // -Wrestrict (a false positive, GCC bug 105329).
    const std::string_view rel = std::string_view(path).substr(self_->root_len_);
    self_->paths_.insert_or_assign(st->st_ino, rel.empty() ? std::string("/") : std::string(rel));
    return 0;
  }

  static inline CgroupMap* self_ = nullptr;  // nftw has no user pointer
  std::mutex mu_;
  bool loaded_ = false;
  std::chrono::steady_clock::time_point loaded_at_;
  size_t root_len_ = 0;
  std::unordered_map<uint64_t, std::string> paths_;
  std::atomic<uint64_t> walks_{0};
};

CgroupMap& cgroup_map() {
  static CgroupMap map;
  return map;
}

}  // namespace

std::optional<std::string> cgroup_path(uint64_t id) { return cgroup_map().path(id); }

uint64_t cgroup_walks() { return cgroup_map().walks(); }

}  // namespace sstrace::sys
