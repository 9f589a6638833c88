// What a person has asked of `sstrace top` with the keyboard: the sort
// column, the grouping, pause, the help page and the live filter being
// typed. No terminal here: the screen turns ncurses' key codes into Key
// values, the view acts on what key() returns, and the tests drive it with
// plain values.
#pragma once

#include <string>

#include "aggregate/frame.h"

namespace sstrace::views {

// Keys that are not one printable character.
enum Key : int {
  kKeyNone = -1,  // nothing pending
  kKeyLeft = 0x10000,
  kKeyRight,
  kKeyEnter,
  kKeyBackspace,
  kKeyEscape,
  kKeyResize,
};

enum class TopAction {
  none,     // nothing changed
  redraw,   // draw again what is shown (sort, pause, help, typing)
  quit,     // q
  regroup,  // g: by() changed; the counts restart under the new keys
  filter,   // `/`, Enter: apply pending_filter() (then accept or reject it)
};

class TopState {
 public:
  explicit TopState(aggregate::GroupBy by) : by_(by) {}

  TopAction key(int k);

  aggregate::Column sort() const { return sort_; }
  aggregate::GroupBy by() const { return by_; }
  bool paused() const { return paused_; }
  bool help() const { return help_; }
  // `/` typing: the line so far.
  bool editing() const { return editing_; }
  const std::string& edit_text() const { return edit_; }
  // The filter in force ("" : none) and the one Enter asked for.
  const std::string& filter() const { return filter_; }
  const std::string& pending_filter() const { return pending_; }
  void accept_filter();
  void reject_filter(const std::string& error);  // keeps the old one
  // A line for the footer: the last key's complaint or a filter's error.
  const std::string& message() const { return message_; }

 private:
  TopAction edit_key(int k);
  TopAction sort_by(int column);

  aggregate::GroupBy by_;
  aggregate::Column sort_ = aggregate::Column::opens;
  bool paused_ = false;
  bool help_ = false;
  bool editing_ = false;
  std::string edit_;
  std::string filter_, pending_;
  std::string message_;
};

// The footer's list of keys.
inline constexpr const char* kTopKeysLine =
    "q quit  < > 1-9 sort  g group  p pause  / filter  ? help";

}  // namespace sstrace::views
