#include "output/json_writer.h"

#include <array>
#include <cmath>

namespace sstrace::output {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_control(std::string& out, unsigned char c) {
  switch (c) {
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
  }
}

// Bytes that end a run copied as is: control characters, '"', '\\', DEL
// and every non-ASCII byte (checked as UTF-8). One table load per byte
// instead of four comparisons.
constexpr auto kStopsRun = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x7f;
  return t;
}();

bool is_continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the byte
// there does not start one. Rejects overlong forms, surrogates and code
// points past U+10FFFF (RFC 3629), which JSON parsers refuse too.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  const size_t left = s.size() - i;
  if (c >= 0xc2 && c <= 0xdf) return left >= 2 && is_continuation(b(1)) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (left < 3 || !is_continuation(b(1)) || !is_continuation(b(2))) return 0;
    if (c == 0xe0 && b(1) < 0xa0) return 0;  // overlong
    if (c == 0xed && b(1) > 0x9f) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (left < 4 || !is_continuation(b(1)) || !is_continuation(b(2)) || !is_continuation(b(3)))
      return 0;
    if (c == 0xf0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xf4 && b(1) > 0x8f) return 0;  // past U+10FFFF
    return 4;
  }
  return 0;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Whether s[i] (a backslash) starts the text `\xhh`, which the lossless form
// uses for a byte.
bool starts_byte_escape(std::string_view s, size_t i) {
  return i + 3 < s.size() && s[i + 1] == 'x' && is_lower_hex(s[i + 2]) && is_lower_hex(s[i + 3]);
}

// The two forms of a string's body (docs/events.md, "Strings"). `exact`:
// the bytes as they are, with JSON's own escapes ('"', '\\', control
// characters); it fails on a string holding a byte that is not valid UTF-8,
// or the text `\xhh`, which a reader would take for an escaped byte.
// `lossless`, for those strings: each byte that is not valid UTF-8 becomes
// the four characters `\xhh` (lower-case hex) and each backslash is doubled,
// so that the decoded value maps back to the exact bytes (in JSON text,
// `\\xhh` and `\\\\`).
enum class Form { exact, lossless };

void append_byte_escape(std::string& out, unsigned char c) {
  const char escaped[] = {'\\', '\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
  out.append(escaped, sizeof escaped);
}

// Appends s's body (no quotes) in `form`. False (with part of it appended)
// when the exact form cannot represent s.
bool append_body(std::string& out, std::string_view s, Form form) {
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one append.
    size_t run = i;
    while (run < s.size() && !kStopsRun[static_cast<unsigned char>(s[run])]) ++run;
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;

    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && form == Form::lossless) {
      out += "\\\\\\\\";
      ++i;
    } else if (c == '"' || c == '\\') {
      if (c == '\\' && starts_byte_escape(s, i)) return false;
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      append_control(out, c);
      ++i;
    } else if (size_t n = utf8_sequence(s, i); n > 0) {
      out.append(s.data() + i, n);
      i += n;
    } else if (form == Form::exact) {
      return false;
    } else {
      append_byte_escape(out, c);
      ++i;
    }
  }
  return true;
}

}  // namespace

void JsonWriter::append_string(std::string& out, std::string_view s) {
  const size_t start = out.size();
  out += '"';
  // Nearly every string is valid UTF-8 with no `\xhh` in it: one pass.
  if (!append_body(out, s, Form::exact)) {
    out.resize(start + 1);
    (void)append_body(out, s, Form::lossless);
  }
  out += '"';
}

void JsonWriter::separate() {
  if (after_key_) {
    after_key_ = false;
  } else if (comma_) {
    out_ += ',';
  }
  comma_ = true;
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_ += '{';
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  out_ += '}';
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  separate();
  out_ += '[';
  comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  out_ += ']';
  comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  append_string(out_, name);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  append_string(out_, s);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  if (!std::isfinite(d)) return null();
  separate();
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  out_.append(buf, r.ptr);
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace sstrace::output
