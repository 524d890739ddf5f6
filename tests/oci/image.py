"""Container images made on this machine, without any registry.

A docker-archive tarball (the `docker save` format that `ctr images import` and `podman load`
read) is written from a directory: one uncompressed layer, an image config that lists the
layer's diff_id, manifest.json and the legacy `repositories` file. Two images are built from
Debian packages: busybox (the busybox-static binary plus one symlink per applet) and pause (a
static program compiled from pause.c beside this file).

    rootfs = image.busybox_rootfs(os.path.join(tmp, "bb"))
    image.write_layer(rootfs, os.path.join(tmp, "bb-layer.tar"))          # for `podman import`
    image.write_docker_archive(rootfs, image.BUSYBOX, os.path.join(tmp, "bb.tar"),
                               cmd=["/bin/sh"])                           # for `ctr images import`
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))

BUSYBOX_BINARY = "/bin/busybox"
BUSYBOX = "localhost/hive-test/busybox:1"
PAUSE = "localhost/hive-test/pause:1"
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Every entry gets the same owner and time so that the same tree always gives the same digest.
_EPOCH = 0


def _tar_info(rootfs, rel):
    full = os.path.join(rootfs, rel)
    st = os.lstat(full)
    info = tarfile.TarInfo(rel)
    info.mode = st.st_mode & 0o7777
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = _EPOCH
    if os.path.islink(full):
        info.type = tarfile.SYMTYPE
        info.linkname = os.readlink(full)
    elif os.path.isdir(full):
        info.type = tarfile.DIRTYPE
    elif os.path.isfile(full):
        info.type = tarfile.REGTYPE
        info.size = st.st_size
    else:
        raise ValueError(f"{full}: only directories, files and symlinks go into a layer")
    return info


def write_layer(rootfs, out_path):
    """Writes `rootfs` as an uncompressed layer tar (entries sorted, owner root, time 0) and
    returns its digest, "sha256:<hex>" (the diff_id)."""
    entries = []
    for top, dirs, files in os.walk(rootfs):
        dirs.sort()
        for name in dirs + sorted(files):
            entries.append(os.path.relpath(os.path.join(top, name), rootfs))
    with open(out_path, "wb") as out:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
            for rel in entries:
                info = _tar_info(rootfs, rel)
                if info.type == tarfile.REGTYPE:
                    with open(os.path.join(rootfs, rel), "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return "sha256:" + _sha256_file(out_path)


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = _EPOCH
    tar.addfile(info, io.BytesIO(data))


def write_docker_archive(rootfs, ref, out_path, cmd=None, entrypoint=None, env=(DEFAULT_PATH,)):
    """Writes a one-layer docker-archive of `rootfs` tagged `ref` ("name:tag") to `out_path`
    and returns the image id (the config's digest)."""
    name, tag = ref.rsplit(":", 1)
    layer_path = out_path + ".layer"
    try:
        diff_id = write_layer(rootfs, layer_path)
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {"Env": list(env), "Cmd": cmd, "Entrypoint": entrypoint,
                       "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": "1970-01-01T00:00:00Z",
                         "created_by": "tests/oci/image.py"}],
        }
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_hex = hashlib.sha256(config_bytes).hexdigest()
        # The legacy layer directory is named by a v1 id; any 64-hex string unique to the layer
        # will do, and the diff_id is one.
        layer_dir = diff_id.split(":", 1)[1]
        manifest = [{"Config": config_hex + ".json", "RepoTags": [ref],
                     "Layers": [layer_dir + "/layer.tar"]}]
        repositories = {name: {tag: layer_dir}}
        with tarfile.open(out_path, "w", format=tarfile.GNU_FORMAT) as tar:
            info = tarfile.TarInfo(layer_dir)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = _EPOCH
            tar.addfile(info)
            _add_bytes(tar, layer_dir + "/VERSION", b"1.0")
            info = tar.gettarinfo(layer_path, arcname=layer_dir + "/layer.tar")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = _EPOCH
            with open(layer_path, "rb") as f:
                tar.addfile(info, f)
            _add_bytes(tar, config_hex + ".json", config_bytes)
            _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
            _add_bytes(tar, "repositories", json.dumps(repositories).encode())
    finally:
        if os.path.exists(layer_path):
            os.unlink(layer_path)
    return "sha256:" + config_hex


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def _skeleton(rootfs):
    for d in ("dev", "proc", "sys", "etc", "root", "run", "var", "bin", "sbin", "usr/bin",
              "usr/sbin"):
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.makedirs(os.path.join(rootfs, "tmp"), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    _write(os.path.join(rootfs, "etc/passwd"),
           "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    _write(os.path.join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n")


def busybox_rootfs(rootfs, busybox=BUSYBOX_BINARY):
    """Makes a busybox root filesystem in the new directory `rootfs` and returns its path."""
    os.makedirs(rootfs)
    _skeleton(rootfs)
    shutil.copy(busybox, os.path.join(rootfs, "bin/busybox"))
    os.chmod(os.path.join(rootfs, "bin/busybox"), 0o755)
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for rel in applets:
        link = os.path.join(rootfs, rel)
        if rel == "bin/busybox" or os.path.lexists(link):
            continue
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink("/bin/busybox", link)
    return rootfs


def build_pause(out_path, cc="gcc"):
    """Compiles pause.c into a static binary at `out_path`."""
    subprocess.run([cc, "-static", "-Os", "-s", "-o", out_path, os.path.join(HERE, "pause.c")],
                   check=True, capture_output=True, text=True)
    return out_path


def pause_rootfs(rootfs):
    """Makes a root filesystem holding only /pause in the new directory `rootfs`."""
    os.makedirs(rootfs)
    build_pause(os.path.join(rootfs, "pause"))
    os.chmod(os.path.join(rootfs, "pause"), 0o755)
    return rootfs


class TestImages:
    """The busybox and pause images built once into `work_dir`: `busybox_archive` and
    `pause_archive` (docker-archive, for ctr), `busybox_layer` (plain rootfs tar, for
    `podman import`)."""

    def __init__(self, work_dir):
        os.makedirs(work_dir, exist_ok=True)
        bb = busybox_rootfs(os.path.join(work_dir, "busybox-rootfs"))
        self.busybox_layer = os.path.join(work_dir, "busybox-layer.tar")
        write_layer(bb, self.busybox_layer)
        self.busybox_archive = os.path.join(work_dir, "busybox.tar")
        write_docker_archive(bb, BUSYBOX, self.busybox_archive, cmd=["/bin/sh"])
        pause = pause_rootfs(os.path.join(work_dir, "pause-rootfs"))
        self.pause_archive = os.path.join(work_dir, "pause.tar")
        write_docker_archive(pause, PAUSE, self.pause_archive, entrypoint=["/pause"])
