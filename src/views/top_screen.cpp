#include "views/top_screen.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

// Without this, curses.h defines erase(), clear(), move() and timeout() as
// macros, which rewrite any C++ member of the same name in this file.
#define NCURSES_NOMACROS
#include <curses.h>

namespace sstrace::views {

namespace {

// stderr into a memory file while the screen is up, then back, with what
// was written replayed.
class StderrHold {
 public:
  StderrHold() {
    std::fflush(stderr);
    mem_ = memfd_create("sstrace-stderr", MFD_CLOEXEC);
    if (mem_ < 0) return;
    saved_ = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved_ < 0 || dup2(mem_, STDERR_FILENO) < 0) restore();
  }
  ~StderrHold() { restore(); }
  StderrHold(const StderrHold&) = delete;
  StderrHold& operator=(const StderrHold&) = delete;

 private:
  void restore() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      dup2(saved_, STDERR_FILENO);
      close(saved_);
      saved_ = -1;
      char buf[4096];
      ssize_t n;
      if (lseek(mem_, 0, SEEK_SET) == 0)
        while ((n = read(mem_, buf, sizeof buf)) > 0)
          if (write(STDERR_FILENO, buf, size_t(n)) != n) break;
    }
    if (mem_ >= 0) close(mem_);
    mem_ = -1;
  }

  int mem_ = -1, saved_ = -1;
};

const char* const kHelp[] = {
    "sstrace top: TCP churn by group, rates per second over --interval",
    "",
    "  q          quit",
    "  < >        sort by the column to the left / right (also the arrow keys)",
    "  1 .. 9     sort by that column: 1 OPEN/s 2 CLOSE/s 3 FAIL/s 4 RST/s",
    "             5 RETR/s 6 ALIVE 7 TW 8 CW 9 SHORT",
    "  g          next grouping: peer-port, port, peer, process (counts restart)",
    "  p          pause the display (counting goes on)",
    "  /          filter: an ss expression, e.g. dport = :443 or state established;",
    "             Enter applies, empty clears, Esc cancels. Counts restart, and",
    "             the connections present that match count as alive at once.",
    "  ?          this page (any key leaves it)",
    "",
    "Columns: OPEN/s connections opened (in: accepted, out: connect), CLOSE/s",
    "closed, FAIL/s connects that failed, RST/s resets sent+received, RETR/s",
    "retransmitted segments; ALIVE, TW (TIME-WAIT), CW (CLOSE-WAIT) now; SHORT",
    "the share of closes that lived under 1 s; P50ms P99ms smoothed RTT.",
    "PORT is the service port (the listener's), never an ephemeral one.",
};

}  // namespace

struct TopScreen::Impl {
  StderrHold hold;  // first in, last out: stderr comes back after endwin
  SCREEN* screen = nullptr;

  Impl() {
    screen = newterm(nullptr, stdout, stdin);
    if (!screen) throw std::runtime_error("cannot drive this terminal (TERM=" + term() + ")");
    set_term(screen);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
  }
  ~Impl() {
    endwin();
    delscreen(screen);
  }
  static std::string term() {
    const char* t = std::getenv("TERM");
    return t ? t : "";
  }
};

TopScreen::TopScreen() : impl_(std::make_unique<Impl>()) {}
TopScreen::~TopScreen() = default;

int TopScreen::read_key() {
  int ch = wgetch(stdscr);
  switch (ch) {
    case ERR:
      return kKeyNone;
    case KEY_LEFT:
      return kKeyLeft;
    case KEY_RIGHT:
      return kKeyRight;
    case KEY_ENTER:
      return kKeyEnter;
    case KEY_BACKSPACE:
      return kKeyBackspace;
    case KEY_RESIZE:
      return kKeyResize;
    case 27:
      return kKeyEscape;
    default:
      break;
  }
  return ch < 256 ? ch : 0;  // another function key: TopState calls it unknown
}

namespace {

void put(int y, const std::string& s, int cols, attr_t attr = A_NORMAL) {
  if (cols <= 0) return;
  wattr_set(stdscr, attr, 0, nullptr);
  mvwaddnstr(stdscr, y, 0, s.c_str(), cols);
  wattr_set(stdscr, A_NORMAL, 0, nullptr);
}

}  // namespace

void TopScreen::draw(const aggregate::Frame& f, const TopHeader& h, const TopState& s) {
  int rows, cols;
  getmaxyx(stdscr, rows, cols);
  werase(stdscr);  // not clear(): that repaints the whole terminal, a flicker
  int y = 0;
  const int footer = rows - 1;
  for (const std::string& l : top_header_lines(f, h)) {
    if (y >= footer) break;
    put(y++, l, cols);
  }
  ++y;  // a blank line, as top has
  if (s.help()) {
    for (const char* l : kHelp) {
      if (y >= footer) break;
      put(y++, l, cols);
    }
  } else if (y < footer) {
    const size_t room = size_t(footer - y - 1);
    TopTable t = top_table(f, h.sort, room ? room : 1);
    std::string title = t.title_line(size_t(cols));
    title.resize(size_t(cols), ' ');
    put(y, title, cols, A_REVERSE);
    // The sort column's title stands out.
    for (size_t c = 0; c < t.cols.size(); ++c) {
      if (t.cols[c].sort != int(h.sort)) continue;
      auto [start, width] = t.span(c, size_t(cols));
      if (width) mvwchgat(stdscr, y, int(start), int(width), A_BOLD, 0, nullptr);
    }
    ++y;
    for (size_t r = 0; r < t.cells.size() && y < footer; ++r)
      put(y++, t.row_line(r, size_t(cols)), cols);
  }
  if (s.editing()) {
    put(footer, "Filter: " + s.edit_text() + "_", cols);
  } else if (!s.message().empty()) {
    put(footer, s.message(), cols, A_BOLD);
  } else {
    put(footer, kTopKeysLine, cols, A_REVERSE);
  }
  wrefresh(stdscr);
}

}  // namespace sstrace::views
