// Argument parsing shared by `hive-run audit` and `hive-run stats`: both read the same log and
// take the same --state-dir/--log options.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::cli {

struct AuditArgs {
  std::map<std::string, std::string> values;  // "--log" -> "F"; flags map to ""
  std::vector<std::string> positional;

  bool Has(const std::string& opt) const { return values.count(opt) != 0; }
  std::string Get(const std::string& opt) const {
    auto it = values.find(opt);
    return it == values.end() ? "" : it->second;
  }
  // --log, else <state dir>/audit.log; and the key directory <state dir>/keys.
  std::string LogPath() const;
  std::string KeyDir() const;
};

// argv[0] is the subcommand. `with_value` options take an argument (`--log F` or `--log=F`);
// `flags` do not. Anything else starting with `-` is an error.
Result<AuditArgs> ParseAuditArgs(int argc, char** argv, const std::set<std::string>& with_value,
                                 const std::set<std::string>& flags);

// "hive-run: <what>: <message>" on stderr; returns 125 (hive-run itself failed).
int FailStatus(const std::string& what, const Status& status);

}  // namespace hive::cli
