// What a script does that a policy cares about, as far as reading it can tell: the network
// it uses, the files it writes, the processes it starts, the operations it performs. The
// rules record these while they look for findings; the compatibility check weighs them
// against a policy.
#pragma once

#include <string>
#include <vector>

namespace hive::analyze {

struct NetworkUse {
  int line = 0;
  std::string api;   // "requests.get"
  std::string what;  // "HTTP client", "listening server", ...
  std::string host;  // from a literal URL or address, "" when computed
  int port = 0;
  bool listens = false;
  bool local = false;      // AF_UNIX, localhost: works inside the sandbox's own network namespace
  bool on_socket = false;  // connect/bind/sendto on a socket already counted where it was made
};

struct FileUse {
  int line = 0;
  std::string api;
  std::string path;  // the literal path, or the literal directory a computed path starts with
  bool exact = false;
  bool write = false;
};

struct OperationUse {
  int line = 0;
  std::string operation;  // "delete", "chmod", ... (DESIGN §5 blocked_operations)
  std::string api;
};

struct ProcessUse {
  int line = 0;
  std::string api;
  int count = 1;       // processes or threads it adds while running; 0 = one per CPU
  bool waits = false;  // the call returns only when they are gone (subprocess.run)
  bool thread = false;
};

struct SleepUse {
  int line = 0;
  double seconds = 0;
};

struct Facts {
  std::vector<NetworkUse> network;
  std::vector<FileUse> files;
  std::vector<OperationUse> operations;
  std::vector<ProcessUse> processes;
  std::vector<SleepUse> sleeps;
};

}  // namespace hive::analyze
