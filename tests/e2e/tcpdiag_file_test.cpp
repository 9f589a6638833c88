// ss's TCPDIAG_FILE (issue 13, "ss's surface"): `sstrace snapshot` reads the
// TCP sockets from a dump saved with -D instead of the kernel. Files written
// by ss and by sstrace, read by both, compared byte for byte; where ss's
// reading is short of what the dump holds (it stops at the first family's
// end and ignores the state selection), sstrace is compared with what ss
// showed of the same sockets live.
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "worlds.h"

namespace sstrace::e2e {
namespace {

class TcpdiagFile : public ::testing::Test {
 protected:
  void SetUp() override {
    SSTRACE_REQUIRE_PRIVILEGES();
    ns_ = std::make_unique<Netns>();
    socks_ = std::make_unique<SocketSet>(*ns_);
    build_mixed_world(*socks_);
    char path[] = "/dev/shm/sstrace-tcpdiag.XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    file_ = path;
  }
  void TearDown() override {
    if (!file_.empty()) unlink(file_.c_str());
    socks_.reset();  // sockets first: they pin the namespace
    ns_.reset();
  }

  // `WRITER ARGS -D file` in the namespace; WRITER is ss or sstrace snapshot.
  void save(const std::vector<std::string>& writer, const std::vector<std::string>& args) {
    std::vector<std::string> argv = writer;
    argv.insert(argv.end(), {"-N", ns_->name()});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-D", file_});
    RunResult r = run(argv);
    ASSERT_EQ(r.status, 0) << r.command << ": " << r.err;
  }

  // `TCPDIAG_FILE=file READER ARGS`, outside the namespace.
  RunResult read_back(const std::vector<std::string>& reader, const std::vector<std::string>& args,
                      const std::string& file) const {
    std::vector<std::string> argv{"env", "TCPDIAG_FILE=" + file};
    argv.insert(argv.end(), reader.begin(), reader.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  RunResult read_back(const std::vector<std::string>& reader,
                      const std::vector<std::string>& args) const {
    return read_back(reader, args, file_);
  }

  std::vector<std::string> sstrace() const { return {sstrace_binary(), "snapshot"}; }

  std::unique_ptr<Netns> ns_;
  std::unique_ptr<SocketSet> socks_;
  std::string file_;
};

size_t lines_of(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST_F(TcpdiagFile, files_of_either_writer_read_as_ss_reads_them) {
  const std::vector<std::vector<std::string>> cases = {
      {"-tan"},
      {"-tani"},
      {"-tanm"},
      {"-tano"},
      {"-tln"},
      {"-tan", "dst", "127.0.0.1"},
      {"-tan", "(", "sport", ">", ":1024", ")"},
  };
  const std::vector<std::vector<std::string>> writers = {{"ss"}, sstrace()};
  for (const auto& writer : writers) {
    for (const auto& args : cases) {
      // IPv4 only: ss reads a file only up to its first NLMSG_DONE.
      std::vector<std::string> saved{"-4"};
      saved.insert(saved.end(), args.begin(), args.end());
      save(writer, saved);
      RunResult theirs = read_back({"ss"}, args);
      RunResult mine = read_back(sstrace(), args);
      const std::string what = writer[0] + " -D, then " + shell_join(args);
      ASSERT_EQ(theirs.status, 0) << what << ": " << theirs.err;
      EXPECT_EQ(mine.status, 0) << what << ": " << mine.err;
      EXPECT_EQ(mine.err, "") << what;
      EXPECT_EQ(mine.out, theirs.out) << what;
      EXPECT_GT(lines_of(theirs.out), 1u) << what << ": the fixture listed nothing";
    }
  }
}

TEST_F(TcpdiagFile, both_families_and_the_state_selection_are_applied_to_a_full_dump) {
  save(sstrace(), {"-tan"});
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-tan"},
           {"-tn"},
           {"-tln"},
           {"-6tan"},
           {"-tn", "state", "established"},
           {"-tan", "src", "[::1]"},
           {"-tan", "exclude", "listening", "dst", "127.0.0.1"}}) {
    std::vector<std::string> live{"ss", "-N", ns_->name()};
    live.insert(live.end(), args.begin(), args.end());
    RunResult now = run(live);
    ASSERT_EQ(now.status, 0) << now.err;
    RunResult mine = read_back(sstrace(), args);
    EXPECT_EQ(mine.status, 0) << shell_join(args) << ": " << mine.err;
    EXPECT_EQ(mine.out, now.out) << shell_join(args) << ": the saved dump against ss live";
  }
}

TEST_F(TcpdiagFile, a_file_that_is_no_whole_dump_is_exit_1_with_one_line_naming_it) {
  save(sstrace(), {"-tan"});
  RunResult whole = read_back({"cat"}, {file_});
  ASSERT_GT(whole.out.size(), 200u);
  const std::string cut = file_ + ".cut", garbage = file_ + ".txt", empty = file_ + ".empty";
  ASSERT_EQ(run({"sh", "-c",
                 "head -c 150 '" + file_ + "' > '" + cut + "' && echo hello > '" + garbage +
                     "' && : > '" + empty + "'"})
                .status,
            0);
  for (const std::string& bad : {cut, garbage, empty, file_ + ".missing"}) {
    RunResult r = read_back(sstrace(), {"-tan"}, bad);
    EXPECT_EQ(r.status, 1) << bad << ": " << r.err;
    ASSERT_EQ(r.err_lines().size(), 1u) << bad << ": " << r.err;
    EXPECT_NE(r.err.find(bad), std::string::npos) << r.err;
    unlink(bad.c_str());
  }
}

}  // namespace
}  // namespace sstrace::e2e
