// libFuzzer over the request path of the engine: any bytes, read as a JSON request
// {"command": ..., "options": {...}} (or as the options of a command chosen by the first
// byte), must give a report or an InputError, never a crash, hang, sanitizer report or
// another exception. The report's three forms are rendered too.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sizeup/engine.hpp"
#include "sizeup/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& all = sizeup::commands();
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  sizeup::Request req;
  req.command        = all[data[0] % all.size()].name;
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return 0;
  if (doc.is_object() && doc.contains("command") && doc["command"].is_string()) {
    req.command = doc["command"].get<std::string>();
    req.options = doc.value("options", nlohmann::json::object());
  } else {
    req.options = doc;
  }
  try {
    const sizeup::Report r = sizeup::run(req);
    (void)sizeup::to_json(r, true).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    (void)sizeup::to_text(r);
  } catch (const sizeup::InputError&) {
  }
  return 0;
}
