// The console socket's runtime half: the refusals runc makes, and the one message an engine
// receives (the pty's name and the master, SCM_RIGHTS), at any length of path.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "sandbox/console.h"

namespace {

// A listening socket at `dir`/`name`, bound through the directory: the path may be longer than
// a socket address.
hive::UniqueFd Listen(const std::string& dir, const std::string& name) {
  hive::UniqueFd d(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(d.valid());
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  const std::string via = "/proc/self/fd/" + std::to_string(d.get()) + "/" + name;
  REQUIRE(via.size() < sizeof addr.sun_path);
  std::memcpy(addr.sun_path, via.c_str(), via.size());
  hive::UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(s.get(), 1) == 0);
  return s;
}

// The engine's side: accepts one connection and reads its message and descriptor.
std::string Receive(int listener, hive::UniqueFd* fd) {
  hive::UniqueFd conn(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(conn.valid());
  char buf[64] = {};
  struct iovec iov = {buf, sizeof buf};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  REQUIRE(n > 0);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  REQUIRE(c != nullptr);
  REQUIRE(c->cmsg_type == SCM_RIGHTS);
  int passed;
  std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
  fd->Reset(passed);
  return std::string(buf, static_cast<size_t>(n));
}

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/hive-console-XXXXXX";
    REQUIRE(mkdtemp(t) != nullptr);
    path = t;
  }
  ~TempDir() { (void)!system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("a terminal and the console socket come together, or are refused") {
  CHECK(hive::console::CheckRequest(false, "", "process.terminal").ok());
  CHECK(hive::console::CheckRequest(true, "/run/x.sock", "process.terminal").ok());
  hive::Status no_socket = hive::console::CheckRequest(true, "", "process.terminal");
  CHECK_FALSE(no_socket.ok());
  CHECK(no_socket.message().rfind("process.terminal: ", 0) == 0);
  CHECK(no_socket.message().find("--console-socket") != std::string::npos);
  hive::Status no_terminal = hive::console::CheckRequest(false, "/run/x.sock", "--tty");
  CHECK_FALSE(no_terminal.ok());
  CHECK(no_terminal.message().rfind("--console-socket `/run/x.sock`: --tty is false", 0) == 0);
}

TEST_CASE("the master goes to the socket in one message named /dev/ptmx") {
  TempDir tmp;
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  hive::UniqueFd r(p[0]), w(p[1]);

  hive::UniqueFd listener = Listen(tmp.path, "console.sock");
  REQUIRE(hive::console::SendMaster(tmp.path + "/console.sock", w.get()).ok());
  hive::UniqueFd got;
  CHECK(Receive(listener.get(), &got) == "/dev/ptmx");
  // The very file: what is written through the received descriptor comes out of the pipe.
  REQUIRE(write(got.get(), "x", 1) == 1);
  char c = 0;
  REQUIRE(read(r.get(), &c, 1) == 1);
  CHECK(c == 'x');

  // A path longer than a socket address (108 bytes), as a client's temp dir can make it.
  std::string deep = tmp.path;
  while (deep.size() < 150) {
    deep += "/directory-of-some-length";
    REQUIRE(mkdir(deep.c_str(), 0700) == 0);
  }
  hive::UniqueFd deep_listener = Listen(deep, "pty.sock");
  REQUIRE(hive::console::SendMaster(deep + "/pty.sock", w.get()).ok());
  CHECK(Receive(deep_listener.get(), &got) == "/dev/ptmx");

  hive::Status gone = hive::console::SendMaster(tmp.path + "/nobody.sock", w.get());
  CHECK_FALSE(gone.ok());
  CHECK(gone.message().find("--console-socket: connect to") == 0);
}
