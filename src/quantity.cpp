#include "sizeup/quantity.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "sizeup/error.hpp"

namespace sizeup {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Splits "1.5k" into 1.5 and "k"; rejects text that is not a number.
double leading_number(const std::string& s, std::string& rest, const std::string& field) {
  if (s.empty()) throw InputError("invalid number", field, "empty value");
  const char* begin = s.c_str();
  char* end         = nullptr;
  const double v    = std::strtod(begin, &end);
  if (end == begin) throw InputError("invalid number", field, "'" + s + "' is not a number");
  // strtod accepts "inf", "nan" and hex floats; none is a quantity.
  for (const char* p = begin; p < end; ++p)
    if (std::isalpha(static_cast<unsigned char>(*p)) && *p != 'e' && *p != 'E')
      throw InputError("invalid number", field, "'" + s + "' is not a finite number");
  if (!std::isfinite(v)) throw InputError("invalid number", field, "'" + s + "' is out of range");
  rest = trim(end);
  return v;
}

double checked(double v, const std::string& text, const std::string& field) {
  if (!std::isfinite(v))
    throw InputError("invalid number", field, "'" + text + "' is out of range");
  if (v < 0) throw InputError("invalid number", field, "'" + text + "' must not be negative");
  return v;
}

}  // namespace

double parse_quantity(const std::string& raw, const std::string& field) {
  const std::string text = trim(raw);
  std::string suffix;
  const double v = leading_number(text, suffix, field);
  double scale   = 1;
  if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'k':
      case 'K':
        scale = 1e3;
        break;
      case 'm':
      case 'M':
        scale = 1e6;
        break;
      case 'b':
      case 'B':
      case 'g':
      case 'G':
        scale = 1e9;
        break;
      case 't':
      case 'T':
        scale = 1e12;
        break;
      case 'p':
      case 'P':
        scale = 1e15;
        break;
      default:
        throw InputError("invalid number", field,
                         "unknown suffix '" + suffix + "' in '" + text + "'");
    }
  } else if (!suffix.empty()) {
    throw InputError("invalid number", field, "unknown suffix '" + suffix + "' in '" + text + "'");
  }
  return checked(v * scale, text, field);
}

double parse_number(const std::string& raw, const std::string& field) {
  const std::string text = trim(raw);
  std::string suffix;
  const double v = leading_number(text, suffix, field);
  if (!suffix.empty())
    throw InputError("invalid number", field, "'" + text + "' is not a plain number");
  return checked(v, text, field);
}

std::int64_t parse_count(const std::string& text, const std::string& field) {
  const double v = parse_quantity(text, field);
  if (v != std::floor(v))
    throw InputError("invalid number", field, "'" + text + "' must be a whole number");
  if (v >= 9.2e18) throw InputError("invalid number", field, "'" + text + "' is too large");
  return static_cast<std::int64_t>(v);
}

double parse_bytes(const std::string& raw, const std::string& field) {
  const std::string text = trim(raw);
  std::string unit;
  const double v = leading_number(text, unit, field);
  std::string u;
  for (char c : unit) u += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double scale = 1;
  if (u.empty() || u == "b")
    scale = 1;
  else if (u == "kb")
    scale = 1e3;
  else if (u == "mb")
    scale = 1e6;
  else if (u == "gb")
    scale = 1e9;
  else if (u == "tb")
    scale = 1e12;
  else if (u == "kib")
    scale = 1024.0;
  else if (u == "mib")
    scale = 1048576.0;
  else if (u == "gib")
    scale = 1073741824.0;
  else if (u == "tib")
    scale = 1099511627776.0;
  else
    throw InputError("invalid size", field,
                     "unknown unit '" + unit + "' (use GB = 10^9 or GiB = 2^30 bytes)");
  return checked(v * scale, text, field);
}

}  // namespace sizeup
