#include "output/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
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

TEST(JsonWriter, replaces_each_invalid_byte_with_u_fffd) {
  // A lone continuation byte, a truncated sequence, an overlong '/', a
  // UTF-16 surrogate, a code point past U+10FFFF and bytes never valid.
  EXPECT_EQ(json_quoted("a\x80z"), R"("a\ufffdz")");
  EXPECT_EQ(json_quoted("a\xe2\x82"), R"("a\ufffd\ufffd")");
  EXPECT_EQ(json_quoted("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(json_quoted("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json_quoted("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");
  EXPECT_EQ(json_quoted("\xfe\xff"), R"("\ufffd\ufffd")");
  // What comes out is valid JSON and valid UTF-8 (nlohmann rejects both
  // otherwise) and decodes to U+FFFD where the bad bytes were.
  auto j = nlohmann::json::parse(json_quoted("/run/\xff\x01sock"));
  EXPECT_EQ(j.get<std::string>(), "/run/\xef\xbf\xbd\x01sock");
}

TEST(JsonWriter, every_byte_value_round_trips_through_a_parser) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("s", all).end_object();
  auto j = nlohmann::json::parse(out);
  const std::string back = j["s"].get<std::string>();
  // ASCII survives exactly; the 128 high bytes, none of which forms a
  // sequence here, each become U+FFFD (3 bytes).
  EXPECT_EQ(back.substr(0, 128), all.substr(0, 128));
  EXPECT_EQ(back.size(), 128u + 128u * 3u);
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
  EXPECT_NO_THROW((void)nlohmann::json::parse(with_literals));
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
            "\"abc\\\"def\\\\ghi\\njkl\xc3\xa9mno\\ufffdpqr\"");
  EXPECT_EQ(json_quoted(""), "\"\"");
  EXPECT_EQ(json_quoted("\x7f"), "\"\\u007f\"");
}

}  // namespace
}  // namespace sstrace::output
