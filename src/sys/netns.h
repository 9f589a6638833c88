// Network namespace helpers: the named namespaces ip-netns(8) keeps under
// /run/netns (-N NAME), the inode that identifies a namespace host-wide (the
// `netns` field of every event), and entering one for the calling thread.
//
// setns(2) moves only the calling thread. Everything here therefore reads
// /proc/thread-self, not /proc/self (which names the thread-group leader), so
// it stays right in a thread that entered another namespace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "sys/fd.h"

namespace sstrace::sys {

// Where ip-netns(8) bind-mounts its namespaces (iproute2 lib/namespace.h).
inline constexpr const char* kNetnsRunDir = "/run/netns";

// "/run/netns/NAME". Does not check the name; see valid_netns_name().
std::string netns_path(const std::string& name);

// What ip-netns accepts as a name: non-empty, no '/', not "." or "..", and
// short enough to be one path component.
bool valid_netns_name(const std::string& name);

// Opens the namespace handle /run/netns/NAME (O_RDONLY|O_CLOEXEC).
// Missing: "network namespace 'x' not found (/run/netns/x)" with ENOENT.
Result<UniqueFd> open_netns(const std::string& name);

// Moves the calling thread into /run/netns/NAME (needs CAP_SYS_ADMIN).
Result<void> enter_netns(const std::string& name);

// Moves the calling thread into the namespace behind `fd` (a handle from
// open_netns() or /proc/.../ns/net). `what` names it in error messages.
Result<void> enter_netns_fd(int fd, const std::string& what);

// Inode of the calling thread's network namespace (st_ino of
// /proc/thread-self/ns/net): the number `ip netns identify`, `lsns` and
// `ss -e`'s peers agree on.
Result<uint32_t> current_netns_inode();

// Inode of the namespace behind a handle.
Result<uint32_t> netns_inode(int fd);

// The names under /run/netns, sorted; empty (not an error) when the
// directory does not exist because no namespace was ever named.
Result<std::vector<std::string>> list_netns();

// Enters a namespace for the calling thread and returns it to the namespace
// it was in when the scope is destroyed (e.g. dump another namespace, then
// carry on where we were). Restoring can only fail if the original handle
// became invalid, which it cannot while we hold it open.
class NetnsScope {
 public:
  static Result<NetnsScope> enter(const std::string& name);
  static Result<NetnsScope> enter_fd(int fd, const std::string& what);

  NetnsScope(NetnsScope&& other) noexcept = default;
  NetnsScope& operator=(NetnsScope&& other) noexcept;
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;
  ~NetnsScope();

  // Goes back now instead of at destruction; the scope is then inert.
  Result<void> restore();

 private:
  explicit NetnsScope(UniqueFd original) : original_(std::move(original)) {}
  UniqueFd original_;  // the thread's namespace before enter()
};

}  // namespace sstrace::sys
