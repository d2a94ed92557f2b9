// Errors for bad user input. Each carries the field it concerns and a one-line reason;
// the CLI prints "sizeup: error: <what> (<field>): <why>" and exits with status 2.
#pragma once

#include <stdexcept>
#include <string>

namespace sizeup {

class InputError : public std::runtime_error {
 public:
  InputError(std::string what, std::string field, std::string why)
      : std::runtime_error(what + " (" + field + "): " + why),
        what_(std::move(what)),
        field_(std::move(field)),
        why_(std::move(why)) {}
  const std::string& subject() const { return what_; }
  const std::string& field() const { return field_; }
  const std::string& reason() const { return why_; }

 private:
  std::string what_, field_, why_;
};

}  // namespace sizeup
