#include "output/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>

namespace sstrace::output {
namespace {

std::string json_quoted(std::string_view s) {
  std::string out;
  JsonWriter::append_string(out, s);
  return out;
}

TEST(JsonWriter, writes_nested_objects_and_arrays_with_separators) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("a", 1);
  w.key("b").begin_array();
  w.value(true).value(false).null();
  w.begin_object().field("c", "d").end_object();
  w.begin_array().end_array();
  w.end_array();
  w.key("e").begin_object().end_object();
  w.field("f", std::string("g"));
  w.end_object();
  EXPECT_EQ(out, R"({"a":1,"b":[true,false,null,{"c":"d"},[]],"e":{},"f":"g"})");
  EXPECT_TRUE(nlohmann::json::accept(out));
}

TEST(JsonWriter, integers_keep_every_digit) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  w.value(std::numeric_limits<uint64_t>::max());
  w.value(std::numeric_limits<int64_t>::min());
  w.value(uint8_t{255});
  w.value(uint16_t{65535});
  w.end_array();
  EXPECT_EQ(out, "[18446744073709551615,-9223372036854775808,255,65535]");
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j[0].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
}

TEST(JsonWriter, doubles_are_shortest_and_integral_ones_have_no_fraction) {
  std::string out;
  JsonWriter w(out);
  w.begin_array();
  w.value(204.0).value(0.075).value(2.88671875).value(-1.5);
  w.value(std::numeric_limits<double>::infinity());
  w.end_array();
  EXPECT_EQ(out, "[204,0.075,2.88671875,-1.5,null]");
}

TEST(JsonWriter, escapes_quotes_backslashes_and_control_characters) {
  EXPECT_EQ(json_quoted("plain"), R"("plain")");
  EXPECT_EQ(json_quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(json_quoted("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(json_quoted(std::string_view("\x00\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(json_quoted("/"), R"("/")");
}

TEST(JsonWriter, passes_valid_utf8_through) {
  // 2-, 3- and 4-byte sequences, including the edges of the valid ranges.
  const std::string s = "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf";
  EXPECT_EQ(json_quoted(s), "\"" + s + "\"");
  EXPECT_EQ(nlohmann::json::parse(json_quoted(s)).get<std::string>(), s);
}

// What docs/events.md ("Strings") tells a reader to do with a decoded
// value: a value with `\xhh` in it is in the lossless form, where `\\` is a
// backslash and `\xhh` the byte 0xhh; any other value is the bytes as they
// are.
std::string recover_bytes(const std::string& v) {
  static const std::regex kByteEscape(R"(\\x[0-9a-f]{2})");
  if (!std::regex_search(v, kByteEscape)) return v;
  std::string bytes;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != '\\') {
      bytes += v[i];
    } else if (v[i + 1] == '\\') {
      bytes += '\\';
      i += 1;
    } else {
      bytes += static_cast<char>(std::stoi(v.substr(i + 2, 2), nullptr, 16));
      i += 3;
    }
  }
  return bytes;
}

// Through a real parser and back to bytes.
std::string round_trip(std::string_view s) {
  return recover_bytes(nlohmann::json::parse(json_quoted(s)).get<std::string>());
}

TEST(JsonWriter, writes_each_invalid_byte_as_backslash_x_hex) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // UTF-16 surrogate, a code point past U+10FFFF and bytes never valid.
  EXPECT_EQ(json_quoted("a\x80z"), R"("a\\x80z")");
  EXPECT_EQ(json_quoted("a\xe2\x82"), R"("a\\xe2\\x82")");
  EXPECT_EQ(json_quoted("\xc0\xaf"), R"("\\xc0\\xaf")");
  EXPECT_EQ(json_quoted("\xed\xa0\x80"), R"("\\xed\\xa0\\x80")");
  EXPECT_EQ(json_quoted("\xf4\x90\x80\x80"), R"("\\xf4\\x90\\x80\\x80")");
  EXPECT_EQ(json_quoted("\xfe\xff"), R"("\\xfe\\xff")");
  // Valid UTF-8 beside them is kept; a backslash is doubled in this form.
  EXPECT_EQ(json_quoted("\xc3\xa9\\\xff"), R"("é\\\\\\xff")");
  // What comes out is valid JSON and valid UTF-8 (nlohmann rejects both
  // otherwise).
  auto j = nlohmann::json::parse(json_quoted("/run/\xff\x01sock"));
  EXPECT_EQ(j.get<std::string>(), "/run/\\xff\x01sock");
}

