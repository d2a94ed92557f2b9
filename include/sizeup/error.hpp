// Errors for bad user input. Each carries the input it blames (an identifier such as
// `micro_batch`, `model`, or `config.<key>`; front ends spell it their own way) and a
// one-line reason; the CLI prints "sizeup: error: <what> (<field>): <why>" and exits 2.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sizeup {

// `s` made safe for one line of a terminal or a JSON string: bytes that are not valid UTF-8
// become \xNN, control characters (newlines included) become \n, \t or \xNN.
std::string printable(std::string_view s);

// "; did you mean a, b?" naming the (at most three) candidates nearest to `name` by edit
// distance, within a third of its length; empty when none is near.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

class InputError : public std::runtime_error {
 public:
  InputError(std::string what, std::string field, std::string why)
      : std::runtime_error(printable(what) + " (" + printable(field) + "): " + printable(why)),
        what_(printable(what)),
        field_(printable(field)),
        why_(printable(why)) {}
  const std::string& subject() const { return what_; }
  const std::string& field() const { return field_; }
  const std::string& reason() const { return why_; }

 private:
  std::string what_, field_, why_;
};

}  // namespace sizeup
