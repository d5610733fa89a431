#!/usr/bin/env python3
"""fdmount.py MNT UID GID CMD... - mounts a read-only FUSE file system on
MNT as root (open /dev/fuse, mount(2) with fd=N), then runs CMD as
UID:GID (no supplementary groups) with the descriptor open; each "FD" in
CMD becomes /dev/fd/N.  So a user that may not open /dev/fuse itself (no
working fusermount3, as in a container) still runs the daemon that
serves the mount.  The caller unmounts MNT."""
import ctypes
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4

mnt, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open("/dev/fuse", os.O_RDWR)
opts = "fd=%d,rootmode=40000,user_id=%d,group_id=%d" % (fd, uid, gid)
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"artifactfs", mnt.encode(), b"fuse.artifactfs",
              MS_RDONLY | MS_NOSUID | MS_NODEV, opts.encode()) != 0:
    e = ctypes.get_errno()
    sys.exit("fdmount: mount %s: %s" % (mnt, os.strerror(e)))
os.set_inheritable(fd, True)
cmd = ["/dev/fd/%d" % fd if a == "FD" else a for a in sys.argv[4:]]
os.chdir("/")
os.setgroups([])
os.setgid(gid)
os.setuid(uid)
os.execvp(cmd[0], cmd)
