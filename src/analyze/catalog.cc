#include "analyze/catalog.h"

#include <algorithm>
#include <array>

namespace hive::analyze {
namespace {

template <size_t N>
bool In(const std::array<std::string_view, N>& set, std::string_view s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

constexpr std::array<std::string_view, 18> kTaintSources = {
    "builtins.input",
    "builtins.raw_input",
    "sys.argv",
    "os.getenv",
    "os.getenvb",
    "os.environ",
    "os.environb",
    "fileinput.input",
    "getopt.getopt",
    "getopt.gnu_getopt",
    "argparse.ArgumentParser().parse_args",
    "argparse.ArgumentParser().parse_known_args",
    "optparse.OptionParser().parse_args",
    "click.prompt",
    "flask.request",
    "bottle.request",
    "cgi.FieldStorage",
    "sys.stdin",
};

constexpr std::array<std::string_view, 28> kDecoders = {
    "base64.b64decode",
    "base64.b32decode",
    "base64.b16decode",
    "base64.b85decode",
    "base64.a85decode",
    "base64.decodebytes",
    "base64.decodestring",
    "base64.urlsafe_b64decode",
    "base64.standard_b64decode",
    "base64.b32hexdecode",
    "binascii.a2b_base64",
    "binascii.a2b_hex",
    "binascii.unhexlify",
    "binascii.a2b_uu",
    "codecs.decode",
    "zlib.decompress",
    "gzip.decompress",
    "bz2.decompress",
    "lzma.decompress",
    "marshal.loads",
    "marshal.load",
    "builtins.bytes.fromhex",
    "builtins.bytearray.fromhex",
    "bytes.fromhex",
    "bytearray.fromhex",
    "builtins.str.maketrans",
    "quopri.decodestring",
    "uu.decode",
};

struct NamedBuilder {
  std::string_view qual;
  PathBuilder kind;
};

constexpr NamedBuilder kPathBuilders[] = {
    {"os.path.join", PathBuilder::kJoin},
    {"posixpath.join", PathBuilder::kJoin},
    {"ntpath.join", PathBuilder::kJoin},
    {"pathlib.Path", PathBuilder::kJoin},
    {"pathlib.PurePath", PathBuilder::kJoin},
    {"pathlib.PosixPath", PathBuilder::kJoin},
    {"pathlib.PurePosixPath", PathBuilder::kJoin},
    {"pathlib.Path.home", PathBuilder::kMake},
    {"pathlib.Path.cwd", PathBuilder::kMake},
    {"os.getcwd", PathBuilder::kMake},
    {"os.path.expanduser", PathBuilder::kMake},
    {"os.path.expandvars", PathBuilder::kMake},
    {"os.path.dirname", PathBuilder::kMake},
    {"os.fspath", PathBuilder::kMake},
    {"tempfile.gettempdir", PathBuilder::kMake},
    {"tempfile.mkdtemp", PathBuilder::kMake},
    {"tempfile.TemporaryDirectory", PathBuilder::kMake},
    {"os.path.realpath", PathBuilder::kNormalize},
    {"os.path.abspath", PathBuilder::kNormalize},
    {"os.path.normpath", PathBuilder::kNormalize},
    {"os.path.relpath", PathBuilder::kNormalize},
    {"os.path.basename", PathBuilder::kBasename},
    {"werkzeug.utils.secure_filename", PathBuilder::kBasename},
};

constexpr std::array<std::string_view, 9> kPathMethods = {"resolve",   "absolute",    "expanduser",
                                                          "joinpath",  "with_name",   "with_suffix",
                                                          "with_stem", "relative_to", "readlink"};

constexpr std::array<std::string_view, 23> kStringMethods = {
    "format",       "format_map",   "join",       "replace",   "strip",   "lstrip",
    "rstrip",       "lower",        "upper",      "casefold",  "title",   "capitalize",
    "encode",       "decode",       "ljust",      "rjust",     "center",  "zfill",
    "removeprefix", "removesuffix", "expandtabs", "translate", "swapcase"};

constexpr FileApi kFileApis[] = {
    {"builtins.open", 0, "file", Access::kOpenMode, ""},
    {"builtins.file", 0, "name", Access::kOpenMode, ""},
    {"io.open", 0, "file", Access::kOpenMode, ""},
    {"codecs.open", 0, "filename", Access::kOpenMode, ""},
    {"os.open", 0, "path", Access::kOsOpenFlags, ""},
    {"os.remove", 0, "path", Access::kWrite, "delete"},
    {"os.unlink", 0, "path", Access::kWrite, "delete"},
    {"os.rmdir", 0, "path", Access::kWrite, "delete"},
    {"os.removedirs", 0, "name", Access::kWrite, "delete"},
    {"shutil.rmtree", 0, "path", Access::kWrite, "delete"},
    {"os.rename", 0, "src", Access::kWrite, "rename", 1},
    {"os.renames", 0, "old", Access::kWrite, "rename", 1},
    {"os.replace", 0, "src", Access::kWrite, "rename", 1},
    {"shutil.move", 0, "src", Access::kWrite, "rename", 1},
    {"shutil.copy", 0, "src", Access::kRead, "", 1},
    {"shutil.copy2", 0, "src", Access::kRead, "", 1},
    {"shutil.copyfile", 0, "src", Access::kRead, "", 1},
    {"shutil.copytree", 0, "src", Access::kRead, "", 1},
    {"os.mkdir", 0, "path", Access::kWrite, ""},
    {"os.makedirs", 0, "name", Access::kWrite, ""},
    {"os.chmod", 0, "path", Access::kWrite, "chmod"},
    {"os.lchmod", 0, "path", Access::kWrite, "chmod"},
    {"os.chown", 0, "path", Access::kWrite, "chown"},
    {"os.lchown", 0, "path", Access::kWrite, "chown"},
    {"shutil.chown", 0, "path", Access::kWrite, "chown"},
    {"os.link", 0, "src", Access::kRead, "link", 1},
    {"os.symlink", 0, "src", Access::kRead, "link", 1},
    {"os.mknod", 0, "path", Access::kWrite, "mknod"},
    {"os.mkfifo", 0, "path", Access::kWrite, "mknod"},
    {"os.truncate", 0, "path", Access::kWrite, "truncate"},
    {"os.setxattr", 0, "path", Access::kWrite, "xattr"},
    {"os.removexattr", 0, "path", Access::kWrite, "xattr"},
    {"os.listdir", 0, "path", Access::kRead, ""},
    {"os.scandir", 0, "path", Access::kRead, ""},
    {"os.walk", 0, "top", Access::kRead, ""},
    {"tarfile.open", 0, "name", Access::kOpenMode, ""},
    {"zipfile.ZipFile", 0, "file", Access::kOpenMode, ""},
    {"sqlite3.connect", 0, "database", Access::kWrite, ""},
    {"shelve.open", 0, "filename", Access::kWrite, ""},
    {"logging.FileHandler", 0, "filename", Access::kWrite, ""},
};

constexpr FileApi kPathMethodApis[] = {
    {".open", -1, "", Access::kOpenMode, ""},
    {".read_text", -1, "", Access::kRead, ""},
    {".read_bytes", -1, "", Access::kRead, ""},
    {".write_text", -1, "", Access::kWrite, ""},
    {".write_bytes", -1, "", Access::kWrite, ""},
    {".touch", -1, "", Access::kWrite, ""},
    {".mkdir", -1, "", Access::kWrite, ""},
    {".unlink", -1, "", Access::kWrite, "delete"},
    {".rmdir", -1, "", Access::kWrite, "delete"},
    {".chmod", -1, "", Access::kWrite, "chmod"},
    {".lchmod", -1, "", Access::kWrite, "chmod"},
    {".rename", -1, "", Access::kWrite, "rename", 0},
    {".replace", -1, "", Access::kWrite, "rename", 0},
    {".symlink_to", -1, "", Access::kWrite, "link"},
    {".hardlink_to", -1, "", Access::kWrite, "link"},
    {".iterdir", -1, "", Access::kRead, ""},
};

constexpr NetworkApi kNetworkApis[] = {
    {"socket.socket", "socket", false},
    {"socket.create_connection", "socket", false},
    {"socket.create_server", "listening socket", true},
    {"socket.fromfd", "socket", false},
    {"ssl.wrap_socket", "TLS socket", false},
    {"urllib.request.urlopen", "HTTP client", false},
    {"urllib.request.urlretrieve", "HTTP client", false},
    {"urllib.request.build_opener", "HTTP client", false},
    {"urllib.urlopen", "HTTP client", false},
    {"urllib.urlretrieve", "HTTP client", false},
    {"urllib2.urlopen", "HTTP client", false},
    {"http.client.HTTPConnection", "HTTP client", false},
    {"http.client.HTTPSConnection", "HTTP client", false},
    {"httplib.HTTPConnection", "HTTP client", false},
    {"httplib.HTTPSConnection", "HTTP client", false},
    {"requests.get", "HTTP client", false},
    {"requests.post", "HTTP client", false},
    {"requests.put", "HTTP client", false},
    {"requests.patch", "HTTP client", false},
    {"requests.delete", "HTTP client", false},
    {"requests.head", "HTTP client", false},
    {"requests.options", "HTTP client", false},
    {"requests.request", "HTTP client", false},
    {"requests.Session", "HTTP client", false},
    {"requests.session", "HTTP client", false},
    {"httpx.get", "HTTP client", false},
    {"httpx.post", "HTTP client", false},
    {"httpx.put", "HTTP client", false},
    {"httpx.patch", "HTTP client", false},
    {"httpx.delete", "HTTP client", false},
    {"httpx.head", "HTTP client", false},
    {"httpx.options", "HTTP client", false},
    {"httpx.request", "HTTP client", false},
    {"httpx.stream", "HTTP client", false},
    {"httpx.Client", "HTTP client", false},
    {"httpx.AsyncClient", "HTTP client", false},
    {"aiohttp.ClientSession", "HTTP client", false},
    {"aiohttp.request", "HTTP client", false},
    {"urllib3.PoolManager", "HTTP client", false},
    {"urllib3.request", "HTTP client", false},
    {"urllib3.HTTPConnectionPool", "HTTP client", false},
    {"pycurl.Curl", "HTTP client", false},
    {"ftplib.FTP", "FTP client", false},
    {"ftplib.FTP_TLS", "FTP client", false},
    {"smtplib.SMTP", "SMTP client", false},
    {"smtplib.SMTP_SSL", "SMTP client", false},
    {"poplib.POP3", "POP3 client", false},
    {"poplib.POP3_SSL", "POP3 client", false},
    {"imaplib.IMAP4", "IMAP client", false},
    {"imaplib.IMAP4_SSL", "IMAP client", false},
    {"telnetlib.Telnet", "telnet client", false},
    {"nntplib.NNTP", "NNTP client", false},
    {"paramiko.SSHClient", "SSH client", false},
    {"paramiko.Transport", "SSH client", false},
    {"fabric.Connection", "SSH client", false},
    {"xmlrpc.client.ServerProxy", "XML-RPC client", false},
    {"xmlrpclib.ServerProxy", "XML-RPC client", false},
    {"websocket.create_connection", "websocket client", false},
    {"websocket.WebSocketApp", "websocket client", false},
    {"websockets.connect", "websocket client", false},
    {"websockets.serve", "websocket server", true},
    {"asyncio.open_connection", "socket", false},
    {"asyncio.start_server", "listening socket", true},
    {"socketserver.TCPServer", "listening server", true},
    {"socketserver.UDPServer", "listening server", true},
    {"socketserver.ThreadingTCPServer", "listening server", true},
    {"http.server.HTTPServer", "listening server", true},
    {"http.server.ThreadingHTTPServer", "listening server", true},
    {"wsgiref.simple_server.make_server", "listening server", true},
};

}  // namespace

bool IsTaintSource(std::string_view qual) {
  if (In(kTaintSources, qual)) return true;
  return qual.starts_with("sys.stdin.") || qual.starts_with("os.environ.") ||
         qual.starts_with("flask.request.") || qual.starts_with("bottle.request.");
}

bool IsDecoder(std::string_view qual) { return In(kDecoders, qual); }

PathBuilder FindPathBuilder(std::string_view qual) {
  for (const NamedBuilder& b : kPathBuilders) {
    if (b.qual == qual) return b.kind;
  }
  return PathBuilder::kNone;
}

bool IsPathMethod(std::string_view method) { return In(kPathMethods, method); }
bool IsStringMethod(std::string_view method) { return In(kStringMethods, method); }

const FileApi* FindFileApi(std::string_view qual) {
  for (const FileApi& f : kFileApis) {
    if (f.qual == qual) return &f;
  }
  return nullptr;
}

const FileApi* FindPathMethod(std::string_view method) {
  for (const FileApi& f : kPathMethodApis) {
    if (f.qual.substr(1) == method) return &f;
  }
  return nullptr;
}

const NetworkApi* FindNetworkApi(std::string_view qual) {
  for (const NetworkApi& n : kNetworkApis) {
    if (n.qual == qual) return &n;
  }
  return nullptr;
}

bool HasApisIn(std::string_view module) {
  auto in = [&](std::string_view qual) {
    return qual.size() > module.size() && qual.starts_with(module) && qual[module.size()] == '.';
  };
  for (const FileApi& f : kFileApis) {
    if (in(f.qual)) return true;
  }
  for (const NetworkApi& n : kNetworkApis) {
    if (in(n.qual)) return true;
  }
  return false;
}

}  // namespace hive::analyze
