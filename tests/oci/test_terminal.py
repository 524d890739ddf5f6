"""process.terminal with --console-socket, driven as conmon and the containerd shim drive it:
this test listens on an AF_UNIX socket, passes its path to `create`, and receives the pty's
master (one message, SCM_RIGHTS) before `create` returns. Through that master it talks to the
container: its stdio is the slave of a pty from the container's own devpts (/dev/pts/0), its
controlling terminal; the window size set on the master is the one the container reads.

Mismatches are refused as runc refuses them: a terminal with no console socket (create and
run), a console socket with no terminal. Nothing is left behind (state, cgroups, processes).
"""
import errno
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oci_case  # noqa: E402
from oci_case import HIVE_RUN, bundle_config  # noqa: E402

setUpModule = oci_case.setUpModule
tearDownModule = oci_case.tearDownModule


class ConsoleSocket:
    """The engine's end: a listening socket whose one connection brings the pty's master."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)

    def receive(self, timeout=10):
        """(payload, master fd) of the one message create sent."""
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            raise AssertionError(f"expected one descriptor, got {len(fds)} ({msg!r})")
        return msg, fds[0]

    def pending(self):
        """Whether a connection waits (create connected without us accepting)."""
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def close(self):
        self.sock.close()


def read_until_eof(master, timeout=20):
    """Everything the container writes to its terminal, until its last holder of the slave
    is gone (the master then reads EIO)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace").replace("\r\n", "\n")