TEST(JsonWriter, valid_utf8_keeps_its_exact_bytes_backslashes_included) {
  for (std::string_view s : {"C:\\dir\\x", "a\\\\b", "\\x4", "\\xAB", "\\xg0", "tab\there", "\\"}) {
    const std::string decoded = nlohmann::json::parse(json_quoted(s)).get<std::string>();
    EXPECT_EQ(decoded, s);
    EXPECT_EQ(recover_bytes(decoded), s);
  }
}

TEST(JsonWriter, text_that_looks_like_a_byte_escape_is_written_losslessly) {
  // Valid UTF-8, but `\x41` would read back as 'A': the lossless form.
  EXPECT_EQ(json_quoted("\\x41"), R"("\\\\x41")");
  EXPECT_EQ(round_trip("\\x41"), "\\x41");
  EXPECT_EQ(round_trip("a\\\\x41\\b"), "a\\\\x41\\b");
  EXPECT_EQ(round_trip("\\\xff"), "\\\xff");
}

TEST(JsonWriter, every_byte_value_round_trips_through_a_parser) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("s", all).end_object();
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(recover_bytes(j["s"].get<std::string>()), all);
}

TEST(JsonWriter, random_byte_strings_round_trip) {
  // Drawn from an alphabet that makes the hard cases common: backslashes,
  // 'x', hex digits, lead and continuation bytes, controls.
  const std::string alphabet =
      std::string("\\x0a9fF\"\x01\x7f\0", 11) + "\xc3\xa9\x80\xe2\x82\xf0\xff";
  std::mt19937 rng(11);
  for (int n = 0; n < 20000; ++n) {
    std::string s(rng() % 12, '\0');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    ASSERT_EQ(round_trip(s), s) << json_quoted(s);
  }
}

// The same document through run-time (escaped) keys and literal keys.
template <typename Key>
std::string document(Key key) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  key(w, 0);
  w.value(1);
  key(w, 1);
  w.begin_object();
  key(w, 2);
  w.value("x");
  key(w, 3);
  w.begin_array().value(1).begin_object().end_object().end_array();
  w.end_object();
  key(w, 4);
  w.quoted([](std::string& o) { o += "10.0.0.1"; });
  w.end_object();
  return out;
}

TEST(JsonWriter, literal_keys_are_written_as_escaped_keys_are) {
  const std::string with_literals = document([](JsonWriter& w, int i) {
    switch (i) {
      case 0:
        w.key("type");
        break;
      case 1:
        w.key("tcp_info");
        break;
      case 2:
        w.key("rtt_us");
        break;
      case 3:
        w.key("users");
        break;
      default:
        w.key("laddr");
    }
  });
  const std::string with_views = document([](JsonWriter& w, int i) {
    static constexpr std::string_view kKeys[] = {"type", "tcp_info", "rtt_us", "users", "laddr"};
    w.key(kKeys[i]);
  });
  EXPECT_EQ(with_literals, with_views);
  EXPECT_EQ(with_literals,
            R"({"type":1,"tcp_info":{"rtt_us":"x","users":[1,{}]},"laddr":"10.0.0.1"})");
  EXPECT_TRUE(nlohmann::json::accept(with_literals)) << with_literals;
}

TEST(JsonWriter, literal_and_view_fields_agree) {
  std::string a, b;
  JsonWriter wa(a), wb(b);
  wa.begin_object().field("netns", 4026531840u).field("seeded", true).end_object();
  wb.begin_object();
  wb.field(std::string_view("netns"), 4026531840u).field(std::string_view("seeded"), true);
  wb.end_object();
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, R"({"netns":4026531840,"seeded":true})");
}

TEST(JsonWriter, plain_keys_are_exactly_those_escaping_leaves_alone) {
  for (int c = 0; c < 256; ++c) {
    const std::string one(1, static_cast<char>(c));
    const bool unchanged = json_quoted(one) == "\"" + one + "\"";
    EXPECT_EQ(JsonWriter::is_plain_key(one), unchanged && c < 0x80) << c;
  }
  EXPECT_TRUE(JsonWriter::is_plain_key("sndbuf_limited_us"));
  EXPECT_FALSE(JsonWriter::is_plain_key("a\"b"));
}

TEST(JsonWriter, runs_between_escapes_are_copied_whole) {
  EXPECT_EQ(json_quoted("abc\"def\\ghi\njkl\xc3\xa9mno\xffpqr"),
            "\"abc\\\"def\\\\\\\\ghi\\njkl\xc3\xa9mno\\\\xffpqr\"");
  EXPECT_EQ(json_quoted(""), "\"\"");
  EXPECT_EQ(json_quoted("\x7f"), "\"\\u007f\"");
}

}  // namespace
}  // namespace sstrace::output
