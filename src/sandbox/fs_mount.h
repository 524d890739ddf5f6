// A new, detached mount of a filesystem: fsopen, its options, fsmount. Neither allocates nor
// throws: the sandbox's child makes its mounts with it between clone and exec, the parent the
// ones the child cannot (an overlay of idmapped layers, proc for the host's pid namespace).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hive::fs_mount {

// fsconfig key/value pairs; an empty value sets a flag.
using Options = std::vector<std::pair<std::string, std::string>>;

// The new mount's descriptor (close-on-exec), or -errno. When an option is refused,
// *failed_option (if given) points at its key.
int New(const char* fs_type, const Options& options, unsigned attr,
        const char** failed_option = nullptr) noexcept;

}  // namespace hive::fs_mount
