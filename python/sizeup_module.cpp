// sizeup._sizeup: the engine for Python (pybind11). Requests go in and reports come out as
// JSON text, so the dicts Python sees are exactly what `sizeup <command> --json` prints;
// python/sizeup/__init__.py builds one function per command on top of run().
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <tuple>

#include "describe.hpp"
#include "sizeup/engine.hpp"
#include "sizeup/error.hpp"
#include "sizeup/report.hpp"

namespace py = pybind11;

namespace {

// (ok, json text or field, Markdown or message, text form)
std::tuple<bool, std::string, std::string, std::string> run_json(const std::string& command,
                                                                 const std::string& options,
                                                                 bool explain) {
  try {
    sizeup::Options o;
    try {
      o = nlohmann::json::parse(options);
    } catch (const nlohmann::json::exception& e) {
      return {false, "options", std::string("invalid options: ") + e.what(), ""};
    }
    sizeup::Report r;
    {
      py::gil_scoped_release unlocked;  // the engine touches no Python object
      r = sizeup::run(sizeup::Request{command, std::move(o)});
    }
    return {true, sizeup::to_json(r, explain).dump(), sizeup::to_markdown(r), sizeup::to_text(r)};
  } catch (const sizeup::InputError& e) {
    return {false, e.field(), e.what(), ""};
  }
}

}  // namespace

PYBIND11_MODULE(_sizeup, m) {
  m.doc() = "sizeup engine (see the sizeup package)";
  m.def("run_json", &run_json, py::arg("command"), py::arg("options"), py::arg("explain") = false,
        "Runs a command on a JSON object of options: (ok, json or field, markdown or message, "
        "text)");
  m.def(
      "commands_json", [] { return sizeup::server::describe_commands().dump(); },
      "Every command and its options as JSON text");
}
