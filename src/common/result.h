// Errors as values (the bpftrace shape): recoverable failures carry a message
// and an errno and are converted to text once, at the boundary. Fatal user
// errors are UsageError / FatalError, thrown only towards main().
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace sstrace {

struct Error {
  std::string message;
  int err = 0;  // errno, 0 when not a system error

  // "failed to attach tcp_probe: Operation not permitted"
  std::string str() const {
    if (err == 0) return message;
    return message + ": " + std::strerror(err);
  }
};

inline Error sys_error(std::string message, int err = errno) { return Error{std::move(message), err}; }

// A minimal std::expected stand-in (C++20 has none): holds a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

// Bad command line or filter: main() prints "sstrace: <what>" and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Anything else the user must act on (privilege, BTF, ...): exit 1.
class FatalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace sstrace
