// The interactive `sstrace top` screen (ncurses). One object owns the
// terminal from construction to destruction: the destructor restores it
// (endwin) whatever way the run ends, an exception included. While it owns
// the terminal, whatever is written to stderr is held and written out after
// the terminal is restored, so that nothing scribbles over the screen and
// no warning is lost.
#pragma once

#include <memory>
#include <string>

#include "aggregate/frame.h"
#include "views/top_state.h"
#include "views/top_text.h"

namespace sstrace::views {

class TopScreen {
 public:
  // Takes the terminal on stdin/stdout; throws std::runtime_error when it
  // cannot (no terminfo entry for $TERM, ...).
  TopScreen();
  ~TopScreen();
  TopScreen(const TopScreen&) = delete;
  TopScreen& operator=(const TopScreen&) = delete;

  // The next key, without waiting: a printable character or a Key;
  // kKeyNone when none is pending.
  int read_key();
  // Draws one whole frame into the screen buffer and shows it with a
  // single refresh: the terminal receives only what changed.
  void draw(const aggregate::Frame& f, const TopHeader& h, const TopState& s);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sstrace::views
