#include "output/cgroup_text.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

namespace sstrace::output {
namespace {

TEST(CgroupText, unknown_ids_are_unreachable) {
  EXPECT_EQ(cgroup_text(0xfffffffffff1), "unreachable:fffffffffff1");
}

TEST(CgroupText, the_kept_cgroup_text_follows_the_id_asked) {
  // Known ids (this process's cgroup, by its directory's inode, when
  // cgroup2 is mounted) and unknown ones, in runs and alternating.
  std::vector<uint64_t> ids = {0xfffffffffff1, 0xfffffffffff1, 0xfffffffffff2};
  std::ifstream mounts("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
    struct stat st {};
    if (type == "cgroup2" && ::stat(dir.c_str(), &st) == 0) {
      EXPECT_EQ(cgroup_text(st.st_ino), "/");
      ids.insert(ids.end(), {st.st_ino, st.st_ino, 0xfffffffffff1, st.st_ino});
    }
  }
  for (uint64_t id : ids) EXPECT_EQ(cgroup_text_of_last(id), cgroup_text(id)) << id;
}

}  // namespace
}  // namespace sstrace::output
