// Where hive-run keeps its state: runs/<run_id>/, audit.log, keys/, caches.
//
// `--state-dir DIR` wins, then $HIVE_RUN_STATE_DIR, then /var/lib/hive-run as root and
// $XDG_STATE_HOME/hive-run (or ~/.local/state/hive-run) otherwise.
//
//   std::string dir = hive::ResolveStateDir(flag_value);   // "" = no flag given
//   HIVE_TRY(hive::EnsureDir(dir, 0700));
#pragma once

#include <sys/types.h>

#include <string>

#include "hive/status.h"

namespace hive {

std::string ResolveStateDir(const std::string& flag_value);

// mkdir -p with `mode` for every directory it creates.
Status EnsureDir(const std::string& path, mode_t mode);

// Resolves `path` against `base` when relative; lexically normalised, no symlinks followed.
std::string AbsolutePath(const std::string& path, const std::string& base);

// The audit log a run under `log_setting` (policy `audit.log`; empty = default) appends to.
std::string AuditLogPath(const std::string& log_setting, const std::string& state_dir);

}  // namespace hive
