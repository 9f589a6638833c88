#include "output/users_text.h"

#include "output/append_number.h"
#include "output/terminal_text.h"

namespace sstrace::output {

std::string_view ss_process_name(std::string_view comm) { return comm.substr(0, comm.find(')')); }

std::string users_text(std::span<const sys::SocketUser> users) {
  if (users.empty()) return {};
  std::string out = "users:(";
  bool first = true;
  for (const sys::SocketUser& u : users) {
    if (!first) out += ',';
    first = false;
    out += "(\"";
    append_terminal_safe(out, ss_process_name(u.comm));
    out += "\",pid=";
    append_int(out, u.pid);
    out += ",fd=";
    append_int(out, u.fd);
    out += ')';
  }
  out += ')';
  return out;
}

}  // namespace sstrace::output
