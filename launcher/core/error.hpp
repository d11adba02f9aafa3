// Error types. Every failure that reaches the user is one line: the step or the file and JSON
// path, then what went wrong, then the errno text where there is one.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace bulwark {

// Bad input: a file, a flag, a JSON value. Detected before the system is touched.
class InputError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A system call failed during a step; `step` names it, e.g. "pivot_root(/srv/app)".
class SysError : public std::runtime_error {
  public:
    SysError(const std::string& step, int err);
    int err() const { return err_; }

  private:
    int err_;
};

// Throws SysError for the current errno.
[[noreturn]] void throw_sys(const std::string& step);

}  // namespace bulwark

namespace bulwark {
// The command line itself is malformed (unknown flag, missing value): exit 2, or 125 for run.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};
}  // namespace bulwark
