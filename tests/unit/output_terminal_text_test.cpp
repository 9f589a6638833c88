#include "output/terminal_text.h"

#include <gtest/gtest.h>

namespace sstrace::output {
namespace {

std::string safe(std::string_view s) {
  std::string out;
  append_terminal_safe(out, s);
  return out;
}

TEST(TerminalText, plain_names_are_unchanged) {
  EXPECT_EQ(safe("nginx"), "nginx");
  EXPECT_EQ(safe("kworker/0:1-ev"), "kworker/0:1-ev");
  EXPECT_EQ(safe(""), "");
}

TEST(TerminalText, control_characters_and_escape_sequences_are_visible) {
  EXPECT_EQ(safe("\x1b[2Jx"), "\\x1b[2Jx");
  EXPECT_EQ(safe("a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d");
  EXPECT_EQ(safe(std::string_view("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(safe("\x7f"), "\\x7f");
  // C1 controls (U+009B is CSI on some terminals), written as UTF-8.
  EXPECT_EQ(safe("\xc2\x9b"
                 "1m"),
            "\\xc2\\x9b1m");
}

TEST(TerminalText, valid_utf8_is_kept_and_invalid_bytes_escaped) {
  EXPECT_EQ(safe("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(safe("\xe2\x82\xac"), "\xe2\x82\xac");          // euro sign
  EXPECT_EQ(safe("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // emoji
  EXPECT_EQ(safe("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(safe("\xc3"), "\\xc3");                    // cut short
  EXPECT_EQ(safe("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(safe("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(TerminalText, backslash_is_doubled_so_the_escaping_reads_back) {
  EXPECT_EQ(safe("\\x1b"), "\\\\x1b");
  EXPECT_NE(safe("\\x1b"), safe("\x1b"));
}

}  // namespace
}  // namespace sstrace::output