class Terminal(oci_case.OciCase):
    tmp_prefix = "hive-tty-"

    def setUp(self):
        super().setUp()
        self.console = ConsoleSocket(os.path.join(self.tmp, "console.sock"))

    def tearDown(self):
        self.console.close()
        super().tearDown()

    def hive(self, *args):
        return super().hive(*args, stdin=subprocess.DEVNULL)

    def bundle(self, args, terminal=True, **process):
        b = tempfile.mkdtemp(dir=self.tmp, prefix="bundle-")
        config = bundle_config(args)
        config["process"]["terminal"] = terminal
        config["process"].update(process)
        with open(os.path.join(b, "config.json"), "w") as f:
            json.dump(config, f)
        return b

    def create_with_terminal(self, cid, args, **process):
        """create --console-socket: the container's pid and the pty's master."""
        b = self.bundle(args, **process)
        pid_file = os.path.join(self.tmp, cid + ".pid")
        self.ids.append(cid)
        r = self.hive("create", "--bundle", b, "--pid-file", pid_file,
                      "--console-socket", self.console.path, cid)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Sent before create returned: the connection waits in the backlog.
        self.assertTrue(self.console.pending(), "create returned before sending the terminal")
        payload, master = self.console.receive()
        self.assertEqual(payload, b"/dev/ptmx")
        with open(pid_file) as f:
            return int(f.read()), master

    def test_tty_is_the_containers_pts_and_stdio(self):
        pid, master = self.create_with_terminal(
            "t1", ["sh", "-c", "tty; test -t 0 && echo stdin-tty; test -t 1 && echo stdout-tty; "
                   "test -t 2 && echo stderr-tty; ls -1 /dev/pts; "
                   "read line; echo got:$line; exit 4"])
        self.assertTrue(os.isatty(master))
        self.assertEqual(self.hive("state", "t1").returncode, 0)
        r = self.hive("start", "t1")
        self.assertEqual(r.returncode, 0, r.stderr)
        os.write(master, b"hello\n")
        out = read_until_eof(master)
        os.close(master)
        self.assertEqual(self.wait(pid), 4, out)
        lines = out.split("\n")
        self.assertIn("/dev/pts/0", lines, out)
        for want in ("stdin-tty", "stdout-tty", "stderr-tty", "got:hello"):
            self.assertIn(want, lines, out)
        # The container's devpts holds its own terminal only, whatever the host has open.
        self.assertIn("0", lines, out)
        self.assertIn("ptmx", lines, out)
        self.assertEqual(self.hive("delete", "t1").returncode, 0)

    def test_controlling_terminal_and_window_size(self):
        pid, master = self.create_with_terminal(
            "t2", ["sh", "-c", "stty size; echo ctty-ok > /dev/tty"])
        # Rows and columns set on the master before start are what the container reads.
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
        r = self.hive("start", "t2")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = read_until_eof(master)
        os.close(master)
        self.assertEqual(self.wait(pid), 0, out)
        lines = out.split("\n")
        self.assertIn("33 101", lines, out)
        # /dev/tty opens only for a process with a controlling terminal.
        self.assertIn("ctty-ok", lines, out)
        self.assertEqual(self.hive("delete", "t2").returncode, 0)

    def test_console_size_from_config(self):
        # process.consoleSize is the terminal's size before the program first looks.
        pid, master = self.create_with_terminal("t6", ["stty", "size"],
                                                consoleSize={"height": 40, "width": 120})
        r = self.hive("start", "t6")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = read_until_eof(master)
        os.close(master)
        self.assertEqual(self.wait(pid), 0, out)
        self.assertIn("40 120", out.split("\n"), out)
        self.assertEqual(self.hive("delete", "t6").returncode, 0)

    def test_interrupt_character_reaches_the_program(self):
        # ^C typed on the master is SIGINT to the terminal's foreground process group: the
        # program's, whose session the terminal controls.
        pid, master = self.create_with_terminal(
            "t7", ["sh", "-c", "echo ready; exec sleep 30"])
        r = self.hive("start", "t7")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = b""
        deadline = time.monotonic() + 20
        while b"ready" not in out and time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                out += os.read(master, 4096)
        self.assertIn(b"ready", out)
        time.sleep(0.2)  # sh has exec'd sleep
        os.write(master, b"\x03")
        read_until_eof(master)
        os.close(master)
        self.assertEqual(self.wait(pid), 128 + signal.SIGINT)
        self.assertEqual(self.hive("delete", "t7").returncode, 0)

    def test_run_with_console_socket(self):
        # run = create + start + wait: the terminal is sent at its create.
        b = self.bundle(["sh", "-c", "tty; exit 6"])
        self.ids.append("t4")
        env = dict(os.environ, HIVE_RUN_STATE_DIR=self.state)
        p = subprocess.Popen([HIVE_RUN, "--root", self.root, "run", "--bundle", b,
                              "--console-socket", self.console.path, "t4"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        try:
            _, master = self.console.receive(timeout=30)
            out = read_until_eof(master)
            os.close(master)
            _, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 6, err)
        self.assertIn("/dev/pts/0", out.split("\n"), out)

    def test_create_output_reaches_eof(self):
        # The containerd shim reads create's stdout and stderr through pipes until EOF, and
        # only then takes the master: nothing of the container may keep them open.
        b = self.bundle(["sleep", "60"])
        self.ids.append("t5")
        pid_file = os.path.join(self.tmp, "t5.pid")
        env = dict(os.environ, HIVE_RUN_STATE_DIR=self.state)
        p = subprocess.Popen([HIVE_RUN, "--root", self.root, "create", "--bundle", b,
                              "--pid-file", pid_file, "--console-socket", self.console.path,
                              "t5"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        eof = True
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            # The pipes are held by the container: stop reading them, never wait for EOF.
            eof, err = False, ""
            p.stdout.close()
            p.stderr.close()
            p.wait()
        _, master = self.console.receive()
        os.close(master)
        self.assertEqual(self.hive("delete", "--force", "t5").returncode, 0)
        with open(pid_file) as f:
            self.wait(int(f.read()))
        self.assertTrue(eof, "create's output pipes stayed open after it returned")
        self.assertEqual(p.returncode, 0, err)

    def test_refusals(self):
        # A terminal with nowhere to send it: create and run.
        b = self.bundle(["true"])
        for cmd in ("create", "run"):
            self.ids.append("r-" + cmd)
            r = self.hive(cmd, "--bundle", b, "r-" + cmd)
            self.assertEqual(r.returncode, 1, (cmd, r.stderr))
            self.assertIn("process.terminal", r.stderr)
            self.assertIn("--console-socket", r.stderr)
        # A size a terminal cannot have is refused when config.json is read.
        big = self.bundle(["true"], consoleSize={"height": 70000, "width": 80})
        self.ids.append("r-size")
        r = self.hive("create", "--bundle", big, "--console-socket", self.console.path, "r-size")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("process.consoleSize.height", r.stderr)
        # A console socket with no terminal to send.
        nb = self.bundle(["true"], terminal=False)
        self.ids.append("r-socket")
        r = self.hive("create", "--bundle", nb, "--console-socket", self.console.path, "r-socket")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--console-socket", r.stderr)
        self.assertIn("process.terminal is false", r.stderr)
        self.assertFalse(self.console.pending(), "a refused create connected to the socket")
        # A socket nobody listens on: create fails and leaves nothing.
        self.ids.append("r-gone")
        r = self.hive("create", "--bundle", b, "--console-socket",
                      os.path.join(self.tmp, "nobody.sock"), "r-gone")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--console-socket", r.stderr)
        # hive-run's own bundle runs have no console socket to serve a terminal through.
        env = dict(os.environ, HIVE_RUN_STATE_DIR=self.state)
        r = subprocess.run([HIVE_RUN, b + "/"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 125, r.stdout + r.stderr)
        self.assertIn("process.terminal", r.stdout + r.stderr)


def recv_fds_missing():
    if not hasattr(socket, "recv_fds"):
        return "python3 >= 3.9 is needed for socket.recv_fds"
    return None


if __name__ == "__main__":
    oci_case.main(checks=[recv_fds_missing])
