#include "filter/lexer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "common/result.h"

namespace sstrace::filter {

std::string Token::where() const {
  std::string s = line > 0 ? "line " + std::to_string(line) + " " : "";
  return s + "token " + std::to_string(index) + " '" + text + "'";
}

void Lexer::push(std::string text, int line_no) {
  Token t;
  t.text = std::move(text);
  t.index = next_index_++;
  t.line = line_no;
  tokens_.push_back(std::move(t));
}

void Lexer::add_word(const std::string& word) { add_text(word, 0); }

void Lexer::add_line(const std::string& line, int line_no) { add_text(line, line_no); }

void Lexer::add_text(const std::string& text, int line_no) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size()) break;
    // One word, with escapes resolved; remember which characters were
    // escaped so "\(" never becomes a parenthesis.
    std::string word;
    std::vector<bool> escaped;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') {
      if (text[i] == '\\') {
        if (++i == text.size()) break;  // a trailing backslash escapes nothing
        word += text[i++];
        escaped.push_back(true);
        continue;
      }
      word += text[i++];
      escaped.push_back(false);
    }
    if (word.empty()) continue;
    // Parentheses glued to a word: an sstrace extension (ss 6.1 rejects
    // "(dport"), so that '( dport = :443 )' may be written without spaces.
    size_t b = 0, e = word.size();
    while (b < e && word[b] == '(' && !escaped[b]) ++b;
    size_t close = e;
    while (close > b && word[close - 1] == ')' && !escaped[close - 1]) --close;
    if (b == 0 && close == e) {
      push(word, line_no);
      continue;
    }
    for (size_t k = 0; k < b; ++k) push("(", line_no);
    if (close > b) push(word.substr(b, close - b), line_no);
    for (size_t k = close; k < e; ++k) push(")", line_no);
  }
}

void Lexer::add_file(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) throw UsageError("cannot open filter file " + path + ": " + std::strerror(errno));
    in = &file;
  }
  // Read by hand, not with getline: /dev/zero (or any file with no newline)
  // would grow one line without bound. ss's own limit per line is kept, a
  // whole file is bounded too, and a NUL byte is refused: it would end the
  // line in ss's C strings and silently drop the rest.
  constexpr size_t kMaxFileBytes = 1 << 20;
  std::string line;
  int line_no = 1;
  size_t total = 0;
  auto finish_line = [&] {
    // ss skips lines that start with '#' (comments) and, by a slip that its
    // users may rely on, lines that start with '0'.
    if (!line.empty() && line[0] != '#' && line[0] != '0') add_line(line, line_no);
    line.clear();
    ++line_no;
  };
  for (int c = in->get(); c != std::char_traits<char>::eof(); c = in->get()) {
    if (++total > kMaxFileBytes)
      throw UsageError("filter file " + path + ": larger than 1 MiB, not a filter");
    if (c == '\0')
      throw UsageError("filter file " + path + " line " + std::to_string(line_no) +
                       ": contains a NUL byte");
    if (c == '\n') {
      finish_line();
      continue;
    }
    line += char(c);
    // ss reads lines into a 1024-byte buffer and refuses longer ones.
    if (line.size() + 1 >= 1023)
      throw UsageError("filter file " + path + " line " + std::to_string(line_no) +
                       ": longer than 1021 characters");
  }
  if (!line.empty()) finish_line();
  // `-F -` with stdin closed or empty: a filter that is not there must not
  // quietly become "match everything".
  if (path == "-" && total == 0)
    throw UsageError("filter file -: standard input is empty or closed");
  if (in->bad()) throw UsageError("cannot read filter file " + path);
}

}  // namespace sstrace::filter
