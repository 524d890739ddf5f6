// What the OCI commands share inside the runtime (oci_lifecycle.cc, oci_exec.cc): the
// monitor's socket protocol and runc's error strings.
#pragma once

#include <cstdint>
#include <string>

#include "hive/oci_runtime.h"
#include "hive/status.h"

namespace hive::oci {

inline constexpr int64_t kMonitorReplySeconds = 30;

// Sends one command line to the container's monitor (<root>/<id>/monitor.sock) and returns its
// answer: "ok", or the error it names, waiting for it at most `reply_seconds` (0: as long as
// it takes: `start` runs the startContainer hooks first). `pass_fd` >= 0 goes along with the
// command (SCM_RIGHTS): "adopt-listener" hands the monitor an exec'd process's seccomp
// listener.
Status AskMonitor(const Global& g, const std::string& id, const std::string& command,
                  int pass_fd = -1, int64_t reply_seconds = kMonitorReplySeconds);

// A setup error about running `program` in the words clients match on (runc's): podman maps
// "no such file or directory" / "executable file not found in $PATH" to 127 and
// "permission denied" to 126.
Status ExecError(const Status& setup, const std::string& program);

}  // namespace hive::oci
