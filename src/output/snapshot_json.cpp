// `sstrace snapshot --json`: one snapshot-shaped object per socket per line
// (CONTRACT.md), nothing else. The fields do not depend on -n/-r/-e/-o/-m/-i:
// JSON carries whatever the dump holds, numbers as numbers.
#include <chrono>
#include <cstdio>
#include <string>

#include "output/json_writer.h"
#include "output/snapshot_writer.h"
#include "output/sock_json_fields.h"
#include "output/timestamps.h"

namespace sstrace::output {

namespace {

constexpr int kSchemaVersion = 1;

class JsonSnapshotWriter final : public SnapshotWriter {
 public:
  explicit JsonSnapshotWriter(std::FILE* out) : out_(out) {}

  void sock(const diag::SockInfo& s, const sys::SocketOwners* owners) override {
    // A dump is one instant: every object of it carries the time its first
    // socket was written.
    if (ts_.empty()) ts_ = rfc3339_utc(std::chrono::system_clock::now());
    std::span<const sys::SocketUser> users;
    if (owners && s.inode) users = owners->users(s.inode);

    JsonWriter w(buf_);
    w.begin_object();
    w.field("type", "snapshot");
    w.field("ts", ts_);
    w.field("v", kSchemaVersion);
    write_sock_fields(w, s, users);
    w.end_object();
    buf_ += '\n';
    if (buf_.size() >= kFlushBytes) flush();
  }

  void finish() override {
    flush();
    std::fflush(out_);
  }

 private:
  static constexpr size_t kFlushBytes = 1 << 16;

  void flush() {
    if (!buf_.empty()) std::fwrite(buf_.data(), 1, buf_.size(), out_);
    buf_.clear();
  }

  std::FILE* out_;
  std::string ts_;
  std::string buf_;
};

}  // namespace

// The display options (-n -r -e -o -m -i -O -H) do not shape JSON; -p
// matters through `owners` being given.
std::unique_ptr<SnapshotWriter> make_json_writer(std::FILE* out, const SnapshotFormat&) {
  return std::make_unique<JsonSnapshotWriter>(out);
}

}  // namespace sstrace::output
