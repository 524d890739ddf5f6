// JSON a user wrote (a bundle's config.json, a seccomp profile), parsed strictly.
//
// nlohmann keeps the last of two equal keys; a document whose meaning depends on which one a
// reader keeps is refused instead. Syntax errors name file:line:column and quote at most the
// token that was being read, cut short, never the line around it.
//
//   HIVE_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonInput(text, "bundle/config.json"));
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hive/status.h"

namespace hive {

// Errors: "config.json:3:5: invalid JSON: ... near \"tok\"", "config.json: process.env:
// duplicate key".
Result<nlohmann::json> ParseJsonInput(const std::string& text, const std::string& source);

}  // namespace hive
