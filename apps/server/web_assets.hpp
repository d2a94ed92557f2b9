// The page's files, embedded into sizeup-server at build time (cmake/embed_web.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace sizeup::server {

struct Asset {
  std::string_view path;  // URL path, e.g. "/index.html"
  std::string_view content_type;
  std::string_view data;
};

const std::vector<Asset>& web_assets();

}  // namespace sizeup::server
