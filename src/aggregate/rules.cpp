#include "aggregate/rules.h"

#include "diag/sock_info.h"

namespace sstrace::aggregate {

using diag::TcpState;

Open open_of(const model::Event& e) {
  if (e.type != model::EventType::state || e.inferred) return Open::none;
  if (e.old_state == TcpState::kClose && e.new_state == TcpState::kSynSent) return Open::out;
  if ((e.old_state == TcpState::kListen || e.old_request) && e.new_state == TcpState::kSynRecv)
    return Open::in;
  return Open::none;
}

bool is_kernel_transition(const model::Event& e) {
  return e.type == model::EventType::state && !e.inferred;
}

bool is_undone_open(const model::Event& e) {
  return is_kernel_transition(e) && e.in_connect && e.old_state == TcpState::kSynSent &&
         e.new_state == TcpState::kClose;
}

bool is_failed_connect(const model::Event& e) {
  return is_kernel_transition(e) && !e.in_connect && e.new_state == TcpState::kClose &&
         (e.old_state == TcpState::kSynSent || e.old_state == TcpState::kSynRecv);
}

uint16_t service_port(model::Direction dir, uint16_t local_port, uint16_t remote_port) {
  switch (dir) {
    case model::Direction::in:
    case model::Direction::listen:
      return local_port;
    case model::Direction::out:
      return remote_port;
    case model::Direction::unknown:
      break;
  }
  return 0;  // never an ephemeral port
}

uint16_t service_port(const model::Connection& c) {
  return service_port(c.dir, c.local.port, c.remote.port);
}

bool is_request(const model::Event& e) {
  if (e.conn && e.conn->request) return true;
  return e.type == model::EventType::snapshot && e.info &&
         (e.info->state == TcpState::kNewSynRecv ||
          (e.info->state == TcpState::kSynRecv && e.info->inode == 0));
}

}  // namespace sstrace::aggregate
