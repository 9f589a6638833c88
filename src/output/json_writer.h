// A streaming JSON writer: appends text to a caller's std::string, with no
// tree in between. A snapshot can hold a few hundred thousand sockets and the
// live stream writes an object per event, so building a DOM (nlohmann_json
// allocates a node per value) would cost more than the dump itself.
//
// The writer tracks only "is a separator due", which is all JSON needs:
// begin/end must still be balanced by the caller.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
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
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
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

  // Appends `s` as a JSON string literal, quotes included. Valid UTF-8 is
  // copied through; '"', '\\' and control characters (and DEL) are escaped;
  // every byte that is not part of a valid UTF-8 sequence becomes U+FFFD, so
  // the output is always valid UTF-8 (unix socket paths are arbitrary bytes).
  static void append_string(std::string& out, std::string_view s);

 private:
  void separate();

  std::string& out_;
  bool comma_ = false;      // a value was written at this level
  bool after_key_ = false;  // the next value belongs to a key just written
};

}  // namespace sstrace::output
