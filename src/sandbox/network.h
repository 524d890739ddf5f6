// hive::net: the child's network namespace. With the network off (the only mode today), the
// sandbox has `lo` and nothing else; `lo` is brought up so a script can talk to itself.
#pragma once

namespace hive::net {

// Child: sets `lo` up with one rtnetlink request (no helper program). 0 or -errno.
int LoopbackUp() noexcept;

}  // namespace hive::net
