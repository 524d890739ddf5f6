// What known library functions do, by qualified name: which ones bring in outside input,
// decode hidden payloads, build paths, touch files or talk to the network. Both the value
// classifier and the rules read this one table, so they never disagree about an API.
//
//   IsTaintSource("builtins.input");          // true
//   FindFileApi("shutil.rmtree")->operation;  // "delete"
//   FindNetworkApi("requests.get")->what;     // "HTTP client"
#pragma once

#include <string>
#include <string_view>

namespace hive::analyze {

// input(), sys.argv, os.environ, stdin, argparse results, web request objects.
bool IsTaintSource(std::string_view qual);
// base64/hex/zlib/marshal and friends: their output may be code hidden from review.
bool IsDecoder(std::string_view qual);

enum class PathBuilder { kNone, kJoin, kMake, kNormalize, kBasename };
PathBuilder FindPathBuilder(std::string_view qual);
// Methods of pathlib objects that return another path derived from the receiver.
bool IsPathMethod(std::string_view method);
// Methods of str/bytes that return a string derived from the receiver and their arguments.
bool IsStringMethod(std::string_view method);

enum class Access { kRead, kWrite, kOpenMode, kOsOpenFlags };

// A function that opens, creates or changes files: which argument is the path, how it
// accesses it and which blocked operation (DESIGN §5) it amounts to, if any.
struct FileApi {
  std::string_view qual;  // "builtins.open"; a leading '.' names a pathlib method (".unlink")
  int path_arg;           // positional index of the path (-1: the receiver is the path)
  std::string_view path_keyword;
  Access access;
  std::string_view operation;  // "delete", "chmod", "chown", "rename", "link", "mknod",
                               // "truncate", "xattr" or ""
  int second_path_arg = -1;    // destination of copy/move/rename/link (written)
};
const FileApi* FindFileApi(std::string_view qual);
// A pathlib method that touches the file its receiver names (`p.unlink()`, `p.read_text()`).
const FileApi* FindPathMethod(std::string_view method);

// Clients and servers: sockets, HTTP, FTP, SMTP, SSH, websockets.
struct NetworkApi {
  std::string_view qual;
  std::string_view what;  // "socket", "HTTP client", "listening server", ...
  bool listens;
};
const NetworkApi* FindNetworkApi(std::string_view qual);

// Whether the file or network tables name anything in `module` ("shutil": shutil.rmtree).
bool HasApisIn(std::string_view module);

}  // namespace hive::analyze
