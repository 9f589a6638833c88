// A streaming JSON writer: appends text to a caller's std::string, with no
// tree in between. A snapshot can hold a few hundred thousand sockets and the
// live stream writes an object per event, so building a DOM (nlohmann_json
// allocates a node per value) would cost more than the dump itself.
//
// The writer tracks only "is a separator due", which is all JSON needs:
// begin/end must still be balanced by the caller.
#pragma once

#include <cassert>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sstrace::output {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // A key computed at run time: escaped like any string.
  JsonWriter& key(std::string_view name);
  // A constant key (a string literal): keys are ASCII identifiers, so
  // `"name":` is appended without the escaping scan, separator included, in
  // one append. Constant keys are the common case (every field of every
  // line), which made key() a tenth of the snapshot's and the stream's CPU.
  template <size_t N>
  JsonWriter& key(const char (&name)[N]) {
    constexpr size_t len = N - 1;
    assert(std::strlen(name) == len && is_plain_key(std::string_view(name, len)));
    char buf[len + 4];  // , " name " :
    size_t n = 0;
    if (!after_key_ && comma_) buf[n++] = ',';
    buf[n++] = '"';
    std::memcpy(buf + n, name, len);
    n += len;
    buf[n++] = '"';
    buf[n++] = ':';
    out_.append(buf, n);
    comma_ = true;
    after_key_ = true;
    return *this;
  }
  // True when `name` can be written between quotes as it is: printable
  // ASCII other than '"' and '\\'.
  static constexpr bool is_plain_key(std::string_view name) {
    for (char c : name)
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    return true;
  }

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  // A string value whose text `write(out)` appends to the output directly,
  // without an intermediate std::string; the text must need no escaping
  // (addresses, timestamps).
  template <typename Write>
  requires std::invocable<Write, std::string&> JsonWriter& quoted(Write&& write) {
    separate();
    out_ += '"';
    write(out_);
    out_ += '"';
    return *this;
  }
  // Integers are written exactly (64-bit counters must not lose digits
  // through a double).
  template <std::integral T>
  requires(!std::same_as<T, bool>) JsonWriter& value(T n) {
    separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out_.append(buf, static_cast<size_t>(r.ptr - buf));
    return *this;
  }
  // Shortest text that reads back as the same double; integral values come
  // out without a fraction ("204", not "204.0"). Not finite: null, which the
  // callers avoid by leaving such fields out.
  JsonWriter& value(double d);
  JsonWriter& null();

  template <typename T>
  JsonWriter& field(std::string_view name, const T& v) {
    key(name);
    return value(v);
  }
  template <size_t N, typename T>
  JsonWriter& field(const char (&name)[N], const T& v) {
    key(name);
    return value(v);
  }

  // Appends `s` as a JSON string literal, quotes included, losslessly (unix
  // socket paths, comm and cgroup paths are arbitrary bytes). Valid UTF-8 is
  // copied through, with '"', '\\' and control characters (and DEL)
  // escaped as JSON escapes them. A string with a byte that is not valid
  // UTF-8 (or with the text `\xhh` in it) is written in the lossless form:
  // such bytes as the text `\xhh`, backslashes doubled (docs/events.md,
  // "Strings", says how a reader gets the bytes back). The output is always
  // valid UTF-8.
  static void append_string(std::string& out, std::string_view s);

 private:
  void separate();

  std::string& out_;
  bool comma_ = false;      // a value was written at this level
  bool after_key_ = false;  // the next value belongs to a key just written
};

}  // namespace sstrace::output
