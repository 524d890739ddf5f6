// What a path written in a script points at: a climb out of its base with `..`, or a
// credentials file. Works on the literal parts the analyzer could see, joined by '/'.
//
//   ClimbsOut("../../../etc/passwd");   // true
//   ClimbsOut("../data");               // false: one level up a project tree is ordinary
//   NamesCredentials("~/.ssh/id_rsa");  // true
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hive::analyze {

// Components of a path, split on '/' and '\\' (empty ones dropped).
std::vector<std::string> PathComponents(std::string_view path);

// Two or more `..` components, or one followed by a system location (etc, root, proc, ...).
bool ClimbsOut(std::string_view path);

// A private key, a password or token store: ~/.ssh/id_*, /etc/shadow, ~/.aws/credentials, ...
bool NamesCredentials(std::string_view path);

}  // namespace hive::analyze
