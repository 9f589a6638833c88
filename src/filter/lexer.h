// Splitting filter text into tokens the way ss does: words separated by
// spaces and tabs only, a backslash escapes the next character (a space
// included). sstrace also splits parentheses off the front and back of a
// word ("(dport" -> "(", "dport"); an escaped parenthesis stays put.
#pragma once

#include <string>
#include <vector>

namespace sstrace::filter {

struct Token {
  std::string text;
  int index = 0;  // 1-based position among all tokens of the filter
  int line = 0;   // -F file line (1-based); 0 for command-line words

  // "token 3 ':70000'" or "line 2 token 3 ':70000'", for messages.
  std::string where() const;
};

class Lexer {
 public:
  // Appends the tokens of one command-line word / one file line.
  void add_word(const std::string& word);
  void add_line(const std::string& line, int line_no);
  // -F FILE ("-" = stdin): lines starting with '#' are comments. Throws
  // UsageError.
  void add_file(const std::string& path);

  std::vector<Token>& tokens() { return tokens_; }
  // The next token index (tokens already added plus those counted by the
  // caller, e.g. `state` words).
  void skip_index(int n) { next_index_ += n; }

 private:
  void add_text(const std::string& text, int line_no);
  void push(std::string text, int line_no);

  std::vector<Token> tokens_;
  int next_index_ = 1;
};

}  // namespace sstrace::filter
